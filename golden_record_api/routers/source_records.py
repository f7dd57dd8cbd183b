"""`/source-records`: which golden record a source system's record belongs to."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status

from golden_record_api.access import PURPOSE_PROBLEMS, ReaderDep
from golden_record_api.deps import SnapshotDep
from golden_record_api.problems import problem_responses
from golden_record_api.schemas import SourceRecordLinkOut

# A system name, a colon, a record ID (`core:C100000001`); anything else is a 422 problem.
RECORD_KEY_REGEX = r"^[^:]+:.+$"

router = APIRouter(prefix="/source-records", tags=["cross-reference"], responses=PURPOSE_PROBLEMS)


@router.get(
    "/{record_key}",
    summary="The golden ID of a source record",
    description="`record_key` is `system:source_record_id`, e.g. `core:C100000001`."
    " `current_golden_id` follows merges to the active golden record.",
    responses=problem_responses(
        {
            status.HTTP_404_NOT_FOUND: "Unknown record key",
        }
    ),
)
async def get_source_record(
    record_key: Annotated[
        str,
        Path(
            description="`system:source_record_id`",
            pattern=RECORD_KEY_REGEX,
            examples=["core:C100000001"],
        ),
    ],
    reader: ReaderDep,
    snapshot: SnapshotDep,
) -> SourceRecordLinkOut:
    row: dict[str, Any] | None = snapshot.xref(record_key)
    not_found = f"source record {record_key} not found"
    if row is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=not_found)
    current = snapshot.current_golden_id(str(row["golden_id"]))
    reader.ensure_visible(snapshot, str(row["golden_id"]), not_found)
    return SourceRecordLinkOut.model_validate(
        reader.view("source_record_link", {**row, "current_golden_id": current})
    )
