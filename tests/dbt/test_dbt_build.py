"""`dbt build` of dbt_project/ on the hand-made fixture warehouse, on DuckDB and on PostgreSQL.

Both targets must build every model, pass every data test and unit test, and produce exactly
the mart rows below, computed by hand from tests/dbt/fixture_warehouse.py (as-of 2026-11-28,
USD at 7.1 CNY, SLA 48 h for complaints and 24 h otherwise, judged at 2026-11-29 00:00).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.settings import PROJECT_ROOT
from tests.dbt.fixture_warehouse import (
    AS_OF_DATE,
    LN_ADDRESS,
    WF_ADDRESS,
    ZW_ADDRESS,
    build_fixture_warehouse,
    load_fixture_postgres,
)

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

D = Decimal

# customer_360, one row per *active* golden record (G0000000003 is retired).
EXPECTED_CUSTOMER_360: list[dict[str, Any]] = [
    {
        "golden_id": "G0000000001",
        "name": "张伟",
        "gender": "M",
        "birth_date": date(1985, 3, 7),
        "id_number": "130102198503070011",
        "mobile": "13800000001",
        "address": ZW_ADDRESS,
        "province": "河北省",
        "city": "石家庄市",
        "district": "长安区",
        "source_count": 4,
        "source_systems": "core,credit,crm",
        # ACTIVE accounts of C000000001 and C000000002 (the closed 999.99 does not count; the
        # older raw batch's balance 1.0 for account …001 is superseded by 100000.0):
        # demand 100000.00; time 50000 USD * 7.1 = 355000.00 + 10000.00 = 365000.00;
        # wealth 80000.00; total 545000.00 >= 500000 -> VIP
        "demand_balance": D("100000.00"),
        "time_deposit_balance": D("365000.00"),
        "wealth_balance": D("80000.00"),
        "total_aum": D("545000.00"),
        # maturities 2026-11-30, 2026-12-15 and 2026-11-01 (already past): nearest upcoming
        "nearest_maturity_date": date(2026, 11, 30),
        "account_count": 4,
        # LN…1 正常 300000 + LN…2 次级 20000; LN…3 (损失) belongs to an unlinked borrower
        "loan_count": 2,
        "loan_outstanding": D("320000.00"),
        "worst_loan_class": "次级",
        # CRM0000001's 客户经理 RM0001 (the older batch's RM0002 is superseded)
        "relationship_manager_id": "RM0001",
        "relationship_manager_name": "刘强",
        "branch_no": "B0101",
        # T1-T4 fall in 2026-08-31 .. 2026-11-28; T5 (2026-08-30) does not
        "tickets_last_90d": 4,
        # T2: complaint, 处理中
        "open_complaints": 1,
        "last_contact_at": datetime(2026, 11, 27, 14, 0, 0),
        # ratings 4, 2, 3, 5 -> 3.50
        "avg_csat": D("3.50"),
        "value_tier": "VIP",
        "as_of_date": date(2026, 11, 28),
    },
    {
        "golden_id": "G0000000002",
        "name": "李娜",
        "gender": "F",
        "birth_date": None,
        "id_number": "13060219850230002X",
        "mobile": None,
        "address": LN_ADDRESS,
        "province": "河北省",
        "city": "保定市",
        "district": "莲池区",
        "source_count": 1,
        "source_systems": "core",
        # one TIME deposit of 200000.00 -> priority
        "demand_balance": D("0.00"),
        "time_deposit_balance": D("200000.00"),
        "wealth_balance": D("0.00"),
        "total_aum": D("200000.00"),
        "nearest_maturity_date": date(2027, 5, 1),
        "account_count": 1,
        "loan_count": 0,
        "loan_outstanding": D("0.00"),
        "worst_loan_class": None,
        "relationship_manager_id": None,
        "relationship_manager_name": None,
        "branch_no": None,
        "tickets_last_90d": 0,
        "open_complaints": 0,
        "last_contact_at": None,
        "avg_csat": None,
        "value_tier": "priority",
        "as_of_date": date(2026, 11, 28),
    },
    {
        "golden_id": "G0000000004",
        "name": "王芳",
        "gender": "F",
        "birth_date": date(1990, 5, 12),
        "id_number": "130602199005120024",
        "mobile": "13700000004",
        "address": WF_ADDRESS,
        "province": "河北省",
        "city": "保定市",
        "district": "竞秀区",
        "source_count": 1,
        "source_systems": "crm",
        "demand_balance": D("0.00"),
        "time_deposit_balance": D("0.00"),
        "wealth_balance": D("0.00"),
        "total_aum": D("0.00"),
        "nearest_maturity_date": None,
        "account_count": 0,
        "loan_count": 0,
        "loan_outstanding": D("0.00"),
        "worst_loan_class": None,
        # CRM0000002 has no 所属网点: the manager RM0002's branch B0202 is used
        "relationship_manager_id": "RM0002",
        "relationship_manager_name": "陈静",
        "branch_no": "B0202",
        "tickets_last_90d": 4,
        "open_complaints": 0,
        "last_contact_at": datetime(2026, 11, 20, 12, 0, 0),
        # only T6 is rated (5)
        "avg_csat": D("5.00"),
        "value_tier": "standard",
        "as_of_date": date(2026, 11, 28),
    },
]

KPI_COLUMNS = [
    "kpi_key",
    "ticket_date",
    "branch_no",
    "channel",
    "category",
    "tickets",
    "responded_tickets",
    "first_response_minutes_mean",
    "first_response_minutes_median",
    "first_response_minutes_p90",
    "resolved_tickets",
    "resolution_minutes_mean",
    "sla_evaluated_tickets",
    "resolved_within_sla_share",
    "complaints",
    "complaint_closure_rate",
    "avg_csat",
]


def _kpi(day: str, branch: str, channel: str, category: str, *values: Any) -> dict[str, Any]:
    key = f"{day}|{branch}|{channel}|{category}"
    return dict(
        zip(
            KPI_COLUMNS,
            (key, date.fromisoformat(day), branch, channel, category, *values),
            strict=True,
        )
    )


# kpi_service_daily, ordered by kpi_key. Values in KPI_COLUMNS order after the four key parts:
# tickets, responded, first response mean / median / p90, resolved, resolution mean,
# SLA-evaluated, share within SLA, complaints, complaint closure rate, average CSAT.
# fmt: off
EXPECTED_KPI_SERVICE_DAILY: list[dict[str, Any]] = [
    # T5: response 1 min, resolved in 30 min (24 h SLA met), rated 5
    _kpi("2026-08-30", "B0101", "手机银行", "咨询",
         1, 1, D("1.00"), D("1.00"), D("1.00"), 1, D("30.00"), 1, D("1.0000"), 0, None,
         D("5.00")),
    # T4: response 5 min, resolved after 25 h = 1500 min: SLA (24 h) breached, rated 3
    _kpi("2026-09-01", "B0101", "电话银行", "咨询",
         1, 1, D("5.00"), D("5.00"), D("5.00"), 1, D("1500.00"), 1, D("0.0000"), 0, None,
         D("3.00")),
    # T6-T9: responses 20, 40, 90 min (T9 none): mean 50, median 40, p90 = 40 + 0.8 * 50 = 80;
    # resolved 180 and 1500 min: mean 840; SLA met by T6 only; T7 resolved late, T8 and T9
    # still open past their deadline (2026-11-21): 1/4; only T6 rated (5)
    _kpi("2026-11-20", "B0102", "电话银行", "咨询",
         4, 3, D("50.00"), D("40.00"), D("80.00"), 2, D("840.00"), 4, D("0.2500"), 0, None,
         D("5.00")),
    # T10 (customer without golden record): response 2 min, resolved in 60 min, rated 4
    _kpi("2026-11-25", "B0103", "微信银行", "挂失",
         1, 1, D("2.00"), D("2.00"), D("2.00"), 1, D("60.00"), 1, D("1.0000"), 0, None,
         D("4.00")),
    # T1-T3 complaints: responses 30.5, 60, 10 min: mean 33.50, median 30.50,
    # p90 = 30.5 + 0.8 * (60 - 30.5) = 54.10; resolved 1380 (T1, 23 h) and 360 (T3): mean 870;
    # SLA 48 h: T1, T3 met, T2 pending (due 2026-11-29 10:00, after the cut-off) -> 2/2;
    # 2 of 3 complaints closed; rated 4 and 2 -> 3.00
    _kpi("2026-11-27", "B0101", "网点", "投诉",
         3, 3, D("33.50"), D("30.50"), D("54.10"), 2, D("870.00"), 2, D("1.0000"), 3,
         D("0.6667"), D("3.00")),
]
# fmt: on


# parse_timestamp edge cases: (text, patterns, expected). Both targets must agree exactly.
# fmt: off
PARSE_CASES: list[tuple[str, list[str], datetime | None]] = [
    ("2024-02-29 23:59:59", ["%Y-%m-%d %H:%M:%S"], datetime(2024, 2, 29, 23, 59, 59)),
    ("2026-02-29 10:00:00", ["%Y-%m-%d %H:%M:%S"], None),  # not a leap year
    ("2026-11-28 24:00:00", ["%Y-%m-%d %H:%M:%S"], None),
    ("2026-11-28 23:60:00", ["%Y-%m-%d %H:%M:%S"], None),
    (" 2026/11/20 08:30 ", ["%Y/%m/%d %H:%M"], datetime(2026, 11, 20, 8, 30)),
    ("2026-1-5 8:05", ["%Y-%m-%d %H:%M"], datetime(2026, 1, 5, 8, 5)),
    ("1985年3月7日", ["%Y-%m-%d", "%Y年%m月%d日"], datetime(1985, 3, 7)),
    ("19850307", ["%Y%m%d"], datetime(1985, 3, 7)),
    ("1985037", ["%Y%m%d"], None),  # adjacent directives need two digits each
    ("85-3-7", ["%Y-%m-%d"], None),  # DuckDB's strptime alone would read the year 85
    ("2026.11.28", ["%Y.%m.%d"], datetime(2026, 11, 28)),
    ("2026x11x28", ["%Y.%m.%d"], None),  # '.' is literal, not a regex wildcard
    ("2026-11-28T09:05:00", ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"],
     datetime(2026, 11, 28, 9, 5)),
    ("", ["%Y-%m-%d"], None),
    ("garbage", ["%Y-%m-%d"], None),
]
# fmt: on


def _parse_cases_sql() -> str:
    """One inline dbt query calling the parse_timestamp macro on every case."""
    selects = []
    for number, (text, patterns, _) in enumerate(PARSE_CASES):
        literal = "'" + text.replace("'", "''") + "'"
        arguments = (
            f"{json.dumps(literal, ensure_ascii=False)}, {json.dumps(patterns, ensure_ascii=False)}"
        )
        selects.append(
            f"select {number} as case_no, {{{{ mdm.parse_timestamp({arguments}) }}}} as parsed"
        )
    return "\nunion all\n".join(selects)


def _compile_inline(tmp_path: Path, target: str, sql: str) -> str:
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(
        [
            "compile",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target",
            target,
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
            "--inline",
            sql,
        ]
    )
    assert result.success, result.exception
    return result.result.results[0].node.compiled_code


def _assert_parse_cases(cursor: Any, compiled_sql: str) -> None:
    cursor.execute(f"select case_no, parsed from ({compiled_sql}) as cases order by case_no")
    got = {number: parsed for number, parsed in cursor.fetchall()}
    expected = {number: case[2] for number, case in enumerate(PARSE_CASES)}
    assert got == expected


def running_in_ci() -> bool:
    """CI sets CI=true: there a PostgreSQL server that cannot be reached fails the test."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _dbt_build(tmp_path: Path, target: str) -> None:
    """Run `dbt build` in-process on `target`, with every artifact under tmp_path."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(
        [
            "build",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target",
            target,
            "--vars",
            json.dumps({"as_of_date": AS_OF_DATE, "usd_cny": 7.1}),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
            "--no-partial-parse",
            "--no-use-colors",
        ]
    )
    assert result.exception is None, result.exception
    assert result.success, [
        (r.node.unique_id, str(r.status), r.message)
        for r in (result.result or [])
        if str(r.status) not in {"success", "pass", "warn"}
    ]


def _rows(cursor: Any, sql: str) -> list[dict[str, Any]]:
    cursor.execute(sql)
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _assert_staging(cursor: Any) -> None:
    """The text formats parse the same on both targets; bad dates become NULL, not errors."""
    core = _rows(
        cursor,
        "select customer_no, customer_name, birth_date, updated_at, extracted_at "
        "from staging.stg_core__customers order by customer_no",
    )
    assert [(r["customer_no"], r["birth_date"]) for r in core] == [
        ("C000000001", date(1985, 3, 7)),
        ("C000000002", date(1985, 3, 7)),
        ("C000000003", None),  # 19850230 is not a date
        ("C000000099", date(1970, 1, 1)),
    ]
    # the newer batch wins over the older one (张卫 -> 张伟); fraction and zone are dropped
    assert core[0]["customer_name"] == "张伟"
    assert core[0]["updated_at"] == datetime(2026, 11, 20, 8, 30, 0)
    assert core[0]["extracted_at"] == datetime(2026, 11, 28, 2, 0, 0)

    borrowers = _rows(
        cursor,
        "select borrower_id, birth_date, updated_at "
        "from staging.stg_credit__borrowers order by borrower_id",
    )
    assert borrowers == [
        {
            "borrower_id": "BR00000001",
            "birth_date": date(1985, 3, 7),  # 1985/3/7
            "updated_at": datetime(2026, 11, 20, 8, 30, 0),
        },  # 2026-11-20T08:30:00
        {
            "borrower_id": "BR00000002",
            "birth_date": date(1990, 12, 1),
            "updated_at": datetime(2026, 6, 1, 12, 0, 0),
        },
    ]

    crm = _rows(
        cursor,
        "select crm_customer_no, birth_date, branch_no, updated_at "
        "from staging.stg_crm__customers order by crm_customer_no",
    )
    assert crm == [
        {
            "crm_customer_no": "CRM0000001",
            "birth_date": date(1985, 3, 7),  # 1985年3月7日
            "branch_no": "B0101",
            "updated_at": datetime(2026, 11, 20, 8, 30),
        },  # 2026/11/20 08:30
        {
            "crm_customer_no": "CRM0000002",
            "birth_date": date(1990, 5, 12),  # 19900512
            "branch_no": None,
            "updated_at": datetime(2026, 11, 21, 9, 15),
        },  # '' -> NULL
        {
            "crm_customer_no": "CRM0000099",
            "birth_date": date(1980, 1, 1),
            "branch_no": "B0103",
            "updated_at": datetime(2026, 1, 1, 0, 0),
        },
    ]

    ticket = _rows(
        cursor,
        "select first_response_at, resolved_at, csat "
        "from staging.stg_crm__service_tickets where ticket_id = 'T000000002'",
    )
    assert ticket == [
        {"first_response_at": datetime(2026, 11, 27, 11, 0), "resolved_at": None, "csat": None}
    ]


def _assert_marts(cursor: Any) -> None:
    _assert_staging(cursor)
    customer_360 = _rows(cursor, "select * from marts.customer_360 order by golden_id")
    assert customer_360 == EXPECTED_CUSTOMER_360
    kpi = _rows(cursor, "select * from marts.kpi_service_daily order by kpi_key")
    assert kpi == EXPECTED_KPI_SERVICE_DAILY


@pytest.fixture
def dbt_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    return monkeypatch


def test_dbt_build_on_duckdb_gives_hand_computed_marts(
    tmp_path: Path, dbt_env: pytest.MonkeyPatch
) -> None:
    import duckdb

    warehouse = build_fixture_warehouse(tmp_path / "warehouse.duckdb")
    dbt_env.setenv("MDM_DUCKDB_PATH", str(warehouse))

    _dbt_build(tmp_path, "duckdb")
    parse_sql = _compile_inline(tmp_path, "duckdb", _parse_cases_sql())

    # Not read_only: dbt-duckdb may still hold the file open in this process, and DuckDB refuses
    # a second connection to the same file with a different configuration.
    with duckdb.connect(str(warehouse)) as connection:
        _assert_marts(connection.cursor())
        _assert_parse_cases(connection.cursor(), parse_sql)
        schemas = {
            row[0]
            for row in connection.execute(
                "select distinct table_schema from information_schema.tables"
            ).fetchall()
        }
    assert {"staging", "intermediate", "marts"} <= schemas
    assert not any(schema.startswith("main_") for schema in schemas)


def _postgres_params() -> dict[str, Any]:
    return {
        "host": os.environ.get("MDM_PG_HOST", "127.0.0.1"),
        "port": int(os.environ.get("MDM_PG_PORT", "5432")),
        "user": os.environ.get("MDM_PG_USER", "postgres"),
        "password": os.environ.get("MDM_PG_PASSWORD", ""),
    }


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A throwaway database, dropped afterwards; skipped without a server (failed in CI)."""
    psycopg2 = pytest.importorskip("psycopg2")
    params = _postgres_params()
    try:
        admin = psycopg2.connect(dbname="postgres", connect_timeout=5, **params)
    except psycopg2.OperationalError as error:
        if running_in_ci():
            pytest.fail(f"PostgreSQL unreachable in CI: {error}")
        pytest.skip(f"PostgreSQL unreachable: {error}")
    admin.autocommit = True
    name = f"mdm_dbt_test_{secrets.token_hex(6)}"
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'create database "{name}"')
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


@pytest.mark.postgres
def test_dbt_build_on_postgres_gives_the_same_marts(
    tmp_path: Path, dbt_env: pytest.MonkeyPatch, postgres_database: str
) -> None:
    import psycopg2

    params = _postgres_params()
    connection = psycopg2.connect(dbname=postgres_database, **params)
    try:
        load_fixture_postgres(connection)
    finally:
        connection.close()
    dbt_env.setenv("MDM_PG_HOST", params["host"])
    dbt_env.setenv("MDM_PG_PORT", str(params["port"]))
    dbt_env.setenv("MDM_PG_USER", params["user"])
    dbt_env.setenv("MDM_PG_PASSWORD", params["password"])
    dbt_env.setenv("MDM_PG_DATABASE", postgres_database)

    _dbt_build(tmp_path, "postgres")
    parse_sql = _compile_inline(tmp_path, "postgres", _parse_cases_sql())

    connection = psycopg2.connect(dbname=postgres_database, **params)
    try:
        with connection.cursor() as cursor:
            _assert_marts(cursor)
            _assert_parse_cases(cursor, parse_sql)
    finally:
        connection.close()


def test_dbt_parse_needs_no_database(tmp_path: Path, dbt_env: pytest.MonkeyPatch) -> None:
    """Dagster loads the manifest at import time, before any warehouse exists."""
    from dbt.cli.main import dbtRunner

    missing = tmp_path / "nowhere" / "warehouse.duckdb"
    dbt_env.setenv("MDM_DUCKDB_PATH", str(missing))
    result = dbtRunner().invoke(
        [
            "parse",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
            "--no-partial-parse",
        ]
    )
    assert result.success, result.exception
    assert (tmp_path / "target" / "manifest.json").is_file()
    assert not missing.exists()
