"""A steward decision applied within seconds: the clusters it touches, not a full run.

`apply_decision` takes the home's run lock (a full run in progress → `deferred`, never a
crash), reads what the re-clustering needs from the warehouse, re-clusters and re-survives only
the region the decision touches (`matching.incremental`, the full run's steps on those
records), writes the region's rows back in one transaction (delete + insert by record key and
golden ID) and republishes the serving snapshot, so the API and the console see the change:
a copy of the published snapshot and its point store patched with the same rows and swapped
in (`connectors.serving.patch_snapshot`), or a full publish when the published snapshot is not
of the warehouse's state (a run that stopped before its publish) or there is none.

Measured on the demo warehouse (10,000 people, 17,000 records): see README "Steward decisions"
for the figures and the command. The review queue and its questions are renewed too (the
answered pair leaves the steward's queue at once). The marts (customer_360, kpi_*, rm_tasks)
are dbt models over the whole warehouse: they are refreshed by the next run, not here; the
result says so.
"""

from __future__ import annotations

import logging
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd

from connectors import review, run_lock, tables
from connectors.incremental import golden_row_changes, last_outbox_seq
from connectors.ops_store import OpsStore
from connectors.serving import SERVED_TABLES, patch_snapshot
from connectors.settings import Settings
from connectors.warehouse import (
    DuckDBWarehouse,
    RowChange,
    Warehouse,
    WarehouseError,
    open_warehouse,
    read_if_exists,
)
from matching.clustering import oversized_frame
from matching.golden import next_golden_number
from matching.incremental import (
    RegionResult,
    apply_to_region,
    configs_from_json,
    lookalike_spellings,
    named_records,
    pending_decisions,
    touched_region,
)
from matching.model import FellegiSunterModel
from matching.stewardship import constraints_from_decisions, resolve_golden_id, survivor_map

log = logging.getLogger(__name__)

Outcome = Literal["applied", "deferred", "not_applicable"]
MARTS_NOTE = "marts (customer_360, KPIs, RM tasks) refresh on the next run"
# The tables a decision's region is read from; a warehouse without them has had no run.
NEEDED_TABLES = (
    tables.PARTY_RECORDS,
    tables.SCORED_PAIRS,
    tables.CLUSTERS,
    tables.GOLDEN_RECORDS,
    tables.XREF,
    tables.GOLDEN_LINEAGE,
    tables.GOLDEN_HISTORY,
    tables.GOLDEN_EVENTS,
    tables.OVERSIZED_CLUSTERS,
    tables.MATCH_MODEL,
    review.REVIEW_QUEUE_TABLE,
    review.REVIEW_QUESTIONS_TABLE,
)


class DecisionNotFoundError(LookupError):
    """No decision has this ID."""


@dataclass(frozen=True)
class GoldenChange:
    """What happened to one golden ID (for the console to show)."""

    golden_id: str
    event_type: str  # create / update / merge / split / retire
    related_golden_id: str | None
    changed_fields: tuple[str, ...]


@dataclass(frozen=True)
class ApplyResult:
    decision_id: int
    outcome: Outcome
    message: str
    run_id: str | None = None
    changes: tuple[GoldenChange, ...] = ()
    records: int = 0  # records re-clustered (the decision's region)
    golden_ids: tuple[str, ...] = ()  # golden IDs whose rows were rewritten
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # read, match, write, publish
    marts_refreshed: bool = False  # never here: the next run refreshes them
    snapshot: Literal["patched", "published", ""] = ""  # how the serving snapshot was renewed

    @property
    def applied(self) -> bool:
        return self.outcome == "applied"


def apply_decision(
    settings: Settings,
    decision_id: int,
    *,
    actor: str = "steward_apply",
    wait_seconds: float = 0.0,
    now: pd.Timestamp | None = None,
) -> ApplyResult:
    """Apply one steward decision (active, or revoked: then its effect is undone) now.

    Raises DecisionNotFoundError for an unknown ID. A decision waiting for approval or
    rejected is `not_applicable`; a run holding the home makes it `deferred` (that run, or the
    next, applies it). `wait_seconds`: how long to wait for the holder first — a console
    whose stewards may apply two decisions at once waits a few seconds for the other apply.
    An applied decision leaves a `decision.applied` row in the ops store's audit log naming
    `actor` (who asked: the console's signed-in steward, or the command).
    """
    started = time.perf_counter()
    ops = OpsStore(settings.resolved_ops_url)
    try:
        decisions = ops.decisions()
    finally:
        ops.dispose()
    chosen = decisions[decisions["decision_id"] == decision_id]
    if chosen.empty:
        raise DecisionNotFoundError(f"no steward decision #{decision_id}")
    decision = chosen.iloc[0]
    if decision["status"] not in ("active", "revoked"):
        return ApplyResult(
            decision_id,
            "not_applicable",
            f"decision #{decision_id} is {decision['status']}: only an active (approved) or "
            "revoked decision changes golden records",
        )
    run_id = f"apply-{decision_id}-{uuid.uuid4().hex[:8]}"
    try:
        run_lock.acquire(
            settings.home,
            run_id=run_id,
            command=f"apply decision #{decision_id}",
            wait=wait_seconds > 0,
            timeout=wait_seconds,
        )
    except run_lock.RunLockBusy as busy:
        running = busy.holder.describe() if busy.holder else "another run"
        return ApplyResult(
            decision_id,
            "deferred",
            f"a run is in progress ({running}); decision #{decision_id} is applied when it "
            f"ends: by that run if it had not yet clustered, else `mdm review apply --decision "
            f"{decision_id}` or the next run",
        )
    try:
        result = _apply_holding_lock(
            settings, decisions, decision, run_id, now or _now(), started=started
        )
    finally:
        run_lock.release(settings.home)
    if result.applied:
        ops = OpsStore(settings.resolved_ops_url)
        try:
            # Golden IDs and counts only: what an auditor needs, and no personal data.
            ops.audit(
                actor,
                "decision.applied",
                f"decision:{decision_id}",
                f"run {run_id}: {result.records} records re-clustered; "
                + (", ".join(f"{c.event_type} {c.golden_id}" for c in result.changes) or "none"),
            )
        finally:
            ops.dispose()
    return result


def unapplied_decision_ids(settings: Settings) -> list[int]:
    """Active decisions no run or quick apply has applied yet, oldest first."""
    ops = OpsStore(settings.resolved_ops_url)
    try:
        decisions = ops.decisions()
    finally:
        ops.dispose()
    store = open_warehouse(settings.resolved_warehouse_url)
    events = read_if_exists(store, tables.GOLDEN_EVENTS)
    xref = read_if_exists(store, tables.XREF, ["record_key", "match_rule"])
    pending = pending_decisions(decisions, events, xref)
    return sorted(int(d) for d in pending["decision_id"])


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")


def _apply_holding_lock(
    settings: Settings,
    decisions: pd.DataFrame,
    decision: pd.Series,
    run_id: str,
    now: pd.Timestamp,
    *,
    started: float,
) -> ApplyResult:
    decision_id = int(decision["decision_id"])
    store = open_warehouse(settings.resolved_warehouse_url)
    missing = [table for table in NEEDED_TABLES if not store.table_exists(table)]
    if missing:
        return ApplyResult(
            decision_id,
            "not_applicable",
            f"no run has built {', '.join(missing)} yet: `mdm run` applies decision "
            f"#{decision_id} with everything else",
        )
    model = store.read_table(tables.MATCH_MODEL)
    if "config_json" not in model.columns or model["config_json"].isna().all():
        return ApplyResult(
            decision_id,
            "not_applicable",
            "the last run stored no matching rules to re-cluster with (it predates quick "
            f"apply): `mdm run` applies decision #{decision_id}",
        )
    matching, survivorship = configs_from_json(str(model["config_json"].iloc[0]))
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    records = store.read_table(tables.PARTY_RECORDS)
    scored = store.read_table(tables.SCORED_PAIRS)
    xref = store.read_table(tables.XREF)
    golden = store.read_table(tables.GOLDEN_RECORDS)
    history = store.read_table(tables.GOLDEN_HISTORY)
    timings["read"] = time.perf_counter() - clock

    clock = time.perf_counter()
    constraints = constraints_from_decisions(decisions, xref, golden[["golden_id", "survivor_id"]])
    keys, golden_ids = named_records(decision.to_dict())
    survivors = survivor_map(golden)
    golden_ids = [resolve_golden_id(g, survivors) for g in golden_ids]
    region = touched_region(
        keys, golden_ids, scored=scored, must_link=constraints.must_link, xref=xref
    )
    if len(region) == 0:
        return ApplyResult(
            decision_id,
            "not_applicable",
            f"decision #{decision_id} names no record or golden ID of the warehouse",
        )
    region_index = pd.Index(region)
    in_region = scored["record_key_l"].isin(region_index) & scored["record_key_r"].isin(
        region_index
    )
    region_xref = xref[xref["record_key"].isin(region_index)]
    prior_ids = set(region_xref["golden_id"])
    result = apply_to_region(
        records[records["record_key"].isin(region_index)],
        scored[in_region],
        constraints,
        matching=matching,
        survivorship=survivorship,
        lookalike=lookalike_spellings(records, scored, matching),
        prior_golden=golden[golden["golden_id"].isin(prior_ids)],
        prior_xref=region_xref,
        prior_history=history[history["golden_id"].isin(prior_ids)],
        next_number=next_golden_number(golden, xref),
        decisions=decisions,
        credited=decisions[decisions["decision_id"] == decision_id],
        run_id=run_id,
        now=now,
    )
    timings["match"] = time.perf_counter() - clock

    clock = time.perf_counter()
    rewritten = sorted(prior_ids | set(result.golden.golden_records["golden_id"]))
    changes = _changes(result, scored[in_region], rewritten, outbox_seq=last_outbox_seq(store))
    golden_ids_after = pd.concat(
        [
            xref.loc[~xref["record_key"].isin(region_index), ["record_key", "golden_id"]],
            result.golden.xref[["record_key", "golden_id"]],
        ]
    ).set_index("record_key")["golden_id"]
    region_scored = result.scored_pairs
    # The queue and its questions as the next run would ask them: the answered pair gone.
    changes += review.refreshed_for_region(
        store,
        list(region),
        region_scored[region_scored["zone"] == "review"],
        result.review_clusters,
        records,
        FellegiSunterModel.from_json(str(model["model_json"].iloc[0])),
        decisions,
        golden_ids=golden_ids_after,
        now=now,
        run_id=run_id,
    )
    # Checked before the write: a snapshot of this warehouse's state is patched with the same
    # rows; any other (a run that failed before its publish) is replaced by a full publish.
    patchable = snapshot_matches(store, settings.resolved_serving_path)
    store.replace_rows(changes)
    timings["write"] = time.perf_counter() - clock
    clock = time.perf_counter()
    snapshot = republish(
        store,
        settings.resolved_serving_path,
        changes,
        golden_ids=rewritten,
        record_keys=list(region),
        patchable=patchable,
    )
    timings["publish"] = time.perf_counter() - clock

    golden_changes = _golden_changes(result.golden.events)
    summary = (
        ", ".join(f"{c.event_type} {c.golden_id}" for c in golden_changes) or "no golden change"
    )
    return ApplyResult(
        decision_id,
        "applied",
        f"decision #{decision_id} applied to {len(region)} records: {summary}; {MARTS_NOTE}",
        run_id=run_id,
        changes=golden_changes,
        records=len(region),
        golden_ids=tuple(rewritten),
        seconds=time.perf_counter() - started,
        timings=timings,
        snapshot=snapshot,
    )


def republish(
    store: Warehouse,
    serving_path: Path,
    changes: list[RowChange],
    *,
    golden_ids: list[str],
    record_keys: list[str],
    patchable: bool,
) -> Literal["patched", "published"]:
    """Serve a written change: the published snapshot patched with the served tables' rows
    of `changes` when it is of the state the change started from (`patchable`), else (or
    when patching fails) the warehouse published whole."""
    if patchable:
        served = [change for change in changes if change.table in SERVED_TABLES]
        try:
            published = patch_snapshot(
                serving_path,
                lambda path: DuckDBWarehouse(path).replace_rows(served),
                golden_ids=golden_ids,
                record_keys=record_keys,
            )
            if published is not None:
                return "patched"
        except (OSError, duckdb.Error, sqlite3.Error, WarehouseError) as error:
            # The warehouse holds the change already: serve it by a full publish instead.
            log.warning("patching the serving snapshot failed (%s): publishing it whole", error)
    store.publish(serving_path)
    return "published"


# What a serving snapshot and the warehouse it was published from agree on: the golden
# records' and links' counts and latest times, and the event log's length and last ID.
_STATE_QUERY = (
    f"select (select count(*) from {tables.GOLDEN_RECORDS}) as golden_records,"
    f" (select max(updated_at) from {tables.GOLDEN_RECORDS}) as golden_updated,"
    f" (select count(*) from {tables.XREF}) as links,"
    f" (select max(linked_at) from {tables.XREF}) as linked,"
    f" (select count(*) from {tables.GOLDEN_EVENTS}) as events,"
    f" (select max(event_id) from {tables.GOLDEN_EVENTS}) as last_event"
)


def snapshot_matches(store: Warehouse, serving_path: Path) -> bool:
    """Whether the published snapshot holds the warehouse's current golden state."""
    if not serving_path.exists():
        return False
    try:
        with duckdb.connect(str(serving_path), read_only=True) as served:
            published = served.execute(_STATE_QUERY).fetchone()
    except duckdb.Error:
        return False
    current = store.query(_STATE_QUERY).iloc[0].tolist()
    return published is not None and [_plain(v) for v in published] == [_plain(v) for v in current]


def _plain(value: object) -> str:
    """A value as both databases' drivers agree on it (times to the second)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, datetime | pd.Timestamp):
        return pd.Timestamp(value).floor("s").isoformat()
    return str(int(value)) if isinstance(value, int | float) else str(value)


def _changes(
    result: RegionResult, prior_pairs: pd.DataFrame, golden_ids: list[str], *, outbox_seq: int
) -> list[RowChange]:
    """The region's rows of every table the decision changes, keyed for delete + insert; the
    golden tables' and the change feed's as an incremental run writes them (the run lock held
    here makes "the last seq + 1" this writer's alone)."""
    records = pd.DataFrame({"record_key": result.record_keys})
    return [
        RowChange(tables.CLUSTERS, records, result.clusters),
        RowChange(
            tables.SCORED_PAIRS,
            prior_pairs[["record_key_l", "record_key_r"]],
            result.scored_pairs,
        ),
        RowChange(
            tables.OVERSIZED_CLUSTERS,
            records.rename(columns={"record_key": "cluster_key"}),
            oversized_frame(result.review_clusters),
        ),
        *golden_row_changes(
            result.record_keys, golden_ids, result.golden, result.history, outbox_seq=outbox_seq
        ),
    ]


def _golden_changes(events: pd.DataFrame) -> tuple[GoldenChange, ...]:
    return tuple(
        GoldenChange(
            golden_id=str(row["golden_id"]),
            event_type=str(row["event_type"]),
            related_golden_id=(
                str(row["related_golden_id"]) if pd.notna(row["related_golden_id"]) else None
            ),
            changed_fields=(
                tuple(str(row["changed_fields"]).split(","))
                if pd.notna(row["changed_fields"])
                else ()
            ),
        )
        for row in events.to_dict("records")
    )


__all__ = [
    "ApplyResult",
    "DecisionNotFoundError",
    "GoldenChange",
    "apply_decision",
    "snapshot_matches",
    "unapplied_decision_ids",
]
