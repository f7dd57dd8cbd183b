"""Survivorship: per cluster and attribute, the source record whose value wins under an
ordered rule chain (configurable), with the lineage of every value. Fields that belong together
(the address parts) survive together from one record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from matching.golden.arrays import IntArray, argsort_stable, factorize_sorted, stable_order
from matching.golden.columns import GOLDEN_ATTRIBUTES

SurvivorshipRule = Literal[
    "valid_over_invalid", "source_priority", "most_recent", "most_complete", "most_frequent"
]


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


Unit = tuple[str, list[str]]


# Lineage rules by code: the rule chain decides, or there was nothing (or nothing but the
# record key) to decide on.
RULE_LABELS = np.array(
    ["only_candidate", *get_args(SurvivorshipRule), "record_key_tie_break"], dtype=object
)


_RULE_CODES = {str(label): code for code, label in enumerate(RULE_LABELS)}


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


def survivorship_columns(config: SurvivorshipConfig) -> list[str]:
    """The record columns survivorship reads (those a table has of them)."""
    members = [m for lead, group in _survivorship_units(config) for m in (lead, *group)]
    wanted = ["record_key", "source_trust", "source_updated_at", "id_valid"]
    return list(dict.fromkeys([*wanted, *GOLDEN_ATTRIBUTES, *members]))


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
    cluster_codes, cluster_ids = factorize_sorted(frame["cluster_id"].to_numpy())
    keys = _shared_keys(frame, filled[attributes].sum(axis=1))
    return _Pool(
        frame=frame,
        filled=filled,
        cluster_index=pd.Index(cluster_ids, name="cluster_id"),
        clusters=cluster_codes,
        by_record_key=argsort_stable(frame["record_key"].to_numpy()),
        keys=keys,
        ranks={rule: _descending_rank(key) for rule, key in keys.items()},
    )


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
    order = stable_order([clusters, *ranks])
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


def golden_lineage(lineage: Lineage, golden_ids: np.ndarray) -> pd.DataFrame:
    """Lineage under golden IDs (one per cluster), ordered by golden ID then attribute."""
    golden_rank = factorize_sorted(golden_ids)[0]
    order = stable_order([golden_rank[lineage.cluster], lineage.attribute])
    return pd.DataFrame(
        {
            "golden_id": golden_ids[lineage.cluster[order]],
            "attribute": lineage.attributes[lineage.attribute[order]],
            "record_key": lineage.record_key[order],
            "rule": RULE_LABELS[lineage.rule[order]],
        }
    )
