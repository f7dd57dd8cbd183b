"""Golden records: survivorship per attribute with lineage, and persistent golden IDs.

Survivorship picks, for every cluster and attribute, the source record whose value wins under an
ordered rule chain (configurable); fields that belong together (the address parts) survive
together from one record. Golden IDs persist across runs: a cluster keeps the ID of the prior
golden record holding most of its records, merged IDs are retired with a pointer to the
survivor, split-off parts get new IDs, and every change is an event. Same input, same IDs, and
no events on a rerun.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

SurvivorshipRule = Literal[
    "valid_over_invalid", "source_priority", "most_recent", "most_complete", "most_frequent"
]

GOLDEN_ATTRIBUTES = (
    "name",
    "name_pinyin",
    "id_type",
    "id_number",
    "birth_date",
    "gender",
    "mobile",
    "email",
    "address",
    "province",
    "city",
    "district",
    "adcode",
)
GOLDEN_COLUMNS = (
    "golden_id",
    *GOLDEN_ATTRIBUTES,
    "source_count",
    "source_systems",
    "status",
    "survivor_id",
    "created_at",
    "updated_at",
)
XREF_COLUMNS = (
    "record_key",
    "source_system",
    "source_record_id",
    "golden_id",
    "match_rule",
    "match_weight",
    "linked_at",
)
EVENT_COLUMNS = (
    "event_id",
    "run_id",
    "event_type",
    "golden_id",
    "related_golden_id",
    "detail",
    "occurred_at",
)
LINEAGE_COLUMNS = ("golden_id", "attribute", "record_key", "rule")


class SurvivorshipConfig(BaseModel):
    """The `survivorship:` section of mdm.yaml."""

    model_config = ConfigDict(extra="forbid")

    default_rules: list[SurvivorshipRule] = Field(
        default=["valid_over_invalid", "source_priority", "most_recent", "most_complete"],
        min_length=1,
    )
    attribute_rules: dict[str, list[SurvivorshipRule]] = Field(default_factory=dict)
    attribute_groups: dict[str, list[str]] = Field(
        default_factory=lambda: {"address": ["address", "province", "city", "district", "adcode"]}
    )


@dataclass
class GoldenResult:
    golden_records: pd.DataFrame
    lineage: pd.DataFrame
    xref: pd.DataFrame
    events: pd.DataFrame
    event_counts: dict[str, int] = field(default_factory=dict)


def format_golden_id(number: int) -> str:
    return f"G{number:010d}"


def _validity(records: pd.DataFrame, attribute: str) -> pd.Series:
    """1 where the attribute's value passed validation; an invalid value never beats a valid one."""
    if attribute == "id_number" and "id_valid" in records:
        return records["id_valid"].fillna(False).astype(int)
    return pd.Series(1, index=records.index)


def _completeness(records: pd.DataFrame) -> pd.Series:
    present = [c for c in GOLDEN_ATTRIBUTES if c in records]
    return records[present].notna().sum(axis=1)


def survive(
    records: pd.DataFrame, clusters: pd.DataFrame, config: SurvivorshipConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row of winning attribute values per cluster, and the lineage of every value.

    Returns (values indexed by cluster_id, lineage with cluster_id, attribute, record_key, rule).
    """
    frame = records.merge(clusters[["record_key", "cluster_id"]], on="record_key", how="inner")
    frame = frame.reset_index(drop=True)
    frame["_trust"] = -frame["source_trust"].astype(float)
    updated = pd.to_datetime(frame["source_updated_at"], errors="coerce")
    frame["_recency"] = updated.astype("int64").where(updated.notna(), np.iinfo(np.int64).min)
    frame["_completeness"] = _completeness(frame)

    grouped = {a for members in config.attribute_groups.values() for a in members}
    units: list[tuple[str, list[str]]] = [
        (lead, members) for lead, members in config.attribute_groups.items()
    ]
    units += [(a, [a]) for a in GOLDEN_ATTRIBUTES if a not in grouped]

    values = pd.DataFrame(index=pd.Index(sorted(frame["cluster_id"].unique()), name="cluster_id"))
    lineage_parts = []
    for lead, members in units:
        rules = config.attribute_rules.get(lead, config.default_rules)
        candidates = frame[frame[lead].notna()].copy()
        keys = {
            "valid_over_invalid": _validity(candidates, lead),
            "source_priority": candidates["_trust"],
            "most_recent": candidates["_recency"],
            "most_complete": candidates["_completeness"],
            "most_frequent": candidates.groupby(["cluster_id", lead])[lead].transform("size"),
        }
        key_columns = []
        for rule in rules:
            column = f"_key_{rule}"
            candidates[column] = keys[rule].to_numpy()
            key_columns.append(column)
        ordered = candidates.sort_values(
            ["cluster_id", *key_columns, "record_key"],
            ascending=[True, *([False] * len(key_columns)), True],
        )
        ordered["_rank"] = ordered.groupby("cluster_id").cumcount()
        winners = ordered[ordered["_rank"] == 0].set_index("cluster_id")
        runners = ordered[ordered["_rank"] == 1].set_index("cluster_id")
        # The rule that decided is the first key on which the winner beats the runner-up.
        decided = pd.Series("only_candidate", index=winners.index, dtype=object)
        undecided = winners.index.isin(runners.index)
        remaining = pd.Series(undecided, index=winners.index)
        for rule, column in zip(rules, key_columns, strict=True):
            runner_value = runners[column].reindex(winners.index)
            beats = remaining & (winners[column] != runner_value)
            decided[beats] = rule
            remaining &= ~beats
        decided[remaining] = "record_key_tie_break"
        for member in members:
            values[member] = winners[member].reindex(values.index)
            lineage_parts.append(
                pd.DataFrame(
                    {
                        "cluster_id": winners.index,
                        "attribute": member,
                        "record_key": winners["record_key"].to_numpy(),
                        "rule": decided.to_numpy(),
                    }
                )
            )
    lineage = pd.concat(lineage_parts, ignore_index=True)
    return values, lineage


def assign_golden_ids(
    clusters: pd.DataFrame,
    prior_xref: pd.DataFrame | None,
    prior_golden: pd.DataFrame | None,
    preferred: frozenset[str] = frozenset(),
) -> tuple[pd.Series, pd.DataFrame]:
    """Persistent IDs: (golden_id per cluster_id, events without run/time columns).

    Each prior golden ID goes to the cluster holding most of its records (ties: smallest
    cluster_id); a cluster owning several keeps the one with most records (ties: smallest ID)
    and the others merge into it — unless a steward's merge named the survivor (`preferred`);
    clusters owning none get new IDs, numbered after the highest ID ever issued so retired IDs
    are never reused.
    """
    cluster_ids = pd.Index(sorted(clusters["cluster_id"].unique()), name="cluster_id")
    events: list[dict[str, object]] = []
    if prior_xref is None or prior_xref.empty:
        members = clusters.assign(prior_id=pd.Series(dtype=object))
    else:
        members = clusters.merge(
            prior_xref[["record_key", "golden_id"]].rename(columns={"golden_id": "prior_id"}),
            on="record_key",
            how="left",
        )
    known = members.dropna(subset=["prior_id"])
    counts = known.groupby(["prior_id", "cluster_id"]).size().rename("n").reset_index()
    owners = counts.sort_values(["prior_id", "n", "cluster_id"], ascending=[True, False, True])
    owners = owners.drop_duplicates("prior_id")
    owners = owners.assign(preferred=owners["prior_id"].isin(preferred))
    choice = owners.sort_values(
        ["cluster_id", "preferred", "n", "prior_id"], ascending=[True, False, False, True]
    )
    kept = choice.drop_duplicates("cluster_id").set_index("cluster_id")["prior_id"]
    assigned = pd.Series(kept, index=cluster_ids, dtype=object)

    merged = choice[~choice["prior_id"].isin(kept.to_numpy())]
    for row in merged.itertuples(index=False):
        events.append(
            {
                "event_type": "merge",
                "golden_id": kept[row.cluster_id],
                "related_golden_id": row.prior_id,
                "detail": f"{row.prior_id} merged into {kept[row.cluster_id]}",
            }
        )

    issued: list[str] = []
    if prior_golden is not None and not prior_golden.empty:
        issued = prior_golden["golden_id"].tolist()
    if prior_xref is not None and not prior_xref.empty:
        issued += prior_xref["golden_id"].dropna().tolist()
    next_number = max((int(g[1:]) for g in issued), default=0) + 1
    missing = assigned[assigned.isna()].index
    new_ids = [format_golden_id(next_number + i) for i in range(len(missing))]
    assigned.loc[missing] = new_ids

    # A new ID whose records belonged to a prior golden record was split off from it.
    split_from = (
        counts[counts["cluster_id"].isin(missing)]
        .sort_values(["cluster_id", "n", "prior_id"], ascending=[True, False, True])
        .drop_duplicates("cluster_id")
        .set_index("cluster_id")["prior_id"]
    )
    for cluster_id in missing:
        new_id = assigned[cluster_id]
        if cluster_id in split_from.index:
            source_id = split_from[cluster_id]
            events.append(
                {
                    "event_type": "split",
                    "golden_id": new_id,
                    "related_golden_id": source_id,
                    "detail": f"{new_id} split off from {source_id}",
                }
            )
        else:
            events.append(
                {
                    "event_type": "create",
                    "golden_id": new_id,
                    "related_golden_id": None,
                    "detail": "new customer",
                }
            )
    return assigned, pd.DataFrame(
        events, columns=["event_type", "golden_id", "related_golden_id", "detail"]
    )


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
) -> GoldenResult:
    """Golden records, lineage, xref and events for one run, given the prior run's state."""
    values, lineage = survive(records, clusters, config)
    golden_by_cluster, events = assign_golden_ids(
        clusters, prior_xref, prior_golden, preferred_golden_ids
    )

    membership = clusters.merge(
        records[["record_key", "source_system", "source_record_id"]], on="record_key"
    )
    per_cluster = membership.groupby("cluster_id").agg(
        source_count=("record_key", "size"),
        source_systems=("source_system", lambda s: ",".join(sorted(set(s)))),
    )
    golden = values.join(per_cluster)
    golden.insert(0, "golden_id", golden_by_cluster.reindex(golden.index).to_numpy())
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
        carried = golden["golden_id"].isin(prior_by_id.index)
        previous = prior_by_id.reindex(golden.loc[carried, "golden_id"])
        golden.loc[carried, "created_at"] = previous["created_at"].to_numpy()
        changed = _attributes_changed(golden.loc[carried], previous)
        kept_time = pd.Series(previous["updated_at"].to_numpy(), index=golden.index[carried])
        golden.loc[carried, "updated_at"] = kept_time.mask(
            pd.Series(changed, index=kept_time.index), now
        )
        for golden_id in golden.loc[carried].loc[changed, "golden_id"]:
            events.loc[len(events)] = ["update", golden_id, None, "attributes changed"]

    retired = _retired_records(prior_by_id, golden, events, now)
    if retired is not None:
        golden = pd.concat([golden, retired], ignore_index=True)
    golden = golden[list(GOLDEN_COLUMNS)].sort_values("golden_id", ignore_index=True)
    golden["created_at"] = pd.to_datetime(golden["created_at"])
    golden["updated_at"] = pd.to_datetime(golden["updated_at"])

    cluster_to_golden = golden_by_cluster.rename("golden_id")
    lineage["golden_id"] = cluster_to_golden.reindex(lineage["cluster_id"]).to_numpy()
    lineage = lineage[list(LINEAGE_COLUMNS)].sort_values(
        ["golden_id", "attribute"], ignore_index=True
    )

    xref = membership.merge(cluster_to_golden, left_on="cluster_id", right_index=True)
    xref = xref.merge(_match_evidence(clusters, scored_pairs), on="record_key", how="left")
    xref["match_rule"] = xref["match_rule"].fillna("singleton")
    xref["linked_at"] = now
    if prior_xref is not None and not prior_xref.empty:
        unchanged = xref.merge(
            prior_xref[["record_key", "golden_id", "linked_at"]],
            on=["record_key", "golden_id"],
            how="left",
            suffixes=("", "_prior"),
        )
        xref["linked_at"] = unchanged["linked_at_prior"].fillna(unchanged["linked_at"]).to_numpy()
    xref["linked_at"] = pd.to_datetime(xref["linked_at"])
    xref = xref[list(XREF_COLUMNS)].sort_values("record_key", ignore_index=True)

    events = events.reset_index(drop=True)
    events.insert(0, "run_id", run_id)
    events.insert(0, "event_id", [f"{run_id}:{i:07d}" for i in range(len(events))])
    events["occurred_at"] = now
    events = events[list(EVENT_COLUMNS)]
    counts = events["event_type"].value_counts().to_dict() if len(events) else {}
    return GoldenResult(golden, lineage, xref, events, {str(k): int(v) for k, v in counts.items()})


def _attributes_changed(current: pd.DataFrame, previous: pd.DataFrame) -> np.ndarray:
    columns = [*GOLDEN_ATTRIBUTES, "source_count", "source_systems"]
    left = current[columns].astype(str).reset_index(drop=True)
    right = previous[columns].astype(str).reset_index(drop=True)
    left = left.where(current[columns].notna().reset_index(drop=True), "<null>")
    right = right.where(previous[columns].notna().reset_index(drop=True), "<null>")
    return (left != right).any(axis=1).to_numpy()


def _retired_records(
    prior_by_id: pd.DataFrame | None, golden: pd.DataFrame, events: pd.DataFrame, now: pd.Timestamp
) -> pd.DataFrame | None:
    """Prior golden records that no cluster kept: retired, pointing at their survivor if merged."""
    if prior_by_id is None:
        return None
    gone = prior_by_id[~prior_by_id.index.isin(golden["golden_id"])].copy()
    if gone.empty:
        return None
    merges = events[events["event_type"] == "merge"].set_index("related_golden_id")["golden_id"]
    newly_retired = gone["status"] != "retired"
    gone["survivor_id"] = gone["survivor_id"].where(~newly_retired, merges.reindex(gone.index))
    for golden_id in gone.index[newly_retired & ~gone.index.isin(merges.index)]:
        events.loc[len(events)] = ["retire", golden_id, None, "no source records left"]
    gone.loc[newly_retired, "updated_at"] = now
    gone["status"] = "retired"
    return gone.reset_index()


def _match_evidence(clusters: pd.DataFrame, scored_pairs: pd.DataFrame | None) -> pd.DataFrame:
    """For each record, its strongest auto-match edge: which rule linked it and with what weight."""
    empty = pd.DataFrame({"record_key": [], "match_rule": [], "match_weight": []})
    if scored_pairs is None or scored_pairs.empty:
        return empty
    linked = scored_pairs[scored_pairs["zone"] == "auto_match"]
    rule = linked["deterministic_rule"].fillna("probabilistic") if len(linked) else linked
    edges = pd.concat(
        [
            pd.DataFrame(
                {
                    "record_key": linked[side],
                    "match_rule": rule,
                    "match_weight": linked["match_weight"],
                }
            )
            for side in ("record_key_l", "record_key_r")
        ],
        ignore_index=True,
    )
    if edges.empty:
        return empty
    best = edges.sort_values(["record_key", "match_weight"], ascending=[True, False])
    best = best.drop_duplicates("record_key")
    # An edge only explains the link if both ends ended up in the same cluster.
    return best[best["record_key"].isin(clusters.loc[clusters["cluster_size"] > 1, "record_key"])]


HISTORY_VERSIONED = (*GOLDEN_ATTRIBUTES, "source_count", "source_systems", "status", "survivor_id")
HISTORY_COLUMNS = ("golden_id", *HISTORY_VERSIONED, "valid_from", "valid_to", "run_id")


def _version_key(frame: pd.DataFrame) -> pd.Series:
    text = (
        frame[list(HISTORY_VERSIONED)].astype(str).where(frame[list(HISTORY_VERSIONED)].notna(), "")
    )
    return text.agg("\x1f".join, axis=1)


def update_history(
    prior_history: pd.DataFrame | None, golden: pd.DataFrame, *, now: pd.Timestamp, run_id: str
) -> pd.DataFrame:
    """Every golden record's versions with valid_from / valid_to (NULL while current).

    A record whose attributes, sources or status changed gets its open version closed at `now`
    and a new one opened, so "what did we know about this customer on date D" is a query:
    valid_from <= D and (valid_to is null or D < valid_to).
    """
    current = golden[list(("golden_id", *HISTORY_VERSIONED))].copy()
    current["_key"] = _version_key(current).to_numpy()
    if prior_history is None or prior_history.empty:
        opened = current.assign(valid_from=now, valid_to=None, run_id=run_id)
        return _history_frame(opened)
    history = prior_history.copy()
    history["valid_to"] = pd.to_datetime(history["valid_to"])
    is_open = history["valid_to"].isna()
    open_rows = history[is_open].copy()
    open_rows["_key"] = _version_key(open_rows).to_numpy()
    joined = current.merge(
        open_rows[["golden_id", "_key"]], on="golden_id", how="left", suffixes=("", "_open")
    )
    changed_ids = joined.loc[joined["_key"] != joined["_key_open"], "golden_id"]
    closing = is_open & history["golden_id"].isin(changed_ids)
    history.loc[closing, "valid_to"] = now
    opened = current[current["golden_id"].isin(changed_ids)].assign(
        valid_from=now, valid_to=None, run_id=run_id
    )
    return _history_frame(pd.concat([history, opened], ignore_index=True))


def _history_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[list(HISTORY_COLUMNS)].copy()
    out["valid_from"] = pd.to_datetime(out["valid_from"])
    out["valid_to"] = pd.to_datetime(out["valid_to"])
    return out.sort_values(["golden_id", "valid_from"], ignore_index=True)
