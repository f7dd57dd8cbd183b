"""The matching run: block → compare → train → predict → rules and zones → cluster.

Each step is its own function taking and returning tables, so a pipeline can persist what
it wants between them (the trained model as JSON, the scored pairs) and rerun one step;
`link` runs them all (and times each stage: `LinkResult.timings`). Steps after
`candidate_pairs` expect records prepared by it (sorted by `record_key`): the pair frames
carry `idx_l` / `idx_r`, positions in that order, and later steps work on those positions
rather than looking record keys up.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from matching.blocking import (
    BlockingReport,
    block_pairs,
    comparable_pair_count,
    prepare_records,
    within_block_pairs,
)
from matching.clustering import ClusterResult, cluster_positions, component_labels
from matching.comparison import GAMMA_DTYPE, RecordColumns, compare_pairs
from matching.config import MatchingConfig
from matching.lookalikes import LOOKALIKE_COLUMN, add_lookalike_names
from matching.model import FellegiSunterModel, train_model
from matching.rules import (
    SPLIT_BY_CLUSTERING,
    apply_rules,
    assign_zones,
    condition_mask,
    rule_masks,
)
from matching.stage_clock import StageClock

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
    """`mdm.scored_pairs` exactly: contract columns in order, plain strings (no categoricals).
    Built from the columns' arrays, not a selection of the frame (no copy of every block)."""
    data = {name: scored[name].to_numpy() for name in scored_pair_columns(config)}
    data["blocking_rule"] = scored["blocking_rule"].to_numpy(dtype=object)
    return pd.DataFrame(data, copy=False)


@dataclass
class LinkResult:
    scored_pairs: pd.DataFrame  # exactly `scored_pair_columns(config)`
    clusters: pd.DataFrame  # record_key, cluster_id, cluster_size
    model: FellegiSunterModel
    blocking_report: BlockingReport
    zone_counts: dict[str, int]
    review_clusters: list[list[str]]
    cluster_result: ClusterResult
    # Seconds per stage: block, compare (and the rules' conditions), train, predict (weights,
    # zones, rules), cluster (and the contract frame).
    timings: dict[str, float] = field(default_factory=dict)
    cpu_timings: dict[str, float] = field(default_factory=dict)  # CPU seconds, all threads
    # The look-alike substitutions (a, b, support) the run compared names with, None when no
    # comparison reads them: kept with the model, so `POST /match` spells a new name the same
    # way (`matching.online`).
    lookalike_substitutions: pd.DataFrame | None = None


def learn_from_pairs(
    config: MatchingConfig, columns: RecordColumns, idx_l: np.ndarray, idx_r: np.ndarray
) -> pd.DataFrame | None:
    """Offer the columns learned from the candidate pairs that the config compares on
    (`name_lookalike`: look-alike characters) unless `columns` has them already; the
    substitutions learned (None when nothing was learned now)."""
    uses = any(level.column == LOOKALIKE_COLUMN for c in config.comparisons for level in c.levels)
    if uses and not columns.has(LOOKALIKE_COLUMN):
        substitutions = add_lookalike_names(
            columns, idx_l, idx_r, min_support=config.training.lookalike_min_support
        )
        log.info("learned %d look-alike character substitutions", len(substitutions))
        return substitutions
    return None


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
    learn_from_pairs(config, columns, idx_l, idx_r)
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
    pairs: pd.DataFrame | None = None,
    masks: dict[str, np.ndarray] | None = None,
    columns: RecordColumns | None = None,
    seed: int = 0,
    workers: int = 1,
) -> FellegiSunterModel:
    """A Fellegi-Sunter model: u from random pairs, m and λ by EM on `gammas` (candidates).

    Given the candidate `pairs` (or the rules' `masks` from `rule_masks_for`), EM leaves out
    the pairs a `never_auto_match` rule holds for: twins, relatives sharing a phone and an
    address, namesakes born apart. They agree on several fields at once, which the model's
    independence assumption cannot explain, so EM would count them half as matches and
    learn that matches often disagree on name, birth date and ID. The rules keep them from
    being merged anyway; left out, m describes real matches.
    """
    columns = columns or RecordColumns(records)
    source = (
        records[config.source_column].to_numpy() if config.link_type != "link_and_dedupe" else None
    )
    if pairs is not None:
        learn_from_pairs(
            config,
            columns,
            pairs["idx_l"].to_numpy(dtype=np.int64),
            pairs["idx_r"].to_numpy(dtype=np.int64),
        )
    if masks is None and pairs is not None:
        masks = rule_masks_for(config, columns, pairs, gammas)
    excluded = _never_auto_match(config, masks, len(gammas))
    if excluded.all():  # nothing left to learn from: EM on every candidate instead
        excluded[:] = False
    return train_model(
        columns,
        config,
        gammas[~excluded] if excluded.any() else gammas,
        comparable_pair_count(records, config),
        source=source,
        seed=seed,
        workers=workers,
        excluded_pairs=int(excluded.sum()),
    )


def rule_masks_for(
    config: MatchingConfig,
    columns: RecordColumns,
    pairs: pd.DataFrame,
    gammas: pd.DataFrame,
) -> dict[str, np.ndarray]:
    """Where each deterministic rule's condition holds, for the pairs and their gammas."""
    return rule_masks(
        config.deterministic_rules,
        columns,
        pairs["idx_l"].to_numpy(dtype=np.int64),
        pairs["idx_r"].to_numpy(dtype=np.int64),
        comparisons=config.comparisons,
        gammas=gammas,
    )


def _never_auto_match(
    config: MatchingConfig, masks: dict[str, np.ndarray] | None, n: int
) -> np.ndarray:
    excluded = np.zeros(n, dtype=bool)
    for rule in config.deterministic_rules:
        held = rule.decision == "never_auto_match" and rule.exclude_from_training
        if held and masks is not None:
            excluded |= masks[rule.name]
    return excluded


def predict(
    records: pd.DataFrame,
    pairs: pd.DataFrame,
    gammas: pd.DataFrame,
    model: FellegiSunterModel,
    *,
    columns: RecordColumns | None = None,
    term_frequencies: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Pairs with their gammas, `match_weight` and `match_probability` (tf from `records`,
    or `term_frequencies` per record when given: counted over more records than `records`)."""
    columns = columns or RecordColumns(records)
    idx_l = pairs["idx_l"].to_numpy(dtype=np.int64)
    idx_r = pairs["idx_r"].to_numpy(dtype=np.int64)
    tf = model.term_frequencies(columns) if term_frequencies is None else term_frequencies
    weight = model.match_weights(gammas, idx_l, idx_r, tf)
    data = {name: pairs[name].to_numpy() for name in pairs.columns}
    if "blocking_rule" in pairs.columns:
        data["blocking_rule"] = pairs["blocking_rule"].array  # keep the categorical
    data.update({name: gammas[name].to_numpy() for name in gammas.columns})
    data["match_weight"] = weight
    data["match_probability"] = model.probability(weight)
    return pd.DataFrame(data)


def decide(
    records: pd.DataFrame,
    scored: pd.DataFrame,
    config: MatchingConfig,
    *,
    masks: dict[str, np.ndarray] | None = None,
    columns: RecordColumns | None = None,
) -> pd.DataFrame:
    """Zones from the thresholds, then the deterministic rules over them (their `masks`
    are computed unless given)."""
    columns = columns or RecordColumns(records)
    zone = assign_zones(scored["match_probability"].to_numpy(), config.thresholds)
    if masks is None:
        masks = rule_masks_for(config, columns, scored, scored)
    probability, zone, decided_by = apply_rules(
        scored["match_probability"].to_numpy(), zone, config.deterministic_rules, masks
    )
    scored = scored.copy(deep=False)  # new columns only: the caller's frame is left alone
    scored["match_probability"] = probability
    scored["zone"] = zone
    scored["deterministic_rule"] = decided_by
    return scored


def _steward_positions(index: pd.Index, frame: pd.DataFrame | None) -> np.ndarray:
    """(low, high) record positions of steward pairs naming known records."""
    if frame is None or len(frame) == 0:
        return np.empty((0, 2), dtype=np.int64)
    left = index.get_indexer(pd.Index(frame["record_key_l"]))
    right = index.get_indexer(pd.Index(frame["record_key_r"]))
    known = (left >= 0) & (right >= 0) & (left != right)
    if not known.all():
        log.warning("%d steward pairs name unknown records, ignored", int((~known).sum()))
    return np.column_stack([np.minimum(left, right), np.maximum(left, right)])[known]


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
    anyway. Pairs a steward must-linked are exempt, and so are pairs
    joined through must-links: the rule only forbids *automatic* merges.
    `edges` carry `idx_l` / `idx_r` (positions in `records`) or record keys.
    """
    columns = columns or RecordColumns(records)
    index = pd.Index(records["record_key"])
    if {"idx_l", "idx_r"} <= set(edges.columns):
        edge_pairs = edges[["idx_l", "idx_r"]].to_numpy(dtype=np.int64)
    else:
        edge_pairs = _steward_positions(index, edges[["record_key_l", "record_key_r"]])
    forbidden = _rule_cannot_positions(
        columns, edge_pairs, _steward_positions(index, must_link), config
    )
    keys = records["record_key"].to_numpy()
    return pd.DataFrame(
        {"record_key_l": keys[forbidden[:, 0]], "record_key_r": keys[forbidden[:, 1]]}
    )


def _rule_cannot_positions(
    columns: RecordColumns, edge_pairs: np.ndarray, must: np.ndarray, config: MatchingConfig
) -> np.ndarray:
    """`rule_cannot_links` on positions: (k, 2) array of forbidden (low, high) pairs."""
    rules = [
        r for r in config.deterministic_rules if r.decision in ("never_auto_match", "never_chained")
    ]
    if not rules or len(edge_pairs) + len(must) == 0:
        return np.empty((0, 2), dtype=np.int64)
    n = len(columns)
    links = np.concatenate([edge_pairs, must])
    labels = component_labels(n, links[:, 0], links[:, 1])
    sizes = np.bincount(labels)
    in_small = np.flatnonzero((sizes[labels] >= 2) & (sizes[labels] <= config.max_cluster_size))
    idx_l, idx_r = within_block_pairs(labels[in_small], in_small)
    forbidden = np.zeros(len(idx_l), dtype=bool)
    direct = None
    for rule in rules:
        holds = condition_mask(rule.when, columns, idx_l, idx_r, comparisons=config.comparisons)
        if rule.decision == "never_chained":
            if direct is None:  # the pairs that are auto-match edges themselves
                direct = np.isin(idx_l * n + idx_r, edge_pairs[:, 0] * n + edge_pairs[:, 1])
            holds &= ~direct
        forbidden |= holds
    if len(must):
        # Exempt what stewards joined, directly or through other must-links: a merge pins
        # every record of both golden records, and `same` a-b plus b-c joins a and c too.
        steward_group = component_labels(n, must[:, 0], must[:, 1])
        forbidden &= steward_group[idx_l] != steward_group[idx_r]
    return np.column_stack([idx_l[forbidden], idx_r[forbidden]])


def cluster(
    records: pd.DataFrame,
    scored: pd.DataFrame,
    config: MatchingConfig,
    *,
    must_link: pd.DataFrame | None = None,
    cannot_link: pd.DataFrame | None = None,
    columns: RecordColumns | None = None,
) -> ClusterResult:
    """Clusters from the auto-match pairs, steward decisions and the never-auto-match rules.

    `records` prepared; `scored` as `decide` returns it (with `idx_l` / `idx_r`), or pairs
    of record keys only (then looked up).
    """
    columns = columns or RecordColumns(records)
    index = pd.Index(records["record_key"])
    # Every scored pair's record positions, looked up once: the look-alike characters are
    # learned from all of them, the clusters built from the auto-match ones.
    if {"idx_l", "idx_r"} <= set(scored.columns):
        every_l = scored["idx_l"].to_numpy(dtype=np.int64)
        every_r = scored["idx_r"].to_numpy(dtype=np.int64)
    else:
        every_l = index.get_indexer(pd.Index(scored["record_key_l"].to_numpy()))
        every_r = index.get_indexer(pd.Index(scored["record_key_r"].to_numpy()))
    known = (every_l >= 0) & (every_r >= 0)
    learn_from_pairs(config, columns, every_l[known], every_r[known])
    auto = known & (scored["zone"] == "auto_match").to_numpy()
    left, right = every_l[auto], every_r[auto]
    edge_pairs = np.column_stack([np.minimum(left, right), np.maximum(left, right)])
    weights = scored["match_weight"].to_numpy(dtype=np.float64)[auto]
    must = _steward_positions(index, must_link)
    derived = _rule_cannot_positions(columns, edge_pairs, must, config)
    cannot = np.concatenate([_steward_positions(index, cannot_link), derived])
    return cluster_positions(
        records["record_key"].to_numpy(dtype=object),
        edge_pairs,
        weights,
        max_cluster_size=config.max_cluster_size,
        must=must,
        cannot=cannot,
    )


def review_split_pairs(scored: pd.DataFrame, clusters: pd.DataFrame) -> pd.DataFrame:
    """`scored` with every auto-match pair whose records ended in different clusters moved to
    the review zone, `deterministic_rule` saying why: what a constraint breaks reaches a
    steward instead of staying apart silently. `scored` carries `idx_l` / `idx_r`, positions
    in `clusters` (sorted by record_key, as `cluster` returns it)."""
    cluster_id = pd.factorize(clusters["cluster_id"])[0]
    left = scored["idx_l"].to_numpy(dtype=np.int64)
    right = scored["idx_r"].to_numpy(dtype=np.int64)
    split = (scored["zone"] == "auto_match").to_numpy() & (cluster_id[left] != cluster_id[right])
    if not split.any():
        return scored
    scored = scored.copy(deep=False)
    zone = scored["zone"].to_numpy(dtype=object).copy()
    rule = scored["deterministic_rule"].to_numpy(dtype=object).copy()
    zone[split] = "review"
    rule[split] = SPLIT_BY_CLUSTERING
    scored["zone"], scored["deterministic_rule"] = zone, rule
    log.info("%d auto-match pairs kept apart by clustering sent to review", int(split.sum()))
    return scored


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
    stages = StageClock()
    lap = stages.lap

    prepared = prepare_records(records, config, only_needed=True)
    columns = RecordColumns(prepared)
    pairs, report = block_pairs(prepared, config, columns=columns)
    lap("block")
    substitutions = learn_from_pairs(
        config,
        columns,
        pairs["idx_l"].to_numpy(dtype=np.int64),
        pairs["idx_r"].to_numpy(dtype=np.int64),
    )
    gammas = compare(
        prepared, pairs, config, columns=columns, workers=workers, chunk_size=chunk_size
    )
    masks = rule_masks_for(config, columns, pairs, gammas)
    lap("compare")
    if model is None:
        model = train(
            prepared, config, gammas, masks=masks, columns=columns, seed=seed, workers=workers
        )
    else:
        model.check_compatible(config)
    lap("train")
    scored = predict(prepared, pairs, gammas, model, columns=columns)
    del gammas, pairs  # held by `scored` now
    scored = decide(prepared, scored, config, masks=masks, columns=columns)
    del masks
    lap("predict")
    clustered = cluster(
        prepared,
        scored,
        config,
        must_link=must_link,
        cannot_link=cannot_link,
        columns=columns,
    )
    n_records = len(prepared)
    # Every column encoding and the prepared copy of the records go before the contract
    # table is built: at millions of records they are the largest things held.
    del columns, prepared
    scored = review_split_pairs(scored, clustered.clusters)
    contract = to_contract(scored, config)
    del scored
    lap("cluster")
    counts = zone_counts(contract)
    log.info(
        "matched %d records: %d candidate pairs, zones %s, %d clusters for review",
        n_records,
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
        timings=stages.seconds,
        cpu_timings=stages.cpu_seconds,
        lookalike_substitutions=substitutions,
    )
