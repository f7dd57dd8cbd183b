"""Managers' dashboard: the KPI marts by month and branch, drawn with the vendored Chart.js.

The figures go to the page as a JSON data island (`<script type="application/json">`), which
the browser never executes; `static/console.js` draws the charts from it, so the page needs no
inline script and the Content-Security-Policy stays `script-src 'self'`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from golden_record_api import marts
from golden_record_api.console.web import PREFIX, ConsoleUser, render, require
from golden_record_api.deps import SnapshotDep
from golden_record_api.principal import SCOPE_ALL_BRANCHES, SCOPE_KPIS_READ
from golden_record_api.report_schemas import TASK_TYPES
from golden_record_api.routers.kpis import branch_filter
from golden_record_api.snapshot import Snapshot

KpiUser = Annotated[ConsoleUser, Depends(require(SCOPE_KPIS_READ))]
router = APIRouter(prefix=f"{PREFIX}/dashboard")

# Chart id → (i18n label, the series' source and column)
CHARTS: tuple[tuple[str, str, str, str], ...] = (
    ("first_response", "kpi.first_response", "service", "first_response_hours"),
    ("resolution", "kpi.resolution", "service", "resolution_hours"),
    ("csat", "kpi.csat", "service", "avg_csat"),
    ("complaint_closure", "kpi.complaint_closure", "service", "complaint_closure_rate"),
    ("loan_cycle", "kpi.loan_cycle", "loans", "loan_cycle_days"),
    ("tickets", "kpi.tickets", "service", "tickets"),
)


def _number(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def _month(value: Any) -> str:
    return value.strftime("%Y-%m") if isinstance(value, date) else str(value)[:7]


# The charts show the last two years: the loan book goes back a decade, and a hundred monthly
# points say less to a manager than twenty-four.
MONTHS_SHOWN = 24


def follow_ups_by_branch(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per branch, one column per task type."""
    table: dict[str, dict[str, Any]] = {}
    for row in rows:
        branch = str(row["branch_no"])
        table.setdefault(branch, {"branch_no": branch, **dict.fromkeys(TASK_TYPES, 0)})
        table[branch][str(row["task_type"])] = int(row["tasks"])
    return [table[branch] for branch in sorted(table)]


def dashboard_data(snapshot: Snapshot, branch: str | None) -> dict[str, Any]:
    series = {
        "service": marts.service_by_month(snapshot, branch=branch)[-MONTHS_SHOWN:],
        "loans": marts.loans_by_month(snapshot, branch=branch)[-MONTHS_SHOWN:],
    }
    charts = []
    for chart_id, label, source, column in CHARTS:
        rows = series[source]
        charts.append(
            {
                "id": chart_id,
                "label": label,
                "months": [_month(row["month"]) for row in rows],
                "values": [_number(row[column]) for row in rows],
            }
        )
    return {
        "charts": charts,
        "by_branch": marts.service_by_branch(snapshot, branch=branch),
        "tasks": follow_ups_by_branch(marts.open_tasks_by_branch(snapshot, branch=branch)),
        "task_types": TASK_TYPES,
        "mdm": marts.kpi_mdm(snapshot),
    }


@router.get("", response_class=HTMLResponse)
async def dashboard(
    request: Request,
    snapshot: SnapshotDep,
    user: KpiUser,
    branch: Annotated[str | None, Query(max_length=50)] = None,
) -> HTMLResponse:
    chosen = branch_filter(user.principal, branch or None)
    data = await run_in_threadpool(dashboard_data, snapshot, chosen)
    branches = (
        [row["branch_no"] for row in marts.service_by_branch(snapshot, branch=None)]
        if user.principal.has(SCOPE_ALL_BRANCHES)
        else []
    )
    return render(
        request,
        "dashboard.html",
        user,
        data=data,
        branch=chosen,
        branches=branches,
        chart_data={"charts": data["charts"]},
    )
