"""`/changes`: the change feed for pull consumers (scope `changes:read`).

Golden events in the order they were committed (`mdm.change_outbox`, see
connectors/change_feed.py), read from the published snapshot: an event shows here once the
change it announces is served, never before. A consumer pages with `after` (the previous
page's `next_cursor`) and, when it has caught up, long-polls with `wait`: the request returns
as soon as a publish brings a newer event, or empty after `wait` seconds.

Nothing here is personal data (golden IDs, kinds, field names, the steward's login), so a
page is not written to the read audit; the consumer's re-read of a golden record is.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool

from connectors.change_feed import CHANGES_SQL, LAST_SEQ_SQL, change_payload
from golden_record_api.deps import SnapshotStoreDep
from golden_record_api.principal import SCOPE_CHANGES_READ, Principal, require_scopes
from golden_record_api.problems import problem_responses
from golden_record_api.schemas import ChangeOut, ChangePage
from golden_record_api.snapshot import SnapshotStore

router = APIRouter(prefix="/changes", tags=["changes"])

MAX_SEQ = 2**63 - 1
MAX_WAIT_SECONDS = 30.0  # under the usual proxy idle timeout (60 s)
POLL_SECONDS = 0.25  # how often a waiting request looks for a new publish


def _page(store: SnapshotStore, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    with store.open() as snapshot:
        last_seq = int(snapshot.frame(LAST_SEQ_SQL)["last_seq"].iloc[0])
        rows = (
            snapshot.frame(CHANGES_SQL, [after, limit]).to_dict("records")
            if after < last_seq
            else []
        )
    return [change_payload(row) for row in rows], last_seq


@router.get(
    "",
    summary="Golden events after a cursor (long-poll with `wait`)",
    description="Create / update / merge / split / retire events in the order they were"
    " committed. Start with `after=0`, then pass each page's `next_cursor`. With `wait`, a"
    " caught-up request waits up to that many seconds for a newer event. Each event's"
    " `event_id` is stable: de-duplicate on it (the broker delivers at least once).",
    responses=problem_responses(
        {
            status.HTTP_400_BAD_REQUEST: "The cursor is past the feed's last event",
            status.HTTP_403_FORBIDDEN: "No `changes:read` scope",
            status.HTTP_503_SERVICE_UNAVAILABLE: "No published snapshot, or one without a feed",
        }
    ),
)
async def list_changes(
    request: Request,
    store: SnapshotStoreDep,
    principal: Annotated[Principal, Depends(require_scopes(SCOPE_CHANGES_READ))],
    after: Annotated[
        int, Query(ge=0, le=MAX_SEQ, description="The cursor: events with a greater seq")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size")] = 100,
    wait: Annotated[
        float,
        Query(ge=0, le=MAX_WAIT_SECONDS, description="Seconds to wait when nothing is newer"),
    ] = 0,
) -> ChangePage:
    deadline = time.monotonic() + wait
    while True:
        rows, last_seq = await run_in_threadpool(_page, store, after, limit)
        if after > last_seq:
            raise HTTPException(
                status_code=status.HTTP_400_BAD_REQUEST,
                detail=f"cursor {after} is past the feed's last event (seq {last_seq}): it was"
                " not given by this feed (a rebuilt warehouse starts again at 1); start from"
                " after=0",
            )
        remaining = deadline - time.monotonic()
        if rows or remaining <= 0:
            break
        await asyncio.sleep(min(POLL_SECONDS, remaining))
    policy = request.app.state.access_policy
    items = [
        ChangeOut.model_validate(policy.apply("change", row, principal.role)[0]) for row in rows
    ]
    return ChangePage(items=items, next_cursor=items[-1].seq if items else after, last_seq=last_seq)
