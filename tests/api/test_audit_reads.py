"""`/audit/reads` and `/audit/writer`: the auditors' view of the read audit trail.

The app records through the real `OpsReadAuditor` into a SQLite ops store of its own (and,
in one test, PostgreSQL): reads of `/rm-tasks` go through the queue and the background writer,
and the auditor reads them back over HTTP.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from connectors.audit_log import AuditFilter, ReadAuditLog, ReadAuditRow
from connectors.settings import Settings
from golden_record_api.main import create_app
from golden_record_api.ops_read_auditor import OpsReadAuditor, build_read_auditor
from golden_record_api.read_audit import InMemoryReadAuditor
from tests.api.conftest import serve
from tests.api.principals import as_, use_fixed_principals

EARLY = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def app_with_ops_auditor(snapshot_path: Path, ops_url: str) -> tuple[FastAPI, OpsReadAuditor]:
    settings = Settings(serving_path=snapshot_path, ops_url=ops_url)
    app = use_fixed_principals(create_app(settings))
    auditor = build_read_auditor(settings)
    app.state.read_auditor = auditor
    return app, auditor


def wait_until_written(api: httpx.Client, count: int) -> dict[str, int]:
    deadline = time.monotonic() + 10
    while True:
        stats = api.get("/audit/writer", headers=as_("auditor")).json()
        if stats["written"] >= count or time.monotonic() > deadline:
            return stats
        time.sleep(0.02)


@pytest.fixture
def ops_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ops.sqlite'}"


@pytest.fixture
def audited(snapshot_path: Path, ops_url: str) -> Iterator[httpx.Client]:
    """The app with the chained auditor; two older reads already on the chain."""
    seed = ReadAuditLog(ops_url)
    seed.append(
        [
            ReadAuditRow(
                EARLY,
                "svc-crm",
                "service",
                "app",
                "GET /golden-records/{golden_id}",
                ("G0000000004",),
                ("name",),
                "kyc refresh",
                200,
            ),
            ReadAuditRow(
                EARLY + timedelta(days=1),
                "rm-chen",
                "user",
                "relationship_manager",
                "GET /customers/{golden_id}/360",
                ("G0000000001",),
                ("name", "address"),
                None,
                200,
            ),
        ]
    )
    seed.dispose()
    app, _ = app_with_ops_auditor(snapshot_path, ops_url)
    with serve(app) as api:
        assert (
            api.get("/rm-tasks", headers=as_("rm", **{"X-Purpose": "customer_service"})).status_code
            == 200
        )
        assert wait_until_written(api, 1)["written"] == 1
        yield api


def seqs(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["seq"] for item in response.json()["items"]]


def test_a_read_through_the_api_lands_on_the_chain_for_the_auditor(audited):
    response = audited.get("/audit/reads", params={"subject": "rm-liu"}, headers=as_("auditor"))
    assert seqs(response) == [3]
    (item,) = response.json()["items"]
    assert item["endpoint"] == "GET /rm-tasks"
    assert item["role"] == "relationship_manager"
    assert item["principal_kind"] == "user"
    assert item["golden_ids"] == ["G0000000001", "G0000000003"]
    assert item["clear_fields"] == [
        f"rm_task.{field}"
        for field in (
            "account_no",
            "amount_cny",
            "maturity_date",
            "reason",
            "relationship_manager_name",
        )
    ]
    assert item["purpose"] == "customer_service"
    assert item["status_code"] == 200
    assert len(item["row_hash"]) == 64
    assert datetime.fromisoformat(item["occurred_at"]).tzinfo is not None


def test_reads_filter_by_golden_id_and_time(audited):
    auditor = as_("auditor")
    assert seqs(
        audited.get("/audit/reads", params={"golden_id": "G0000000001"}, headers=auditor)
    ) == [2, 3]
    assert seqs(
        audited.get("/audit/reads", params={"golden_id": "G0000000004"}, headers=auditor)
    ) == [1]
    window = {"since": "2026-11-01T16:00:00+08:00", "until": "2026-11-02T16:00:00+08:00"}
    assert seqs(audited.get("/audit/reads", params=window, headers=auditor)) == [1]  # until excl.
    assert seqs(
        audited.get("/audit/reads", params={"since": "2026-11-02T08:00:00Z"}, headers=auditor)
    ) == [2, 3]


def test_reads_page_by_seq_with_a_total(audited):
    first = audited.get("/audit/reads", params={"limit": 2}, headers=as_("auditor")).json()
    assert (first["total"], [i["seq"] for i in first["items"]], first["next_after_seq"]) == (
        3,
        [1, 2],
        2,
    )
    rest = audited.get(
        "/audit/reads",
        params={"limit": 2, "after_seq": first["next_after_seq"]},
        headers=as_("auditor"),
    ).json()
    assert ([i["seq"] for i in rest["items"]], rest["next_after_seq"]) == ([3], None)
    assert rest["items"][0]["prev_hash"] == first["items"][1]["row_hash"]


@pytest.mark.parametrize("who", ["rm", "app", "branch_app"])
def test_only_a_principal_with_audit_read_may_read_the_trail(audited, who):
    for path in ("/audit/reads", "/audit/writer"):
        response = audited.get(path, headers=as_(who))
        assert response.status_code == 403
        assert "audit:read" in response.json()["detail"]


def test_the_trail_needs_a_principal(audited):
    assert audited.get("/audit/reads").status_code == 401


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "2026-11-01T00:00:00"}, "since needs a UTC offset"),
        ({"golden_id": "G12"}, "malformed golden ID"),
        ({"after_seq": -1}, None),
        ({"after_seq": 2**63}, None),
        ({"limit": 0}, None),
        ({"until": "yesterday"}, None),
    ],
)
def test_bad_filters_are_422_with_a_reason(audited, params, message):
    response = audited.get("/audit/reads", params=params, headers=as_("auditor"))
    assert response.status_code == 422
    if message:
        assert message in response.json()["detail"]


def test_the_writer_counts_what_it_wrote_and_dropped(audited):
    stats = audited.get("/audit/writer", headers=as_("auditor")).json()
    assert stats == {"submitted": 1, "written": 1, "dropped": 0, "failed": 0, "queued": 0}


def test_without_an_ops_auditor_the_trail_is_503(snapshot_path):
    app = use_fixed_principals(create_app(Settings(serving_path=snapshot_path)))
    app.state.read_auditor = InMemoryReadAuditor()
    with serve(app) as api:
        response = api.get("/audit/reads", headers=as_("auditor"))
    assert response.status_code == 503


def test_shutdown_flushes_queued_reads_to_the_chain(snapshot_path, ops_url):
    app, auditor = app_with_ops_auditor(snapshot_path, ops_url)
    with serve(app) as api:
        for _ in range(20):
            assert api.get("/rm-tasks", headers=as_("admin")).status_code == 200
    log = ReadAuditLog(ops_url)
    try:
        assert log.verify().rows == 20
        assert log.list(AuditFilter(subject="admin-1"))[0] == 20
    finally:
        log.dispose()
    assert auditor.stats().written == 20


def test_reads_through_the_api_chain_on_postgresql_too(snapshot_path, postgres_database):
    app, _ = app_with_ops_auditor(snapshot_path, postgres_database)
    with serve(app) as api:
        for who in ("rm", "branch_app", "admin"):
            assert api.get("/rm-tasks", headers=as_(who)).status_code == 200
        wait_until_written(api, 3)
        response = api.get(
            "/audit/reads", params={"golden_id": "G0000000003"}, headers=as_("auditor")
        )
        assert [i["subject"] for i in response.json()["items"]] == [
            "rm-liu",
            "svc-b0202",
            "admin-1",
        ]
    log = ReadAuditLog(postgres_database)
    try:
        assert log.verify().ok
    finally:
        log.dispose()
