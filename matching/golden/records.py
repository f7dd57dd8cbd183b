"""Golden records for one run: survivorship, IDs, source summary, carried-over and retired
records, xref, lineage and events, given the prior run's state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from matching.golden.columns import GOLDEN_ATTRIBUTES, GOLDEN_COLUMNS
from matching.golden.events import event_frame, numbered_events
from matching.golden.identifiers import assign_golden_ids
from matching.golden.survivorship import (
    SurvivorshipConfig,
    golden_lineage,
    survive,
    survivorship_columns,
)
from matching.golden.xref import build_xref


@dataclass
class GoldenResult:
    golden_records: pd.DataFrame
    lineage: pd.DataFrame
    xref: pd.DataFrame
    events: pd.DataFrame
    event_counts: dict[str, int] = field(default_factory=dict)


#: What the golden records take of each record besides survivorship's columns.
MEMBERSHIP_COLUMNS = ("record_key", "source_system", "source_record_id")


def record_columns(config: SurvivorshipConfig) -> list[str]:
    """Every party record column `build_golden_records` reads: a caller reading records from
    a warehouse reads just these."""
    return list(dict.fromkeys([*survivorship_columns(config), *MEMBERSHIP_COLUMNS]))


def build_golden_records(
    records: pd.DataFrame,
    clusters: pd.DataFrame,
    config: SurvivorshipConfig,
    *,
    run_id: str,
    now: pd.Timestamp,
    scored_pairs: pd.DataFrame | None = None,
    prior_golden: pd.DataFrame | None = None,
    prior_xref: pd.DataFrame | None = None,
    preferred_golden_ids: frozenset[str] = frozenset(),
    next_number: int | None = None,
    placements: pd.Series | None = None,
) -> GoldenResult:
    """Golden records, lineage, xref and events for one run, given the prior run's state.

    `placements` (record_key → match rule, e.g. `steward:12`) names the records a steward's
    decision placed; their xref rows carry that rule instead of the matching's evidence.
    `next_number`: see `assign_golden_ids`.
    """
    values, lineage = survive(records, clusters, config)
    golden_by_cluster, events = assign_golden_ids(
        clusters, prior_xref, prior_golden, preferred_golden_ids, next_number
    )
    golden_ids = golden_by_cluster.reindex(values.index).to_numpy()

    membership = clusters.merge(records[list(MEMBERSHIP_COLUMNS)], on="record_key")
    golden = values.join(_source_summary(membership))
    golden.insert(0, "golden_id", golden_ids)
    golden["status"] = "active"
    golden["survivor_id"] = None
    golden = golden.reset_index(drop=True)

    prior_active = pd.DataFrame(columns=list(GOLDEN_COLUMNS))
    if prior_golden is not None and not prior_golden.empty:
        prior_active = prior_golden
    prior_by_id = prior_active.set_index("golden_id") if len(prior_active) else None
    golden["created_at"] = now
    golden["updated_at"] = now
    if prior_by_id is not None:
        events = pd.concat([events, _carry_prior(golden, prior_by_id, now)], ignore_index=True)

    retired, retire_events = _retired_records(prior_by_id, golden, events, now)
    events = pd.concat([events, retire_events], ignore_index=True)
    if retired is not None:
        golden = pd.concat([golden, retired], ignore_index=True)
    golden = golden[list(GOLDEN_COLUMNS)].sort_values("golden_id", ignore_index=True)
    golden["created_at"] = pd.to_datetime(golden["created_at"])
    golden["updated_at"] = pd.to_datetime(golden["updated_at"])

    xref = build_xref(
        membership, golden_by_cluster, clusters, scored_pairs, prior_xref, now, placements
    )
    events = numbered_events(events, run_id, now)
    counts = events["event_type"].value_counts().to_dict() if len(events) else {}
    return GoldenResult(
        golden,
        golden_lineage(lineage, golden_ids),
        xref,
        events,
        {str(k): int(v) for k, v in counts.items()},
    )


def _source_summary(membership: pd.DataFrame) -> pd.DataFrame:
    """Per cluster_id: source_count, and source_systems as its sorted distinct systems joined by
    commas."""
    clusters, cluster_ids = pd.factorize(membership["cluster_id"])
    systems, system_names = pd.factorize(membership["source_system"], sort=True)
    present = np.zeros((len(cluster_ids), len(system_names)), dtype=bool)
    present[clusters, systems] = True
    # Clusters share a handful of system combinations: spell each combination out once.
    combinations, combination = np.unique(present, axis=0, return_inverse=True)
    names = system_names.to_numpy()
    labels = np.array([",".join(names[row]) for row in combinations], dtype=object)
    return pd.DataFrame(
        {
            "source_count": np.bincount(clusters, minlength=len(cluster_ids)),
            "source_systems": labels[combination.reshape(-1)],
        },
        index=pd.Index(cluster_ids, name="cluster_id"),
    )


def _carry_prior(
    golden: pd.DataFrame, prior_by_id: pd.DataFrame, now: pd.Timestamp
) -> pd.DataFrame:
    """Keep created_at, and updated_at unless attributes changed, of IDs carried over from the
    prior run (in place); returns the update events."""
    carried = golden["golden_id"].isin(prior_by_id.index)
    previous = prior_by_id.reindex(golden.loc[carried, "golden_id"])
    golden.loc[carried, "created_at"] = previous["created_at"].to_numpy()
    differs = _attributes_changed(golden.loc[carried], previous)
    changed = differs.any(axis=1).to_numpy()
    kept_time = pd.Series(previous["updated_at"].to_numpy(), index=golden.index[carried])
    golden.loc[carried, "updated_at"] = kept_time.mask(
        pd.Series(changed, index=kept_time.index), now
    )
    updated = golden.loc[carried].loc[changed, "golden_id"].to_numpy()
    return event_frame(
        "update", updated, None, "attributes changed", _changed_field_names(differs[changed])
    )


def _attributes_changed(current: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Per carried record (row) and compared column: whether the value changed."""
    columns = [*GOLDEN_ATTRIBUTES, "source_count", "source_systems"]
    left = current[columns].astype(str).reset_index(drop=True)
    right = previous[columns].astype(str).reset_index(drop=True)
    left = left.where(current[columns].notna().reset_index(drop=True), "<null>")
    right = right.where(previous[columns].notna().reset_index(drop=True), "<null>")
    return left != right


def _changed_field_names(differs: pd.DataFrame) -> np.ndarray:
    """Each row's changed column names, comma-separated in GOLDEN_COLUMNS order: names only,
    never values (they are personal data)."""
    names = np.array(differs.columns, dtype=object)
    return np.array([",".join(names[row]) for row in differs.to_numpy()], dtype=object)


def _retired_records(
    prior_by_id: pd.DataFrame | None, golden: pd.DataFrame, events: pd.DataFrame, now: pd.Timestamp
) -> tuple[pd.DataFrame | None, pd.DataFrame]:
    """Prior golden records that no cluster kept: retired, pointing at their survivor if merged.

    Also returns retire events for the newly retired that no merge explains.
    """
    no_events = event_frame("retire", np.array([], dtype=object), None, "no source records left")
    if prior_by_id is None:
        return None, no_events
    gone = prior_by_id[~prior_by_id.index.isin(golden["golden_id"])].copy()
    if gone.empty:
        return None, no_events
    merges = events[events["event_type"] == "merge"].set_index("related_golden_id")["golden_id"]
    newly_retired = gone["status"] != "retired"
    gone["survivor_id"] = gone["survivor_id"].where(~newly_retired, merges.reindex(gone.index))
    vanished = gone.index[newly_retired & ~gone.index.isin(merges.index)].to_numpy()
    gone.loc[newly_retired, "updated_at"] = now
    gone["status"] = "retired"
    return gone.reset_index(), event_frame("retire", vanished, None, "no source records left")
