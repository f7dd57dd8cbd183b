"""`/rm-tasks`: relationship managers' open tasks (`marts.rm_tasks`, scope `rm_tasks:read`).

A relationship manager sees their own tasks only; any other principal without `branches:all`
sees its branch's tasks (those of every manager there, and those waiting for one). A page
naming accounts or managers is personal data, so it is recorded in the read audit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status

from golden_record_api import marts
from golden_record_api.deps import SnapshotDep
from golden_record_api.principal import SCOPE_RM_TASKS_READ, Principal, require_scopes
from golden_record_api.read_audit import PURPOSE_HEADER, ReadAuditDep, ReadEvent
from golden_record_api.report_schemas import RmTaskPage
from golden_record_api.routers.kpis import RESPONSES, BranchNo, Limit, Offset, branch_filter
from golden_record_api.schemas import IsoDate

router = APIRouter(prefix="/rm-tasks", tags=["rm tasks"])

ENDPOINT = "GET /rm-tasks"
RmPrincipal = Annotated[Principal, Depends(require_scopes(SCOPE_RM_TASKS_READ))]


def manager_filter(principal: Principal, relationship_manager_id: str | None) -> str | None:
    """A relationship manager is held to their own ID; others may pick a manager."""
    if principal.role != "relationship_manager":
        return relationship_manager_id
    if not principal.rm_id:
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail="this relationship manager's identity carries no manager ID",
        )
    if relationship_manager_id not in (None, principal.rm_id):
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail="a relationship manager sees only their own tasks",
        )
    return principal.rm_id


@router.get(
    "",
    summary="Open tasks for relationship managers",
    description="Rows of `marts.rm_tasks`, by due date, then priority (high first), then"
    " task ID. `due_by` keeps tasks due on or before that day.",
    responses=RESPONSES,
)
def list_rm_tasks(
    request: Request,
    principal: RmPrincipal,
    snapshot: SnapshotDep,
    auditor: ReadAuditDep,
    branch_no: BranchNo = None,
    relationship_manager_id: Annotated[str | None, Query(max_length=50)] = None,
    task_type: Literal["maturity_followup", "complaint_escalation", "vip_contact"] | None = None,
    priority: Literal["high", "medium", "low"] | None = None,
    due_by: Annotated[IsoDate | None, Query(description="Due on or before this day")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> RmTaskPage:
    page = marts.rm_tasks(
        snapshot,
        branch=branch_filter(principal, branch_no),
        manager=manager_filter(principal, relationship_manager_id),
        task_type=task_type,
        priority=priority,
        due_by=due_by,
        limit=limit,
        offset=offset,
    )
    result = RmTaskPage.model_validate({"total": page.total, "items": page.rows})
    clear = tuple(
        name
        for name in marts.RM_TASK_PERSONAL_FIELDS
        if any(getattr(item, name) is not None for item in result.items)
    )
    if clear:
        auditor.record(
            ReadEvent(
                occurred_at=datetime.now(UTC),
                principal=principal,
                endpoint=ENDPOINT,
                golden_ids=tuple(
                    dict.fromkeys(item.golden_id for item in result.items if item.golden_id)
                ),
                clear_fields=clear,
                purpose=request.headers.get(PURPOSE_HEADER),
                status_code=status.HTTP_200_OK,
            )
        )
    return result
