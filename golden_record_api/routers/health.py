"""`GET /health`: is there a published snapshot, from when, how many golden records."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response, status

from golden_record_api.deps import SnapshotStoreDep
from golden_record_api.schemas import HealthOut
from golden_record_api.snapshot import SnapshotUnavailable

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    summary="Snapshot status",
    description="200 when a published snapshot can be read, 503 when not (the reason is in"
    " the server's log). Status, publish time and counts only: nothing about the server.",
    responses={status.HTTP_503_SERVICE_UNAVAILABLE: {"model": HealthOut}},
)
def health(store: SnapshotStoreDep, response: Response) -> HealthOut:
    try:
        with store.open() as snapshot:
            total, active = snapshot.golden_record_counts()
            return HealthOut(
                status="ok",
                published_at=snapshot.published_at,
                golden_record_count=total,
                active_golden_record_count=active,
            )
    except SnapshotUnavailable as exc:
        logger.warning("health: snapshot unavailable: %s", exc.detail)
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return HealthOut(status="unavailable")
