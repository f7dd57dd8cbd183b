"""`/audit`: the auditors' view of the read audit trail (scope `audit:read`)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from connectors.audit_log import AuditFilter
from golden_record_api.ops_read_auditor import OpsReadAuditorDep
from golden_record_api.principal import SCOPE_AUDIT_READ, require_scopes
from golden_record_api.problems import problem_responses
from golden_record_api.report_schemas import AuditWriterOut, ReadAuditOut, ReadAuditPage
from golden_record_api.schemas import GOLDEN_ID_PATTERN, IsoDateTime

router = APIRouter(
    prefix="/audit", tags=["audit"], dependencies=[Depends(require_scopes(SCOPE_AUDIT_READ))]
)

MAX_SEQ = 2**63 - 1
RESPONSES = problem_responses(
    {
        status.HTTP_403_FORBIDDEN: "No `audit:read` scope",
        status.HTTP_503_SERVICE_UNAVAILABLE: "No audit trail",
    }
)


def _aware(name: str, value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise HTTPException(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"{name} needs a UTC offset, e.g. 2026-12-01T00:00:00+08:00",
        )
    return value


@router.get(
    "/reads",
    summary="Audited reads of personal data",
    description="Rows of the hash-chained read audit trail, oldest first, filtered by subject,"
    " golden ID and time (`since` inclusive, `until` exclusive, both with a UTC offset)."
    " Page with `after_seq`: pass the previous page's `next_after_seq`.",
    responses=RESPONSES,
)
def list_reads(
    auditor: OpsReadAuditorDep,
    subject: Annotated[str | None, Query(max_length=200, description="Who read")] = None,
    golden_id: Annotated[
        str | None, Query(description="A golden ID the read returned", examples=["G0000000001"])
    ] = None,
    since: Annotated[IsoDateTime | None, Query(description="From this time (inclusive)")] = None,
    until: Annotated[IsoDateTime | None, Query(description="Before this time")] = None,
    after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ, description="Rows after this seq")] = 0,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size")] = 50,
) -> ReadAuditPage:
    if golden_id is not None and not GOLDEN_ID_PATTERN.fullmatch(golden_id):
        raise HTTPException(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"malformed golden ID {golden_id!r}: expected G followed by 10 digits",
        )
    where = AuditFilter(
        subject=subject,
        golden_id=golden_id,
        since=_aware("since", since),
        until=_aware("until", until),
    )
    total, rows = auditor.log.list(where, after_seq=after_seq, limit=limit)
    items = [
        ReadAuditOut(
            seq=stored.seq,
            occurred_at=stored.row.occurred_at,
            subject=stored.row.subject,
            principal_kind=stored.row.principal_kind,
            role=stored.row.role,
            endpoint=stored.row.endpoint,
            golden_ids=list(stored.row.golden_ids),
            clear_fields=list(stored.row.clear_fields),
            purpose=stored.row.purpose,
            status_code=stored.row.status_code,
            prev_hash=stored.prev_hash,
            row_hash=stored.row_hash,
        )
        for stored in rows
    ]
    next_after = items[-1].seq if len(items) == limit else None
    return ReadAuditPage(total=total, items=items, next_after_seq=next_after)


@router.get(
    "/writer",
    summary="The audit writer's counters",
    description="Events this API process queued, wrote, dropped because its queue was full, or"
    " lost because the ops store refused them. Anything but 0 dropped or failed needs a look.",
    responses=RESPONSES,
)
def writer_stats(auditor: OpsReadAuditorDep) -> AuditWriterOut:
    return AuditWriterOut.model_validate(asdict(auditor.stats()))
