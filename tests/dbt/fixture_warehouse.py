"""A tiny hand-made warehouse for the dbt project: the canonical.* and mdm.* tables it reads.

dbt reads no source's own tables: the canonical activity tables (connectors/entities.py, built
here in exactly the shape the canonicalize stage writes) and the MDM engine's tables. The rows
are few and chosen so that every join and rule in the models is exercised and every mart value
can be computed by hand (test_dbt_build.py has the arithmetic):

- golden G0000000001 (张伟) links two core CIFs, one credit borrower and one CRM customer: a
  demand account, a USD time deposit maturing two days after the as-of date, a wealth product,
  an already-matured time deposit, a closed account; two loans (正常, 次级); five tickets
  including an open complaint and one just outside the 90-day window. Its party records name
  three branches: the most trusted source's latest record (core C000000001, B0101) wins over
  an older core record (B0199) and the less trusted CRM's (B0105).
- golden G0000000002 (李娜) is core-only with one time deposit (priority tier); its branch
  comes from its core record. She shares a mobile with 王芳 (G0000000004): one household.
- golden G0000000003 is retired (merged into G0000000001) and must not reach customer_360.
- golden G0000000004 (王芳) is CRM-only: four tickets on one day (SLA met, breached late,
  breached open, breached unanswered), two unanswered complaints (one older than 24 h: a
  complaint_escalation task; one not yet), a party record naming a manager but no branch, so
  the relationship manager's branch is used, and a demand account the CRM holds under the
  same number as a core account of 李娜 (two sources, one account number: record keys differ).
- golden G0000000005 (张丽) is core-only, lives at 张伟's address (household with
  G0000000001), has no relationship manager and holds a 600000 wealth product maturing the
  day after the as-of date: a VIP never contacted (vip_contact) and a maturity_followup, both
  assigned to her branch with no manager.
- Loan applications at every stage (disbursed, approved, in review, rejected) and one
  submitted after the as-of date, which the loan-cycle KPIs leave out.
- The MDM engine's side tables: one quarantined row, five scored pairs (3 auto-match, 1 in
  review, 1 non-match), the clusters, and golden events of two runs (the latest merges and
  retires G0000000003 and creates G0000000005).
- Activity rows whose customer nobody links (CIF C000000099's account, borrower BR00000002's
  loan, CRM customer CRM0000099's ticket) stay out of customer_360 but count in the KPIs.

`build_fixture_warehouse(path)` writes it to a DuckDB file; `load_fixture_postgres(conn)` writes
the same tables into a PostgreSQL database (psycopg2 connection).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from connectors.entities import ENTITIES, LINEAGE_COLUMNS

AS_OF_DATE = "2026-11-28"

BATCH_ID = "b20261128"

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


def _union(first: Table, *others: Table) -> Table:
    """One table holding the rows of several sources' tables of the same shape."""
    assert all(other.columns == first.columns for other in others)
    rows = first.rows + tuple(row for other in others for row in other.rows)
    return Table(first.schema, first.name, first.columns, rows)


# The SQL type of each canonical field kind, as the canonicalize stage writes it (dates as
# midnight timestamps, as pandas writes them).
_KIND_TYPES = {
    "key": "VARCHAR",
    "owner": "VARCHAR",
    "text": "VARCHAR",
    "code": "VARCHAR",
    "decimal": "DOUBLE PRECISION",
    "integer": "BIGINT",
    "date": "TIMESTAMP",
    "timestamp": "TIMESTAMP",
}


def _value(kind: str, text: str | None) -> Any:
    if text is None:
        return None
    if kind == "decimal":
        return float(text)
    if kind == "integer":
        return int(text)
    if kind in {"date", "timestamp"}:
        return datetime.fromisoformat(text)
    return text


def _canonical(entity_name: str, system: str, rows: Sequence[dict[str, str | None]]) -> Table:
    """canonical.<entity table> as the canonicalize stage writes it: the lineage columns, then
    the entity's fields typed by kind; `rows` give fields by name (missing ones NULL)."""
    entity = ENTITIES[entity_name]
    schema, name = entity.table.split(".")
    owner = entity.owner
    columns = (
        *((column, "VARCHAR") for column in LINEAGE_COLUMNS),
        *((field.name, _KIND_TYPES[field.kind]) for field in entity.fields),
    )
    table_rows = []
    for row in rows:
        assert set(row) <= {field.name for field in entity.fields}, (entity_name, row)
        owner_key = row.get(owner.name) if owner is not None else None
        lineage = (
            system,
            f"{system}:{row[entity.key.name]}",
            f"{system}:{owner_key}" if owner_key is not None else None,
            BATCH_ID,
        )
        values = tuple(_value(field.kind, row.get(field.name)) for field in entity.fields)
        table_rows.append((*lineage, *values))
    return Table(schema, name, columns, tuple(table_rows))


def _fields(names: str, *rows: Sequence[str | None]) -> list[dict[str, str | None]]:
    keys = names.split()
    return [dict(zip(keys, row, strict=True)) for row in rows]


# fmt: off
ACCOUNTS = _union(
    _canonical("account", "core", _fields(
        "account_no customer_no account_type product_code currency balance opened_on "
        "maturity_date branch_no account_status updated_at",
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
    )),
    # A second source's account under the same number as a core one: record keys keep them
    # apart, and its owner's AUM counts it.
    _canonical("account", "crm", _fields(
        "account_no customer_no account_type currency balance opened_on account_status",
        ("6222000000000000006", "CRM0000002", "DEMAND", "CNY", "1000.0", "2026-01-05", None),
    )),
)

LOAN_APPLICATIONS = _canonical("loan_application", "credit", _fields(
    "application_id customer_no product amount branch_no submitted_at pre_reviewed_at "
    "credit_reviewed_at approved_at disbursed_at application_status",
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
))

LOANS = _canonical("loan", "credit", _fields(
    "loan_id application_id customer_no principal outstanding interest_rate start_date "
    "end_date five_tier_class branch_no",
    ("LN00000001", "LA00000001", "BR00000001", "500000.0", "300000.0", "0.0385",
     "2024-01-10", "2044-01-10", "正常", "B0101"),
    ("LN00000002", "LA00000002", "BR00000001", "50000.0", "20000.0", "0.0435",
     "2025-03-03", "2028-03-03", "次级", "B0101"),
    ("LN00000003", "LA00000003", "BR00000002", "10000.0", "5000.0", "0.055",
     "2025-06-05", "2027-06-05", "损失", "B0103"),
))

SERVICE_TICKETS = _canonical("service_ticket", "crm", _fields(
    "ticket_id customer_no channel category created_at first_response_at resolved_at csat "
    "relationship_manager_id branch_no ticket_status",
    # G0000000001 (CRM0000001): three complaints at the branch on 2026-11-27
    ("T000000001", "CRM0000001", "branch", "complaint", "2026-11-27 09:00:00",
     "2026-11-27 09:30:30", "2026-11-28 08:00:00", "4", "RM0001", "B0101", "resolved"),
    ("T000000002", "CRM0000001", "branch", "complaint", "2026-11-27 10:00:00",
     "2026-11-27 11:00:00", None, None, "RM0001", "B0101", "in_progress"),
    ("T000000003", "CRM0000001", "branch", "complaint", "2026-11-27 14:00:00",
     "2026-11-27 14:10:00", "2026-11-27 20:00:00", "2", "RM0001", "B0101", "resolved"),
    # an inquiry inside the 90-day window (2026-08-31 .. 2026-11-28), resolved after 25 h
    ("T000000004", "CRM0000001", "phone", "inquiry", "2026-09-01 08:00:00",
     "2026-09-01 08:05:00", "2026-09-02 09:00:00", "3", "RM0001", "B0101", "resolved"),
    # one day outside the window
    ("T000000005", "CRM0000001", "mobile_app", "inquiry", "2026-08-30 08:00:00",
     "2026-08-30 08:01:00", "2026-08-30 08:30:00", "5", "RM0001", "B0101", "resolved"),
    # G0000000004 (CRM0000002): four phone inquiries on 2026-11-20
    ("T000000006", "CRM0000002", "phone", "inquiry", "2026-11-20 09:00:00",
     "2026-11-20 09:20:00", "2026-11-20 12:00:00", "5", "RM0002", "B0102", "resolved"),
    ("T000000007", "CRM0000002", "phone", "inquiry", "2026-11-20 10:00:00",
     "2026-11-20 10:40:00", "2026-11-21 11:00:00", None, "RM0002", "B0102", "resolved"),
    ("T000000008", "CRM0000002", "phone", "inquiry", "2026-11-20 11:00:00",
     "2026-11-20 12:30:00", None, None, "RM0002", "B0102", "in_progress"),
    ("T000000009", "CRM0000002", "phone", "inquiry", "2026-11-20 12:00:00", None, None, None,
     "RM0002", "B0102", "awaiting_response"),
    # a customer with no golden record: counts in the KPIs only
    ("T000000010", "CRM0000099", "wechat", "loss_report", "2026-11-25 10:00:00",
     "2026-11-25 10:02:00", "2026-11-25 11:00:00", "4", "RM0001", "B0103", "resolved"),
    # G0000000004: a complaint unanswered for more than 24 h (escalated), and one opened
    # on the as-of date, only 15 h before the cut-off (not yet)
    ("T000000011", "CRM0000002", "mobile_app", "complaint", "2026-11-26 15:00:00", None, None,
     None, "RM0002", "B0102", "awaiting_response"),
    ("T000000012", "CRM0000002", "mobile_app", "complaint", "2026-11-28 09:00:00", None, None,
     None, "RM0002", "B0102", "awaiting_response"),
))

RELATIONSHIP_MANAGERS = _canonical("relationship_manager", "crm", _fields(
    "relationship_manager_id relationship_manager_name branch_no branch_name",
    ("RM0001", "刘强", "B0101", "石家庄长安支行"),
    ("RM0002", "陈静", "B0202", "保定莲池支行"),
))

ENTITY_COVERAGE = Table("canonical", "entity_coverage", (
    ("entity", "VARCHAR"), ("canonical_table", "VARCHAR"), ("mapped", "BOOLEAN"),
    ("sources", "VARCHAR"), ("row_count", "BIGINT"),
), tuple(
    (entity, ENTITIES[entity].table, True, sources, len(table.rows))
    for entity, sources, table in (
        ("account", "core,crm", ACCOUNTS),
        ("loan", "credit", LOANS),
        ("loan_application", "credit", LOAN_APPLICATIONS),
        ("service_ticket", "crm", SERVICE_TICKETS),
        ("relationship_manager", "crm", RELATIONSHIP_MANAGERS),
    )
))

_PARTY_COLUMNS = (
    ("record_key", "VARCHAR"), ("source_system", "VARCHAR"), ("source_record_id", "VARCHAR"),
    ("source_updated_at", "TIMESTAMP"), ("batch_id", "VARCHAR"), ("name_raw", "VARCHAR"),
    ("name", "VARCHAR"), ("name_pinyin", "VARCHAR"), ("name_script", "VARCHAR"),
    ("id_type", "VARCHAR"), ("id_number", "VARCHAR"), ("id_valid", "BOOLEAN"),
    ("id_issue", "VARCHAR"), ("birth_date", "DATE"), ("gender", "VARCHAR"), ("mobile", "VARCHAR"),
    ("phone_other", "VARCHAR"), ("email", "VARCHAR"), ("address_raw", "VARCHAR"),
    ("address", "VARCHAR"), ("province", "VARCHAR"), ("city", "VARCHAR"), ("district", "VARCHAR"),
    ("adcode", "VARCHAR"), ("branch_no", "VARCHAR"), ("relationship_manager_id", "VARCHAR"),
    ("source_trust", "INTEGER"),
)


def _party(system: str, record_id: str, updated: str, name_raw: str, name: str, pinyin: str,
           id_number: str | None, id_valid: bool, birth: str | None, gender: str | None,
           mobile: str | None, address: str, city: str, district: str, adcode: str,
           trust: int, id_issue: str | None = None, branch: str | None = None,
           manager: str | None = None) -> tuple[Any, ...]:
    return (
        f"{system}:{record_id}", system, record_id, datetime.fromisoformat(updated),
        BATCH_ID, name_raw, name, pinyin, "han" if name == name_raw else "latin",
        "resident_id" if id_number else None, id_number, id_valid, id_issue,
        date.fromisoformat(birth) if birth else None, gender, mobile, None, None, address,
        address, "河北省", city, district, adcode, branch, manager, trust,
    )


PARTY_RECORDS = Table("mdm", "party_records", _PARTY_COLUMNS, (
    _party("core", "C000000001", "2026-11-20 08:30:00", "张伟", "张伟", "zhang wei",
           "130102198503070011", True, "1985-03-07", "M", "13800000001", ZW_ADDRESS,
           "石家庄市", "长安区", "130102", 1, branch="B0101"),
    _party("core", "C000000002", "2026-10-01 10:00:00", "张 伟", "张伟", "zhang wei",
           "130102198503070011", True, "1985-03-07", "M", "13800000001", ZW_ADDRESS,
           "石家庄市", "长安区", "130102", 1, id_issue="upgraded_from_15",
           branch="B0199"),
    _party("core", "C000000003", "2026-11-01 09:00:00", "李娜", "李娜", "li na",
           "13060219850230002X", False, None, "F", "13700000004", LN_ADDRESS,
           "保定市", "莲池区", "130606", 1, id_issue="bad_birth_date",
           branch="B0202"),
    _party("core", "C000000005", "2026-11-10 10:00:00", "张丽", "张丽", "zhang li",
           "130102198808080025", True, "1988-08-08", "F", None, ZW_ADDRESS,
           "石家庄市", "长安区", "130102", 1, branch="B0101"),
    _party("credit", "BR00000001", "2026-11-20 08:30:00", "ZHANG WEI", "张伟", "zhang wei",
           "130102198503070011", True, "1985-03-07", "M", "13800000001", ZW_ADDRESS,
           "石家庄市", "长安区", "130102", 2),
    _party("crm", "CRM0000001", "2026-11-20 08:30:00", "张伟", "张伟", "zhang wei",
           "130102198503070011", True, "1985-03-07", "M", "13800000001", ZW_ADDRESS,
           "石家庄市", "长安区", "130102", 3, branch="B0105", manager="RM0001"),
    _party("crm", "CRM0000002", "2026-11-21 09:15:00", "王芳", "王芳", "wang fang",
           "130602199005120024", True, "1990-05-12", "F", "13700000004", WF_ADDRESS,
           "保定市", "竞秀区", "130602", 3, manager="RM0002"),
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
    ("core", "C000000098", BATCH_ID, "junk_name", "test or placeholder name '测试客户'",
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

# Two runs: the latest (run-2) applied steward decision 7, merging G…3 into G…1 (retired),
# created G…5 and updated G…1's address.
GOLDEN_EVENTS = Table("mdm", "golden_events", (
    ("event_id", "VARCHAR"), ("run_id", "VARCHAR"), ("event_type", "VARCHAR"),
    ("golden_id", "VARCHAR"), ("related_golden_id", "VARCHAR"), ("detail", "VARCHAR"),
    ("occurred_at", "TIMESTAMP"), ("decision_id", "BIGINT"), ("steward", "VARCHAR"),
    ("changed_fields", "VARCHAR"),
), (
    ("run-1:0000000", "run-1", "create", "G0000000001", None, "new customer", _EARLIER_RUN_AT,
     None, None, None),
    ("run-1:0000001", "run-1", "create", "G0000000002", None, "new customer", _EARLIER_RUN_AT,
     None, None, None),
    ("run-1:0000002", "run-1", "create", "G0000000003", None, "new customer", _EARLIER_RUN_AT,
     None, None, None),
    ("run-1:0000003", "run-1", "create", "G0000000004", None, "new customer", _EARLIER_RUN_AT,
     None, None, None),
    ("run-2:0000000", "run-2", "merge", "G0000000001", "G0000000003", "merged G0000000003",
     _RUN_AT, 7, "cli:wang.min", None),
    ("run-2:0000001", "run-2", "retire", "G0000000003", "G0000000001", "merged into G0000000001",
     _RUN_AT, 7, "cli:wang.min", None),
    ("run-2:0000002", "run-2", "create", "G0000000005", None, "new customer", _RUN_AT,
     None, None, None),
    ("run-2:0000003", "run-2", "update", "G0000000001", None, "address", _RUN_AT, None, None,
     "address,province,city,district,adcode"),
))
# fmt: on

TABLES: tuple[Table, ...] = (
    ACCOUNTS,
    LOANS,
    LOAN_APPLICATIONS,
    SERVICE_TICKETS,
    RELATIONSHIP_MANAGERS,
    ENTITY_COVERAGE,
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
