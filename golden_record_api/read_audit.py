"""The seam between the routers and the audit trail of reads.

Every response that carries personal data records one `ReadEvent`: who, which endpoint, which
golden IDs, which fields went out in clear, and the purpose the caller gave in the
`X-Purpose` header. Routers call `ReadAuditDep.record(...)`; the app holds the auditor in
`app.state.read_auditor` (the hash-chained table in the ops store in production,
`InMemoryReadAuditor` where a test wants to look at what was recorded).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Protocol

from fastapi import Depends, Request

from golden_record_api.principal import Principal

PURPOSE_HEADER = "X-Purpose"


@dataclass(frozen=True)
class ReadEvent:
    """One response that carried personal data."""

    occurred_at: datetime  # timezone-aware
    principal: Principal
    endpoint: str  # method and route template, e.g. "GET /golden-records/{golden_id}"
    golden_ids: tuple[str, ...]
    clear_fields: tuple[str, ...]  # served fields that went out unmasked
    purpose: str | None
    status_code: int


class ReadAuditor(Protocol):
    def record(self, event: ReadEvent) -> None: ...


class InMemoryReadAuditor:
    """Keeps events in a list: for tests and for a throwaway local run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[ReadEvent] = []

    def record(self, event: ReadEvent) -> None:
        with self._lock:
            self.events.append(event)


async def get_read_auditor(request: Request) -> ReadAuditor:
    auditor: ReadAuditor = request.app.state.read_auditor
    return auditor


ReadAuditDep = Annotated[ReadAuditor, Depends(get_read_auditor)]
