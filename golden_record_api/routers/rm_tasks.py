"""`/rm-tasks`: relationship managers' open tasks (`marts.rm_tasks`, scope `rm_tasks:read`).

A relationship manager sees their own tasks only; any other principal without `branches:all`
sees its branch's tasks (those of every manager there, and those waiting for one). A page
naming accounts or managers is personal data, so it is recorded in the read audit.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status

from golden_record_api import marts
from golden_record_api.access import PURPOSE_PROBLEMS, PolicyDep, reader_for
from golden_record_api.deps import SnapshotDep
from golden_record_api.principal import SCOPE_RM_TASKS_READ, Principal, require_scopes
from golden_record_api.read_audit import ReadAuditDep
from golden_record_api.report_schemas import RmTaskPage, TaskType
from golden_record_api.routers.kpis import RESPONSES, BranchNo, Limit, Offset, branch_filter
from golden_record_api.schemas import IsoDate

router = APIRouter(prefix="/rm-tasks", tags=["rm tasks"], responses=PURPOSE_PROBLEMS)

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
    response_model_exclude_unset=True,
)
def list_rm_tasks(
    request: Request,
    principal: RmPrincipal,
    snapshot: SnapshotDep,
    auditor: ReadAuditDep,
    policy: PolicyDep,
    branch_no: BranchNo = None,
    relationship_manager_id: Annotated[str | None, Query(max_length=50)] = None,
    task_type: TaskType | None = None,
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
    # The access policy decides, per role, which task fields go out clear, masked or not at all
    # (an admin may list tasks but not read account numbers and amounts).
    reader = reader_for(request, principal, policy, auditor)
    items = [reader.view("rm_task", row) for row in page.rows]
    result = RmTaskPage.model_validate({"total": page.total, "items": items})
    if reader.clear_fields:
        reader.record(str(row["golden_id"]) for row in items if row.get("golden_id"))
    return result
