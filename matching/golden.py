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
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt
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
    # Who changed it: the steward decision an event applies (both null for the matching's
    # own events), and which versioned columns an update changed (comma-separated names).
    "decision_id",
    "steward",
    "changed_fields",
)
LINEAGE_COLUMNS = ("golden_id", "attribute", "record_key", "rule")
# The change feed's outbox (`mdm.change_outbox`): one row per golden event, numbered by `seq`
# (1, 2, 3, ... in the order the events were committed) so a consumer pages with "after seq N".
# Golden IDs, kinds and the *names* of changed fields only: no personal value and not the
# event's free-text `detail`; a consumer re-reads the golden record through the API, where its
# role's masking and the read audit apply.
OUTBOX_COLUMNS = (
    "seq",
    "event_id",
    "event_type",
    "golden_id",
    "related_golden_id",
    "changed_fields",
    "decision_id",
    "steward",
    "occurred_at",
    "run_id",
)


class SurvivorshipConfig(BaseModel):
    """The `survivorship:` section of mdm.yaml."""

    model_config = ConfigDict(extra="forbid")

    default_rules: list[SurvivorshipRule] = Field(
        default=["valid_over_invalid", "source_priority", "most_recent", "most_complete"],
        min_length=1,
        description="tie-breakers tried in order for every attribute: the first that decides "
        "picks the source record whose value survives",
    )
    attribute_rules: dict[str, list[SurvivorshipRule]] = Field(
        default_factory=dict, description="attribute -> its own rules, instead of the default"
    )
    attribute_groups: dict[str, list[str]] = Field(
        default_factory=lambda: {"address": ["address", "province", "city", "district", "adcode"]},
        description="lead attribute -> attributes that survive together from the record the "
        "lead's rules pick (an address and its parts)",
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


IntArray = npt.NDArray[np.int64]
Unit = tuple[str, list[str]]

# Lineage rules by code: the rule chain decides, or there was nothing (or nothing but the
# record key) to decide on.
_RULE_LABELS = np.array(
    ["only_candidate", *get_args(SurvivorshipRule), "record_key_tie_break"], dtype=object
)
_RULE_CODES = {str(label): code for code, label in enumerate(_RULE_LABELS)}


def _validity(records: pd.DataFrame, attribute: str) -> pd.Series:
    """1 where the attribute's value passed validation; an invalid value never beats a valid one."""
    if attribute == "id_number" and "id_valid" in records:
        return records["id_valid"].fillna(False).astype(int)
    return pd.Series(1, index=records.index)


@dataclass(frozen=True)
class _Pool:
    """Every clustered record, prepared once for all units' survivorship.

    Clusters and record keys are reduced to integer positions up front, so that no unit has to
    sort or compare strings.
    """

    frame: pd.DataFrame
    filled: pd.DataFrame  # notna of every attribute column
    cluster_index: pd.Index  # sorted cluster_ids
    clusters: IntArray  # each row's position in cluster_index
    by_record_key: IntArray  # rows in record_key order: every unit's last tie-break
    keys: dict[str, np.ndarray]  # attribute-independent rule keys, higher wins
    ranks: dict[str, IntArray]  # the same keys as descending ranks


@dataclass(frozen=True)
class _Winners:
    """One unit's outcome, by position: the winning frame row per cluster and why it won."""

    rows: IntArray
    clusters: IntArray
    rules: IntArray


@dataclass(frozen=True)
class Lineage:
    """Survivorship lineage in unit and member order, kept as codes until golden IDs are known.

    cluster is a row of survive's values, attribute a position in the sorted `attributes` and
    rule a position in the rule labels.
    """

    cluster: IntArray
    attribute: IntArray
    attributes: np.ndarray
    record_key: np.ndarray
    rule: IntArray


def survive(
    records: pd.DataFrame, clusters: pd.DataFrame, config: SurvivorshipConfig
) -> tuple[pd.DataFrame, Lineage]:
    """One row of winning attribute values per cluster (indexed by cluster_id), and the lineage
    of every value."""
    units = _survivorship_units(config)
    pool = _pool(records, clusters, units)
    columns: dict[str, pd.Series] = {}
    parts: list[tuple[str, _Winners]] = []
    for lead, members in units:
        winners = _unit_winners(pool, lead, config.attribute_rules.get(lead, config.default_rules))
        for member in members:
            columns[member] = _winning_values(pool.frame[member], winners, pool.cluster_index)
            parts.append((member, winners))
    values = pd.DataFrame(columns, index=pool.cluster_index)
    return values, _lineage(parts, pool.frame["record_key"].to_numpy())


def _survivorship_units(config: SurvivorshipConfig) -> list[Unit]:
    """(lead, members): attribute groups survive together, every other attribute alone."""
    grouped = {a for members in config.attribute_groups.values() for a in members}
    units: list[Unit] = [(lead, members) for lead, members in config.attribute_groups.items()]
    return units + [(a, [a]) for a in GOLDEN_ATTRIBUTES if a not in grouped]


def _pool(records: pd.DataFrame, clusters: pd.DataFrame, units: list[Unit]) -> _Pool:
    """The records that have a cluster, with what every unit's survivorship needs."""
    attributes = [a for a in GOLDEN_ATTRIBUTES if a in records.columns]
    members = [m for lead, members in units for m in (lead, *members)]
    wanted = ["record_key", "source_trust", "source_updated_at", "id_valid", *attributes, *members]
    # Only the columns survivorship reads: the join copies every column it carries.
    present = [c for c in dict.fromkeys(wanted) if c in records.columns]
    frame = records[present].merge(
        clusters[["record_key", "cluster_id"]], on="record_key", how="inner"
    )
    filled = frame[list(dict.fromkeys([*attributes, *(lead for lead, _ in units)]))].notna()
    cluster_codes, cluster_ids = _factorize_sorted(frame["cluster_id"].to_numpy())
    keys = _shared_keys(frame, filled[attributes].sum(axis=1))
    return _Pool(
        frame=frame,
        filled=filled,
        cluster_index=pd.Index(cluster_ids, name="cluster_id"),
        clusters=cluster_codes,
        by_record_key=_argsort(frame["record_key"].to_numpy()),
        keys=keys,
        ranks={rule: _descending_rank(key) for rule, key in keys.items()},
    )


def _factorize_sorted(values: np.ndarray) -> tuple[IntArray, np.ndarray]:
    """pd.factorize(values, sort=True) for values without nulls: hashing first leaves only the
    distinct values to sort."""
    codes, distinct = pd.factorize(values)
    order = _argsort(distinct)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[codes], distinct[order]


def _argsort(values: np.ndarray) -> IntArray:
    """Stable argsort; all-string object arrays sort as numpy strings, whose code-point order is
    Python's but needs no Python call per comparison."""
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return np.argsort(values.astype(np.dtypes.StringDType()), kind="stable")
    return np.argsort(values, kind="stable")


def _shared_keys(frame: pd.DataFrame, completeness: pd.Series) -> dict[str, np.ndarray]:
    """The rule keys that do not depend on the attribute."""
    updated = pd.to_datetime(frame["source_updated_at"], errors="coerce")
    recency = updated.astype("int64").where(updated.notna(), np.iinfo(np.int64).min)
    return {
        "source_priority": (-frame["source_trust"].astype(float)).to_numpy(),
        "most_recent": recency.to_numpy(),
        "most_complete": completeness.to_numpy(),
    }


def _unit_winners(pool: _Pool, lead: str, rules: list[SurvivorshipRule]) -> _Winners:
    """Per cluster, the record whose `lead` wins under the rule chain, and the deciding rule.

    Candidates are ordered by cluster, then each rule's key high to low, then record key; the
    first of each cluster wins and the second is the runner-up it had to beat.
    """
    rows = pool.by_record_key[pool.filled[lead].to_numpy()[pool.by_record_key]]
    clusters = pool.clusters[rows]
    keys = [_rule_key(pool, rule, lead, rows, clusters) for rule in rules]
    ranks = [
        pool.ranks[rule][rows] if rule in pool.ranks else _descending_rank(key)
        for rule, key in zip(rules, keys, strict=True)
    ]
    # Stable, so record_key order (that of rows) breaks the remaining ties.
    order = _stable_order([clusters, *ranks])
    first = np.flatnonzero(np.diff(clusters[order], prepend=-1))
    has_runner = np.diff(first, append=len(order)) > 1
    winners = order[first]
    runners = order[first[has_runner] + 1]
    decided = np.where(has_runner, _RULE_CODES["record_key_tie_break"], 0)
    undecided = has_runner.copy()
    for rule, key in zip(rules, keys, strict=True):
        beats = undecided & (key[winners] != _runner_up(key, runners, has_runner))
        decided[beats] = _RULE_CODES[rule]
        undecided &= ~beats
    return _Winners(rows[winners], clusters[winners], decided)


def _rule_key(
    pool: _Pool, rule: SurvivorshipRule, lead: str, rows: IntArray, clusters: IntArray
) -> np.ndarray:
    """The candidates' key under one rule: higher wins."""
    if rule == "valid_over_invalid":
        return _validity(pool.frame, lead).to_numpy()[rows]
    if rule == "most_frequent":
        return _value_frequency(pool.frame[lead].iloc[rows], clusters)
    return pool.keys[rule][rows]


def _value_frequency(values: pd.Series, clusters: IntArray) -> IntArray:
    """How many candidates of the same cluster hold each candidate's value."""
    value_codes = pd.factorize(values)[0]
    pairs = clusters * (value_codes.max(initial=-1) + 1) + value_codes
    _, inverse, counts = np.unique(pairs, return_inverse=True, return_counts=True)
    return counts[inverse.reshape(-1)]


def _descending_rank(key: np.ndarray) -> IntArray:
    """0 for the highest value, counting down through the distinct values; missing ones last."""
    distinct, inverse = np.unique(key, return_inverse=True)
    valued = (
        len(distinct) - int(np.isnan(distinct).sum()) if key.dtype.kind == "f" else len(distinct)
    )
    inverse = inverse.reshape(-1)
    return np.where(inverse < valued, valued - 1 - inverse, valued)


def _stable_order(keys: list[IntArray]) -> IntArray:
    """Stable sort order of rows by non-negative integer keys, most significant first.

    The keys are packed into as few int64 words as their ranges allow and each word is sorted
    stably, least significant first: a few sorts of one word beat np.lexsort over every key.
    """
    order = np.arange(len(keys[0]))
    for word in _packed(keys):
        order = order[np.argsort(word[order], kind="stable")]
    return order


def _packed(keys: list[IntArray]) -> list[IntArray]:
    """Keys (most significant first) as bit fields of int64 words, least significant word first."""
    words: list[IntArray] = []
    word = np.zeros(len(keys[0]), dtype=np.int64)
    shift = 0
    for key in reversed(keys):
        bits = int(key.max(initial=0)).bit_length()
        if shift + bits > 63:
            words.append(word)
            word, shift = np.zeros(len(key), dtype=np.int64), 0
        word |= key.astype(np.int64) << shift
        shift += bits
    return [*words, word]


def _runner_up(key: np.ndarray, runners: IntArray, has_runner: npt.NDArray[np.bool_]) -> np.ndarray:
    """Each cluster's runner-up key, NaN where it has none.

    The NaN makes an integer key compare as float64 — the precision survivorship has always
    compared at, so near-equal nanosecond timestamps keep deciding the same way.
    """
    if has_runner.all():
        return key[runners]
    values = np.full(len(has_runner), np.nan)
    values[has_runner] = key[runners]
    return values


def _winning_values(column: pd.Series, winners: _Winners, index: pd.Index) -> pd.Series:
    """The winners' values per cluster; clusters with no candidate get the dtype's missing value."""
    won = column.iloc[winners.rows].set_axis(winners.clusters)
    return won.reindex(np.arange(len(index))).set_axis(index)


def _lineage(parts: list[tuple[str, _Winners]], record_keys: np.ndarray) -> Lineage:
    """Lineage of every (member, winners) part, in part order."""
    attributes, attribute = np.unique(
        np.array([m for m, _ in parts], dtype=object), return_inverse=True
    )
    sizes = [len(winners.rows) for _, winners in parts]
    return Lineage(
        cluster=np.concatenate([winners.clusters for _, winners in parts]),
        attribute=np.repeat(attribute.reshape(-1), sizes),
        attributes=attributes,
        record_key=record_keys[np.concatenate([winners.rows for _, winners in parts])],
        rule=np.concatenate([winners.rules for _, winners in parts]),
    )


def assign_golden_ids(
    clusters: pd.DataFrame,
    prior_xref: pd.DataFrame | None,
    prior_golden: pd.DataFrame | None,
    preferred: frozenset[str] = frozenset(),
    next_number: int | None = None,
) -> tuple[pd.Series, pd.DataFrame]:
    """Persistent IDs: (golden_id per cluster_id, events without run/time columns).

    Each prior golden ID goes to the cluster holding most of its records (ties: smallest
    cluster_id); a cluster owning several keeps the one with most records (ties: smallest ID)
    and the others merge into it — unless a steward's merge named the survivor (`preferred`);
    clusters owning none get new IDs, numbered after the highest ID ever issued so retired IDs
    are never reused (`next_number` when the prior tables given hold only some of the IDs).
    """
    cluster_ids = pd.Index(
        _factorize_sorted(clusters["cluster_id"].to_numpy())[1], name="cluster_id"
    )
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
    merged_ids = merged["prior_id"].to_numpy()
    survivors = kept.reindex(merged["cluster_id"]).to_numpy()
    merges = _event_frame("merge", survivors, merged_ids, merged_ids + " merged into " + survivors)

    new = assigned.isna().to_numpy()
    first_number = next_number or next_golden_number(prior_golden, prior_xref)
    assigned.iloc[np.flatnonzero(new)] = _format_golden_ids(first_number + np.arange(new.sum()))
    newcomers = _new_id_events(counts, assigned[new])
    return assigned, pd.concat([merges, newcomers], ignore_index=True)


def next_golden_number(prior_golden: pd.DataFrame | None, prior_xref: pd.DataFrame | None) -> int:
    """One past the highest golden ID number ever issued."""
    issued = [
        frame["golden_id"].dropna()
        for frame in (prior_golden, prior_xref)
        if frame is not None and not frame.empty
    ]
    numbers = pd.concat(issued).str.slice(1).astype(np.int64) if issued else pd.Series()
    return int(numbers.max()) + 1 if len(numbers) else 1


def _format_golden_ids(numbers: IntArray) -> np.ndarray:
    """format_golden_id for many numbers at once."""
    return ("G" + _zero_padded(numbers, 10)).astype(object)


def _zero_padded(numbers: IntArray, width: int) -> np.ndarray:
    """f"{n:0{width}d}" for many non-negative numbers at once."""
    text = numbers.astype(str)
    # numpy's zfill cannot size its output from an empty array.
    return np.strings.zfill(text, width) if len(text) else text


def _new_id_events(counts: pd.DataFrame, new_ids: pd.Series) -> pd.DataFrame:
    """A split event for each new ID whose records belonged to a prior golden record, else create.

    `counts` holds prior_id, cluster_id and n records; `new_ids` is indexed by cluster_id.
    """
    split_from = (
        counts[counts["cluster_id"].isin(new_ids.index)]
        .sort_values(["cluster_id", "n", "prior_id"], ascending=[True, False, True])
        .drop_duplicates("cluster_id")
        .set_index("cluster_id")["prior_id"]
    )
    is_split = new_ids.index.isin(split_from.index)
    golden_ids = new_ids.to_numpy()
    related = split_from.reindex(new_ids.index).to_numpy(dtype=object)
    related[~is_split] = None
    # Blank sources keep the concatenation all-text; only split rows use its result.
    source = np.where(is_split, related, "")
    return _event_frame(
        np.where(is_split, "split", "create"),
        golden_ids,
        related,
        np.where(is_split, golden_ids + " split off from " + source, "new customer"),
    )


def _event_frame(
    event_type: object,
    golden_id: np.ndarray,
    related_golden_id: object,
    detail: object,
    changed_fields: object = None,
) -> pd.DataFrame:
    """Events without run/time columns; scalars apply to every event."""
    columns = {
        "event_type": event_type,
        "golden_id": golden_id,
        "related_golden_id": related_golden_id,
        "detail": detail,
        "changed_fields": changed_fields,
    }
    return pd.DataFrame(columns, index=pd.RangeIndex(len(golden_id))).astype(object)


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

    membership = clusters.merge(
        records[["record_key", "source_system", "source_record_id"]], on="record_key"
    )
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

    xref = _xref(membership, golden_by_cluster, clusters, scored_pairs, prior_xref, now, placements)
    events = _numbered_events(events, run_id, now)
    counts = events["event_type"].value_counts().to_dict() if len(events) else {}
    return GoldenResult(
        golden,
        _golden_lineage(lineage, golden_ids),
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
    return _event_frame(
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
    no_events = _event_frame("retire", np.array([], dtype=object), None, "no source records left")
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
    return gone.reset_index(), _event_frame("retire", vanished, None, "no source records left")


def _golden_lineage(lineage: Lineage, golden_ids: np.ndarray) -> pd.DataFrame:
    """Lineage under golden IDs (one per cluster), ordered by golden ID then attribute."""
    golden_rank = _factorize_sorted(golden_ids)[0]
    order = _stable_order([golden_rank[lineage.cluster], lineage.attribute])
    return pd.DataFrame(
        {
            "golden_id": golden_ids[lineage.cluster[order]],
            "attribute": lineage.attributes[lineage.attribute[order]],
            "record_key": lineage.record_key[order],
            "rule": _RULE_LABELS[lineage.rule[order]],
        }
    )


def _xref(
    membership: pd.DataFrame,
    golden_by_cluster: pd.Series,
    clusters: pd.DataFrame,
    scored_pairs: pd.DataFrame | None,
    prior_xref: pd.DataFrame | None,
    now: pd.Timestamp,
    placements: pd.Series | None = None,
) -> pd.DataFrame:
    """Every source record's golden ID with match evidence; linked_at survives while the link
    does. A record a steward's decision placed names the decision, without a match weight."""
    cluster_to_golden = golden_by_cluster.rename("golden_id")
    xref = membership.merge(cluster_to_golden, left_on="cluster_id", right_index=True)
    xref = xref.merge(_match_evidence(clusters, scored_pairs), on="record_key", how="left")
    xref["match_rule"] = xref["match_rule"].fillna("singleton")
    if placements is not None and len(placements):
        placed = placements.reindex(xref["record_key"]).to_numpy(dtype=object)
        by_steward = pd.notna(placed)
        xref["match_rule"] = np.where(by_steward, placed, xref["match_rule"].to_numpy(dtype=object))
        xref["match_weight"] = xref["match_weight"].mask(by_steward)
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
    return xref[list(XREF_COLUMNS)].sort_values("record_key", ignore_index=True)


def _numbered_events(events: pd.DataFrame, run_id: str, now: pd.Timestamp) -> pd.DataFrame:
    """Events with their IDs (run ID and sequence number), run and time."""
    events = events.reset_index(drop=True)
    sequence = _zero_padded(np.arange(len(events)), 7)
    events.insert(0, "run_id", run_id)
    # Inserted as a list, as ever: with no events that keeps the column's float64 dtype.
    events.insert(0, "event_id", (f"{run_id}:" + sequence).tolist())
    events["occurred_at"] = now
    # Typed even when all null, so the table's columns keep one type across writes.
    events["decision_id"] = pd.array([pd.NA] * len(events), dtype="Int64")
    events["steward"] = pd.Series([None] * len(events), dtype=object)
    return events[list(EVENT_COLUMNS)]


def with_event_columns(events: pd.DataFrame) -> pd.DataFrame:
    """Events (this run's and earlier ones) with every column of EVENT_COLUMNS: those logged
    before a column existed get it as NULL, so the table keeps one shape."""
    missing = [c for c in EVENT_COLUMNS if c not in events.columns]
    if missing:
        events = events.assign(**{c: None for c in missing})
    events = events.astype({"decision_id": "Int64"})
    return events[[*EVENT_COLUMNS, *(c for c in events.columns if c not in EVENT_COLUMNS)]]


def outbox_rows(
    events: pd.DataFrame, *, last_seq: int, published: pd.Series | None = None
) -> pd.DataFrame:
    """The outbox rows for `events` not yet in the outbox, numbered on from `last_seq`.

    `published`: the event IDs the outbox already holds (None: all of `events` are new). An
    event keeps the ID it was logged under, so a publisher re-sending it after a crash sends the
    same ID. New rows are numbered in the events' order (occurred_at, then event ID: a run's
    own sequence), so the feed replays history in the order it happened.
    """
    events = with_event_columns(events)
    if published is not None:
        events = events[~events["event_id"].isin(published)]
    events = events.sort_values(["occurred_at", "event_id"], kind="stable", ignore_index=True)
    rows = events[[c for c in OUTBOX_COLUMNS if c != "seq"]].copy()
    rows.insert(0, "seq", np.arange(last_seq + 1, last_seq + 1 + len(rows), dtype=np.int64))
    rows["occurred_at"] = pd.to_datetime(rows["occurred_at"])
    return rows


def _match_evidence(clusters: pd.DataFrame, scored_pairs: pd.DataFrame | None) -> pd.DataFrame:
    """For each record, its strongest auto-match edge: which rule linked it and with what weight."""
    # Typed like the evidence, so the xref's merge on record_key works with none of it.
    empty = pd.DataFrame(
        {
            "record_key": pd.Series(dtype=object),
            "match_rule": pd.Series(dtype=object),
            "match_weight": pd.Series(dtype=float),
        }
    )
    if scored_pairs is None or scored_pairs.empty:
        return empty
    linked = scored_pairs[scored_pairs["zone"] == "auto_match"]
    if linked.empty:  # every pair uncertain or rejected: all records are linked as singletons
        return empty
    rule = linked["deterministic_rule"].fillna("probabilistic")
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
    # Codes group the edges by record as well as the keys themselves but sort far faster.
    edges["record"] = pd.factorize(edges["record_key"])[0]
    best = edges.sort_values(["record", "match_weight"], ascending=[True, False])
    best = best.drop_duplicates("record").drop(columns="record")
    # An edge only explains the link if both ends ended up in the same cluster.
    return best[best["record_key"].isin(clusters.loc[clusters["cluster_size"] > 1, "record_key"])]


HISTORY_VERSIONED = (*GOLDEN_ATTRIBUTES, "source_count", "source_systems", "status", "survivor_id")
HISTORY_COLUMNS = ("golden_id", *HISTORY_VERSIONED, "valid_from", "valid_to", "run_id")


def _version_text(frame: pd.DataFrame) -> pd.DataFrame:
    """golden_id, and the versioned columns as the text versions are compared by (null: "")."""
    versioned = frame[list(HISTORY_VERSIONED)]
    text = versioned.astype(str).where(versioned.notna(), "")
    return text.assign(golden_id=frame["golden_id"].to_numpy())


def _changed_ids(current: pd.DataFrame, open_rows: pd.DataFrame) -> pd.Series:
    """Golden IDs whose versioned values differ from their open version's, or that have none."""
    joined = _version_text(current).merge(
        _version_text(open_rows), on="golden_id", how="left", suffixes=("", "_open"), indicator=True
    )
    changed = joined["_merge"] != "both"
    for column in HISTORY_VERSIONED:
        changed |= joined[column] != joined[f"{column}_open"]
    return joined.loc[changed, "golden_id"]


def update_history(
    prior_history: pd.DataFrame | None, golden: pd.DataFrame, *, now: pd.Timestamp, run_id: str
) -> pd.DataFrame:
    """Every golden record's versions with valid_from / valid_to (NULL while current).

    A record whose attributes, sources or status changed gets its open version closed at `now`
    and a new one opened, so "what did we know about this customer on date D" is a query:
    valid_from <= D and (valid_to is null or D < valid_to).
    """
    current = golden[list(("golden_id", *HISTORY_VERSIONED))].copy()
    if prior_history is None or prior_history.empty:
        opened = current.assign(valid_from=now, valid_to=None, run_id=run_id)
        return _history_frame(opened)
    history = prior_history.copy()
    history["valid_to"] = pd.to_datetime(history["valid_to"])
    is_open = history["valid_to"].isna()
    changed_ids = _changed_ids(current, history[is_open])
    closing = is_open & history["golden_id"].isin(changed_ids)
    history.loc[closing, "valid_to"] = now
    opened = current[current["golden_id"].isin(changed_ids)].assign(
        valid_from=now, valid_to=None, run_id=run_id
    )
    if opened.empty:  # nothing changed: no empty frame in the concatenation (pandas warns)
        return _history_frame(history)
    return _history_frame(pd.concat([history, _typed_like(opened, history)], ignore_index=True))


def _typed_like(frame: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its all-null columns in `like`'s dtypes: pandas warns that a concatenation
    will stop ignoring all-null columns when it picks the result's dtypes."""
    empty = [c for c in frame.columns if c in like.columns and frame[c].isna().all()]
    return frame.astype({c: like[c].dtype for c in empty}) if empty else frame


def _history_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[list(HISTORY_COLUMNS)].copy()
    out["valid_from"] = pd.to_datetime(out["valid_from"])
    out["valid_to"] = pd.to_datetime(out["valid_to"])
    return out.sort_values(["golden_id", "valid_from"], ignore_index=True)
