"""A relationship manager's task list; each task links to its customer's full view."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from golden_record_api.console.web import PREFIX, ConsoleUser, render, require
from golden_record_api.deps import SnapshotDep
from golden_record_api.principal import SCOPE_RM_TASKS_READ
from golden_record_api.routers import rm_tasks

TaskUser = Annotated[ConsoleUser, Depends(require(SCOPE_RM_TASKS_READ))]
router = APIRouter(prefix=f"{PREFIX}/tasks")
PAGE_SIZE = 200


@router.get("", response_class=HTMLResponse)
async def task_list(
    request: Request,
    snapshot: SnapshotDep,
    user: TaskUser,
) -> HTMLResponse:
    # The API's route function: the same manager and branch rules, field policy and audit.
    page = await run_in_threadpool(
        rm_tasks.list_rm_tasks,
        request,
        user.principal,
        snapshot,
        request.app.state.read_auditor,
        request.app.state.access_policy,
        limit=PAGE_SIZE,
    )
    return render(request, "tasks.html", user, page=page.model_dump(exclude_unset=True))
