"""`/source-records`: which golden record a source system's record belongs to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from golden_record_api.deps import SnapshotDep
from golden_record_api.schemas import ErrorOut, SourceRecordLinkOut

router = APIRouter(prefix="/source-records", tags=["cross-reference"])


@router.get(
    "/{record_key}",
    summary="The golden ID of a source record",
    description="`record_key` is `system:source_record_id`, e.g. `core:C100000001`."
    " `current_golden_id` follows merges to the active golden record.",
    responses={
        status.HTTP_404_NOT_FOUND: {"model": ErrorOut, "description": "Unknown record key"},
        status.HTTP_422_UNPROCESSABLE_CONTENT: {"model": ErrorOut, "description": "Malformed"},
    },
)
async def get_source_record(record_key: str, snapshot: SnapshotDep) -> SourceRecordLinkOut:
    system, _, record_id = record_key.partition(":")
    if not system or not record_id:
        raise HTTPException(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"malformed record key {record_key!r}: expected system:source_record_id",
        )
    row: dict[str, Any] | None = snapshot.xref(record_key)
    if row is None:
        raise HTTPException(
            status_code=status.HTTP_404_NOT_FOUND, detail=f"source record {record_key} not found"
        )
    return SourceRecordLinkOut.model_validate(
        {**row, "current_golden_id": snapshot.current_golden_id(str(row["golden_id"]))}
    )
