"""`POST /records`: a source system upserts one of its records online (`connectors.online_records`).

The record is standardized by the batch's code with its source's mapping, then — holding the
home's run lock for the short write — merged, matched against every record with the run's
model, its region re-clustered and re-survived, golden events written to the change feed's
outbox in the same transaction, and the serving snapshot patched; the answer says whether it
joined a golden record, created one, or waits for a steward. While a batch run holds the home
the answer is 503 with `Retry-After`, naming the run by its ID: nothing is queued, the caller
sends the record again (README, "one writer at a time").
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from connectors import run_lock
from connectors.online_records import NotReady, RecordRejected, source_mappings, upsert_record
from golden_record_api.deps import SettingsDep
from golden_record_api.principal import (
    SCOPE_RECORDS_WRITE,
    Principal,
    check_scopes,
    get_principal,
)
from golden_record_api.problems import problem_responses
from golden_record_api.schemas import RecordEventOut, RecordIn, RecordOut

router = APIRouter(prefix="/records", tags=["records"])
#: How long a post waits for another online write (or a run about to end) before 503.
WAIT_SECONDS = 2.0
#: What `Retry-After` says while a batch run holds the home.
RETRY_AFTER_SECONDS = 30


async def get_writer(request: Request) -> Principal:
    return check_scopes(await get_principal(request), (SCOPE_RECORDS_WRITE,))


WriterDep = Annotated[Principal, Depends(get_writer)]


@router.post(
    "",
    summary="Upsert one source record",
    description="One customer record of a source system, in the source's own columns and codes"
    " (those its `sources:` entry in mdm.yaml maps, its key column included). Standardized by"
    " the pipeline's code, matched against every record with the last run's model and rules;"
    " the answer says whether it joined a golden record, created one, or is in the stewards'"
    " review queue, and which golden events it caused (also in the change feed). Posting the"
    " same content again changes nothing (`unchanged`). Needs the scope `records:write`."
    " `Server-Timing` gives the time of each stage of the write.",
    responses=problem_responses(
        {
            status.HTTP_400_BAD_REQUEST: "The body is not JSON",
            status.HTTP_404_NOT_FOUND: "No source of that name",
            status.HTTP_422_UNPROCESSABLE_CONTENT: "A column is missing or unknown, or the"
            " record is one the pipeline would quarantine (the rule is named)",
            status.HTTP_503_SERVICE_UNAVAILABLE: "A batch run holds the home (send it again"
            " after `Retry-After`), or no run has built the golden records yet",
        }
    ),
)
async def post_record(
    body: Annotated[RecordIn, Body()],
    _writer: WriterDep,
    settings: SettingsDep,
    response: Response,
) -> RecordOut:
    mapping = source_mappings(settings.config_path).get(body.source_system)
    if mapping is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "source_system: no source of that name")
    try:
        result = await run_in_threadpool(
            upsert_record, settings, mapping, body.record, wait_seconds=WAIT_SECONDS
        )
    except RecordRejected as rejected:
        where = f"record.{rejected.field}: " if rejected.field else ""
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{where}{rejected}") from None
    except run_lock.RunLockBusy as busy:
        running = f"run {busy.holder.run_id}" if busy.holder else "another writer"
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"{running} holds the warehouse: send the record again later",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from None
    except NotReady as not_ready:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(not_ready)) from None
    response.headers["Server-Timing"] = ", ".join(
        f"{stage};dur={seconds * 1000:.1f}" for stage, seconds in result.timings.items()
    )
    return RecordOut(
        record_key=result.record_key,
        outcome=result.outcome,
        golden_id=result.golden_id,
        review_golden_ids=list(result.review_golden_ids),
        events=[RecordEventOut(event_type=t, golden_id=g) for t, g in result.events],
        records_reclustered=result.records,
        write_id=result.run_id,
    )
