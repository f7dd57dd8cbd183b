"""A tiny hand-made warehouse for the dbt project: every raw.* table and the mdm tables it reads.

The rows are few and chosen so that every join and rule in the models is exercised and every
mart value can be computed by hand (test_dbt_build.py has the arithmetic):

- golden G0000000001 (张伟) links two core CIFs, one credit borrower and one CRM customer: a
  demand account, a USD time deposit maturing two days after the as-of date, a wealth product,
  an already-matured time deposit, a closed account; two loans (正常, 次级); five CRM tickets
  including an open complaint and one just outside the 90-day window.
- golden G0000000002 (李娜) is core-only with one time deposit (priority tier); its branch
  comes from the core CIF. She shares a mobile with 王芳 (G0000000004): one household.
- golden G0000000003 is retired (merged into G0000000001) and must not reach customer_360.
- golden G0000000004 (王芳) is CRM-only: four tickets on one day (SLA met, breached late,
  breached open, breached unanswered), two unanswered complaints (one older than 24 h: a
  complaint_escalation task; one not yet), and a CRM record with no branch, so the
  relationship manager's branch is used.
- golden G0000000005 (张丽) is core-only, lives at 张伟's address (household with
  G0000000001), has no relationship manager and holds a 600000 wealth product maturing the
  day after the as-of date: a VIP never contacted (vip_contact) and a maturity_followup, both
  assigned to her branch with no manager.
- The credit system has applications at every stage (disbursed, approved, in review,
  rejected) and one submitted after the as-of date, which the loan-cycle KPIs leave out.
- The MDM engine's side tables: one quarantined row, five scored pairs (3 auto-match, 1 in
  review, 1 non-match), the clusters, and golden events of two runs (the latest merges and
  retires G0000000003 and creates G0000000005).
- Source rows nobody links to (CIF C000000099's account, borrower BR00000002's loan, CRM
  customer CRM0000099's ticket) stay out of customer_360 but count in the service KPIs.
- Raw tables hold an older batch for some keys (superseded values that must not win), CSV-style
  empty strings, the CRM's 1985年3月7日 / YYYY/MM/DD HH:MM formats, credit's `T` timestamps and
  an impossible birth date (19850230) that must parse to NULL, not fail the build.

`build_fixture_warehouse(path)` writes it to a DuckDB file; `load_fixture_postgres(conn)` writes
the same tables into a PostgreSQL database (psycopg2 connection).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

AS_OF_DATE = "2026-11-28"

NEW_BATCH = ("b20261128", "2026-11-28T02:00:00.123456+00:00")
OLD_BATCH = ("b20261127", "2026-11-27T02:00:00+00:00")

ZW_ADDRESS = "河北省石家庄市长安区建设北大街1号"
LN_ADDRESS = "河北省保定市莲池区裕华西路8号"
WF_ADDRESS = "河北省保定市竞秀区朝阳南大街5号"


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: tuple[tuple[str, str], ...]  # (column name, portable SQL type)
    rows: tuple[tuple[Any, ...], ...]

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]


def _raw(
    name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], old_rows: Sequence = ()
) -> Table:
    """A raw.<system>__<table>: source columns as VARCHAR plus the three landing columns."""
    all_rows = []
    for batch, batch_rows in ((NEW_BATCH, rows), (OLD_BATCH, old_rows)):
        batch_id, extracted_at = batch
        for row in batch_rows:
            assert len(row) == len(columns), (name, row)
            row_hash = hashlib.sha256(repr(tuple(row)).encode("utf-8")).hexdigest()
            all_rows.append((*row, batch_id, row_hash, extracted_at))
    cols = tuple((c, "VARCHAR") for c in (*columns, "_batch_id", "_row_hash", "_extracted_at"))
    return Table("raw", name, cols, tuple(all_rows))


# fmt: off
CORE_CUSTOMERS = _raw(
    "core__cif_customer",
    ["cust_no", "cust_name", "cert_type", "cert_no", "gender_cd", "birth_dt", "mobile_no",
     "addr", "open_branch_no", "open_dt", "last_upd_ts"],
    [
        ("C000000001", "张伟", "01", "130102198503070011", "1", "19850307", "13800000001",
         ZW_ADDRESS, "B0101", "2010-05-04", "2026-11-20 08:30:00"),
        ("C000000002", "张 伟", "01", "130102850307001", "1", "19850307", "+86 138-0000-0001",
         "河北石家庄长安区建设北大街1号", "B0101", "2015-03-02", "2026-10-01 10:00:00"),
        ("C000000003", "李娜", "01", "13060219850230002X", "2", "19850230", "13700000004",
         LN_ADDRESS, "B0202", "2018-07-19", "2026-11-01 09:00:00"),
        ("C000000005", "张丽", "01", "130102198808080025", "2", "19880808", None,
         ZW_ADDRESS, "B0101", "2019-01-01", "2026-11-10 10:00:00"),
        ("C000000099", "孙七", "01", "", None, "19700101", None, None, "B0103",
         "2001-01-01", "2026-01-01 00:00:00"),
    ],
    old_rows=[
        ("C000000001", "张卫", "01", "130102198503070011", "1", "19850307", "13800000001",
         "旧地址", "B0101", "2010-05-04", "2026-01-01 08:30:00"),
    ],
)

CORE_ACCOUNTS = _raw(
    "core__dep_account",
    ["acct_no", "cust_no", "acct_type", "product_cd", "currency", "balance", "open_dt",
     "maturity_dt", "branch_no", "status", "last_upd_ts"],
    [
        ("6222000000000000001", "C000000001", "DEMAND", "DD01", "CNY", "100000.0",
         "2010-05-04", None, "B0101", "ACTIVE", "2026-11-27 18:00:00"),
        ("6222000000000000002", "C000000001", "TIME", "TD1Y", "USD", "50000.0",
         "2025-11-30", "2026-11-30", "B0101", "ACTIVE", "2025-11-30 10:00:00"),
        ("6222000000000000003", "C000000002", "WEALTH", "WM90D", "CNY", "80000.0",
         "2026-09-16", "2026-12-15", "B0101", "ACTIVE", "2026-09-16 10:00:00"),
        ("6222000000000000004", "C000000001", "DEMAND", "DD01", "CNY", "999.99",
         "2012-01-01", None, "B0101", "CLOSED", "2020-01-01 10:00:00"),
        ("6222000000000000005", "C000000002", "TIME", "TD03M", "CNY", "10000.0",
         "2026-08-01", "2026-11-01", "B0101", "ACTIVE", "2026-08-01 10:00:00"),
        ("6222000000000000006", "C000000003", "TIME", "TD1Y", "CNY", "200000.0",
         "2026-05-01", "2027-05-01", "B0202", "ACTIVE", "2026-05-01 10:00:00"),
        ("6222000000000000007", "C000000099", "DEMAND", "DD01", "CNY", "5000.0",
         "2001-01-01", None, "B0103", "ACTIVE", "2026-01-01 00:00:00"),
        ("6222000000000000008", "C000000005", "WEALTH", "WM30D", "CNY", "600000.0",
         "2026-10-30", "2026-11-29", "B0101", "ACTIVE", "2026-10-30 10:00:00"),
    ],
    old_rows=[
        ("6222000000000000001", "C000000001", "DEMAND", "DD01", "CNY", "1.0",
         "2010-05-04", None, "B0101", "ACTIVE", "2026-11-26 18:00:00"),
    ],
)

CREDIT_BORROWERS = _raw(
    "credit__borrower",
    ["BORROWER_ID", "FULL_NAME", "ID_CARD_NO", "PHONE", "BIRTHDAY", "SEX", "HOME_ADDRESS",
     "EMPLOYER", "UPDATED_AT"],
    [
        ("BR00000001", "ZHANG WEI", "130102198503070011", "13800000001", "1985/3/7", "M",
         ZW_ADDRESS, "河北钢铁集团", "2026-11-20T08:30:00"),
        ("BR00000002", "Li Lei", "130104199012010031", "13900000002", "1990-12-01", "M",
         "河北省石家庄市桥西区中山西路2号", None, "2026-06-01T12:00:00"),
    ],
)

CREDIT_APPLICATIONS = _raw(
    "credit__loan_application",
    ["APP_ID", "BORROWER_ID", "PRODUCT", "AMOUNT", "BRANCH_NO", "SUBMITTED_AT",
     "PRE_REVIEW_AT", "CREDIT_REVIEW_AT", "APPROVED_AT", "DISBURSED_AT", "STATUS"],
    [
        ("LA00000001", "BR00000001", "个人住房贷款", "500000.0", "B0101", "2024-01-02 09:00:00",
         "2024-01-03 10:00:00", "2024-01-05 15:00:00", "2024-01-08 11:00:00",
         "2024-01-10 09:30:00", "DISBURSED"),
        ("LA00000002", "BR00000001", "个人消费贷款", "50000.0", "B0101", "2025-03-01 09:00:00",
         "2025-03-01 14:00:00", "2025-03-02 10:00:00", "2025-03-02 16:00:00",
         "2025-03-03 09:00:00", "DISBURSED"),
        ("LA00000003", "BR00000002", "个人经营贷款", "10000.0", "B0103", "2025-06-01 09:00:00",
         "2025-06-02 09:00:00", "2025-06-03 09:00:00", "2025-06-04 09:00:00",
         "2025-06-05 09:00:00", "DISBURSED"),
        ("LA00000004", "BR00000001", "信用卡分期", "20000.0", "B0101", "2026-11-25 09:00:00",
         "2026-11-26 09:00:00", None, None, None, "REJECTED"),
        ("LA00000005", "BR00000001", "信用卡分期", "30000.0", "B0101", "2026-11-10 09:00:00",
         "2026-11-10 13:00:00", "2026-11-11 09:00:00", "2026-11-12 09:00:00", None, "APPROVED"),
        ("LA00000006", "BR00000001", "信用卡分期", "10000.0", "B0101", "2026-11-20 09:00:00",
         "2026-11-21 09:00:00", None, None, None, "IN_REVIEW"),
        # submitted after the as-of date: not in the loan-cycle KPIs
        ("LA00000007", "BR00000002", "信用卡分期", "5000.0", "B0101", "2026-11-29 10:00:00",
         None, None, None, None, "SUBMITTED"),
    ],
)

CREDIT_LOANS = _raw(
    "credit__loan",
    ["LOAN_ID", "APP_ID", "BORROWER_ID", "PRINCIPAL", "OUTSTANDING", "RATE", "START_DATE",
     "END_DATE", "FIVE_TIER", "BRANCH_NO"],
    [
        ("LN00000001", "LA00000001", "BR00000001", "500000.0", "300000.0", "0.0385",
         "2024-01-10", "2044-01-10", "正常", "B0101"),
        ("LN00000002", "LA00000002", "BR00000001", "50000.0", "20000.0", "0.0435",
         "2025-03-03", "2028-03-03", "次级", "B0101"),
        ("LN00000003", "LA00000003", "BR00000002", "10000.0", "5000.0", "0.055",
         "2025-06-05", "2027-06-05", "损失", "B0103"),
    ],
)

# CSV exports: missing values are empty strings, not NULL.
CRM_CUSTOMERS = _raw(
    "crm__crm_customers",
    ["客户编号", "姓名", "证件号码", "手机", "联系地址", "出生日期", "性别", "客户经理", "所属网点",
     "更新时间"],
    [
        ("CRM0000001", "张伟", "130102198503070011", "13800000001", ZW_ADDRESS,
         "1985年3月7日", "男", "RM0001", "B0101", "2026/11/20 08:30"),
        ("CRM0000002", "王芳", "130602199005120024", "13700000004", WF_ADDRESS,
         "19900512", "女", "RM0002", "", "2026/11/21 09:15"),
        ("CRM0000099", "赵六", "", "", "", "1980-01-01", "男", "RM0001", "B0103",
         "2026/01/01 00:00"),
    ],
    old_rows=[
        ("CRM0000001", "张伟", "130102198503070011", "13800000001", "旧地址", "1985年3月7日", "男",
         "RM0002", "B0202", "2025/01/01 08:30"),
    ],
)

CRM_TICKETS = _raw(
    "crm__crm_service_tickets",
    ["工单编号", "客户编号", "渠道", "类别", "创建时间", "首次响应时间", "解决时间", "满意度",
     "客户经理", "所属网点", "状态"],
    [
        # G0000000001 (CRM0000001): three complaints at the branch on 2026-11-27
        ("T000000001", "CRM0000001", "网点", "投诉", "2026-11-27 09:00:00", "2026-11-27 09:30:30",
         "2026-11-28 08:00:00", "4", "RM0001", "B0101", "已解决"),
        ("T000000002", "CRM0000001", "网点", "投诉", "2026-11-27 10:00:00", "2026-11-27 11:00:00",
         "", "", "RM0001", "B0101", "处理中"),
        ("T000000003", "CRM0000001", "网点", "投诉", "2026-11-27 14:00:00", "2026-11-27 14:10:00",
         "2026-11-27 20:00:00", "2", "RM0001", "B0101", "已解决"),
        # an enquiry inside the 90-day window (2026-08-31 .. 2026-11-28), resolved after 25 h
        ("T000000004", "CRM0000001", "电话银行", "咨询", "2026-09-01 08:00:00",
         "2026-09-01 08:05:00", "2026-09-02 09:00:00", "3", "RM0001", "B0101", "已解决"),
        # one day outside the window
        ("T000000005", "CRM0000001", "手机银行", "咨询", "2026-08-30 08:00:00",
         "2026-08-30 08:01:00", "2026-08-30 08:30:00", "5", "RM0001", "B0101", "已解决"),
        # G0000000004 (CRM0000002): four phone enquiries on 2026-11-20
        ("T000000006", "CRM0000002", "电话银行", "咨询", "2026-11-20 09:00:00",
         "2026-11-20 09:20:00", "2026-11-20 12:00:00", "5", "RM0002", "B0102", "已解决"),
        ("T000000007", "CRM0000002", "电话银行", "咨询", "2026-11-20 10:00:00",
         "2026-11-20 10:40:00", "2026-11-21 11:00:00", "", "RM0002", "B0102", "已解决"),
        ("T000000008", "CRM0000002", "电话银行", "咨询", "2026-11-20 11:00:00",
         "2026-11-20 12:30:00", "", "", "RM0002", "B0102", "处理中"),
        ("T000000009", "CRM0000002", "电话银行", "咨询", "2026-11-20 12:00:00", "", "", "",
         "RM0002", "B0102", "待响应"),
        # a CRM customer with no golden record: counts in the KPIs only
        ("T000000010", "CRM0000099", "微信银行", "挂失", "2026-11-25 10:00:00",
         "2026-11-25 10:02:00", "2026-11-25 11:00:00", "4", "RM0001", "B0103", "已解决"),
        # G0000000004: a complaint unanswered for more than 24 h (escalated), and one opened
        # on the as-of date, only 15 h before the cut-off (not yet)
        ("T000000011", "CRM0000002", "手机银行", "投诉", "2026-11-26 15:00:00", "", "", "",
         "RM0002", "B0102", "待响应"),
        ("T000000012", "CRM0000002", "手机银行", "投诉", "2026-11-28 09:00:00", "", "", "",
         "RM0002", "B0102", "待响应"),
    ],
)

CRM_RELATIONSHIP_MANAGERS = _raw(
    "crm__crm_relationship_managers",
    ["客户经理编号", "姓名", "所属网点", "网点名称"],
    [
        ("RM0001", "刘强", "B0101", "石家庄长安支行"),
        ("RM0002", "陈静", "B0202", "保定莲池支行"),
    ],
)

_PARTY_COLUMNS = (
    ("record_key", "VARCHAR"), ("source_system", "VARCHAR"), ("source_record_id", "VARCHAR"),
    ("source_updated_at", "TIMESTAMP"), ("batch_id", "VARCHAR"), ("name_raw", "VARCHAR"),
    ("name", "VARCHAR"), ("name_pinyin", "VARCHAR"), ("name_script", "VARCHAR"),
    ("id_type", "VARCHAR"), ("id_number", "VARCHAR"), ("id_valid", "BOOLEAN"),
    ("id_issue", "VARCHAR"), ("birth_date", "DATE"), ("gender", "VARCHAR"), ("mobile", "VARCHAR"),
    ("phone_other", "VARCHAR"), ("email", "VARCHAR"), ("address_raw", "VARCHAR"),
    ("address", "VARCHAR"), ("province", "VARCHAR"), ("city", "VARCHAR"), ("district", "VARCHAR"),
    ("adcode", "VARCHAR"), ("source_trust", "INTEGER"),
)


def _party(system: str, record_id: str, updated: str, name_raw: str, name: str, pinyin: str,
           id_number: str | None, id_valid: bool, birth: str | None, gender: str | None,
           mobile: str | None, address: str, city: str, district: str, adcode: str,
           trust: int, id_issue: str | None = None) -> tuple[Any, ...]:
    return (
        f"{system}:{record_id}", system, record_id, datetime.fromisoformat(updated),
        NEW_BATCH[0], name_raw, name, pinyin, "han" if name == name_raw else "latin",
        "resident_id" if id_number else None, id_number, id_valid, id_issue,
        date.fromisoformat(birth) if birth else None, gender, mobile, None, None, address,
        address, "河北省", city, district, adcode, trust,
    )


PARTY_RECORDS = Table("mdm", "party_records", _PARTY_COLUMNS, (
    _party("core", "C000000001", "2026-11-20 08:30:00", "张伟", "张伟", "zhang wei",
           "130102198503070011", True, "1985-03-07", "M", "13800000001", ZW_ADDRESS,
           "石家庄市", "长安区", "130102", 1),
    _party("core", "C000000002", "2026-10-01 10:00:00", "张 伟", "张伟", "zhang wei",
           "130102198503070011", True, "1985-03-07", "M", "13800000001", ZW_ADDRESS,
           "石家庄市", "长安区", "130102", 1, id_issue="upgraded_from_15"),
    _party("core", "C000000003", "2026-11-01 09:00:00", "李娜", "李娜", "li na",
           "13060219850230002X", False, None, "F", "13700000004", LN_ADDRESS,
           "保定市", "莲池区", "130606", 1, id_issue="bad_birth_date"),
    _party("core", "C000000005", "2026-11-10 10:00:00", "张丽", "张丽", "zhang li",
           "130102198808080025", True, "1988-08-08", "F", None, ZW_ADDRESS,
           "石家庄市", "长安区", "130102", 1),
    _party("credit", "BR00000001", "2026-11-20 08:30:00", "ZHANG WEI", "张伟", "zhang wei",
           "130102198503070011", True, "1985-03-07", "M", "13800000001", ZW_ADDRESS,
           "石家庄市", "长安区", "130102", 2),
    _party("crm", "CRM0000001", "2026-11-20 08:30:00", "张伟", "张伟", "zhang wei",
           "130102198503070011", True, "1985-03-07", "M", "13800000001", ZW_ADDRESS,
           "石家庄市", "长安区", "130102", 3),
    _party("crm", "CRM0000002", "2026-11-21 09:15:00", "王芳", "王芳", "wang fang",
           "130602199005120024", True, "1990-05-12", "F", "13700000004", WF_ADDRESS,
           "保定市", "竞秀区", "130602", 3),
))

_GOLDEN_COLUMNS = (
    ("golden_id", "VARCHAR"), ("name", "VARCHAR"), ("name_pinyin", "VARCHAR"),
    ("id_type", "VARCHAR"), ("id_number", "VARCHAR"), ("birth_date", "DATE"),
    ("gender", "VARCHAR"), ("mobile", "VARCHAR"), ("email", "VARCHAR"), ("address", "VARCHAR"),
    ("province", "VARCHAR"), ("city", "VARCHAR"), ("district", "VARCHAR"), ("adcode", "VARCHAR"),
    ("source_count", "INTEGER"), ("source_systems", "VARCHAR"), ("status", "VARCHAR"),
    ("survivor_id", "VARCHAR"), ("created_at", "TIMESTAMP"), ("updated_at", "TIMESTAMP"),
)

_RUN_AT = datetime(2026, 11, 28, 3, 0, 0)

GOLDEN_RECORDS = Table("mdm", "golden_records", _GOLDEN_COLUMNS, (
    ("G0000000001", "张伟", "zhang wei", "resident_id", "130102198503070011", date(1985, 3, 7),
     "M", "13800000001", None, ZW_ADDRESS, "河北省", "石家庄市", "长安区", "130102", 4,
     "core,credit,crm", "active", None, _RUN_AT, _RUN_AT),
    ("G0000000002", "李娜", "li na", "resident_id", "13060219850230002X", None, "F",
     "13700000004", None, LN_ADDRESS, "河北省", "保定市", "莲池区", "130606", 1, "core",
     "active", None, _RUN_AT, _RUN_AT),
    ("G0000000003", "张伟", "zhang wei", "resident_id", "130102198503070011", date(1985, 3, 7),
     "M", None, None, ZW_ADDRESS, "河北省", "石家庄市", "长安区", "130102", 1, "core", "retired",
     "G0000000001", _RUN_AT, _RUN_AT),
    ("G0000000004", "王芳", "wang fang", "resident_id", "130602199005120024", date(1990, 5, 12),
     "F", "13700000004", None, WF_ADDRESS, "河北省", "保定市", "竞秀区", "130602", 1, "crm",
     "active", None, _RUN_AT, _RUN_AT),
    ("G0000000005", "张丽", "zhang li", "resident_id", "130102198808080025", date(1988, 8, 8),
     "F", None, None, ZW_ADDRESS, "河北省", "石家庄市", "长安区", "130102", 1, "core", "active",
     None, _RUN_AT, _RUN_AT),
))

_XREF_COLUMNS = (
    ("record_key", "VARCHAR"), ("source_system", "VARCHAR"), ("source_record_id", "VARCHAR"),
    ("golden_id", "VARCHAR"), ("match_rule", "VARCHAR"), ("match_weight", "DOUBLE PRECISION"),
    ("linked_at", "TIMESTAMP"),
)

# C000000099, BR00000002 and CRM0000099 deliberately have no cross-reference.
XREF = Table("mdm", "xref", _XREF_COLUMNS, tuple(
    (f"{system}:{record_id}", system, record_id, golden_id, rule, weight, _RUN_AT)
    for system, record_id, golden_id, rule, weight in (
        ("core", "C000000001", "G0000000001", "same_id_and_name", 25.0),
        ("core", "C000000002", "G0000000001", "same_id_and_name", 25.0),
        ("credit", "BR00000001", "G0000000001", "probabilistic", 18.5),
        ("crm", "CRM0000001", "G0000000001", "same_id_and_name", 25.0),
        ("core", "C000000003", "G0000000002", "singleton", None),
        ("crm", "CRM0000002", "G0000000004", "singleton", None),
        ("core", "C000000005", "G0000000005", "singleton", None),
    )
))

QUARANTINE = Table("mdm", "quarantine", (
    ("source_system", "VARCHAR"), ("source_record_id", "VARCHAR"), ("batch_id", "VARCHAR"),
    ("rule", "VARCHAR"), ("reason", "VARCHAR"), ("raw_payload", "VARCHAR"),
    ("quarantined_at", "TIMESTAMP"),
), (
    ("core", "C000000098", NEW_BATCH[0], "junk_name", "test or placeholder name '测试客户'",
     '{"cust_no": "C000000098", "cust_name": "测试客户"}', _RUN_AT),
))

# The gamma_* columns depend on mdm.yaml; two are enough to show staging ignores them.
SCORED_PAIRS = Table("mdm", "scored_pairs", (
    ("record_key_l", "VARCHAR"), ("record_key_r", "VARCHAR"), ("blocking_rule", "VARCHAR"),
    ("gamma_name", "SMALLINT"), ("gamma_id_number", "SMALLINT"),
    ("match_weight", "DOUBLE PRECISION"), ("match_probability", "DOUBLE PRECISION"),
    ("zone", "VARCHAR"), ("deterministic_rule", "VARCHAR"),
), (
    ("core:C000000001", "core:C000000002", "id_number", 3, 3, 30.0, 1.0, "auto_match",
     "same_id_and_name"),
    ("core:C000000001", "credit:BR00000001", "id_number", 2, 3, 18.5, 0.99999, "auto_match",
     None),
    ("core:C000000001", "crm:CRM0000001", "id_number", 3, 3, 30.0, 1.0, "auto_match",
     "same_id_and_name"),
    ("core:C000000003", "crm:CRM0000002", "mobile", 0, 0, 2.5, 0.85, "review", None),
    ("core:C000000001", "core:C000000005", "address", 1, 0, -12.0, 0.0002, "non_match", None),
))

CLUSTERS = Table("mdm", "clusters", (
    ("record_key", "VARCHAR"), ("cluster_id", "VARCHAR"), ("cluster_size", "BIGINT"),
), (
    ("core:C000000001", "core:C000000001", 4),
    ("core:C000000002", "core:C000000001", 4),
    ("credit:BR00000001", "core:C000000001", 4),
    ("crm:CRM0000001", "core:C000000001", 4),
    ("core:C000000003", "core:C000000003", 1),
    ("crm:CRM0000002", "crm:CRM0000002", 1),
    ("core:C000000005", "core:C000000005", 1),
))

_EARLIER_RUN_AT = datetime(2026, 11, 27, 3, 0, 0)

# Two runs: the latest (run-2) merged G…3 into G…1, retired G…3, created G…5, updated G…1.
GOLDEN_EVENTS = Table("mdm", "golden_events", (
    ("event_id", "VARCHAR"), ("run_id", "VARCHAR"), ("event_type", "VARCHAR"),
    ("golden_id", "VARCHAR"), ("related_golden_id", "VARCHAR"), ("detail", "VARCHAR"),
    ("occurred_at", "TIMESTAMP"),
), (
    ("run-1:0000000", "run-1", "create", "G0000000001", None, "new customer", _EARLIER_RUN_AT),
    ("run-1:0000001", "run-1", "create", "G0000000002", None, "new customer", _EARLIER_RUN_AT),
    ("run-1:0000002", "run-1", "create", "G0000000003", None, "new customer", _EARLIER_RUN_AT),
    ("run-1:0000003", "run-1", "create", "G0000000004", None, "new customer", _EARLIER_RUN_AT),
    ("run-2:0000000", "run-2", "merge", "G0000000001", "G0000000003", "merged G0000000003",
     _RUN_AT),
    ("run-2:0000001", "run-2", "retire", "G0000000003", "G0000000001", "merged into G0000000001",
     _RUN_AT),
    ("run-2:0000002", "run-2", "create", "G0000000005", None, "new customer", _RUN_AT),
    ("run-2:0000003", "run-2", "update", "G0000000001", None, "address", _RUN_AT),
))
# fmt: on

TABLES: tuple[Table, ...] = (
    CORE_CUSTOMERS,
    CORE_ACCOUNTS,
    CREDIT_BORROWERS,
    CREDIT_APPLICATIONS,
    CREDIT_LOANS,
    CRM_CUSTOMERS,
    CRM_TICKETS,
    CRM_RELATIONSHIP_MANAGERS,
    PARTY_RECORDS,
    QUARANTINE,
    SCORED_PAIRS,
    CLUSTERS,
    GOLDEN_RECORDS,
    XREF,
    GOLDEN_EVENTS,
)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _create_sql(table: Table) -> str:
    columns = ", ".join(f"{_quote(name)} {sql_type}" for name, sql_type in table.columns)
    return f"create table {table.schema}.{table.name} ({columns})"


def _insert_sql(table: Table, placeholder: str) -> str:
    names = ", ".join(_quote(name) for name in table.column_names)
    values = ", ".join([placeholder] * len(table.columns))
    return f"insert into {table.schema}.{table.name} ({names}) values ({values})"


def build_fixture_warehouse(duckdb_path: str | Path) -> Path:
    """Create (or replace) a DuckDB warehouse file holding the fixture's raw.* and mdm.* tables."""
    import duckdb

    path = Path(duckdb_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as connection:
        for schema in sorted({table.schema for table in TABLES}):
            connection.execute(f"create schema if not exists {schema}")
        for table in TABLES:
            connection.execute(f"drop table if exists {table.schema}.{table.name}")
            connection.execute(_create_sql(table))
            connection.executemany(_insert_sql(table, "?"), [list(row) for row in table.rows])
    return path


def load_fixture_postgres(connection: Any) -> None:
    """Create the fixture's tables in the database of a psycopg2 `connection`, then commit."""
    with connection.cursor() as cursor:
        for schema in sorted({table.schema for table in TABLES}):
            cursor.execute(f"create schema if not exists {schema}")
        for table in TABLES:
            cursor.execute(f"drop table if exists {table.schema}.{table.name}")
            cursor.execute(_create_sql(table))
            cursor.executemany(_insert_sql(table, "%s"), table.rows)
    connection.commit()
