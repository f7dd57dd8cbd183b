"""`dbt build` of dbt_project/ on the hand-made fixture warehouse, on DuckDB and on PostgreSQL.

Both targets must build every model, pass every data test and unit test, and produce exactly
the mart rows below, computed by hand from tests/dbt/fixture_warehouse.py (as-of 2026-11-28,
USD at 7.1 CNY, SLA 48 h for complaints and 24 h otherwise, judged at 2026-11-29 00:00), and
the demo headline query (dbt_project/analyses/demo_headline.sql) must give the same row. With
no activity entity mapped (every canonical table empty, as for a bank that maps only its
customers) every model still builds and every test passes.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.entities import ENTITIES
from tests.dbt.fixture_warehouse import (
    AS_OF_DATE,
    LN_ADDRESS,
    WF_ADDRESS,
    ZW_ADDRESS,
    build_fixture_warehouse,
    load_fixture_postgres,
)
from tests.dbt.parse import DBT_PROJECT_DIR, parse_project

HEADLINE_SQL = DBT_PROJECT_DIR / "analyses" / "demo_headline.sql"

D = Decimal

# customer_360, one row per *active* golden record (G0000000003 is retired).
EXPECTED_CUSTOMER_360: list[dict[str, Any]] = [
    {
        "golden_id": "G0000000001",
        "name": "张伟",
        "name_pinyin": "zhang wei",
        "gender": "M",
        "birth_date": date(1985, 3, 7),
        "id_type": "resident_id",
        "id_number": "130102198503070011",
        "mobile": "13800000001",
        "email": None,
        "address": ZW_ADDRESS,
        "province": "河北省",
        "city": "石家庄市",
        "district": "长安区",
        "adcode": "130102",
        "source_count": 4,
        "source_systems": "core,credit,crm",
        # ACTIVE accounts of C000000001 and C000000002 (the closed 999.99 does not count):
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
        # 320000 / 545000 = 0.58716; a 次级 loan is non-performing -> high
        "loan_to_aum_ratio": D("0.5872"),
        "risk_rating": "high",
        # only CRM0000001 names a manager: RM0001. Branch: core C000000001 (trust 1, the
        # latest core record) says B0101, over core C000000002's older B0199 and the CRM's B0105
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
        # 张丽 (G0000000005) lives at the same address with the same surname (zhang)
        "household_key": "G0000000001",
        "household_size": 2,
        "value_tier": "VIP",
        "as_of_date": date(2026, 11, 28),
    },
    {
        "golden_id": "G0000000002",
        "name": "李娜",
        "name_pinyin": "li na",
        "gender": "F",
        "birth_date": None,
        "id_type": "resident_id",
        "id_number": "13060219850230002X",
        "mobile": "13700000004",
        "email": None,
        "address": LN_ADDRESS,
        "province": "河北省",
        "city": "保定市",
        "district": "莲池区",
        "adcode": "130606",
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
        "loan_to_aum_ratio": D("0.0000"),
        "risk_rating": "none",
        # no record names a manager; her core record C000000003's branch
        "relationship_manager_id": None,
        "relationship_manager_name": None,
        "branch_no": "B0202",
        "tickets_last_90d": 0,
        "open_complaints": 0,
        "last_contact_at": None,
        "avg_csat": None,
        # shares 王芳's mobile 13700000004 (different surname and address)
        "household_key": "G0000000002",
        "household_size": 2,
        "value_tier": "priority",
        "as_of_date": date(2026, 11, 28),
    },
    {
        "golden_id": "G0000000004",
        "name": "王芳",
        "name_pinyin": "wang fang",
        "gender": "F",
        "birth_date": date(1990, 5, 12),
        "id_type": "resident_id",
        "id_number": "130602199005120024",
        "mobile": "13700000004",
        "email": None,
        "address": WF_ADDRESS,
        "province": "河北省",
        "city": "保定市",
        "district": "竞秀区",
        "adcode": "130602",
        "source_count": 1,
        "source_systems": "crm",
        # the CRM's own demand account (numbered like 李娜's core deposit: another record)
        "demand_balance": D("1000.00"),
        "time_deposit_balance": D("0.00"),
        "wealth_balance": D("0.00"),
        "total_aum": D("1000.00"),
        "nearest_maturity_date": None,
        "account_count": 1,
        "loan_count": 0,
        "loan_outstanding": D("0.00"),
        "worst_loan_class": None,
        "loan_to_aum_ratio": D("0.0000"),
        "risk_rating": "none",
        # CRM0000002 names no branch: its manager RM0002's branch B0202 is used
        "relationship_manager_id": "RM0002",
        "relationship_manager_name": "陈静",
        "branch_no": "B0202",
        # T6-T9 on 2026-11-20, T11 on 2026-11-26, T12 on 2026-11-28
        "tickets_last_90d": 6,
        # T11 and T12: complaints awaiting a response
        "open_complaints": 2,
        "last_contact_at": datetime(2026, 11, 28, 9, 0, 0),
        # only T6 is rated (5)
        "avg_csat": D("5.00"),
        "household_key": "G0000000002",
        "household_size": 2,
        "value_tier": "standard",
        "as_of_date": date(2026, 11, 28),
    },
    {
        "golden_id": "G0000000005",
        "name": "张丽",
        "name_pinyin": "zhang li",
        "gender": "F",
        "birth_date": date(1988, 8, 8),
        "id_type": "resident_id",
        "id_number": "130102198808080025",
        "mobile": None,
        "email": None,
        "address": ZW_ADDRESS,
        "province": "河北省",
        "city": "石家庄市",
        "district": "长安区",
        "adcode": "130102",
        "source_count": 1,
        "source_systems": "core",
        # one 600000.00 wealth product maturing 2026-11-29 -> VIP
        "demand_balance": D("0.00"),
        "time_deposit_balance": D("0.00"),
        "wealth_balance": D("600000.00"),
        "total_aum": D("600000.00"),
        "nearest_maturity_date": date(2026, 11, 29),
        "account_count": 1,
        "loan_count": 0,
        "loan_outstanding": D("0.00"),
        "worst_loan_class": None,
        "loan_to_aum_ratio": D("0.0000"),
        "risk_rating": "none",
        # no record names a manager; her core record says B0101
        "relationship_manager_id": None,
        "relationship_manager_name": None,
        "branch_no": "B0101",
        "tickets_last_90d": 0,
        "open_complaints": 0,
        "last_contact_at": None,
        "avg_csat": None,
        "household_key": "G0000000001",
        "household_size": 2,
        "value_tier": "VIP",
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
    _kpi("2026-08-30", "B0101", "mobile_app", "inquiry",
         1, 1, D("1.00"), D("1.00"), D("1.00"), 1, D("30.00"), 1, D("1.0000"), 0, None,
         D("5.00")),
    # T4: response 5 min, resolved after 25 h = 1500 min: SLA (24 h) breached, rated 3
    _kpi("2026-09-01", "B0101", "phone", "inquiry",
         1, 1, D("5.00"), D("5.00"), D("5.00"), 1, D("1500.00"), 1, D("0.0000"), 0, None,
         D("3.00")),
    # T6-T9: responses 20, 40, 90 min (T9 none): mean 50, median 40, p90 = 40 + 0.8 * 50 = 80;
    # resolved 180 and 1500 min: mean 840; SLA met by T6 only; T7 resolved late, T8 and T9
    # still open past their deadline (2026-11-21): 1/4; only T6 rated (5)
    _kpi("2026-11-20", "B0102", "phone", "inquiry",
         4, 3, D("50.00"), D("40.00"), D("80.00"), 2, D("840.00"), 4, D("0.2500"), 0, None,
         D("5.00")),
    # T10 (customer without golden record): response 2 min, resolved in 60 min, rated 4
    _kpi("2026-11-25", "B0103", "wechat", "loss_report",
         1, 1, D("2.00"), D("2.00"), D("2.00"), 1, D("60.00"), 1, D("1.0000"), 0, None,
         D("4.00")),
    # T11: complaint, never answered: its 48 h SLA ran out 2026-11-28 15:00 -> breached 0/1;
    # open -> closure 0/1; no response, resolution or rating to average
    _kpi("2026-11-26", "B0102", "mobile_app", "complaint",
         1, 0, None, None, None, 0, None, 1, D("0.0000"), 1, D("0.0000"), None),
    # T1-T3 complaints: responses 30.5, 60, 10 min: mean 33.50, median 30.50,
    # p90 = 30.5 + 0.8 * (60 - 30.5) = 54.10; resolved 1380 (T1, 23 h) and 360 (T3): mean 870;
    # SLA 48 h: T1, T3 met, T2 pending (due 2026-11-29 10:00, after the cut-off) -> 2/2;
    # 2 of 3 complaints closed; rated 4 and 2 -> 3.00
    _kpi("2026-11-27", "B0101", "branch", "complaint",
         3, 3, D("33.50"), D("30.50"), D("54.10"), 2, D("870.00"), 2, D("1.0000"), 3,
         D("0.6667"), D("3.00")),
    # T12: complaint opened on the as-of date, SLA due 2026-11-30 09:00 -> pending, not
    # evaluated (share NULL); open -> closure 0/1
    _kpi("2026-11-28", "B0102", "mobile_app", "complaint",
         1, 0, None, None, None, 0, None, 0, None, 1, D("0.0000"), None),
]

LOAN_CYCLE_COLUMNS = [
    "kpi_key",
    "application_month",
    "product",
    "branch_no",
    "applications",
    "decided_applications",
    "approved_applications",
    "rejected_applications",
    "disbursed_applications",
    "approval_rate",
    "requested_amount",
    "hours_to_pre_review_mean",
    "hours_to_pre_review_median",
    "hours_to_credit_review_mean",
    "hours_to_credit_review_median",
    "hours_to_approval_mean",
    "hours_to_approval_median",
    "hours_to_disbursement_mean",
    "hours_to_disbursement_median",
    "as_of_date",
]


def _loan_cycle(month: str, product: str, branch: str, *values: Any) -> dict[str, Any]:
    key = f"{month}|{product}|{branch}"
    return dict(
        zip(
            LOAN_CYCLE_COLUMNS,
            (key, date.fromisoformat(month), product, branch, *values, date(2026, 11, 28)),
            strict=True,
        )
    )


def _pair(hours: str | None) -> tuple[Decimal | None, Decimal | None]:
    """(mean, median) of a group holding one application."""
    return (D(hours), D(hours)) if hours is not None else (None, None)


# kpi_loan_cycle, ordered by kpi_key. After the key parts: applications, decided, approved,
# rejected, disbursed, approval rate, requested amount, then (mean, median) hours from
# submission to pre-review, credit review, approval and disbursement.
EXPECTED_KPI_LOAN_CYCLE: list[dict[str, Any]] = [
    # LA1 submitted 2024-01-02 09:00: pre-review 01-03 10:00 (25 h), credit review 01-05
    # 15:00 (78 h), approved 01-08 11:00 (146 h), disbursed 01-10 09:30 (192.5 h)
    _loan_cycle("2024-01-01", "个人住房贷款", "B0101", 1, 1, 1, 0, 1, D("1.0000"),
                D("500000.00"), *_pair("25.00"), *_pair("78.00"), *_pair("146.00"),
                *_pair("192.50")),
    # LA2 submitted 2025-03-01 09:00: 14:00 (5 h), 03-02 10:00 (25 h), 16:00 (31 h),
    # 03-03 09:00 (48 h)
    _loan_cycle("2025-03-01", "个人消费贷款", "B0101", 1, 1, 1, 0, 1, D("1.0000"),
                D("50000.00"), *_pair("5.00"), *_pair("25.00"), *_pair("31.00"),
                *_pair("48.00")),
    # LA3: one stage a day -> 24, 48, 72, 96 h
    _loan_cycle("2025-06-01", "个人经营贷款", "B0103", 1, 1, 1, 0, 1, D("1.0000"),
                D("10000.00"), *_pair("24.00"), *_pair("48.00"), *_pair("72.00"),
                *_pair("96.00")),
    # LA4 (rejected after pre-review at 24 h), LA5 (approved: 4 h, 24 h, 48 h), LA6 (in
    # review, pre-review at 24 h); LA7 was submitted after the as-of date.
    # decided 2 (LA4, LA5), approved 1 -> 0.5; pre-review mean 52 / 3 = 17.33, median 24;
    # requested 20000 + 30000 + 10000
    _loan_cycle("2026-11-01", "信用卡分期", "B0101", 3, 2, 1, 1, 0, D("0.5000"),
                D("60000.00"), D("17.33"), D("24.00"), *_pair("24.00"), *_pair("48.00"),
                *_pair(None)),
]

# kpi_mdm: 7 party records (core C…1, C…2, C…3, C…5; credit BR…1; crm CRM…1, CRM…2), 4 active
# golden records (G…1, G…2, G…4, G…5) and the retired G…3: 7 - 4 = 3 duplicates removed,
# 7 / 4 = 1.75 per golden record; only G…1 spans several systems. Run run-2 is the latest.
EXPECTED_KPI_MDM: list[dict[str, Any]] = [
    {
        "as_of_date": date(2026, 11, 28),
        "run_id": "run-2",
        "source_records": 7,
        "quarantined_records": 1,
        "golden_records": 4,
        "retired_golden_records": 1,
        "cross_system_golden_records": 1,
        "duplicates_removed": 3,
        "records_per_golden_record": D("1.7500"),
        "scored_pairs": 5,
        "auto_match_pairs": 3,
        "non_match_pairs": 1,
        "review_backlog": 1,
        "golden_events": 4,
        "golden_events_create": 1,
        "golden_events_update": 1,
        "golden_events_merge": 1,
        "golden_events_split": 0,
        "golden_events_retire": 1,
    }
]
# fmt: on


def _task_id(natural_key: str) -> str:
    return hashlib.md5(natural_key.encode("utf-8")).hexdigest()


_NO_TASK_DETAIL = {
    "account_no": None,
    "product_code": None,
    "maturity_date": None,
    "amount_cny": None,
    "ticket_id": None,
    "ticket_created_at": None,
    "last_contact_at": None,
}

# rm_tasks, ordered by task_type then golden_id: one row per task the fixture implies.
EXPECTED_RM_TASKS: list[dict[str, Any]] = [
    # T11 (王芳, complaint opened 2026-11-26 15:00, never answered): 24 h passed at
    # 2026-11-27 15:00 -> escalated, to the ticket's manager RM0002 and branch B0102.
    # T12 (opened 2026-11-28 09:00) has had only 15 h by the cut-off: no task.
    {
        **_NO_TASK_DETAIL,
        "task_id": _task_id("complaint_escalation|crm:T000000011"),
        "task_type": "complaint_escalation",
        "relationship_manager_id": "RM0002",
        "relationship_manager_name": "陈静",
        "branch_no": "B0102",
        "escalate_to": "branch_manager",
        "golden_id": "G0000000004",
        "ticket_id": "T000000011",
        "ticket_created_at": datetime(2026, 11, 26, 15, 0, 0),
        "due_date": date(2026, 11, 28),
        "priority": "high",
        "reason": "complaint T000000011 opened 2026-11-26 15:00:00 has no first response "
        "after 24 hours: escalated to the branch manager",
        "as_of_date": date(2026, 11, 28),
    },
    # 张伟's USD time deposit (50000 * 7.1 = 355000.00) matures 2026-11-30, inside
    # 2026-11-28 .. 2026-12-01: due the day before; under 500000 and not by 2026-11-29 -> medium
    {
        **_NO_TASK_DETAIL,
        "task_id": _task_id("maturity_followup|core:6222000000000000002|2026-11-30"),
        "task_type": "maturity_followup",
        "relationship_manager_id": "RM0001",
        "relationship_manager_name": "刘强",
        "branch_no": "B0101",
        "escalate_to": None,
        "golden_id": "G0000000001",
        "account_no": "6222000000000000002",
        "product_code": "TD1Y",
        "maturity_date": date(2026, 11, 30),
        "amount_cny": D("355000.00"),
        "due_date": date(2026, 11, 29),
        "priority": "medium",
        "reason": "TIME TD1Y matures on 2026-11-30 (355000.00 CNY): "
        "contact customer about renewal or reinvestment",
        "as_of_date": date(2026, 11, 28),
    },
    # 张丽's 600000.00 wealth product matures 2026-11-29: due the as-of date (the day before),
    # high (by as-of + 1 and >= 500000); no manager -> NULL, her branch B0101
    {
        **_NO_TASK_DETAIL,
        "task_id": _task_id("maturity_followup|core:6222000000000000008|2026-11-29"),
        "task_type": "maturity_followup",
        "relationship_manager_id": None,
        "relationship_manager_name": None,
        "branch_no": "B0101",
        "escalate_to": None,
        "golden_id": "G0000000005",
        "account_no": "6222000000000000008",
        "product_code": "WM30D",
        "maturity_date": date(2026, 11, 29),
        "amount_cny": D("600000.00"),
        "due_date": date(2026, 11, 28),
        "priority": "high",
        "reason": "WEALTH WM30D matures on 2026-11-29 (600000.00 CNY): "
        "contact customer about renewal or reinvestment",
        "as_of_date": date(2026, 11, 28),
    },
    # 张丽 is VIP and was never contacted -> medium, due as-of + 7 days; 张伟 (VIP) was
    # contacted 2026-11-27: no task
    {
        **_NO_TASK_DETAIL,
        "task_id": _task_id("vip_contact|G0000000005|never"),
        "task_type": "vip_contact",
        "relationship_manager_id": None,
        "relationship_manager_name": None,
        "branch_no": "B0101",
        "escalate_to": None,
        "golden_id": "G0000000005",
        "due_date": date(2026, 12, 5),
        "priority": "medium",
        "reason": "VIP customer (AUM 600000.00 CNY) not contacted in 90 days, last contact: never",
        "as_of_date": date(2026, 11, 28),
    },
]

# demo_headline.sql: 4 customers; AUM 545000 + 200000 + 1000 + 600000; first responses (min) of
# the tickets up to 2026-11-28: 1, 2, 5, 10, 20, 30.5, 40, 60, 90 -> median 20; tasks as above.
EXPECTED_HEADLINE = {
    "as_of_date": date(2026, 11, 28),
    "customers": 4,
    "total_aum_cny": D("1346000.00"),
    "median_first_response_minutes": D("20.00"),
    "open_tasks": 4,
    "maturity_followup_tasks": 2,
    "complaint_escalation_tasks": 1,
    "vip_contact_tasks": 1,
}


# kpi_mdm_sources, ordered by source: core has 4 records and 1 quarantined, in G…1, G…2 and
# G…5 (G…2 and G…5 core-only); its account of the unlinked C…99 is unlinked. credit's loan and
# two applications of the unlinked BR…2 are unlinked. crm's ticket T…10 (CRM…99) is unlinked;
# G…4 is crm-only.
SOURCE_KPI_COLUMNS = [
    "source_system",
    "source_trust",
    "source_records",
    "quarantined_records",
    "golden_records",
    "exclusive_golden_records",
    "accounts",
    "loans",
    "loan_applications",
    "service_tickets",
    "relationship_managers",
    "unlinked_activity_rows",
]
# fmt: off
EXPECTED_KPI_MDM_SOURCES: list[dict[str, Any]] = [
    {"as_of_date": date(2026, 11, 28), **dict(zip(SOURCE_KPI_COLUMNS, values, strict=True))}
    for values in (
        ("core", 1, 4, 1, 3, 2, 8, 0, 0, 0, 0, 1),
        ("credit", 2, 1, 0, 1, 0, 0, 3, 7, 0, 0, 3),
        ("crm", 3, 2, 0, 2, 1, 1, 0, 0, 12, 2, 1),
    )
]
# fmt: on


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
    """Staging types the canonical tables alike on both targets and keeps every source's rows
    apart by record_key, even under one account number."""
    accounts = _rows(
        cursor,
        "select record_key, account_no, opened_on, balance, account_status "
        "from staging.stg_canonical__accounts where account_no = '6222000000000000006' "
        "order by record_key",
    )
    assert accounts == [
        {
            "record_key": "core:6222000000000000006",
            "account_no": "6222000000000000006",
            "opened_on": date(2026, 5, 1),  # a date, though the canonical column is a timestamp
            "balance": D("200000.00"),
            "account_status": "ACTIVE",
        },
        {
            "record_key": "crm:6222000000000000006",
            "account_no": "6222000000000000006",
            "opened_on": date(2026, 1, 5),
            "balance": D("1000.00"),
            "account_status": None,  # the CRM maps no status: counted as active
        },
    ]
    managers = _rows(cursor, "select * from staging.stg_canonical__relationship_managers")
    assert "owner_record_key" not in managers[0]  # managers belong to no customer


# The 360's detail, keyed as the marts list it. Accounts: every account of an active golden
# customer, the CLOSED 999.99 of G…001 included; 6222000000000000006 is in core (李娜, G…002)
# and in the CRM (王芳, G…004): one row each, told apart by record_key; …007's owner C000000099
# has no golden ID, so it is not listed.
EXPECTED_CUSTOMER_ACCOUNTS = [
    ("core:6222000000000000001", "G0000000001", "ACTIVE", True, D("100000.00")),
    ("core:6222000000000000002", "G0000000001", "ACTIVE", True, D("355000.00")),  # 50000 USD
    ("core:6222000000000000003", "G0000000001", "ACTIVE", True, D("80000.00")),
    ("core:6222000000000000004", "G0000000001", "CLOSED", False, D("999.99")),
    ("core:6222000000000000005", "G0000000001", "ACTIVE", True, D("10000.00")),
    ("core:6222000000000000006", "G0000000002", "ACTIVE", True, D("200000.00")),
    ("core:6222000000000000008", "G0000000005", "ACTIVE", True, D("600000.00")),
    ("crm:6222000000000000006", "G0000000004", None, True, D("1000.00")),  # CRM maps no status
]
# LN…1 and LN…2 still owe and end after 2026-11-28: current; LN…3's borrower BR00000002 is
# not linked to a golden record.
EXPECTED_CUSTOMER_LOANS = [
    ("credit:LN00000001", "G0000000001", "正常", D("300000.00"), "current"),
    ("credit:LN00000002", "G0000000001", "次级", D("20000.00"), "current"),
]
# Every linked ticket created up to 2026-11-28 (T10's customer CRM0000099 is not linked); the
# SLA outcomes are int_tickets_linked's.
EXPECTED_CUSTOMER_TICKETS = [
    ("crm:T000000001", "G0000000001", True, True, "met"),
    ("crm:T000000002", "G0000000001", True, False, "pending"),
    ("crm:T000000003", "G0000000001", True, True, "met"),
    ("crm:T000000004", "G0000000001", False, True, "breached"),
    ("crm:T000000005", "G0000000001", False, True, "met"),
    ("crm:T000000006", "G0000000004", False, True, "met"),
    ("crm:T000000007", "G0000000004", False, True, "breached"),
    ("crm:T000000008", "G0000000004", False, False, "breached"),
    ("crm:T000000009", "G0000000004", False, False, "breached"),
    ("crm:T000000011", "G0000000004", True, False, "breached"),
    ("crm:T000000012", "G0000000004", True, False, "pending"),
]
# 张伟 and 张丽 share the address and the surname; 李娜 and 王芳 share a mobile (customer_360's
# two households of 2), each seen from both sides.
EXPECTED_CUSTOMER_HOUSEHOLDS = [
    ("G0000000001", "G0000000005", "G0000000001", 2, "address"),
    ("G0000000002", "G0000000004", "G0000000002", 2, "mobile"),
    ("G0000000004", "G0000000002", "G0000000002", 2, "mobile"),
    ("G0000000005", "G0000000001", "G0000000001", 2, "address"),
]


def _tuples(cursor: Any, sql: str) -> list[tuple[Any, ...]]:
    cursor.execute(sql)
    return [tuple(row) for row in cursor.fetchall()]


def _assert_customer_detail(cursor: Any) -> None:
    accounts = _tuples(
        cursor,
        "select record_key, golden_id, account_status, is_active, balance_cny"
        " from marts.customer_accounts order by record_key",
    )
    assert accounts == EXPECTED_CUSTOMER_ACCOUNTS
    loans = _tuples(
        cursor,
        "select record_key, golden_id, five_tier_class, outstanding, loan_status"
        " from marts.customer_loans order by record_key",
    )
    assert loans == EXPECTED_CUSTOMER_LOANS
    tickets = _tuples(
        cursor,
        "select record_key, golden_id, is_complaint, is_resolved, sla_outcome"
        " from marts.customer_tickets order by record_key",
    )
    assert tickets == EXPECTED_CUSTOMER_TICKETS
    households = _tuples(
        cursor,
        "select golden_id, member_golden_id, household_key, household_size, link_reason"
        " from marts.customer_households order by golden_id, member_golden_id",
    )
    assert households == EXPECTED_CUSTOMER_HOUSEHOLDS


def _assert_marts(cursor: Any) -> None:
    _assert_staging(cursor)
    customer_360 = _rows(cursor, "select * from marts.customer_360 order by golden_id")
    assert customer_360 == EXPECTED_CUSTOMER_360
    _assert_customer_detail(cursor)
    kpi = _rows(cursor, "select * from marts.kpi_service_daily order by kpi_key")
    assert kpi == EXPECTED_KPI_SERVICE_DAILY
    loan_cycle = _rows(cursor, "select * from marts.kpi_loan_cycle order by kpi_key")
    assert loan_cycle == EXPECTED_KPI_LOAN_CYCLE
    assert _rows(cursor, "select * from marts.kpi_mdm") == EXPECTED_KPI_MDM
    sources = _rows(cursor, "select * from marts.kpi_mdm_sources order by source_system")
    assert sources == EXPECTED_KPI_MDM_SOURCES
    tasks = _rows(cursor, "select * from marts.rm_tasks order by task_type, golden_id")
    assert tasks == EXPECTED_RM_TASKS
    assert _rows(cursor, HEADLINE_SQL.read_text(encoding="utf-8")) == [EXPECTED_HEADLINE]


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

    # Not read_only: dbt-duckdb may still hold the file open in this process, and DuckDB refuses
    # a second connection to the same file with a different configuration.
    with duckdb.connect(str(warehouse)) as connection:
        _assert_marts(connection.cursor())
        schemas = {
            row[0]
            for row in connection.execute(
                "select distinct table_schema from information_schema.tables"
            ).fetchall()
        }
    assert {"staging", "intermediate", "marts"} <= schemas
    assert not any(schema.startswith("main_") for schema in schemas)


def _map_no_activity(warehouse: Path) -> None:
    """Replace the fixture's canonical tables with what the canonicalize stage writes when no
    source maps any activity entity: empty tables of the same columns, coverage all unmapped."""
    import pandas as pd

    from connectors.canonical import coverage_row, empty_table
    from connectors.entities import CANONICAL_SCHEMA
    from connectors.warehouse import open_warehouse

    tables = {entity.table: empty_table(entity) for entity in ENTITIES.values()}
    tables[f"{CANONICAL_SCHEMA}.entity_coverage"] = pd.DataFrame(
        [coverage_row(name, [], 0) for name in ENTITIES]
    ).astype({"mapped": bool, "row_count": "int64"})
    open_warehouse(f"duckdb:///{warehouse}").replace_tables(tables)


def test_dbt_build_with_no_activity_mapped_builds_every_model(
    tmp_path: Path, dbt_env: pytest.MonkeyPatch
) -> None:
    """A bank that maps only its customers: the same project builds and passes every test; the
    activity marts are empty and customer_360's activity columns are NULL (unknown), not 0."""
    import duckdb

    warehouse = build_fixture_warehouse(tmp_path / "warehouse.duckdb")
    _map_no_activity(warehouse)
    dbt_env.setenv("MDM_DUCKDB_PATH", str(warehouse))

    _dbt_build(tmp_path, "duckdb")

    with duckdb.connect(str(warehouse)) as connection:
        cursor = connection.cursor()
        empty = ("kpi_service_daily", "kpi_loan_cycle", "rm_tasks")
        detail = ("customer_accounts", "customer_loans", "customer_tickets")
        for mart in (*empty, *detail):
            assert _rows(cursor, f"select count(*) as n from marts.{mart}") == [{"n": 0}], mart
        # households come from the golden records, not from activity
        households = _tuples(cursor, "select golden_id, link_reason from marts.customer_households")
        assert sorted(households) == [(row[0], row[4]) for row in EXPECTED_CUSTOMER_HOUSEHOLDS]
        customers = _rows(cursor, "select * from marts.customer_360 order by golden_id")
        assert [row["golden_id"] for row in customers] == [
            row["golden_id"] for row in EXPECTED_CUSTOMER_360
        ]
        unknown = (
            "total_aum", "account_count", "loan_count", "loan_outstanding", "risk_rating",
            "tickets_last_90d", "open_complaints", "value_tier",
        )  # fmt: skip
        for row in customers:
            assert {column: row[column] for column in unknown} == dict.fromkeys(unknown)
        # The MDM side does not depend on activity: managers and branches come from the
        # party records, households from the golden records.
        expected = {
            row["golden_id"]: (row["relationship_manager_id"], row["household_key"])
            for row in EXPECTED_CUSTOMER_360
        }
        assert {
            row["golden_id"]: (row["relationship_manager_id"], row["household_key"])
            for row in customers
        } == expected
        branches = {row["golden_id"]: row["branch_no"] for row in customers}
        # 王芳's manager is in no (mapped) manager table: no branch from there either
        assert branches == {
            "G0000000001": "B0101",
            "G0000000002": "B0202",
            "G0000000004": None,
            "G0000000005": "B0101",
        }
        kpi_mdm = _rows(cursor, "select * from marts.kpi_mdm")
        assert kpi_mdm == EXPECTED_KPI_MDM
        assert _rows(cursor, HEADLINE_SQL.read_text(encoding="utf-8")) == [
            {
                **EXPECTED_HEADLINE,
                "total_aum_cny": None,
                "median_first_response_minutes": None,
                "open_tasks": 0,
                "maturity_followup_tasks": 0,
                "complaint_escalation_tasks": 0,
                "vip_contact_tasks": 0,
            }
        ]


def _unmap_optional_fields(warehouse: Path, kinds: set[str] | None) -> None:
    """Every activity row kept, the optional canonical fields (of `kinds`, or all) NULL: a bank
    whose mappings leave them out."""
    from connectors.warehouse import open_warehouse

    store = open_warehouse(f"duckdb:///{warehouse}")
    tables = {}
    for entity in ENTITIES.values():
        frame = store.read_table(entity.table)
        for field in entity.fields:
            if not field.required and (kinds is None or field.kind in kinds):
                frame[field.name] = frame[field.name].where(frame[field.name].isna())
        tables[entity.table] = frame
    store.replace_tables(tables)


@pytest.mark.parametrize(
    "kinds",
    [{"text"}, None],
    ids=["free text unmapped, codes dates amounts kept", "every optional field unmapped"],
)
def test_dbt_build_with_optional_fields_unmapped_builds_every_model(
    tmp_path: Path, dbt_env: pytest.MonkeyPatch, kinds: set[str] | None
) -> None:
    """No model or contract may lean on a field a bank need not map (a product code, a
    currency, a status): each one unmapped must leave a NULL, never fail the build. With the
    codes, dates and amounts kept, the tasks they drive are still built and described."""
    import duckdb

    warehouse = build_fixture_warehouse(tmp_path / "warehouse.duckdb")
    _unmap_optional_fields(warehouse, kinds)
    dbt_env.setenv("MDM_DUCKDB_PATH", str(warehouse))

    _dbt_build(tmp_path, "duckdb")

    with duckdb.connect(str(warehouse)) as connection:
        customers = _rows(connection.cursor(), "select golden_id from marts.customer_360")
    assert len(customers) == len(EXPECTED_CUSTOMER_360)


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

    connection = psycopg2.connect(dbname=postgres_database, **params)
    try:
        with connection.cursor() as cursor:
            _assert_marts(cursor)
    finally:
        connection.close()


def test_dbt_parse_needs_no_database(tmp_path: Path, dbt_env: pytest.MonkeyPatch) -> None:
    """Dagster loads the manifest at import time, before any warehouse exists."""
    missing = tmp_path / "nowhere" / "warehouse.duckdb"
    dbt_env.setenv("MDM_DUCKDB_PATH", str(missing))
    result = parse_project(tmp_path)
    assert result.success, result.exception
    assert (tmp_path / "target" / "manifest.json").is_file()
    assert not missing.exists()
