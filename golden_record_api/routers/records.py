"""`POST /records`: a source system upserts one of its records online (`connectors.online_records`).

The record is standardized by the batch's code with its source's mapping, then — holding the
home's run lock for the short write — merged, matched against every record with the run's
model, its region re-clustered and re-survived, golden events written to the change feed's
outbox in the same transaction, and the serving snapshot patched; the answer says whether it
joined a golden record, created one, or waits for a steward. While a batch run holds the home
a valid record is queued instead (`connectors.record_inbox`): 202 with a receipt
(`Location: /records/receipts/{id}`), applied in arrival order when the run ends (the run
drains the inbox before it lets go of the home, and the API drains it in the background).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from connectors.online_records import NotReady, RecordRejected, source_mappings
from connectors.record_inbox import (
    RECEIPT_ID_REGEX,
    Inbox,
    Receipt,
    post_or_queue,
    result_document,
)
from golden_record_api.deps import SettingsDep
from golden_record_api.principal import (
    SCOPE_RECORDS_WRITE,
    Principal,
    check_scopes,
    get_principal,
)
from golden_record_api.problems import problem_responses
from golden_record_api.schemas import RecordIn, RecordOut, RecordReceiptOut

router = APIRouter(prefix="/records", tags=["records"])
#: How long a post waits for another online write (or a run about to end) before it is queued.
WAIT_SECONDS = 2.0
#: What `Retry-After` on a 202 says: when asking for the receipt again is worth it.
RECEIPT_POLL_SECONDS = 30


async def get_writer(request: Request) -> Principal:
    return check_scopes(await get_principal(request), (SCOPE_RECORDS_WRITE,))


WriterDep = Annotated[Principal, Depends(get_writer)]


async def get_receipt_reader(request: Request) -> Principal:
    principal = await get_principal(request)
    # The admin runs the service and follows any receipt; anyone else needs the write scope
    # (and reads only the receipts of its own posts, below).
    return (
        principal if principal.role == "admin" else check_scopes(principal, (SCOPE_RECORDS_WRITE,))
    )


ReceiptReaderDep = Annotated[Principal, Depends(get_receipt_reader)]


def receipt_out(receipt: Receipt) -> RecordReceiptOut:
    return RecordReceiptOut(
        receipt_id=receipt.receipt_id,
        status=receipt.status,
        source_system=receipt.source_system,
        record_key=receipt.record_key,
        posted_at=receipt.posted_at,
        queued_behind=receipt.queued_behind,
        result=None if receipt.result is None else RecordOut.model_validate(receipt.result),
        reason=receipt.reason,
        superseded_by=receipt.superseded_by,
        finished_at=receipt.finished_at,
    )


@router.post(
    "",
    summary="Upsert one source record",
    description="One customer record of a source system, in the source's own columns and codes"
    " (those its `sources:` entry in mdm.yaml maps, its key column included). Standardized by"
    " the pipeline's code, matched against every record with the last run's model and rules;"
    " the answer says whether it joined a golden record, created one, or is in the stewards'"
    " review queue, and which golden events it caused (also in the change feed). Posting the"
    " same content again changes nothing (`unchanged`). Needs the scope `records:write`."
    " `Server-Timing` gives the time of each stage of the write.\n\n"
    "**During a batch run** (the run holds the warehouse; or another online write holds it"
    " longer than 2 s) a record that passes standardization is queued, not refused: 202 with"
    " a receipt (`Location: /records/receipts/{receipt_id}`, status `queued`). Queued records"
    " are applied when the run ends (the run applies them before it lets go of the"
    " warehouse; the API applies any left as soon as it is free), in the order they arrived;"
    " of several posts of one record the last wins (the others end `superseded`). Posting the"
    " same content of a record that is still queued answers its receipt again. A record the"
    " pipeline would quarantine is a 422 at once, queued or not.",
    status_code=status.HTTP_200_OK,
    response_model=RecordOut,
    responses={
        status.HTTP_202_ACCEPTED: {
            "model": RecordReceiptOut,
            "description": "A batch run holds the warehouse: the record is queued (status"
            " `queued`); follow `Location` (`GET /records/receipts/{receipt_id}`) for its outcome",
            "headers": {
                "Location": {
                    "description": "/records/receipts/{receipt_id}",
                    "schema": {"type": "string"},
                },
                "Retry-After": {
                    "description": "Seconds before the receipt is worth asking for",
                    "schema": {"type": "integer"},
                },
            },
        },
        **problem_responses(
            {
                status.HTTP_400_BAD_REQUEST: "The body is not JSON",
                status.HTTP_404_NOT_FOUND: "No source of that name",
                status.HTTP_422_UNPROCESSABLE_CONTENT: "A column is missing or unknown, or the"
                " record is one the pipeline would quarantine (the rule is named)",
                status.HTTP_503_SERVICE_UNAVAILABLE: "No run has built the golden records yet",
            }
        ),
    },
)
async def post_record(
    body: Annotated[RecordIn, Body()],
    writer: WriterDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
) -> RecordOut | JSONResponse:
    mapping = source_mappings(settings.config_path).get(body.source_system)
    if mapping is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "source_system: no source of that name")
    try:
        result = await run_in_threadpool(
            post_or_queue,
            settings,
            mapping,
            body.record,
            posted_by=writer.subject,
            wait_seconds=WAIT_SECONDS,
        )
    except RecordRejected as rejected:
        where = f"record.{rejected.field}: " if rejected.field else ""
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{where}{rejected}") from None
    except NotReady as not_ready:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(not_ready)) from None
    if isinstance(result, Receipt):
        return JSONResponse(
            jsonable_encoder(receipt_out(result)),
            status_code=status.HTTP_202_ACCEPTED,
            headers={
                "Location": f"/records/receipts/{result.receipt_id}",
                "Retry-After": str(RECEIPT_POLL_SECONDS),
            },
        )
    drainer = getattr(request.app.state, "inbox_drainer", None)
    if drainer is not None:
        drainer.wake()  # the home is free now: apply what waited, if anything did
    response.headers["Server-Timing"] = ", ".join(
        f"{stage};dur={seconds * 1000:.1f}" for stage, seconds in result.timings.items()
    )
    return RecordOut.model_validate(result_document(result))


@router.get(
    "/receipts/{receipt_id}",
    summary="What became of a queued record",
    description="The receipt `POST /records` answered with 202: `queued`, `applied` (with"
    " `result`, the answer the direct post would have had), `failed` (with the reason, which"
    " names a rule or field, never a value) or `superseded` (a later post of the same record"
    " won). Only the principal that posted it (scope `records:write`) or an admin reads it.",
    responses=problem_responses({status.HTTP_404_NOT_FOUND: "No receipt of that ID for you"}),
)
async def get_receipt(
    receipt_id: Annotated[str, Path(pattern=RECEIPT_ID_REGEX)],
    reader: ReceiptReaderDep,
    settings: SettingsDep,
) -> RecordReceiptOut:
    receipt = await run_in_threadpool(Inbox(settings.resolved_ops_url).receipt, receipt_id)
    # Another caller's receipt is answered as absent: its existence is not theirs to learn.
    if receipt is None or (reader.role != "admin" and receipt.posted_by != reader.subject):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no receipt of that ID for this caller")
    return receipt_out(receipt)
