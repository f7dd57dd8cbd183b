"""`/kpis`: service, loan-cycle and MDM KPIs from the marts (scope `kpis:read`).

A principal without `branches:all` sees its own branch's rows only; the MDM KPIs describe the
whole run and have no branch, so they are the same for everyone holding the scope.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from golden_record_api import marts
from golden_record_api.deps import SnapshotDep
from golden_record_api.principal import (
    SCOPE_KPIS_READ,
    Principal,
    require_scopes,
    visible_branch,
)
from golden_record_api.problems import problem_responses
from golden_record_api.report_schemas import KpiLoanPage, KpiMdmOut, KpiServicePage
from golden_record_api.schemas import MAX_OFFSET, IsoDate

router = APIRouter(prefix="/kpis", tags=["kpis"])

KpiPrincipal = Annotated[Principal, Depends(require_scopes(SCOPE_KPIS_READ))]
RESPONSES = problem_responses(
    {
        status.HTTP_403_FORBIDDEN: "Scope or branch refused",
        status.HTTP_503_SERVICE_UNAVAILABLE: "No snapshot",
    }
)
Limit = Annotated[int, Query(ge=1, le=500, description="Page size")]
# The same bound as every other page (schemas.MAX_OFFSET): no KPI table has a billion rows.
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip")]
BranchNo = Annotated[
    str | None,
    Query(max_length=50, description="Only this branch (a branch-bound caller: its own only)"),
]


def branch_filter(principal: Principal, branch_no: str | None) -> str | None:
    """The branch to filter on: the caller's own when it is branch-bound, else the asked one."""
    own = visible_branch(principal)
    if own is None:
        return branch_no
    if branch_no is not None and branch_no != own:
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail=f"this principal sees branch {own} only, not {branch_no}",
        )
    return own


@router.get(
    "/service",
    summary="Service KPIs per day, branch, channel and category",
    description="Rows of `marts.kpi_service_daily` by `kpi_key`; `since` / `until` bound the"
    " ticket date (both inclusive).",
    responses=RESPONSES,
)
def service_kpis(
    principal: KpiPrincipal,
    snapshot: SnapshotDep,
    branch_no: BranchNo = None,
    since: Annotated[IsoDate | None, Query(description="First ticket date")] = None,
    until: Annotated[IsoDate | None, Query(description="Last ticket date")] = None,
    channel: Annotated[str | None, Query(max_length=50)] = None,
    category: Annotated[str | None, Query(max_length=50)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> KpiServicePage:
    page = marts.kpi_service(
        snapshot,
        branch=branch_filter(principal, branch_no),
        since=since,
        until=until,
        channel=channel,
        category=category,
        limit=limit,
        offset=offset,
    )
    return KpiServicePage.model_validate({"total": page.total, "items": page.rows})


@router.get(
    "/loans",
    summary="Loan-cycle KPIs per month, product and branch",
    description="Rows of `marts.kpi_loan_cycle` by `kpi_key`; `since` / `until` bound the"
    " application month (first day of the month, both inclusive).",
    responses=RESPONSES,
)
def loan_kpis(
    principal: KpiPrincipal,
    snapshot: SnapshotDep,
    branch_no: BranchNo = None,
    since: Annotated[IsoDate | None, Query(description="First application month")] = None,
    until: Annotated[IsoDate | None, Query(description="Last application month")] = None,
    product: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> KpiLoanPage:
    page = marts.kpi_loans(
        snapshot,
        branch=branch_filter(principal, branch_no),
        since=since,
        until=until,
        product=product,
        limit=limit,
        offset=offset,
    )
    return KpiLoanPage.model_validate({"total": page.total, "items": page.rows})


@router.get(
    "/mdm",
    summary="MDM KPIs of the latest run, per source too",
    description="`marts.kpi_mdm` with `marts.kpi_mdm_sources`: records in, quarantined, golden"
    " records, duplicates removed, review backlog, the run's golden-record events. 404 before"
    " the first run wrote them.",
    responses=RESPONSES | problem_responses({status.HTTP_404_NOT_FOUND: "No MDM KPIs yet"}),
)
def mdm_kpis(principal: KpiPrincipal, snapshot: SnapshotDep) -> KpiMdmOut:
    row = marts.kpi_mdm(snapshot)
    if row is None:
        raise HTTPException(
            status_code=status.HTTP_404_NOT_FOUND, detail="no MDM KPIs in this snapshot yet"
        )
    return KpiMdmOut.model_validate(row)
