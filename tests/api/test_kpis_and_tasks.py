"""`/kpis/*` and `/rm-tasks` on the hand-made snapshot (tests/api/conftest.py lists its rows).

Who sees what: `kpis:read` / `rm_tasks:read` open the endpoints; without `branches:all` a
principal sees its own branch only; a relationship manager sees only their own tasks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from golden_record_api.read_audit import InMemoryReadAuditor
from tests.api.conftest import KPI_MARTS, KPI_MDM_COLUMNS, app_on, publish_snapshot, serve
from tests.api.principals import as_, use_fixed_principals


def serve_marts(
    path: Path, auditor: InMemoryReadAuditor | None = None
) -> AbstractContextManager[httpx.Client]:
    """The app on `path` with the test principals and an in-memory read auditor."""
    app = use_fixed_principals(app_on(path))
    app.state.read_auditor = auditor or InMemoryReadAuditor()
    return serve(app)


@pytest.fixture(scope="module")
def auditor() -> InMemoryReadAuditor:
    return InMemoryReadAuditor()


@pytest.fixture(scope="module")
def client(snapshot_path: Path, auditor: InMemoryReadAuditor) -> Iterator[httpx.Client]:
    with serve_marts(snapshot_path, auditor) as api:
        yield api


def keys(response: httpx.Response, key: str = "kpi_key") -> list[str]:
    assert response.status_code == 200, response.text
    return [item[key] for item in response.json()["items"]]


# --- scopes and identities -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/kpis/service", "/kpis/loans", "/kpis/mdm", "/rm-tasks"])
def test_every_kpi_and_task_endpoint_needs_a_principal(client, path):
    assert client.get(path).status_code == 401


@pytest.mark.parametrize(
    ("path", "scope"),
    [
        ("/kpis/service", "kpis:read"),
        ("/kpis/loans", "kpis:read"),
        ("/kpis/mdm", "kpis:read"),
        ("/rm-tasks", "rm_tasks:read"),
    ],
)
def test_a_principal_without_the_scope_gets_403_naming_it(client, path, scope):
    response = client.get(path, headers=as_("app"))
    assert response.status_code == 403
    assert scope in response.json()["detail"]


# --- service and loan KPIs -----------------------------------------------------------------


def test_service_kpis_for_all_branches_are_every_row_by_key(client):
    response = client.get("/kpis/service", headers=as_("admin"))
    assert keys(response) == [
        "2026-11-27|B0101|branch|complaint",
        "2026-11-28|B0101|phone|inquiry",
        "2026-11-28|B0202|wechat|complaint",
    ]
    body = response.json()
    assert body["total"] == 3
    first = body["items"][0]
    assert first["ticket_date"] == "2026-11-27"
    assert first["tickets"] == 4
    assert first["resolved_within_sla_share"] == 0.75  # a DECIMAL arrives as a JSON number
    assert first["avg_csat"] == 4.25
    assert first["complaint_closure_rate"] is None


def test_a_branch_bound_principal_sees_only_its_branchs_kpis(client):
    assert keys(client.get("/kpis/service", headers=as_("branch_app"))) == [
        "2026-11-28|B0202|wechat|complaint"
    ]
    assert keys(client.get("/kpis/loans", headers=as_("rm"))) == [
        "2026-10-01|个人消费贷款|B0101",
        "2026-11-01|个人消费贷款|B0101",
    ]


def test_a_branch_bound_principal_asking_for_another_branch_gets_403(client):
    response = client.get("/kpis/service", params={"branch_no": "B0101"}, headers=as_("branch_app"))
    assert response.status_code == 403
    assert "B0202 only" in response.json()["detail"]


def test_a_principal_bound_to_no_branch_gets_403_not_an_empty_page(client):
    response = client.get("/kpis/service", headers=as_("unplaced_steward"))
    assert response.status_code == 403
    assert "no branch" in response.json()["detail"]


def test_service_kpis_filter_by_date_channel_and_branch(client):
    admin = as_("admin")
    assert keys(client.get("/kpis/service", params={"since": "2026-11-28"}, headers=admin)) == [
        "2026-11-28|B0101|phone|inquiry",
        "2026-11-28|B0202|wechat|complaint",
    ]
    assert keys(client.get("/kpis/service", params={"until": "2026-11-27"}, headers=admin)) == [
        "2026-11-27|B0101|branch|complaint"
    ]
    both = {"category": "complaint", "branch_no": "B0101"}
    assert keys(client.get("/kpis/service", params=both, headers=admin)) == [
        "2026-11-27|B0101|branch|complaint"
    ]


def test_kpi_pages_have_a_total_and_honour_limit_and_offset(client):
    response = client.get("/kpis/loans", params={"limit": 1, "offset": 1}, headers=as_("admin"))
    assert keys(response) == ["2026-11-01|个人消费贷款|B0101"]
    assert response.json()["total"] == 3
    loan = response.json()["items"][0]
    assert (loan["applications"], loan["approval_rate"]) == (5, 0.6667)


@pytest.mark.parametrize(
    "params",
    [{"since": "not-a-date"}, {"limit": 0}, {"limit": 501}, {"offset": -1}, {"offset": 2**63}],
)
def test_bad_kpi_query_values_are_422_not_500(client, params):
    assert client.get("/kpis/service", params=params, headers=as_("admin")).status_code == 422


# --- MDM KPIs ------------------------------------------------------------------------------


def test_mdm_kpis_are_the_latest_runs_with_its_sources(client):
    response = client.get("/kpis/mdm", headers=as_("branch_app"))  # no branch in MDM KPIs
    assert response.status_code == 200
    body = response.json()
    assert (body["as_of_date"], body["run_id"], body["golden_records"]) == (
        "2026-11-28",
        "run-2",
        3,
    )
    assert body["records_per_golden_record"] == 1.6667
    assert [s["source_system"] for s in body["sources"]] == ["core", "crm"]


def test_mdm_kpis_before_any_run_are_404(tmp_path):
    no_run = {**KPI_MARTS, "marts.kpi_mdm": (KPI_MDM_COLUMNS, [])}
    with serve_marts(publish_snapshot(tmp_path / "serving.duckdb", kpi_marts=no_run)) as api:
        response = api.get("/kpis/mdm", headers=as_("admin"))
    assert response.status_code == 404
    assert response.json()["detail"] == "no MDM KPIs in this snapshot yet"


def test_a_snapshot_without_the_kpi_marts_is_503(tmp_path):
    with serve_marts(publish_snapshot(tmp_path / "serving.duckdb", kpi_marts=None)) as api:
        for endpoint in ("/kpis/service", "/kpis/loans", "/kpis/mdm", "/rm-tasks"):
            response = api.get(endpoint, headers=as_("admin"))
            assert response.status_code == 503, endpoint
            assert "incomplete" in response.json()["detail"]


# --- relationship managers' tasks ----------------------------------------------------------


def test_a_relationship_manager_sees_only_their_own_tasks(client):
    assert keys(client.get("/rm-tasks", headers=as_("rm")), "task_id") == ["TASK-A", "TASK-B"]


def test_a_relationship_manager_asking_for_anothers_tasks_gets_403(client):
    response = client.get(
        "/rm-tasks", params={"relationship_manager_id": "RM0002"}, headers=as_("rm")
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "a relationship manager sees only their own tasks"


def test_a_relationship_manager_without_a_manager_id_gets_403(client):
    assert client.get("/rm-tasks", headers=as_("rm_without_id")).status_code == 403


def test_a_branch_bound_service_sees_its_branchs_tasks_including_unassigned(client):
    response = client.get("/rm-tasks", headers=as_("branch_app"))
    assert keys(response, "task_id") == ["TASK-D"]
    assert response.json()["items"][0]["relationship_manager_id"] is None


def test_all_tasks_order_by_due_date_then_priority_and_filter(client):
    admin = as_("admin")
    assert keys(client.get("/rm-tasks", headers=admin), "task_id") == [
        "TASK-A",  # 2026-11-28 high
        "TASK-C",  # 2026-11-28 high
        "TASK-D",  # 2026-11-29 medium
        "TASK-B",  # 2026-12-05 medium
    ]
    by_manager = {"relationship_manager_id": "RM0002"}
    assert keys(client.get("/rm-tasks", params=by_manager, headers=admin), "task_id") == ["TASK-C"]
    due = {"due_by": "2026-11-28", "task_type": "maturity_followup"}
    assert keys(client.get("/rm-tasks", params=due, headers=admin), "task_id") == ["TASK-A"]
    assert client.get("/rm-tasks", params={"priority": "urgent"}, headers=admin).status_code == 422


def test_a_task_carries_its_account_and_complaint_details(client):
    # The manager's own task, as the access policy gives it to a relationship manager: clear.
    mine = {i["task_id"]: i for i in client.get("/rm-tasks", headers=as_("rm")).json()["items"]}
    assert mine["TASK-A"]["account_no"] == "6222020000000001"
    assert mine["TASK-A"]["amount_cny"] == 10000.0
    assert mine["TASK-A"]["relationship_manager_name"] == "刘强"
    # An admin lists every task but reads no account, amount or name in clear.
    items = {i["task_id"]: i for i in client.get("/rm-tasks", headers=as_("admin")).json()["items"]}
    assert items["TASK-A"]["account_no"] == "622202********0001"
    assert "amount_cny" not in items["TASK-A"] and "reason" not in items["TASK-A"]
    assert items["TASK-A"]["relationship_manager_name"] == "刘*"
    # Mart times are China time: served with the bank's offset.
    assert items["TASK-C"]["ticket_created_at"] == "2026-11-25T10:00:00+08:00"
    assert items["TASK-C"]["escalate_to"] == "branch_manager"


def test_a_task_page_is_recorded_as_a_read_with_its_golden_ids_and_purpose(client, auditor):
    before = len(auditor.events)
    response = client.get("/rm-tasks", headers=as_("rm", **{"X-Purpose": "customer_service"}))
    assert response.status_code == 200
    (event,) = auditor.events[before:]
    assert event.principal.subject == "rm-liu"
    assert event.endpoint == "GET /rm-tasks"
    assert event.golden_ids == ("G0000000001", "G0000000003")
    assert event.clear_fields == tuple(
        f"rm_task.{field}"
        for field in (
            "account_no",
            "amount_cny",
            "maturity_date",
            "reason",
            "relationship_manager_name",
        )
    )
    assert event.purpose == "customer_service"
    assert event.status_code == 200
    assert event.occurred_at.tzinfo is not None


def test_an_empty_task_page_records_no_read(client, auditor):
    before = len(auditor.events)
    response = client.get("/rm-tasks", params={"priority": "low"}, headers=as_("admin"))
    assert response.json() == {"total": 0, "items": []}
    assert len(auditor.events) == before
