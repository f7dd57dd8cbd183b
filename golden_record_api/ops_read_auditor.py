"""The production `ReadAuditor`: read events into the hash-chained `read_audit` table.

`build_read_auditor(settings)` opens the chain in the ops store (`Settings.resolved_ops_url`)
and puts a `QueuedAuditWriter` in front of it, so a request pays for a queue put and the
background thread appends in batches. The app's lifespan starts the thread and, at shutdown,
flushes what is queued (`start_read_auditor` / `stop_read_auditor`); both do nothing for an
auditor that needs no thread, such as `InMemoryReadAuditor`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request, status

from connectors.audit_log import QueuedAuditWriter, ReadAuditLog, ReadAuditRow, WriterStats
from connectors.settings import Settings
from golden_record_api.read_audit import ReadEvent


def audit_row(event: ReadEvent) -> ReadAuditRow:
    """What the chain keeps of an event: the principal's identity, never its credentials."""
    principal = event.principal
    return ReadAuditRow(
        occurred_at=event.occurred_at,
        subject=principal.subject,
        principal_kind=principal.kind,
        role=principal.role,
        endpoint=event.endpoint,
        golden_ids=event.golden_ids,
        clear_fields=event.clear_fields,
        purpose=event.purpose,
        status_code=event.status_code,
    )


class OpsReadAuditor:
    """Records read events through a bounded queue into the ops store's read audit chain."""

    def __init__(self, log: ReadAuditLog, writer: QueuedAuditWriter) -> None:
        self.log = log
        self.writer = writer

    def record(self, event: ReadEvent) -> None:
        self.writer.submit(audit_row(event))

    def start(self) -> None:
        self.writer.start()

    def close(self) -> None:
        self.writer.close()
        self.log.dispose()

    def stats(self) -> WriterStats:
        return self.writer.stats()


def build_read_auditor(
    settings: Settings, *, max_queue: int = 10_000, batch_size: int = 500
) -> OpsReadAuditor:
    log = ReadAuditLog(settings.resolved_ops_url, key=settings.audit_key_bytes)
    return OpsReadAuditor(log, QueuedAuditWriter(log, max_queue=max_queue, batch_size=batch_size))


def start_read_auditor(app: FastAPI) -> None:
    auditor = getattr(app.state, "read_auditor", None)
    if isinstance(auditor, OpsReadAuditor):
        auditor.start()


def stop_read_auditor(app: FastAPI) -> None:
    auditor = getattr(app.state, "read_auditor", None)
    if isinstance(auditor, OpsReadAuditor):
        auditor.close()


def get_ops_read_auditor(request: Request) -> OpsReadAuditor:
    """The app's chained auditor, or 503 when this app keeps no audit trail to query."""
    auditor = getattr(request.app.state, "read_auditor", None)
    if not isinstance(auditor, OpsReadAuditor):
        raise HTTPException(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="this API keeps no queryable read audit trail (no ops-store auditor)",
        )
    return auditor


OpsReadAuditorDep = Annotated[OpsReadAuditor, Depends(get_ops_read_auditor)]
