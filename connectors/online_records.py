"""One source record upserted online (`POST /records`): standardized, matched and survived now.

A source system sends one customer row as it holds it — its own column names and codes, the
ones its `sources:` entry in mdm.yaml maps — and `upsert_record` does to that one record what
an incremental run does to a changed one, with the same library calls:

1. **Standardize** by the batch's code: the row goes through the landing's text conversion
   and row hash (`connectors.landing.with_lineage`) and `standardize_source` with the source's
   mapping. A row standardization would quarantine is refused (`RecordRejected`, naming the
   rule, never the value) and nothing is written.
2. **Under the home's run lock** (`connectors.run_lock`, the lock every run and the steward
   quick apply take; plus a lock per process, since the run lock is re-entrant per process):
   `merge_standardized` (the party record and its row hash), `match_incrementally` (blocked
   and scored against every record with the stored model and rules, the touched region
   re-clustered), `survive_incrementally` (the region re-survived; golden rows and their
   events, into `mdm.change_outbox` in the same transaction), the review queue and its
   questions renewed for the region (`connectors.review`), and the serving snapshot patched
   with the same rows (`connectors.serving.patch_snapshot`), or published whole when it is
   not of the warehouse's state.
3. **The outcome**: `joined` (the record shares its golden record with others), `created`
   (a new golden ID of its own), `review` (alone, with a pair in the review zone: a steward
   decides), `updated` (alone in the golden record it had), or `unchanged`: the same
   (record key, content hash) as the last write — an idempotent repeat writes nothing.

**Online writes and batch runs.** A run holding the home makes the write `busy`
(`RunLockBusy` raised with the holder, after waiting `wait_seconds`). The API does not refuse
it: `connectors.record_inbox` keeps the standardized-and-accepted post in the ops store's inbox
and answers 202 with a receipt; the inbox is applied through `apply_posted` (this module's
write, unchanged) when the run ends, in arrival order, the last write of a record winning (see
that module for the rule). The source system stays the system of record: the
row hash written for a posted record is the landing's hash of the posted columns, so the next
incremental run standardizes the record again from the source's own row whenever that row
differs (the source's version wins) and removes it when the source does not hold it, and a
full run rebuilds every party record from the sources. Posting is the fast path of a change
the source also holds, not a second place a customer can live.

Writes are three transactions (the party record, the pairs and clusters, the golden rows with
their events), as an incremental run's steps are: a process killed between them leaves the
record merged but not matched, which the next run (or the next post of the same record)
completes.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from functools import lru_cache
from pathlib import Path
from typing import Literal

import pandas as pd
import yaml

from connectors import review, run_lock, tables
from connectors.config import SourceConfig
from connectors.incremental import (
    PARTY_ROW_HASHES,
    TOUCHED_RECORDS,
    golden_row_changes,
    last_outbox_seq,
    match_incrementally,
    merge_standardized,
    survive_incrementally,
)
from connectors.landing import with_lineage
from connectors.ops_store import OpsStore
from connectors.pipeline_stages import steward_constraints
from connectors.settings import Settings
from connectors.steward_apply import republish, snapshot_matches
from connectors.warehouse import RowChange, Warehouse, open_warehouse
from matching.incremental import configs_from_json
from matching.model import FellegiSunterModel
from matching.stage_clock import StageClock
from matching.standardize import SourceMapping, standardize_source

log = logging.getLogger(__name__)

Outcome = Literal["joined", "created", "review", "updated", "unchanged"]
#: The tables an online write reads and writes; a warehouse without them has had no full run.
NEEDED_TABLES = (
    *tables.MATCH_TABLES,
    PARTY_ROW_HASHES,
    tables.GOLDEN_RECORDS,
    tables.XREF,
    tables.GOLDEN_HISTORY,
    tables.MATCH_MODEL,
)
#: The batch ID a posted record's party row carries (its provenance: the API, not an extract).
ONLINE_BATCH = "online"
# The run lock is re-entrant within a process: two API threads would both "hold" it. Re-entrant
# itself, so a drain of the inbox holds it (and the run lock) across the writes it applies.
_writer = threading.RLock()


class RecordRejected(ValueError):
    """The record cannot be taken: the message names the field or rule, never a value."""

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None):
        super().__init__(message)
        self.field = field
        self.rule = rule


class NotReady(RuntimeError):
    """The warehouse has no full run to match against yet."""


@dataclass(frozen=True)
class UpsertResult:
    record_key: str
    outcome: Outcome
    golden_id: str | None
    #: Golden IDs of the records this one has a review-zone pair with (a steward decides).
    review_golden_ids: tuple[str, ...] = ()
    #: (event_type, golden_id) of the golden events this write logged.
    events: tuple[tuple[str, str], ...] = ()
    run_id: str = ""
    records: int = 0  # records re-clustered (the touched region)
    snapshot: Literal["patched", "published", ""] = ""
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Posted:
    """A posted row standardized: its party record, its row (with the landing's hash)."""

    record_key: str
    record: pd.DataFrame  # one party record row
    row_hash: str


@lru_cache(maxsize=4)
def _mappings(path: Path, modified: int) -> dict[str, SourceMapping]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    sources = document.get("sources") if isinstance(document, dict) else None
    if not isinstance(sources, dict):
        raise NotReady(f"{path}: no `sources:` to map a posted record with")
    return {
        str(name): SourceMapping.from_config(
            str(name), SourceConfig.model_validate(entry).model_dump()
        )
        for name, entry in sources.items()
    }


def source_mappings(config_path: Path) -> dict[str, SourceMapping]:
    """Every source's standardizer mapping, from the `sources:` of mdm.yaml (re-read when the
    file changes)."""
    path = Path(config_path)
    return _mappings(path, path.stat().st_mtime_ns)


def standardize_posted(
    mapping: SourceMapping, row: Mapping[str, object], *, now: pd.Timestamp
) -> Posted:
    """The posted row as the batch would land and standardize it, or `RecordRejected`."""
    key = row.get(mapping.key_column)
    if key is None or not str(key).strip():
        raise RecordRejected(
            f"{mapping.key_column} (the source's record key) is missing",
            field=mapping.key_column,
        )
    known = {mapping.key_column, *mapping.mapping.values()}
    unknown = sorted(str(c) for c in row if c not in known)
    if unknown:
        raise RecordRejected(
            f"{', '.join(unknown)}: not a column the {mapping.source_system} mapping reads",
            field=unknown[0],
        )
    frame = pd.DataFrame([{column: row.get(column) for column in sorted(known)}], dtype=object)
    landed = with_lineage(frame, ONLINE_BATCH, now.to_pydatetime().replace(tzinfo=UTC))
    result = standardize_source(landed, mapping, batch_id=ONLINE_BATCH, now=now)
    if len(result.quarantine):
        rule = str(result.quarantine["rule"].iloc[0])
        raise RecordRejected(
            f"the record breaks the standardization rule {rule!r}: the pipeline would "
            "quarantine it",
            rule=rule,
        )
    record_key = str(result.records["record_key"].iloc[0])
    return Posted(record_key, result.records, str(landed["_row_hash"].iloc[0]))


def content_hash(posted: Posted) -> str:
    """What makes two posts of a record the same: the landing's hash of its columns."""
    return posted.row_hash


def new_write_id() -> str:
    """The ID a write holds the home's lock under (and tags its touched region with)."""
    return f"online-{uuid.uuid4().hex[:12]}"


def utc_now() -> pd.Timestamp:
    """A write's `now`: naive UTC to the second, as the batch's timestamps are."""
    return pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")


@contextmanager
def writing(
    settings: Settings, *, run_id: str, command: str, wait_seconds: float
) -> Iterator[None]:
    """Hold this process's writer lock and the home's run lock (waiting `wait_seconds` at most
    for both), or raise `run_lock.RunLockBusy` naming the holder."""
    deadline = time.monotonic() + wait_seconds
    if not _writer.acquire(timeout=max(wait_seconds, 0.0)):
        raise run_lock.RunLockBusy(settings.home, run_lock.current_holder(settings.home))
    try:
        run_lock.acquire(
            settings.home,
            run_id=run_id,
            command=command,
            wait=wait_seconds > 0,
            timeout=max(deadline - time.monotonic(), 0.0),
        )
        try:
            yield
        finally:
            run_lock.release(settings.home)
    finally:
        _writer.release()


def upsert_record(
    settings: Settings,
    mapping: SourceMapping,
    row: Mapping[str, object],
    *,
    wait_seconds: float = 2.0,
    now: pd.Timestamp | None = None,
) -> UpsertResult:
    """Upsert one source row (see the module docstring). Raises `RecordRejected` (bad input,
    nothing written), `NotReady` (no full run yet) or `run_lock.RunLockBusy` (a run holds the
    home: nothing written, send it again later)."""
    now = now or utc_now()
    posted = standardize_posted(mapping, row, now=now)
    run_id = new_write_id()
    with writing(
        settings,
        run_id=run_id,
        command=f"POST /records ({mapping.source_system})",
        wait_seconds=wait_seconds,
    ):
        return apply_posted(settings, posted, run_id, now)


def apply_posted(
    settings: Settings, posted: Posted, run_id: str, now: pd.Timestamp
) -> UpsertResult:
    """Write a standardized post: the caller holds `writing` (the API's direct post, or a drain
    of the inbox, which holds it across the posts it applies)."""
    stages = StageClock()
    lap = stages.lap

    store = open_warehouse(settings.resolved_warehouse_url)
    missing = [table for table in NEEDED_TABLES if not store.table_exists(table)]
    if missing:
        raise NotReady(f"no full run has built {', '.join(missing)} yet")
    key = posted.record_key
    stored = store.query(f"select row_hash from {PARTY_ROW_HASHES} where record_key = ?", [key])
    if len(stored) and str(stored["row_hash"].iloc[0]) == posted.row_hash:
        return UpsertResult(key, "unchanged", _golden_of(store, key), run_id=run_id)
    model = store.read_table(tables.MATCH_MODEL, ["model_json", "config_json"])
    matching, survivorship = configs_from_json(str(model["config_json"].iloc[0]))
    ops = OpsStore(settings.resolved_ops_url)
    try:
        decisions = ops.decisions()
    finally:
        ops.dispose()
    constraints = steward_constraints(store, decisions)
    changed = pd.Index([key], dtype=object)
    # Checked before the first write: a snapshot of the state this write starts from is
    # patched with the write's rows; any other is replaced by a full publish.
    patchable = snapshot_matches(store, settings.resolved_serving_path)
    lap("read")
    hashes = pd.DataFrame({"record_key": [key], "row_hash": [posted.row_hash]}, dtype=object)
    merge_standardized(store, changed, posted.record, None, hashes, run_id)
    lap("standardize")
    match = match_incrementally(
        store, changed, matching=matching, constraints=constraints, run_id=run_id
    )
    lap("match")
    region = list(match.record_keys)
    # The region match_incrementally recorded for this write (TOUCHED_RECORDS), read by SQL.
    touched = f"(select record_key from {TOUCHED_RECORDS} where run_id = ?)"
    prior_ids = set(_region_xref(store, touched, run_id)["golden_id"])
    outbox_seq = last_outbox_seq(store)
    no_credit = pd.DataFrame(columns=["decision_id", "steward"])
    golden, history, _ = survive_incrementally(
        store,
        survivorship=survivorship,
        constraints=constraints,
        decisions=decisions,
        credited=no_credit,
        run_id=run_id,
        now=now,
    )
    rewritten = sorted(prior_ids | set(golden.golden_records["golden_id"]))
    lap("survive")
    golden_of = _region_xref(store, touched, run_id).set_index("record_key")["golden_id"]
    changes = [
        RowChange(tables.PARTY_RECORDS, pd.DataFrame({"record_key": [key]}), posted.record),
        *golden_row_changes(region, rewritten, golden, history, outbox_seq=outbox_seq),
    ]
    if store.table_exists(review.REVIEW_QUEUE_TABLE):
        scored = match.scored_pairs
        queue = review.refreshed_for_region(
            store,
            region,
            scored[scored["zone"] == "review"],
            match.review_clusters,
            store.query(
                f"select * from {tables.PARTY_RECORDS} where record_key in {touched}", [run_id]
            ),
            FellegiSunterModel.from_json(str(model["model_json"].iloc[0])),
            decisions,
            golden_ids=golden_of,
            now=now,
            run_id=run_id,
        )
        store.replace_rows(queue)
        changes += queue
    lap("review")
    snapshot = republish(
        store,
        settings.resolved_serving_path,
        changes,
        golden_ids=rewritten,
        record_keys=region,
        patchable=patchable,
    )
    lap("publish")
    return _result(
        key, match.scored_pairs, golden_of, golden.events, run_id, region, snapshot, stages.seconds
    )


def _region_xref(store: Warehouse, touched: str, run_id: str) -> pd.DataFrame:
    return store.query(
        f"select record_key, golden_id from {tables.XREF} where record_key in {touched}", [run_id]
    )


def _golden_of(store: Warehouse, key: str) -> str | None:
    found = store.query(f"select golden_id from {tables.XREF} where record_key = ?", [key])
    return None if found.empty else str(found["golden_id"].iloc[0])


def _result(
    key: str,
    scored: pd.DataFrame,
    golden_of: pd.Series,
    events: pd.DataFrame,
    run_id: str,
    region: list[str],
    snapshot: Literal["patched", "published"],
    timings: dict[str, float],
) -> UpsertResult:
    golden_id = str(golden_of[key])
    mates = golden_of[golden_of == golden_id]
    mine = scored[(scored["record_key_l"] == key) | (scored["record_key_r"] == key)]
    in_review = mine[mine["zone"] == "review"]
    others = pd.concat([in_review["record_key_l"], in_review["record_key_r"]])
    review_ids = sorted(
        set(golden_of.reindex(others[others != key]).dropna().astype(str)) - {golden_id}
    )
    created = set(events.loc[events["event_type"] == "create", "golden_id"].astype(str))
    outcome: Outcome
    if len(mates) > 1:
        outcome = "joined"
    elif review_ids:
        outcome = "review"
    elif golden_id in created:
        outcome = "created"
    else:
        outcome = "updated"
    return UpsertResult(
        record_key=key,
        outcome=outcome,
        golden_id=golden_id,
        review_golden_ids=tuple(review_ids),
        events=tuple(
            (str(t), str(g)) for t, g in zip(events["event_type"], events["golden_id"], strict=True)
        ),
        run_id=run_id,
        records=len(region),
        snapshot=snapshot,
        timings=timings,
    )
