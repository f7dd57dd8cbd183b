"""`/golden-records`: one golden record with its sources, and lookups by key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status

from golden_record_api.deps import GoldenIdDep, SnapshotDep
from golden_record_api.masking import mask_row
from golden_record_api.schemas import (
    ErrorOut,
    GoldenEventOut,
    GoldenRecordOut,
    GoldenRecordPage,
    GoldenRecordQuery,
    GoldenRecordSummary,
    GoldenVersionOut,
    LineageOut,
    SourceRecordOut,
)
from golden_record_api.snapshot import LookupKey
from matching.standardize.lookup import lookup_mobile, lookup_name, lookup_resident_id

router = APIRouter(prefix="/golden-records", tags=["golden records"])


NORMALIZERS: dict[LookupKey, Callable[[str], tuple[str | None, str | None]]] = {
    "resident_id": lambda raw: (lookup_resident_id(raw), None),
    "mobile": lambda raw: (lookup_mobile(raw), None),
    "name": lookup_name,
}
# Why a value cannot be on file, by key (the 422's detail).
UNUSABLE = {
    "resident_id": "has no letters or digits",
    "mobile": "is not a mobile a customer can have: 11 digits starting with 1[3-9] (optional"
    " +86) or a Hong Kong / Macao mobile with +852 / +853, not a placeholder such as"
    " 13800000000",
    "name": "has no letters",
}

UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    status.HTTP_503_SERVICE_UNAVAILABLE: {"model": ErrorOut, "description": "No snapshot"},
}


@dataclass(frozen=True)
class Lookup:
    key: LookupKey
    value: str
    pinyin: str | None  # a latin name's pinyin, matched against name_pinyin too
    query: GoldenRecordQuery


async def lookup(query: Annotated[GoldenRecordQuery, Query()]) -> Lookup:
    """The one lookup key given, normalized; 422 unless exactly one is given."""
    given: dict[LookupKey, str] = {
        key: raw for key in NORMALIZERS if (raw := getattr(query, key)) is not None
    }
    if len(given) != 1:
        got = ", ".join(given) if given else "none"
        raise HTTPException(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"give exactly one lookup key of resident_id, mobile, name (got {got})",
        )
    ((key, raw),) = given.items()
    value, pinyin = NORMALIZERS[key](raw)
    if not value:
        raise HTTPException(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"{key} {raw!r} {UNUSABLE[key]}",
        )
    return Lookup(key, value, pinyin, query)


def _survivor_url(request: Request, row: dict[str, Any]) -> str | None:
    survivor_id = row.get("survivor_id")
    if row.get("status") != "retired" or not survivor_id:
        return None
    return request.url_for("get_golden_record", golden_id=survivor_id).path


@router.get(
    "",
    summary="Find golden records by resident ID, mobile or name",
    description="Exactly one of `resident_id`, `mobile`, `name`. A record matches when its own"
    " value or one of its source records' values equals the normalized key. Active records"
    " only unless `include_retired`. Paginated, ordered by golden ID.",
    responses=UNAVAILABLE,
)
async def find_golden_records(
    found: Annotated[Lookup, Depends(lookup)], snapshot: SnapshotDep, request: Request
) -> GoldenRecordPage:
    query = found.query
    total, rows = snapshot.find_golden_records(
        found.key,
        found.value,
        pinyin=found.pinyin,
        include_retired=query.include_retired,
        limit=query.limit,
        offset=query.offset,
    )
    items = [
        GoldenRecordSummary.model_validate(
            {**mask_row(row), "survivor_url": _survivor_url(request, row)}
        )
        for row in rows
    ]
    return GoldenRecordPage(total=total, limit=query.limit, offset=query.offset, items=items)


@router.get(
    "/{golden_id}",
    name="get_golden_record",
    summary="A golden record and its source records",
    description="A retired ID answers 200 with `status: retired`, `survivor_id`,"
    ' `survivor_url` and a `Link: <…>; rel="successor-version"` header; it is not'
    " redirected. `current_golden_id` is where the chain of merges ends.",
    responses={
        status.HTTP_404_NOT_FOUND: {"model": ErrorOut, "description": "Unknown golden ID"},
        **UNAVAILABLE,
    },
)
async def get_golden_record(
    golden_id: GoldenIdDep, snapshot: SnapshotDep, request: Request, response: Response
) -> GoldenRecordOut:
    row = snapshot.golden_record(golden_id)
    if row is None:
        raise HTTPException(
            status_code=status.HTTP_404_NOT_FOUND, detail=f"golden record {golden_id} not found"
        )
    survivor_url = _survivor_url(request, row)
    if survivor_url is not None:
        response.headers["Link"] = f'<{survivor_url}>; rel="successor-version"'
    current = golden_id if row["status"] != "retired" else snapshot.current_golden_id(golden_id)
    sources = [
        SourceRecordOut.model_validate(mask_row(source))
        for source in snapshot.source_records(golden_id)
    ]
    return GoldenRecordOut.model_validate(
        {
            **mask_row(row),
            "survivor_url": survivor_url,
            "current_golden_id": current,
            "sources": sources,
        }
    )


def _existing(snapshot: SnapshotDep, golden_id: str) -> None:
    if snapshot.golden_record(golden_id) is None:
        raise HTTPException(
            status_code=status.HTTP_404_NOT_FOUND, detail=f"golden record {golden_id} not found"
        )


@router.get(
    "/{golden_id}/lineage",
    summary="Where each golden attribute came from",
    description="For every attribute: the source record that won and the survivorship rule"
    " that decided (valid_over_invalid, source_priority, most_recent, …).",
    responses={
        status.HTTP_404_NOT_FOUND: {"model": ErrorOut, "description": "Unknown golden ID"},
        **UNAVAILABLE,
    },
)
def get_lineage(golden_id: GoldenIdDep, snapshot: SnapshotDep) -> list[LineageOut]:
    _existing(snapshot, golden_id)
    return [LineageOut.model_validate(row) for row in snapshot.lineage(golden_id)]


@router.get(
    "/{golden_id}/history",
    summary="Earlier versions of a golden record",
    description="Every version with valid_from / valid_to, or with `as_of` only the version"
    " valid at that time: what we knew about the customer then.",
    responses={
        status.HTTP_404_NOT_FOUND: {"model": ErrorOut, "description": "Unknown golden ID"},
        **UNAVAILABLE,
    },
)
def get_history(
    golden_id: GoldenIdDep,
    snapshot: SnapshotDep,
    as_of: Annotated[
        datetime | None, Query(description="A date or time, e.g. 2026-11-28T10:00:00")
    ] = None,
) -> list[GoldenVersionOut]:
    _existing(snapshot, golden_id)
    return [
        GoldenVersionOut.model_validate(mask_row(row)) for row in snapshot.history(golden_id, as_of)
    ]


@router.get(
    "/{golden_id}/events",
    summary="Create, update, merge, split and retire events of a golden ID",
    responses={
        status.HTTP_404_NOT_FOUND: {"model": ErrorOut, "description": "Unknown golden ID"},
        **UNAVAILABLE,
    },
)
def get_events(golden_id: GoldenIdDep, snapshot: SnapshotDep) -> list[GoldenEventOut]:
    _existing(snapshot, golden_id)
    return [GoldenEventOut.model_validate(row) for row in snapshot.events(golden_id)]
