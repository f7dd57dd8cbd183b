"""A hand-made serving snapshot and the real app on it, served by uvicorn, driven over HTTP.

The snapshot (CONTRACTS.md §3, §5, §7):

| golden_id   | status  | id_number          | mobile      | sources                        |
|-------------|---------|--------------------|-------------|--------------------------------|
| G0000000001 | active  | 13010219850307003X | 13800138000 | core:C000000001, crm:CRM0000001 |
| G0000000002 | retired | 13010219850307003X | 13800138000 | none (merged into G…001)       |
| G0000000003 | active  | 130102199001014569 | 13700137000 | core:C000000003                |
| G0000000004 | active  | 130102197212127898 | NULL        | credit:BR00000004              |

All four are named 张伟 (the credit record spells it `ZHANG WEI`); the CRM record of G…001
still has an older mobile, 13900139000, that lost survivorship.

`marts.customer_360` has rows for G…001 (branch B0001, with an extra column the API does not
know) and G…003 (branch B0002) only.

The 360's detail (`CUSTOMER_DETAILS`): G…001 has three accounts (6222020000000001 current and
6222020000000002 term, both active; 6222020000000009 closed in 2015) and two tickets (an open
complaint T2, a resolved inquiry T1), no loans; G…003 one wealth account 6222020000000003 and
two loans (L31 repaid, L32 current, 关注). G…001, G…003 and G…004 are one household: G…001
and G…003 share the address and surname, G…004 is linked to them only indirectly.

Callers: `IdentityProvider` stands in for the bank's IdP (an ES256 and an RS256 key pair made
for the session, their JWKS in a file the app is configured with) and mints a token per role;
`ROLE_CLAIMS` gives the relationship manager its branch, B0001. The shared `api` client calls
as a steward (who sees every field in clear); `as_role(role)` gives a client for any role,
`anonymous` one without credentials.

`mdm.golden_lineage`, `mdm.golden_history` and `mdm.golden_events` tell G…001's
story (history versions with `birth_date` a midnight TIMESTAMP as the history table can hold
it). Pipeline timestamps are naive UTC, source and mart ones naive China time (CONTRACTS.md §8).

The KPI and task marts (`KPI_MARTS`): service KPIs for three day × branch × channel ×
category rows (two at B0101, one at B0202), loan KPIs for three month × product × branch rows
(two at B0101, one at B0202), MDM KPIs for two runs (2026-11-27 and the latest, 2026-11-28,
each with its sources), and four open tasks:

| task_id | type                 | manager | branch | golden_id   | due        | priority |
|---------|----------------------|---------|--------|-------------|------------|----------|
| TASK-A  | maturity_followup    | RM0001  | B0101  | G0000000001 | 2026-11-28 | high     |
| TASK-B  | vip_contact          | RM0001  | B0101  | G0000000003 | 2026-12-05 | medium   |
| TASK-C  | complaint_escalation | RM0002  | B0101  | G0000000004 | 2026-11-28 | high     |
| TASK-D  | maturity_followup    | NULL    | B0202  | G0000000003 | 2026-11-29 | medium   |
"""

from __future__ import annotations

import json
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import httpx
import jwt
import pandas as pd
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI

from connectors.serving import publish_snapshot_file
from connectors.settings import PROJECT_ROOT, Settings
from golden_record_api.inbox_drainer import INTERVAL_SECONDS as INBOX_DRAIN_SECONDS
from golden_record_api.main import create_app
from golden_record_api.principal import ROLES
from golden_record_api.read_audit import InMemoryReadAuditor

Row = dict[str, Any]

GOLDEN_COLUMNS = {
    "golden_id": "varchar",
    "name": "varchar",
    "name_pinyin": "varchar",
    "id_type": "varchar",
    "id_number": "varchar",
    "birth_date": "date",
    "gender": "varchar",
    "mobile": "varchar",
    "email": "varchar",
    "address": "varchar",
    "province": "varchar",
    "city": "varchar",
    "district": "varchar",
    "adcode": "varchar",
    "source_count": "integer",
    "source_systems": "varchar",
    "status": "varchar",
    "survivor_id": "varchar",
    "created_at": "timestamp",
    "updated_at": "timestamp",
}
XREF_COLUMNS = {
    "record_key": "varchar",
    "source_system": "varchar",
    "source_record_id": "varchar",
    "golden_id": "varchar",
    "match_rule": "varchar",
    "match_weight": "double",
    "linked_at": "timestamp",
}
PARTY_COLUMNS = {
    "record_key": "varchar primary key",
    "source_system": "varchar",
    "source_record_id": "varchar",
    "source_updated_at": "timestamp",
    "batch_id": "varchar",
    "name_raw": "varchar",
    "name": "varchar",
    "name_pinyin": "varchar",
    "name_script": "varchar",
    "id_type": "varchar",
    "id_number": "varchar",
    "id_valid": "boolean",
    "id_issue": "varchar",
    "birth_date": "date",
    "gender": "varchar",
    "mobile": "varchar",
    "phone_other": "varchar",
    "email": "varchar",
    "address_raw": "varchar",
    "address": "varchar",
    "province": "varchar",
    "city": "varchar",
    "district": "varchar",
    "adcode": "varchar",
    "source_trust": "integer",
}
CUSTOMER_360_COLUMNS = {
    "golden_id": "varchar",
    "name": "varchar",
    "gender": "varchar",
    "birth_date": "date",
    "id_number": "varchar",
    "mobile": "varchar",
    "address": "varchar",
    "city": "varchar",
    "district": "varchar",
    "source_count": "integer",
    "source_systems": "varchar",
    "demand_balance": "decimal(18,2)",
    "time_deposit_balance": "decimal(18,2)",
    "wealth_balance": "decimal(18,2)",
    "total_aum": "decimal(18,2)",
    "nearest_maturity_date": "date",
    "account_count": "integer",
    "loan_count": "integer",
    "loan_outstanding": "decimal(18,2)",
    "worst_loan_class": "varchar",
    "relationship_manager_id": "varchar",
    "relationship_manager_name": "varchar",
    "branch_no": "varchar",
    "tickets_last_90d": "integer",
    "open_complaints": "integer",
    "last_contact_at": "timestamp",
    "avg_csat": "double",
    "value_tier": "varchar",
    "churn_score": "double",  # not known to the API: must pass through untouched
}

ACCOUNT_COLUMNS = {
    "record_key": "varchar",
    "golden_id": "varchar",
    "source_system": "varchar",
    "account_no": "varchar",
    "account_type": "varchar",
    "product_code": "varchar",
    "currency": "varchar",
    "balance": "decimal(18,2)",
    "balance_cny": "decimal(18,2)",
    "opened_on": "date",
    "maturity_date": "date",
    "account_status": "varchar",
    "is_active": "boolean",
    "branch_no": "varchar",
    "as_of_date": "date",
}
LOAN_COLUMNS = {
    "record_key": "varchar",
    "golden_id": "varchar",
    "source_system": "varchar",
    "loan_id": "varchar",
    "application_id": "varchar",
    "principal": "decimal(18,2)",
    "outstanding": "decimal(18,2)",
    "interest_rate": "decimal(9,6)",
    "start_date": "date",
    "end_date": "date",
    "five_tier_class": "varchar",
    "five_tier_rank": "integer",
    "loan_status": "varchar",
    "branch_no": "varchar",
    "as_of_date": "date",
}
TICKET_COLUMNS = {
    "record_key": "varchar",
    "golden_id": "varchar",
    "source_system": "varchar",
    "ticket_id": "varchar",
    "channel": "varchar",
    "category": "varchar",
    "ticket_status": "varchar",
    "is_complaint": "boolean",
    "is_resolved": "boolean",
    "created_at": "timestamp",
    "first_response_at": "timestamp",
    "resolved_at": "timestamp",
    "first_response_minutes": "decimal(18,4)",
    "resolution_minutes": "decimal(18,4)",
    "sla_outcome": "varchar",
    "csat": "integer",
    "relationship_manager_id": "varchar",
    "branch_no": "varchar",
    "as_of_date": "date",
}
HOUSEHOLD_COLUMNS = {
    "golden_id": "varchar",
    "member_golden_id": "varchar",
    "household_key": "varchar",
    "household_size": "integer",
    "link_reason": "varchar",
}

LINEAGE_COLUMNS = {
    "golden_id": "varchar",
    "attribute": "varchar",
    "record_key": "varchar",
    "rule": "varchar",
}
HISTORY_COLUMNS = {
    **{c: t for c, t in GOLDEN_COLUMNS.items() if c not in {"created_at", "updated_at"}},
    "birth_date": "timestamp",
    "valid_from": "timestamp",
    "valid_to": "timestamp",
    "run_id": "varchar",
}
EVENT_COLUMNS = {
    "event_id": "varchar",
    "run_id": "varchar",
    "event_type": "varchar",
    "golden_id": "varchar",
    "related_golden_id": "varchar",
    "detail": "varchar",
    "occurred_at": "timestamp",
    "decision_id": "bigint",
    "steward": "varchar",
    "changed_fields": "varchar",
}

ADDRESS = "河北省石家庄市长安区建设北大街1号"


def golden(golden_id: str, **overrides: Any) -> Row:
    row: Row = {
        "golden_id": golden_id,
        "name": "张伟",
        "name_pinyin": "zhang wei",
        "id_type": "resident_id",
        "id_number": "13010219850307003X",
        "birth_date": "1985-03-07",
        "gender": "M",
        "mobile": "13800138000",
        "email": "zhangwei@example.com",
        "address": ADDRESS,
        "province": "河北省",
        "city": "石家庄市",
        "district": "长安区",
        "adcode": "130102",
        "source_count": 1,
        "source_systems": "core",
        "status": "active",
        "survivor_id": None,
        "created_at": "2025-01-01 00:00:00",
        "updated_at": "2025-01-02 00:00:00",
    }
    return {**row, **overrides}


def party(record_key: str, **overrides: Any) -> Row:
    system, source_id = record_key.split(":")
    row: Row = {
        "record_key": record_key,
        "source_system": system,
        "source_record_id": source_id,
        "source_updated_at": "2024-12-31 10:00:00",
        "batch_id": "b1",
        "name_raw": "张伟",
        "name": "张伟",
        "name_pinyin": "zhang wei",
        "name_script": "han",
        "id_type": "resident_id",
        "id_number": "13010219850307003X",
        "id_valid": True,
        "id_issue": None,
        "birth_date": "1985-03-07",
        "gender": "M",
        "mobile": "13800138000",
        "phone_other": None,
        "email": None,
        "address_raw": "河北石家庄长安区建设北大街1号",
        "address": ADDRESS,
        "province": "河北省",
        "city": "石家庄市",
        "district": "长安区",
        "adcode": "130102",
        "source_trust": 1,
    }
    return {**row, **overrides}


def xref(record_key: str, golden_id: str, **overrides: Any) -> Row:
    system, source_id = record_key.split(":")
    row: Row = {
        "record_key": record_key,
        "source_system": system,
        "source_record_id": source_id,
        "golden_id": golden_id,
        "match_rule": "deterministic:id_and_name",
        "match_weight": 12.5,
        "linked_at": "2025-01-01 00:00:00",
    }
    return {**row, **overrides}


def customer_360(golden_id: str, **overrides: Any) -> Row:
    row: Row = dict.fromkeys(CUSTOMER_360_COLUMNS)
    row.update(
        golden_id=golden_id,
        name="张伟",
        gender="M",
        birth_date="1985-03-07",
        id_number="13010219850307003X",
        mobile="13800138000",
        address=ADDRESS,
        city="石家庄市",
        district="长安区",
        source_count=2,
        source_systems="core,crm",
        demand_balance="1200.50",
        time_deposit_balance="50000.00",
        wealth_balance="0.00",
        total_aum="51200.50",
        nearest_maturity_date="2025-01-03",
        account_count=3,
        loan_count=0,
        loan_outstanding="0.00",
        relationship_manager_id="RM0001",
        relationship_manager_name="刘强",
        branch_no="B0001",
        tickets_last_90d=2,
        open_complaints=1,
        last_contact_at="2024-12-20 09:30:00",
        avg_csat=4.5,
        value_tier="mass_affluent",
        churn_score=0.12,
    )
    return {**row, **overrides}


GOLDEN = [
    golden("G0000000001", source_count=2, source_systems="core,crm"),
    golden("G0000000002", status="retired", survivor_id="G0000000001"),
    golden(
        "G0000000003",
        id_number="130102199001014569",
        birth_date="1990-01-01",
        mobile="13700137000",
    ),
    golden(
        "G0000000004",
        id_number="130102197212127898",
        birth_date="1972-12-12",
        mobile=None,
        source_systems="credit",
    ),
]
PARTY = [
    party("core:C000000001", phone_other="031187654321"),
    party("crm:CRM0000001", mobile="13900139000", source_trust=3),
    party(
        "core:C000000003",
        id_number="130102199001014569",
        birth_date="1990-01-01",
        mobile="13700137000",
    ),
    party(
        "credit:BR00000004",
        name_raw="Wei Zhang",
        name="ZHANG WEI",
        name_script="latin",
        id_number="130102197212127898",
        birth_date="1972-12-12",
        mobile=None,
        source_trust=2,
    ),
]
XREF = [
    xref("core:C000000001", "G0000000001"),
    xref("crm:CRM0000001", "G0000000001", match_rule="probabilistic", match_weight=9.75),
    xref("core:C000000003", "G0000000003"),
    xref("credit:BR00000004", "G0000000004"),
]
CUSTOMER_360 = [
    customer_360("G0000000001"),
    customer_360(
        "G0000000003",
        id_number="130102199001014569",
        birth_date="1990-01-01",
        mobile="13700137000",
        source_systems="core",
        relationship_manager_id="RM0002",
        branch_no="B0002",
        churn_score=None,
    ),
]


def account(golden_id: str, account_no: str, **overrides: Any) -> Row:
    row: Row = {
        "record_key": f"core:{account_no}",
        "golden_id": golden_id,
        "source_system": "core",
        "account_no": account_no,
        "account_type": "DEMAND",
        "product_code": "DD01",
        "currency": "CNY",
        "balance": "1200.50",
        "balance_cny": "1200.50",
        "opened_on": "2020-01-02",
        "account_status": "ACTIVE",
        "is_active": True,
        "branch_no": "B0001",
        "as_of_date": "2026-11-28",
    }
    return {**row, **overrides}


def loan(golden_id: str, loan_id: str, **overrides: Any) -> Row:
    row: Row = {
        "record_key": f"credit:{loan_id}",
        "golden_id": golden_id,
        "source_system": "credit",
        "loan_id": loan_id,
        "principal": "100000.00",
        "outstanding": "0.00",
        "interest_rate": "0.043500",
        "start_date": "2021-05-01",
        "end_date": "2024-05-01",
        "five_tier_class": "正常",
        "five_tier_rank": 1,
        "loan_status": "repaid",
        "branch_no": "B0002",
        "as_of_date": "2026-11-28",
    }
    return {**row, **overrides}


def ticket(golden_id: str, ticket_id: str, **overrides: Any) -> Row:
    row: Row = {
        "record_key": f"crm:{ticket_id}",
        "golden_id": golden_id,
        "source_system": "crm",
        "ticket_id": ticket_id,
        "channel": "phone",
        "category": "inquiry",
        "ticket_status": "resolved",
        "is_complaint": False,
        "is_resolved": True,
        "created_at": "2026-11-20 09:00:00",
        "first_response_at": "2026-11-20 09:30:00",
        "resolved_at": "2026-11-20 12:00:00",
        "first_response_minutes": "30.0000",
        "resolution_minutes": "180.0000",
        "sla_outcome": "met",
        "csat": 4,
        "relationship_manager_id": "RM0001",
        "branch_no": "B0001",
        "as_of_date": "2026-11-28",
    }
    return {**row, **overrides}


def household(golden_id: str, member: str, reason: str) -> Row:
    return {
        "golden_id": golden_id,
        "member_golden_id": member,
        "household_key": "G0000000001",
        "household_size": 3,
        "link_reason": reason,
    }


CUSTOMER_DETAILS: dict[str, tuple[dict[str, str], list[Row]]] = {
    "marts.customer_accounts": (
        ACCOUNT_COLUMNS,
        [
            account("G0000000001", "6222020000000001"),
            account(
                "G0000000001",
                "6222020000000002",
                account_type="TIME",
                product_code="TD1Y",
                balance="50000.00",
                balance_cny="50000.00",
                opened_on="2024-01-03",
                maturity_date="2025-01-03",
            ),
            account(
                "G0000000001",
                "6222020000000009",
                balance="0.00",
                balance_cny="0.00",
                opened_on="2015-06-01",
                account_status="CLOSED",
                is_active=False,
            ),
            account(
                "G0000000003",
                "6222020000000003",
                account_type="WEALTH",
                product_code="WM90D",
                currency="USD",
                balance="1000.00",
                balance_cny="7100.00",
                branch_no="B0002",
            ),
        ],
    ),
    "marts.customer_loans": (
        LOAN_COLUMNS,
        [
            loan("G0000000003", "L31"),
            loan(
                "G0000000003",
                "L32",
                outstanding="80000.00",
                start_date="2025-03-01",
                end_date="2028-03-01",
                five_tier_class="关注",
                five_tier_rank=2,
                loan_status="current",
            ),
        ],
    ),
    "marts.customer_tickets": (
        TICKET_COLUMNS,
        [
            ticket("G0000000001", "T1"),
            ticket(
                "G0000000001",
                "T2",
                channel="branch",
                category="complaint",
                ticket_status="in_progress",
                is_complaint=True,
                is_resolved=False,
                created_at="2026-11-27 10:00:00",
                resolved_at=None,
                resolution_minutes=None,
                sla_outcome="pending",
                csat=None,
            ),
        ],
    ),
    "marts.customer_households": (
        HOUSEHOLD_COLUMNS,
        [
            household("G0000000001", "G0000000003", "address"),
            household("G0000000001", "G0000000004", "indirect"),
            household("G0000000003", "G0000000001", "address"),
            household("G0000000003", "G0000000004", "mobile"),
            household("G0000000004", "G0000000001", "indirect"),
            household("G0000000004", "G0000000003", "mobile"),
        ],
    ),
}


def history_of(row: Row, **overrides: Any) -> Row:
    version = {c: row.get(c) for c in HISTORY_COLUMNS}
    version.update(valid_from="2025-01-01 00:00:00", valid_to=None, run_id="r1")
    return {**version, **overrides}


# G…001 had another mobile in its first version; the others have one version each.
HISTORY = [
    history_of(GOLDEN[0], mobile="13900139000", valid_to="2025-01-02 00:00:00"),
    history_of(GOLDEN[0], valid_from="2025-01-02 00:00:00", run_id="r2"),
    *(history_of(row) for row in GOLDEN[1:]),
]
LINEAGE = [
    {
        "golden_id": "G0000000001",
        "attribute": "name",
        "record_key": "core:C000000001",
        "rule": "source_priority",
    },
    {
        "golden_id": "G0000000001",
        "attribute": "mobile",
        "record_key": "core:C000000001",
        "rule": "most_recent",
    },
]
EVENTS = [
    {
        "event_id": "r1-1",
        "run_id": "r1",
        "event_type": "create",
        "golden_id": "G0000000001",
        "related_golden_id": None,
        "detail": None,
        "occurred_at": "2025-01-01 00:00:00",
        "decision_id": None,
        "steward": None,
        "changed_fields": None,
    },
    {
        "event_id": "r2-1",
        "run_id": "r2",
        "event_type": "merge",
        "golden_id": "G0000000001",
        "related_golden_id": "G0000000002",
        "detail": "merged",
        "occurred_at": "2025-01-02 00:00:00",
        # Applied from a steward's decision (a quick apply's run).
        "decision_id": 12,
        "steward": "cli:wang.min",
        "changed_fields": "source_count,source_systems",
    },
]


KPI_SERVICE_COLUMNS = {
    "kpi_key": "varchar",
    "ticket_date": "date",
    "branch_no": "varchar",
    "channel": "varchar",
    "category": "varchar",
    "tickets": "integer",
    "responded_tickets": "integer",
    "first_response_minutes_mean": "decimal(18,2)",
    "first_response_minutes_median": "decimal(18,2)",
    "first_response_minutes_p90": "decimal(18,2)",
    "resolved_tickets": "integer",
    "resolution_minutes_mean": "decimal(18,2)",
    "sla_evaluated_tickets": "integer",
    "resolved_within_sla_share": "decimal(5,4)",
    "complaints": "integer",
    "complaint_closure_rate": "decimal(5,4)",
    "avg_csat": "decimal(4,2)",
}
KPI_LOAN_COLUMNS = {
    "kpi_key": "varchar",
    "application_month": "date",
    "product": "varchar",
    "branch_no": "varchar",
    "applications": "integer",
    "decided_applications": "integer",
    "approved_applications": "integer",
    "rejected_applications": "integer",
    "disbursed_applications": "integer",
    "approval_rate": "decimal(5,4)",
    "requested_amount": "decimal(18,2)",
    "hours_to_pre_review_mean": "decimal(18,2)",
    "hours_to_pre_review_median": "decimal(18,2)",
    "hours_to_credit_review_mean": "decimal(18,2)",
    "hours_to_credit_review_median": "decimal(18,2)",
    "hours_to_approval_mean": "decimal(18,2)",
    "hours_to_approval_median": "decimal(18,2)",
    "hours_to_disbursement_mean": "decimal(18,2)",
    "hours_to_disbursement_median": "decimal(18,2)",
    "as_of_date": "date",
}
KPI_MDM_COLUMNS = {
    "as_of_date": "date",
    "run_id": "varchar",
    **{
        name: "integer"
        for name in (
            "source_records",
            "quarantined_records",
            "golden_records",
            "retired_golden_records",
            "cross_system_golden_records",
            "duplicates_removed",
        )
    },
    "records_per_golden_record": "decimal(10,4)",
    **{
        name: "integer"
        for name in (
            "scored_pairs",
            "auto_match_pairs",
            "non_match_pairs",
            "review_backlog",
            "golden_events",
            "golden_events_create",
            "golden_events_update",
            "golden_events_merge",
            "golden_events_split",
            "golden_events_retire",
        )
    },
}
KPI_MDM_SOURCES_COLUMNS = {
    "as_of_date": "date",
    "source_system": "varchar",
    **{
        name: "integer"
        for name in (
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
        )
    },
}
RM_TASKS_COLUMNS = {
    "task_id": "varchar",
    "task_type": "varchar",
    "relationship_manager_id": "varchar",
    "relationship_manager_name": "varchar",
    "branch_no": "varchar",
    "escalate_to": "varchar",
    "golden_id": "varchar",
    "account_no": "varchar",
    "product_code": "varchar",
    "maturity_date": "date",
    "amount_cny": "decimal(18,2)",
    "ticket_id": "varchar",
    "ticket_created_at": "timestamp",
    "last_contact_at": "timestamp",
    "due_date": "date",
    "priority": "varchar",
    "reason": "varchar",
    "as_of_date": "date",
}


def kpi_service(day: str, branch: str, channel: str, category: str, tickets: int) -> Row:
    return {
        "kpi_key": f"{day}|{branch}|{channel}|{category}",
        "ticket_date": day,
        "branch_no": branch,
        "channel": channel,
        "category": category,
        "tickets": tickets,
        "responded_tickets": tickets,
        "first_response_minutes_mean": "42.50",
        "resolved_tickets": tickets - 1,
        "sla_evaluated_tickets": tickets,
        "resolved_within_sla_share": "0.7500",
        "complaints": tickets if category == "complaint" else 0,
        "avg_csat": "4.25",
    }


def kpi_loan(month: str, product: str, branch: str, applications: int) -> Row:
    return {
        "kpi_key": f"{month}|{product}|{branch}",
        "application_month": month,
        "product": product,
        "branch_no": branch,
        "applications": applications,
        "decided_applications": 3,
        "approved_applications": 2,
        "rejected_applications": 1,
        "disbursed_applications": 1,
        "approval_rate": "0.6667",
        "requested_amount": "30000.00",
        "hours_to_approval_median": "72.00",
        "as_of_date": "2026-11-28",
    }


def kpi_mdm(as_of: str, run_id: str, golden_records: int) -> Row:
    return {
        "as_of_date": as_of,
        "run_id": run_id,
        "source_records": 5,
        "golden_records": golden_records,
        "duplicates_removed": 5 - golden_records,
        "records_per_golden_record": "1.6667",
        "review_backlog": 1,
    }


def rm_task(
    task_id: str,
    task_type: str,
    manager: str | None,
    branch: str,
    golden_id: str,
    due: str,
    priority: str,
    **extra: Any,
) -> Row:
    return {
        "task_id": task_id,
        "task_type": task_type,
        "relationship_manager_id": manager,
        "relationship_manager_name": {"RM0001": "刘强", "RM0002": "陈静"}.get(manager or ""),
        "branch_no": branch,
        "golden_id": golden_id,
        "due_date": due,
        "priority": priority,
        "reason": f"{task_type} for {golden_id}",
        "as_of_date": "2026-11-28",
        **extra,
    }


KPI_MARTS: dict[str, tuple[dict[str, str], list[Row]]] = {
    "marts.kpi_service_daily": (
        KPI_SERVICE_COLUMNS,
        [
            kpi_service("2026-11-27", "B0101", "branch", "complaint", 4),
            kpi_service("2026-11-28", "B0101", "phone", "inquiry", 6),
            kpi_service("2026-11-28", "B0202", "wechat", "complaint", 2),
        ],
    ),
    "marts.kpi_loan_cycle": (
        KPI_LOAN_COLUMNS,
        [
            kpi_loan("2026-10-01", "个人消费贷款", "B0101", 4),
            kpi_loan("2026-11-01", "个人消费贷款", "B0101", 5),
            kpi_loan("2026-11-01", "住房按揭贷款", "B0202", 3),
        ],
    ),
    "marts.kpi_mdm": (
        KPI_MDM_COLUMNS,
        [kpi_mdm("2026-11-27", "run-1", 2), kpi_mdm("2026-11-28", "run-2", 3)],
    ),
    "marts.kpi_mdm_sources": (
        KPI_MDM_SOURCES_COLUMNS,
        [
            {"as_of_date": "2026-11-27", "source_system": "core", "source_records": 2},
            {"as_of_date": "2026-11-28", "source_system": "crm", "source_records": 1},
            {"as_of_date": "2026-11-28", "source_system": "core", "source_records": 2},
        ],
    ),
    "marts.rm_tasks": (
        RM_TASKS_COLUMNS,
        [
            rm_task(
                "TASK-B", "vip_contact", "RM0001", "B0101", "G0000000003", "2026-12-05", "medium"
            ),
            rm_task(
                "TASK-A",
                "maturity_followup",
                "RM0001",
                "B0101",
                "G0000000001",
                "2026-11-28",
                "high",
                account_no="6222020000000001",
                product_code="TD1Y",
                maturity_date="2026-11-28",
                amount_cny="10000.00",
            ),
            rm_task(
                "TASK-C",
                "complaint_escalation",
                "RM0002",
                "B0101",
                "G0000000004",
                "2026-11-28",
                "high",
                escalate_to="branch_manager",
                ticket_id="T7",
                ticket_created_at="2026-11-25 10:00:00",
            ),
            rm_task(
                "TASK-D",
                "maturity_followup",
                None,
                "B0202",
                "G0000000003",
                "2026-11-29",
                "medium",
                account_no="6222020000000003",
                product_code="WM90D",
                maturity_date="2026-11-30",
                amount_cny="20000.00",
            ),
        ],
    ),
}


def _create(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str], rows: list[Row]):
    con.execute(f"create table {table} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
    if rows:
        names = list(columns)
        con.executemany(
            f"insert into {table} ({', '.join(names)}) values ({', '.join('?' for _ in names)})",
            [[row.get(name) for name in names] for row in rows],
        )


def publish_snapshot(
    path: Path,
    *,
    golden_records: list[Row] = GOLDEN,
    party_records: list[Row] = PARTY,
    xrefs: list[Row] = XREF,
    customers: list[Row] | None = CUSTOMER_360,
    lineage: list[Row] = LINEAGE,
    history: list[Row] = HISTORY,
    events: list[Row] = EVENTS,
    kpi_marts: dict[str, tuple[dict[str, str], list[Row]]] | None = KPI_MARTS,
    details: dict[str, tuple[dict[str, str], list[Row]]] | None = CUSTOMER_DETAILS,
) -> Path:
    """Write a serving snapshot the way the pipeline does: a temporary file, then a rename."""
    tmp = path.with_name(path.name + ".publishing")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        con.execute("create schema mdm")
        _create(con, "mdm.golden_records", GOLDEN_COLUMNS, golden_records)
        _create(con, "mdm.xref", XREF_COLUMNS, xrefs)
        _create(con, "mdm.party_records", PARTY_COLUMNS, party_records)
        _create(con, "mdm.golden_lineage", LINEAGE_COLUMNS, lineage)
        _create(con, "mdm.golden_history", HISTORY_COLUMNS, history)
        _create(con, "mdm.golden_events", EVENT_COLUMNS, events)
        if customers is not None or kpi_marts is not None or details is not None:
            con.execute("create schema marts")
        if customers is not None:
            _create(con, "marts.customer_360", CUSTOMER_360_COLUMNS, customers)
        for marts in (kpi_marts, details):
            for table, (columns, rows) in (marts or {}).items():
                _create(con, table, columns, rows)
        if party_records:
            # The run's model, so the publish builds the live index POST /match reads.
            model = match_model(json.dumps(party_records, default=str))
            con.register("model_row", model)
            con.execute("create table mdm.match_model as select * from model_row")
            con.unregister("model_row")
    finally:
        con.close()
    return publish_snapshot_file(tmp, path)


@cache
def match_model(party_json: str) -> pd.DataFrame:
    """`mdm.match_model` of a run of the shipped rules on these party records."""
    from matching.engine import link
    from matching.incremental import applied_config_json
    from matching.online import substitutions_json
    from pipelines.mdm_config import load_config

    config = load_config(PROJECT_ROOT / "mdm.yaml")
    records = pd.DataFrame(json.loads(party_json))
    records["birth_date"] = pd.to_datetime(records["birth_date"])
    result = link(records, config.matching)
    return pd.DataFrame(
        [
            {
                "run_id": "conftest",
                "model_json": result.model.to_json(),
                "config_json": applied_config_json(config.matching, config.survivorship),
                "lookalike_json": substitutions_json(result.lookalike_substitutions),
            }
        ]
    )


ISSUER = "https://idp.bank.test/realms/staff"
AUDIENCE = "mdm-api"
# The relationship manager works at branch B0001 (G…001's branch; G…003 is at B0002).
ROLE_CLAIMS: dict[str, dict[str, str]] = {
    "relationship_manager": {"branch_id": "B0001", "rm_id": "RM0001"},
}


class IdentityProvider:
    """The bank's IdP in miniature: key pairs, their JWKS, and tokens signed with them."""

    def __init__(self, folder: Path) -> None:
        self.es256 = ec.generate_private_key(ec.SECP256R1())
        self.rs256 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.jwks = {
            "keys": [
                {
                    **json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.es256.public_key())),
                    "kid": "es-1",
                    "alg": "ES256",
                    "use": "sig",
                },
                {
                    **json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.rs256.public_key())),
                    "kid": "rs-1",
                    "alg": "RS256",
                    "use": "sig",
                },
            ]
        }
        self.jwks_path = folder / "jwks.json"
        self.jwks_path.write_text(json.dumps(self.jwks), encoding="utf-8")

    def token(
        self,
        role: str | None,
        /,
        *,
        algorithm: str = "ES256",
        lifetime: int = 3600,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A signed token for `role` (claims override the defaults; None drops a claim)."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": f"{role}-{uuid.uuid4().hex[:8]}",
            "iat": now,
            "exp": now + lifetime,
            "role": role,
            **ROLE_CLAIMS.get(role or "", {}),
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        key, kid = (self.es256, "es-1") if algorithm == "ES256" else (self.rs256, "rs-1")
        return jwt.encode(
            payload, key, algorithm=algorithm, headers={"kid": kid, **(headers or {})}
        )

    def headers(self, role: str, /, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **claims)}"}

    def settings(self, serving_path: Path, **overrides: Any) -> Settings:
        """Settings trusting this IdP; the ops store beside the serving file."""
        values: dict[str, Any] = {
            "serving_path": serving_path,
            "home": serving_path.parent / "var",
            "jwt_issuer": ISSUER,
            "jwt_audience": AUDIENCE,
            "jwks_path": self.jwks_path,
            "lookup_burst": 10_000,  # the shared app must not rate-limit the other tests
            "api_docs": True,  # the contract and docs tests read /openapi.json and /docs
            **overrides,
        }
        return Settings(**values)


@cache
def identity_provider() -> IdentityProvider:
    return IdentityProvider(Path(tempfile.mkdtemp(prefix="mdm-idp-")))


def problem_detail(response: httpx.Response, status: int) -> str:
    """The `detail` of a problem-details answer (RFC 9457), after checking its status and shape."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["title"]
    assert body["instance"] == response.request.url.path
    return str(body.get("detail", ""))


@contextmanager
def serve(app: FastAPI, headers: dict[str, str] | None = None) -> Iterator[httpx.Client]:
    """Run `app` with uvicorn on a free 127.0.0.1 port in a thread; yield a client to it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=10, trust_env=False, headers=headers
        ) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def app_on(
    serving_path: Path,
    *,
    read_auditor: InMemoryReadAuditor | None = None,
    inbox_drain_seconds: float = INBOX_DRAIN_SECONDS,
    **settings: Any,
) -> FastAPI:
    return create_app(
        identity_provider().settings(serving_path, **settings),
        read_auditor=read_auditor,
        inbox_drain_seconds=inbox_drain_seconds,
    )


def steward_headers() -> dict[str, str]:
    return identity_provider().headers("steward")


@pytest.fixture(scope="session")
def idp() -> IdentityProvider:
    return identity_provider()


@pytest.fixture(scope="session")
def snapshot_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return publish_snapshot(tmp_path_factory.mktemp("serving") / "serving.duckdb")


@pytest.fixture(scope="session")
def read_auditor() -> InMemoryReadAuditor:
    """What the shared app recorded (tests look at the events their own requests added)."""
    return InMemoryReadAuditor()


@pytest.fixture(scope="session")
def anonymous(snapshot_path: Path, read_auditor: InMemoryReadAuditor) -> Iterator[httpx.Client]:
    """The app on the standard snapshot, shared by every test that only reads it; no
    credentials (the other clients reuse its server)."""
    with serve(app_on(snapshot_path, read_auditor=read_auditor)) as client:
        yield client


@pytest.fixture(scope="session")
def as_role(
    anonymous: httpx.Client, idp: IdentityProvider
) -> Iterator[Callable[..., httpx.Client]]:
    """`as_role(role, **claims)`: a client on the shared server calling as that role."""
    with ExitStack() as stack:

        def client(role: str, **claims: Any) -> httpx.Client:
            return stack.enter_context(
                httpx.Client(
                    base_url=anonymous.base_url,
                    timeout=10,
                    trust_env=False,
                    headers=idp.headers(role, **claims),
                )
            )

        yield client


@pytest.fixture(scope="session")
def api(as_role: Callable[..., httpx.Client]) -> httpx.Client:
    """The shared app, called by a steward (every field clear, every branch)."""
    return as_role("steward")


@pytest.fixture
def serve_on() -> Iterator[Callable[..., httpx.Client]]:
    """Start a private server on a given serving path (for tests that change the file), called
    by a steward unless other headers are given; keyword arguments are Settings."""
    with ExitStack() as stack:

        def start(
            serving_path: Path, headers: dict[str, str] | None = None, **settings: Any
        ) -> httpx.Client:
            app = app_on(serving_path, **settings)
            return stack.enter_context(
                serve(app, steward_headers() if headers is None else headers)
            )

        yield start


assert set(ROLES) >= set(ROLE_CLAIMS)
