"""`/golden-records`: one golden record with its sources, and lookups by key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request, Response, status

from golden_record_api.access import PURPOSE_PROBLEMS, ReaderDep
from golden_record_api.deps import AsOfDep, GoldenIdDep, SnapshotDep
from golden_record_api.principal import SCOPE_LOOKUP_EXACT
from golden_record_api.problems import problem_responses
from golden_record_api.rate_limit import LookupRateDep
from golden_record_api.schemas import (
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

router = APIRouter(prefix="/golden-records", tags=["golden records"], responses=PURPOSE_PROBLEMS)


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

UNAVAILABLE = problem_responses({status.HTTP_503_SERVICE_UNAVAILABLE: "No snapshot"})
# Keys that single a person out: looking one up confirms a guess, so it needs its own scope.
EXACT_KEYS: frozenset[LookupKey] = frozenset({"resident_id", "mobile"})


@dataclass(frozen=True)
class Lookup:
    key: LookupKey
    value: str
    pinyin: str | None  # a latin name's pinyin, matched against name_pinyin too
    query: GoldenRecordQuery


async def lookup(query: Annotated[GoldenRecordQuery, Body()]) -> Lookup:
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
            # The value is not repeated: it may be someone's ID or mobile.
            detail=f"the {key} given {UNUSABLE[key]}",
        )
    return Lookup(key, value, pinyin, query)


def _survivor_url(request: Request, row: dict[str, Any]) -> str | None:
    survivor_id = row.get("survivor_id")
    if row.get("status") != "retired" or not survivor_id:
        return None
    return request.url_for("get_golden_record", golden_id=survivor_id).path


@router.api_route(
    "/search",
    methods=["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"],
    include_in_schema=False,
)
def search_by_another_method() -> None:
    """405, not the 422 `/{golden_id}` would give `search` for not being a golden ID."""
    raise HTTPException(
        status_code=status.HTTP_405_METHOD_NOT_ALLOWED,
        detail="search takes POST with the key in a JSON body (never in the URL)",
        headers={"Allow": "POST"},
    )


@router.post(
    "/search",
    summary="Find golden records by resident ID, mobile or name",
    description="Exactly one of `resident_id`, `mobile`, `name`, in the body (never in the URL,"
    " so the keys stay out of access logs). A record matches when its own value or one of its"
    " source records' values equals the normalized key. Active records only unless"
    " `include_retired`. Paginated, ordered by golden ID. A resident ID or mobile needs the"
    " scope `lookup:exact`; every search counts against the caller's rate limit (429 with"
    " `Retry-After`). A caller limited to a branch finds only that branch's customers.",
    response_model_exclude_unset=True,
    responses=UNAVAILABLE
    | problem_responses(
        {
            status.HTTP_400_BAD_REQUEST: "The body is not JSON, or an unknown X-Purpose",
            status.HTTP_429_TOO_MANY_REQUESTS: "Rate limited",
        }
    ),
)
async def find_golden_records(
    found: Annotated[Lookup, Depends(lookup)],
    reader: ReaderDep,
    _rate: LookupRateDep,
    snapshot: SnapshotDep,
    request: Request,
) -> GoldenRecordPage:
    if found.key in EXACT_KEYS and not reader.principal.has(SCOPE_LOOKUP_EXACT):
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail=f"a lookup by {found.key} needs the scope {SCOPE_LOOKUP_EXACT!r}, which role"
            f" {reader.principal.role!r} does not have",
        )
    query = found.query
    total, rows = snapshot.find_golden_records(
        found.key,
        found.value,
        pinyin=found.pinyin,
        include_retired=query.include_retired,
        limit=query.limit,
        offset=query.offset,
        branch_id=reader.branch,
    )
    items = [
        GoldenRecordSummary.model_validate(
            reader.view("golden_record", {**row, "survivor_url": _survivor_url(request, row)})
        )
        for row in rows
    ]
    page = GoldenRecordPage(total=total, limit=query.limit, offset=query.offset, items=items)
    if rows:
        reader.record(row["golden_id"] for row in rows)
    return page


@router.get(
    "/{golden_id}",
    name="get_golden_record",
    summary="A golden record and its source records",
    description="A retired ID answers 200 with `status: retired`, `survivor_id`,"
    ' `survivor_url` and a `Link: <…>; rel="successor-version"` header; it is not'
    " redirected. `current_golden_id` is where the chain of merges ends. Fields come clear,"
    " masked or not at all as the access policy gives them to the caller's role.",
    response_model_exclude_unset=True,
    responses=problem_responses({status.HTTP_404_NOT_FOUND: "Unknown golden ID"}) | UNAVAILABLE,
)
async def get_golden_record(
    golden_id: GoldenIdDep,
    reader: ReaderDep,
    snapshot: SnapshotDep,
    request: Request,
    response: Response,
) -> GoldenRecordOut:
    row = snapshot.golden_record(golden_id)
    if row is None:
        raise HTTPException(
            status_code=status.HTTP_404_NOT_FOUND, detail=f"golden record {golden_id} not found"
        )
    reader.ensure_visible(snapshot, golden_id, f"golden record {golden_id} not found")
    survivor_url = _survivor_url(request, row)
    if survivor_url is not None:
        response.headers["Link"] = f'<{survivor_url}>; rel="successor-version"'
    current = golden_id if row["status"] != "retired" else snapshot.current_golden_id(golden_id)
    sources = [
        SourceRecordOut.model_validate(reader.view("source_record", source))
        for source in snapshot.source_records(golden_id)
    ]
    shown = reader.view(
        "golden_record", {**row, "survivor_url": survivor_url, "current_golden_id": current}
    )
    out = GoldenRecordOut.model_validate({**shown, "sources": sources})
    reader.record([golden_id])
    return out


def _existing(snapshot: SnapshotDep, reader: ReaderDep, golden_id: str) -> None:
    not_found = f"golden record {golden_id} not found"
    if snapshot.golden_record(golden_id) is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=not_found)
    reader.ensure_visible(snapshot, golden_id, not_found)


@router.get(
    "/{golden_id}/lineage",
    summary="Where each golden attribute came from",
    description="For every attribute: the source record that won and the survivorship rule"
    " that decided (valid_over_invalid, source_priority, most_recent, …).",
    responses=problem_responses(
        {
            status.HTTP_404_NOT_FOUND: "Unknown golden ID",
        }
    )
    | UNAVAILABLE,
)
def get_lineage(
    golden_id: GoldenIdDep, reader: ReaderDep, snapshot: SnapshotDep
) -> list[LineageOut]:
    _existing(snapshot, reader, golden_id)
    return [
        LineageOut.model_validate(reader.view("lineage", row))
        for row in snapshot.lineage(golden_id)
    ]


@router.get(
    "/{golden_id}/history",
    summary="Earlier versions of a golden record",
    response_model_exclude_unset=True,
    description="Every version with valid_from / valid_to, or with `as_of` only the version"
    " valid at that time: what we knew about the customer then.",
    responses=problem_responses(
        {
            status.HTTP_404_NOT_FOUND: "Unknown golden ID",
        }
    )
    | UNAVAILABLE,
)
def get_history(
    golden_id: GoldenIdDep,
    reader: ReaderDep,
    snapshot: SnapshotDep,
    as_of: AsOfDep,
) -> list[GoldenVersionOut]:
    _existing(snapshot, reader, golden_id)
    versions = [
        GoldenVersionOut.model_validate(reader.view("history", row))
        for row in snapshot.history(golden_id, as_of)
    ]
    reader.record([golden_id])
    return versions


@router.get(
    "/{golden_id}/events",
    summary="Create, update, merge, split and retire events of a golden ID",
    responses=problem_responses(
        {
            status.HTTP_404_NOT_FOUND: "Unknown golden ID",
        }
    )
    | UNAVAILABLE,
)
def get_events(
    golden_id: GoldenIdDep, reader: ReaderDep, snapshot: SnapshotDep
) -> list[GoldenEventOut]:
    _existing(snapshot, reader, golden_id)
    return [
        GoldenEventOut.model_validate(reader.view("event", row))
        for row in snapshot.events(golden_id)
    ]
