"""Table layouts of the three simulated systems, exactly as docs/CONTRACTS.md §1 lists them.

One place for column order and SQL types: the frame builders produce these columns, the
writers create these tables, and the tests hold both to the contract.
"""

from __future__ import annotations

# SQLite tables: (column, declared type, constraint).
CORE_TABLES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "cif_customer": (
        ("cust_no", "TEXT", "PRIMARY KEY"),
        ("cust_name", "TEXT", ""),
        ("cert_type", "TEXT", ""),
        ("cert_no", "TEXT", ""),
        ("gender_cd", "TEXT", ""),
        ("birth_dt", "TEXT", ""),
        ("mobile_no", "TEXT", ""),
        ("addr", "TEXT", ""),
        ("open_branch_no", "TEXT", ""),
        ("open_dt", "TEXT", ""),
        ("last_upd_ts", "TEXT", ""),
    ),
    "dep_account": (
        ("acct_no", "TEXT", "PRIMARY KEY"),
        ("cust_no", "TEXT", ""),
        ("acct_type", "TEXT", ""),
        ("product_cd", "TEXT", ""),
        ("currency", "TEXT", ""),
        ("balance", "REAL", ""),
        ("open_dt", "TEXT", ""),
        ("maturity_dt", "TEXT", ""),
        ("branch_no", "TEXT", ""),
        ("status", "TEXT", ""),
        ("last_upd_ts", "TEXT", ""),
    ),
}

CREDIT_TABLES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "BORROWER": (
        ("BORROWER_ID", "TEXT", "PRIMARY KEY"),
        ("FULL_NAME", "TEXT", ""),
        ("ID_CARD_NO", "TEXT", ""),
        ("PHONE", "TEXT", ""),
        ("BIRTHDAY", "TEXT", ""),
        ("SEX", "TEXT", ""),
        ("HOME_ADDRESS", "TEXT", ""),
        ("EMPLOYER", "TEXT", ""),
        ("UPDATED_AT", "TEXT", ""),
    ),
    "LOAN_APPLICATION": (
        ("APP_ID", "TEXT", "PRIMARY KEY"),
        ("BORROWER_ID", "TEXT", ""),
        ("PRODUCT", "TEXT", ""),
        ("AMOUNT", "REAL", ""),
        ("BRANCH_NO", "TEXT", ""),
        ("SUBMITTED_AT", "TEXT", ""),
        ("PRE_REVIEW_AT", "TEXT", ""),
        ("CREDIT_REVIEW_AT", "TEXT", ""),
        ("APPROVED_AT", "TEXT", ""),
        ("DISBURSED_AT", "TEXT", ""),
        ("STATUS", "TEXT", ""),
    ),
    "LOAN": (
        ("LOAN_ID", "TEXT", "PRIMARY KEY"),
        ("APP_ID", "TEXT", ""),
        ("BORROWER_ID", "TEXT", ""),
        ("PRINCIPAL", "REAL", ""),
        ("OUTSTANDING", "REAL", ""),
        ("RATE", "REAL", ""),
        ("START_DATE", "TEXT", ""),
        ("END_DATE", "TEXT", ""),
        ("FIVE_TIER", "TEXT", ""),
        ("BRANCH_NO", "TEXT", ""),
    ),
}

# Indexes a real system would have on its foreign keys and watermark columns.
SQLITE_INDEXES: dict[str, tuple[tuple[str, str], ...]] = {
    "core": (("dep_account", "cust_no"), ("cif_customer", "last_upd_ts")),
    "credit": (("LOAN_APPLICATION", "BORROWER_ID"), ("LOAN", "APP_ID"), ("BORROWER", "UPDATED_AT")),
}

CRM_COLUMNS: dict[str, tuple[str, ...]] = {
    "crm_customers": (
        "客户编号", "姓名", "证件号码", "手机", "联系地址", "出生日期", "性别", "客户经理",
        "所属网点", "更新时间",
    ),
    "crm_service_tickets": (
        "工单编号", "客户编号", "渠道", "类别", "创建时间", "首次响应时间", "解决时间", "满意度",
        "客户经理", "所属网点", "状态",
    ),
    "crm_relationship_managers": ("客户经理编号", "姓名", "所属网点", "网点名称"),
}  # fmt: skip

CORE_FILE = "core_banking.sqlite"
CREDIT_FILE = "credit.sqlite"
CRM_DIR = "crm"
CRM_ENCODING = "gbk"
GROUND_TRUTH_FILE = "ground_truth.parquet"
PEOPLE_FILE = "people.parquet"
MANIFEST_FILE = "manifest.json"

# The customer table of each system and its key column: ground-truth record keys are
# `<system>:<key>`.
PARTY_TABLES = {
    "core": ("cif_customer", "cust_no"),
    "credit": ("BORROWER", "BORROWER_ID"),
    "crm": ("crm_customers", "客户编号"),
}


def columns(table: str) -> tuple[str, ...]:
    for tables in (CORE_TABLES, CREDIT_TABLES):
        if table in tables:
            return tuple(c for c, _, _ in tables[table])
    return CRM_COLUMNS[table]
