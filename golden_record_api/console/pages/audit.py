"""Auditor workspace: the read audit trail, searchable (who read which customer, when, why)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from golden_record_api.console.web import PREFIX, ConsoleUser, render, require
from golden_record_api.ops_read_auditor import get_ops_read_auditor
from golden_record_api.principal import SCOPE_AUDIT_READ
from golden_record_api.routers import audit
from golden_record_api.schemas import BANK_TIMEZONE

AuditUser = Annotated[ConsoleUser, Depends(require(SCOPE_AUDIT_READ))]
router = APIRouter(prefix=f"{PREFIX}/audit")
PAGE_SIZE = 100


def _moment(name: str, value: str | None) -> datetime | None:
    """A date or time typed in the form; without a zone it is the bank's time."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"{name} must be a date or a time such as 2026-12-01 or 2026-12-01T09:00",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=BANK_TIMEZONE)


@router.get("", response_class=HTMLResponse)
async def read_audit(
    request: Request,
    user: AuditUser,
    subject: Annotated[str | None, Query(max_length=200)] = None,
    golden_id: Annotated[str | None, Query(max_length=20)] = None,
    since: Annotated[str | None, Query(max_length=40)] = None,
    until: Annotated[str | None, Query(max_length=40)] = None,
    after_seq: Annotated[int, Query(ge=0, le=audit.MAX_SEQ)] = 0,
) -> HTMLResponse:
    auditor = get_ops_read_auditor(request)
    page = await run_in_threadpool(
        audit.list_reads,
        auditor,
        subject=subject or None,
        golden_id=golden_id or None,
        since=_moment("since", since),
        until=_moment("until", until),
        after_seq=after_seq,
        limit=PAGE_SIZE,
    )
    return render(
        request,
        "audit/reads.html",
        user,
        page=page,
        filters={"subject": subject, "golden_id": golden_id, "since": since, "until": until},
    )
