"""The matching run: block → compare → train → predict → rules and zones → cluster.

Each step is its own function taking and returning tables, so a pipeline can persist what
it wants between them (the trained model as JSON, the scored pairs) and rerun one step;
`link` runs them all. Steps after `candidate_pairs` expect records prepared by it (sorted by
`record_key`): the pair frames carry `idx_l` / `idx_r`, positions in that order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from matching.blocking import (
    BlockingReport,
    block_pairs,
    comparable_pair_count,
    prepare_records,
)
from matching.clustering import ClusterResult, cluster_records, component_labels
from matching.comparison import GAMMA_DTYPE, RecordColumns, compare_pairs
from matching.config import MatchingConfig
from matching.model import FellegiSunterModel, train_model
from matching.rules import apply_rules, assign_zones, condition_mask, rule_masks

log = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 1_000_000


def scored_pair_columns(config: MatchingConfig) -> list[str]:
    """The columns of `mdm.scored_pairs` (docs/CONTRACTS.md §4), in order."""
    return [
        "record_key_l",
        "record_key_r",
        "blocking_rule",
        *[c.gamma_column for c in config.comparisons],
        "match_weight",
        "match_probability",
        "zone",
        "deterministic_rule",
    ]


def to_contract(scored: pd.DataFrame, config: MatchingConfig) -> pd.DataFrame:
    """`mdm.scored_pairs` exactly: contract columns in order, plain strings (no categoricals)."""
    contract = scored[scored_pair_columns(config)].reset_index(drop=True)
    contract["blocking_rule"] = contract["blocking_rule"].astype(object)
    return contract


@dataclass
class LinkResult:
    scored_pairs: pd.DataFrame  # exactly `scored_pair_columns(config)`
    clusters: pd.DataFrame  # record_key, cluster_id, cluster_size
    model: FellegiSunterModel
    blocking_report: BlockingReport
    zone_counts: dict[str, int]
    review_clusters: list[list[str]]
    cluster_result: ClusterResult


def candidate_pairs(
    records: pd.DataFrame, config: MatchingConfig
) -> tuple[pd.DataFrame, pd.DataFrame, BlockingReport]:
    """(prepared records, candidate pairs, blocking report)."""
    prepared = prepare_records(records, config)
    pairs, report = block_pairs(prepared, config)
    return prepared, pairs, report


def compare(
    records: pd.DataFrame,
    pairs: pd.DataFrame,
    config: MatchingConfig,
    *,
    columns: RecordColumns | None = None,
    workers: int = 1,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> pd.DataFrame:
    """Gamma columns for `pairs`, computed chunk by chunk to bound scorer memory."""
    columns = columns or RecordColumns(records)
    idx_l = pairs["idx_l"].to_numpy(dtype=np.int64)
    idx_r = pairs["idx_r"].to_numpy(dtype=np.int64)
    chunks = [
        compare_pairs(
            columns,
            idx_l[start : start + chunk_size],
            idx_r[start : start + chunk_size],
            config.comparisons,
            workers=workers,
        )
        for start in range(0, len(pairs), chunk_size)
    ]
    if not chunks:
        return pd.DataFrame(
            {c.gamma_column: np.empty(0, dtype=GAMMA_DTYPE) for c in config.comparisons}
        )
    return pd.concat(chunks, ignore_index=True)


def train(
    records: pd.DataFrame,
    config: MatchingConfig,
    gammas: pd.DataFrame,
    *,
    columns: RecordColumns | None = None,
    seed: int = 0,
    workers: int = 1,
) -> FellegiSunterModel:
    """A Fellegi-Sunter model: u from random pairs, m and λ by EM on `gammas` (candidates)."""
    columns = columns or RecordColumns(records)
    source = (
        records[config.source_column].to_numpy() if config.link_type != "link_and_dedupe" else None
    )
    return train_model(
        columns,
        config,
        gammas,
        comparable_pair_count(records, config),
        source=source,
        seed=seed,
        workers=workers,
    )


def predict(
    records: pd.DataFrame,
    pairs: pd.DataFrame,
    gammas: pd.DataFrame,
    model: FellegiSunterModel,
    *,
    columns: RecordColumns | None = None,
) -> pd.DataFrame:
    """Pairs with their gammas, `match_weight` and `match_probability` (tf from `records`)."""
    columns = columns or RecordColumns(records)
    idx_l = pairs["idx_l"].to_numpy(dtype=np.int64)
    idx_r = pairs["idx_r"].to_numpy(dtype=np.int64)
    tf = model.term_frequencies(columns.frame)
    weight = model.match_weights(gammas, idx_l, idx_r, tf)
    scored = pd.concat([pairs.reset_index(drop=True), gammas.reset_index(drop=True)], axis=1)
    scored["match_weight"] = weight
    scored["match_probability"] = model.probability(weight)
    return scored


def decide(
    records: pd.DataFrame,
    scored: pd.DataFrame,
    config: MatchingConfig,
    *,
    columns: RecordColumns | None = None,
) -> pd.DataFrame:
    """Zones from the thresholds, then the deterministic rules over them."""
    columns = columns or RecordColumns(records)
    idx_l = scored["idx_l"].to_numpy(dtype=np.int64)
    idx_r = scored["idx_r"].to_numpy(dtype=np.int64)
    zone = assign_zones(scored["match_probability"].to_numpy(), config.thresholds)
    masks = rule_masks(config.deterministic_rules, columns, idx_l, idx_r)
    probability, zone, decided_by = apply_rules(
        scored["match_probability"].to_numpy(), zone, config.deterministic_rules, masks
    )
    scored = scored.copy()
    scored["match_probability"] = probability
    scored["zone"] = zone
    scored["deterministic_rule"] = decided_by
    return scored


def rule_cannot_links(
    records: pd.DataFrame,
    edges: pd.DataFrame,
    config: MatchingConfig,
    *,
    must_link: pd.DataFrame | None = None,
    columns: RecordColumns | None = None,
) -> pd.DataFrame:
    """Pairs a `never_auto_match` rule forbids that the edges would put into one cluster.

    A rule only caps the pairs blocking produced; two twins with different valid IDs can
    still be chained through a third record. So the rules are evaluated on every pair inside
    each tentative component (auto-match edges plus must-links) and the pairs that hold
    become cannot-links. Components over max_cluster_size are skipped: they stay unmerged
    anyway. Pairs a steward must-linked are exempt: the rule only forbids *automatic* merges.
    """
    rules = [r for r in config.deterministic_rules if r.decision == "never_auto_match"]
    empty = pd.DataFrame({"record_key_l": [], "record_key_r": []}, dtype=object)
    if not rules or len(edges) == 0:
        return empty
    columns = columns or RecordColumns(records)
    index = pd.Index(records["record_key"])
    link_frames = [edges[["record_key_l", "record_key_r"]]]
    if must_link is not None and len(must_link):
        link_frames.append(must_link[["record_key_l", "record_key_r"]])
    links = pd.concat(link_frames, ignore_index=True)
    left = index.get_indexer(links["record_key_l"])
    right = index.get_indexer(links["record_key_r"])
    known = (left >= 0) & (right >= 0)
    labels = component_labels(len(records), left[known], right[known])
    sizes = np.bincount(labels)
    in_small = (sizes[labels] >= 2) & (sizes[labels] <= config.max_cluster_size)
    members = pd.DataFrame({"component": labels[in_small], "idx": np.flatnonzero(in_small)})
    within = members.merge(members, on="component", suffixes=("_l", "_r"))
    within = within[within["idx_l"] < within["idx_r"]]
    idx_l = within["idx_l"].to_numpy(dtype=np.int64)
    idx_r = within["idx_r"].to_numpy(dtype=np.int64)
    forbidden = np.zeros(len(within), dtype=bool)
    for rule in rules:
        forbidden |= condition_mask(rule.when, columns, idx_l, idx_r)
    if must_link is not None and len(must_link):
        # Exempt steward must-links, matched on ordered position codes.
        n = len(records)
        steward_l = index.get_indexer(must_link["record_key_l"])
        steward_r = index.get_indexer(must_link["record_key_r"])
        steward = np.minimum(steward_l, steward_r) * n + np.maximum(steward_l, steward_r)
        forbidden &= ~np.isin(idx_l * n + idx_r, steward)
    keys = records["record_key"].to_numpy()
    result = pd.DataFrame(
        {"record_key_l": keys[idx_l[forbidden]], "record_key_r": keys[idx_r[forbidden]]}
    )
    return result.reset_index(drop=True)


def cluster(
    records: pd.DataFrame,
    scored: pd.DataFrame,
    config: MatchingConfig,
    *,
    must_link: pd.DataFrame | None = None,
    cannot_link: pd.DataFrame | None = None,
    columns: RecordColumns | None = None,
) -> ClusterResult:
    """Clusters from the auto-match pairs, steward decisions and the never-auto-match rules."""
    edges = scored.loc[
        scored["zone"] == "auto_match", ["record_key_l", "record_key_r", "match_weight"]
    ]
    derived = rule_cannot_links(records, edges, config, must_link=must_link, columns=columns)
    frames = [f for f in (cannot_link, derived) if f is not None and len(f)]
    all_cannot = (
        pd.concat([f[["record_key_l", "record_key_r"]] for f in frames], ignore_index=True)
        if frames
        else None
    )
    return cluster_records(
        records["record_key"],
        edges,
        max_cluster_size=config.max_cluster_size,
        must_link=must_link,
        cannot_link=all_cannot,
    )


def zone_counts(scored: pd.DataFrame) -> dict[str, int]:
    counts = scored["zone"].value_counts()
    return {zone: int(counts.get(zone, 0)) for zone in ("auto_match", "review", "non_match")}


def link(
    records: pd.DataFrame,
    config: MatchingConfig,
    *,
    must_link: pd.DataFrame | None = None,
    cannot_link: pd.DataFrame | None = None,
    model: FellegiSunterModel | None = None,
    seed: int = 0,
    workers: int = 1,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> LinkResult:
    """Match `records` (canonical party records) end to end.

    Trains a model unless one is given (then it must have been trained on the same
    comparisons). `must_link` / `cannot_link`: steward decisions as pairs of record keys.
    """
    prepared = prepare_records(records, config)
    columns = RecordColumns(prepared)
    pairs, report = block_pairs(prepared, config, columns=columns)
    gammas = compare(
        prepared, pairs, config, columns=columns, workers=workers, chunk_size=chunk_size
    )
    if model is None:
        model = train(prepared, config, gammas, columns=columns, seed=seed, workers=workers)
    else:
        model.check_compatible(config)
    scored = predict(prepared, pairs, gammas, model, columns=columns)
    scored = decide(prepared, scored, config, columns=columns)
    clustered = cluster(
        prepared,
        scored,
        config,
        must_link=must_link,
        cannot_link=cannot_link,
        columns=columns,
    )
    contract = to_contract(scored, config)
    counts = zone_counts(contract)
    log.info(
        "matched %d records: %d candidate pairs, zones %s, %d clusters for review",
        len(prepared),
        len(contract),
        counts,
        len(clustered.review_clusters),
    )
    return LinkResult(
        scored_pairs=contract,
        clusters=clustered.clusters,
        model=model,
        blocking_report=report,
        zone_counts=counts,
        review_clusters=clustered.review_clusters,
        cluster_result=clustered,
    )
