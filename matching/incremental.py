"""A steward decision applied to the clusters it touches, without a full run.

A decision adds (or, revoked, removes) must-link and cannot-link pairs between a few records.
Clustering works on *tentative components* — records joined by auto-match edges and must-links —
and nothing in one component depends on another's records: the never-auto-match rules are
evaluated on the pairs inside a component, cannot-links cut inside it, the size guard counts
it. So re-clustering only the components that hold the records a decision names, together
with every prior golden record holding one of them (the closure `touched_region` takes),
repeats the full run's steps on those records and gives the full run's clusters there.
Survivorship, golden IDs, xref, lineage and history are per cluster and per golden ID, so they
follow. Two inputs are global and are passed in: the look-alike spellings (learned from every
candidate pair, `lookalike_spellings`) and the next golden ID number.

Zones are recomputed from the stored match probabilities and gammas (`decide`), not taken as
stored: the stored zones already carry the previous clustering (`split_by_clustering`), which
the new constraints may undo.

The same module says which records a decision placed (`decision_placements`: their xref
`match_rule` names it) and which events a decision caused (`credit_events`), for both the
quick apply and the full run, so the two write the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from matching.blocking import block_pairs, prepare_records
from matching.clustering import ClusterResult, component_labels
from matching.comparison import RecordColumns
from matching.config import BlockingRule, MatchingConfig
from matching.engine import (
    cluster,
    compare,
    decide,
    predict,
    review_split_pairs,
    rule_masks_for,
    to_contract,
)
from matching.golden import (
    GoldenResult,
    SurvivorshipConfig,
    build_golden_records,
    update_history,
)
from matching.lookalikes import LOOKALIKE_COLUMN, lookalike_names
from matching.model import FellegiSunterModel
from matching.online import block_key_hashes, rule_caps
from matching.rules import SPLIT_BY_CLUSTERING
from matching.stage_clock import StageClock
from matching.stewardship import PAIR_COLUMNS, Constraints

#: The xref match_rule of a record a steward's decision placed: `steward:<decision_id>`.
STEWARD_RULE_PREFIX = "steward:"


def steward_rule(decision_id: int) -> str:
    return f"{STEWARD_RULE_PREFIX}{int(decision_id)}"


def applied_config_json(matching: MatchingConfig, survivorship: SurvivorshipConfig) -> str:
    """The rules a run clustered and survived with, as stored beside its model."""
    return json.dumps(
        {
            "matching": matching.model_dump(mode="json"),
            "survivorship": survivorship.model_dump(mode="json"),
        },
        ensure_ascii=False,
    )


def configs_from_json(text: str) -> tuple[MatchingConfig, SurvivorshipConfig]:
    """`applied_config_json` read back."""
    document = json.loads(text)
    return (
        MatchingConfig.model_validate(document["matching"]),
        SurvivorshipConfig.model_validate(document["survivorship"]),
    )


def tentative_edges(scored: pd.DataFrame) -> pd.DataFrame:
    """The scored pairs clustering links on: auto-match, and those only the previous
    clustering moved to review (`split_by_clustering`: auto-match before it)."""
    auto = (scored["zone"] == "auto_match") | (scored["deterministic_rule"] == SPLIT_BY_CLUSTERING)
    return scored.loc[auto.to_numpy(), PAIR_COLUMNS]


def touched_region(
    record_keys: Iterable[str],
    golden_ids: Iterable[str],
    *,
    scored: pd.DataFrame,
    must_link: pd.DataFrame,
    xref: pd.DataFrame,
) -> np.ndarray:
    """The sorted record keys a decision's re-clustering must cover.

    The records of the tentative components holding `record_keys` or a record of `golden_ids`,
    closed under the prior golden records (`xref`) so that no prior golden record is left half
    in and half out. `scored` holds every scored pair (`record_key_l`, `record_key_r`, `zone`,
    `deterministic_rule`), `must_link` every active must-link pair.
    """
    edges = pd.concat([tentative_edges(scored), must_link[PAIR_COLUMNS]], ignore_index=True)
    keys = pd.Index(
        pd.unique(
            np.concatenate(
                [
                    xref["record_key"].to_numpy(dtype=object),
                    edges["record_key_l"].to_numpy(dtype=object),
                    edges["record_key_r"].to_numpy(dtype=object),
                    np.asarray(list(record_keys), dtype=object),
                ]
            )
        )
    )
    goldens = pd.Index(pd.unique(xref["golden_id"].to_numpy(dtype=object)))
    n = len(keys)
    # A golden record is a node of its own joined to each of its records: a component then
    # holds every prior golden record it touches, whole.
    left = np.concatenate(
        [
            keys.get_indexer(pd.Index(edges["record_key_l"])),
            keys.get_indexer(pd.Index(xref["record_key"])),
        ]
    )
    right = np.concatenate(
        [
            keys.get_indexer(pd.Index(edges["record_key_r"])),
            n + goldens.get_indexer(pd.Index(xref["golden_id"])),
        ]
    )
    labels = component_labels(n + len(goldens), left, right)
    seed_records = keys.get_indexer(pd.Index(list(record_keys), dtype=object))
    seed_goldens = goldens.get_indexer(pd.Index(list(golden_ids), dtype=object))
    seeds = np.concatenate([seed_records[seed_records >= 0], n + seed_goldens[seed_goldens >= 0]])
    touched = np.isin(labels[:n], labels[seeds])
    return np.sort(keys.to_numpy(dtype=object)[touched])


def lookalike_spellings(
    records: pd.DataFrame, scored: pd.DataFrame, config: MatchingConfig
) -> pd.Series | None:
    """record_key → the name in its canonical look-alike spelling, learned as the full run
    learns it (from every record and candidate pair); None when no comparison reads it."""
    uses = any(level.column == LOOKALIKE_COLUMN for c in config.comparisons for level in c.levels)
    if not uses:
        return None
    prepared = prepare_records(records, config, only_needed=True)
    columns = RecordColumns(prepared)
    index = pd.Index(prepared["record_key"])
    left = index.get_indexer(pd.Index(scored["record_key_l"]))
    right = index.get_indexer(pd.Index(scored["record_key_r"]))
    known = (left >= 0) & (right >= 0)
    values, _ = lookalike_names(
        columns,
        left[known],
        right[known],
        min_support=config.training.lookalike_min_support,
    )
    return pd.Series(values, index=index, dtype=object)


def _within(pairs: pd.DataFrame, keys: pd.Index) -> pd.DataFrame:
    inside = pairs["record_key_l"].isin(keys) & pairs["record_key_r"].isin(keys)
    return pairs[inside.to_numpy()]


def recluster(
    records: pd.DataFrame,
    scored: pd.DataFrame,
    config: MatchingConfig,
    constraints: Constraints,
    lookalike: pd.Series | None,
) -> tuple[ClusterResult, pd.DataFrame]:
    """The full run's clustering of a region's records: (clusters, its scored pairs with the
    zones that clustering leaves). `scored` holds the region's pairs as stored."""
    prepared = prepare_records(records, config, only_needed=True)
    columns = RecordColumns(prepared)
    if lookalike is not None:
        columns.add_column(
            LOOKALIKE_COLUMN, lookalike.reindex(prepared["record_key"]).to_numpy(dtype=object)
        )
    index = pd.Index(prepared["record_key"])
    pairs = _within(scored, index).reset_index(drop=True)
    pairs = pairs.assign(
        idx_l=index.get_indexer(pd.Index(pairs["record_key_l"])),
        idx_r=index.get_indexer(pd.Index(pairs["record_key_r"])),
    )
    gammas = pairs[[c.gamma_column for c in config.comparisons]]
    masks = rule_masks_for(config, columns, pairs, gammas)
    decided = decide(prepared, pairs, config, masks=masks, columns=columns)
    result = cluster(
        prepared,
        decided,
        config,
        must_link=_within(constraints.must_link, index),
        cannot_link=_within(constraints.cannot_link, index),
        columns=columns,
    )
    return result, to_contract(review_split_pairs(decided, result.clusters), config)


def decision_placements(decisions: pd.DataFrame | None, clusters: pd.DataFrame) -> pd.Series:
    """record_key → `steward:<decision_id>` for the records an active decision placed.

    A same or merge decision places both its records when they share a cluster, a different
    decision both when they do not, a split the record it takes out; the latest decision
    naming a record wins.
    """
    empty = pd.Series(dtype=object, index=pd.Index([], dtype=object, name="record_key"))
    if decisions is None or decisions.empty:
        return empty
    active = decisions[decisions["status"] == "active"]
    cluster_of = clusters.set_index("record_key")["cluster_id"]
    left = cluster_of.reindex(active["record_key_l"]).to_numpy(dtype=object)
    right = cluster_of.reindex(active["record_key_r"]).to_numpy(dtype=object)
    both = pd.notna(left) & pd.notna(right)
    together = both & (left == right)
    kind = active["decision_type"].to_numpy(dtype=object)
    holds = (np.isin(kind, ["same", "merge"]) & together) | (
        (kind == "different") & both & ~together
    )
    split = (kind == "split") & pd.notna(left)
    ids = active["decision_id"].to_numpy(dtype=np.int64)
    placed = pd.concat(
        [
            pd.DataFrame(
                {"record_key": active["record_key_l"][holds | split], "id": ids[holds | split]}
            ),
            pd.DataFrame({"record_key": active["record_key_r"][holds], "id": ids[holds]}),
        ],
        ignore_index=True,
    )
    if placed.empty:
        return empty
    latest = placed.groupby("record_key")["id"].max()
    return latest.map(steward_rule).astype(object)


def applied_decision_ids(
    prior_events: pd.DataFrame | None, prior_xref: pd.DataFrame | None
) -> set[int]:
    """Decisions already applied: credited with an event, or naming a record in the xref."""
    applied: set[int] = set()
    if prior_events is not None and "decision_id" in prior_events.columns:
        applied |= {int(d) for d in prior_events["decision_id"].dropna().astype("int64")}
    if prior_xref is not None and len(prior_xref):
        rules = prior_xref["match_rule"].dropna().astype(str)
        marked = rules[rules.str.startswith(STEWARD_RULE_PREFIX)]
        applied |= {int(r.removeprefix(STEWARD_RULE_PREFIX)) for r in marked.unique()}
    return applied


def pending_decisions(
    decisions: pd.DataFrame | None,
    prior_events: pd.DataFrame | None,
    prior_xref: pd.DataFrame | None,
) -> pd.DataFrame:
    """The active decisions no run or quick apply has applied yet: a run credits its events
    to these only, never to a decision applied long ago."""
    if decisions is None or decisions.empty:
        return pd.DataFrame(columns=["decision_id", "steward"])
    applied = applied_decision_ids(prior_events, prior_xref)
    active = decisions[decisions["status"] == "active"]
    return active[~active["decision_id"].astype("int64").isin(sorted(applied))]


def credit_events(
    events: pd.DataFrame,
    decisions: pd.DataFrame,
    *,
    xref: pd.DataFrame,
    prior_xref: pd.DataFrame | None,
) -> pd.DataFrame:
    """`events` with `decision_id` and `steward` set on those each decision caused.

    A decision is credited with the events about a golden record holding one of its records,
    before or after (and the golden IDs it names); of two decisions, the later wins.
    """
    if events.empty or decisions.empty:
        return events
    events = events.copy()
    decision_ids = events["decision_id"].astype("Int64").to_numpy(dtype=object)
    stewards = events["steward"].to_numpy(dtype=object).copy()
    new_of = xref.set_index("record_key")["golden_id"]
    old_of = (
        prior_xref.set_index("record_key")["golden_id"]
        if prior_xref is not None and len(prior_xref)
        else pd.Series(dtype=object)
    )
    ordered = decisions.sort_values("decision_id")
    for decision_id, steward, decision in zip(
        ordered["decision_id"].astype("int64"),
        ordered["steward"].astype(str),
        ordered.to_dict("records"),
        strict=True,
    ):
        named, touched = named_records(decision)
        for lookup in (new_of, old_of):
            touched += list(lookup.reindex(named).dropna().astype(str))
        hit = events["golden_id"].isin(touched) | events["related_golden_id"].isin(touched)
        decision_ids[hit.to_numpy()] = int(decision_id)
        stewards[hit.to_numpy()] = steward
    events["decision_id"] = pd.array(decision_ids, dtype="Int64")
    events["steward"] = stewards
    return events


def named_records(decision: Mapping[Any, object]) -> tuple[list[str], list[str]]:
    """(record keys, golden IDs) a decision names."""
    keys = [str(decision[c]) for c in ("record_key_l", "record_key_r") if _given(decision[c])]
    goldens = [str(decision[c]) for c in ("golden_id", "related_golden_id") if _given(decision[c])]
    return keys, goldens


def _given(value: object) -> bool:
    return isinstance(value, str) and bool(value)


@dataclass
class RegionResult:
    """A region's new state: every row of these tables that belongs to the region."""

    record_keys: np.ndarray  # the region's records (sorted)
    prior_golden_ids: np.ndarray  # the golden IDs its records held before
    clusters: pd.DataFrame
    scored_pairs: pd.DataFrame  # pairs with both records in the region
    review_clusters: list[list[str]]
    golden: GoldenResult  # golden records (incl. newly retired), lineage, xref, events
    history: pd.DataFrame  # every version of the region's golden IDs


def survive_region(
    records: pd.DataFrame,
    clusters: pd.DataFrame,
    scored: pd.DataFrame,
    constraints: Constraints,
    *,
    survivorship: SurvivorshipConfig,
    prior_golden: pd.DataFrame,
    prior_xref: pd.DataFrame,
    prior_history: pd.DataFrame | None,
    next_number: int,
    decisions: pd.DataFrame | None,
    credited: pd.DataFrame,
    run_id: str,
    now: pd.Timestamp,
) -> tuple[GoldenResult, pd.DataFrame]:
    """(golden result, history) of a re-clustered region: survivorship, golden IDs against
    the region's prior rows, placements, credited events, history."""
    golden = build_golden_records(
        records,
        clusters,
        survivorship,
        run_id=run_id,
        now=now,
        scored_pairs=scored,
        prior_golden=prior_golden,
        prior_xref=prior_xref,
        preferred_golden_ids=constraints.preferred_golden_ids,
        next_number=next_number,
        placements=decision_placements(decisions, clusters),
    )
    golden.events = credit_events(golden.events, credited, xref=golden.xref, prior_xref=prior_xref)
    history = update_history(prior_history, golden.golden_records, now=now, run_id=run_id)
    return golden, history


def apply_to_region(
    records: pd.DataFrame,
    scored: pd.DataFrame,
    constraints: Constraints,
    *,
    matching: MatchingConfig,
    survivorship: SurvivorshipConfig,
    lookalike: pd.Series | None,
    prior_golden: pd.DataFrame,
    prior_xref: pd.DataFrame,
    prior_history: pd.DataFrame | None,
    next_number: int,
    decisions: pd.DataFrame | None,
    credited: pd.DataFrame,
    run_id: str,
    now: pd.Timestamp,
) -> RegionResult:
    """Re-cluster and re-survive one region (`touched_region`) as a full run would.

    `records`, `scored`, `prior_xref`: the region's party records, scored pairs and xref rows;
    `prior_golden`, `prior_history`: the rows of the golden IDs those xref rows name;
    `constraints`: every active decision's; `decisions`: every decision (for the xref's
    placements); `credited`: the decisions the region's events are credited to.
    """
    result, contract = recluster(records, scored, matching, constraints, lookalike)
    clusters = result.clusters
    golden, history = survive_region(
        records,
        clusters,
        contract,
        constraints,
        survivorship=survivorship,
        prior_golden=prior_golden,
        prior_xref=prior_xref,
        prior_history=prior_history,
        next_number=next_number,
        decisions=decisions,
        credited=credited,
        run_id=run_id,
        now=now,
    )
    return RegionResult(
        record_keys=clusters["record_key"].to_numpy(dtype=object),
        prior_golden_ids=np.sort(pd.unique(prior_xref["golden_id"].to_numpy(dtype=object))),
        clusters=clusters,
        scored_pairs=contract,
        review_clusters=result.review_clusters,
        golden=golden,
        history=history,
    )


@dataclass
class IncrementalMatch:
    """An incremental run's matching: the touched region re-clustered, and the scored pairs.

    The stored scored pairs afterwards are the prior ones less `dropped_pairs` (every pair
    holding a changed record, and every pair inside the region) plus `added_pairs` (the
    region's pairs with the zones its clustering leaves, and the new pairs outside it).
    """

    record_keys: np.ndarray  # the region's records (sorted), gone records included
    clusters: pd.DataFrame  # the region's clusters
    review_clusters: list[list[str]]
    scored_pairs: pd.DataFrame  # pairs with both records in the region (contract columns)
    dropped_pairs: pd.DataFrame  # record_key_l, record_key_r
    added_pairs: pd.DataFrame  # contract columns
    candidate_pairs: int  # pairs blocked for the changed records
    timings: dict[str, float]


def match_changed_records(
    records: pd.DataFrame,
    changed_keys: Iterable[str],
    *,
    prior_scored: pd.DataFrame,
    prior_xref: pd.DataFrame,
    model: FellegiSunterModel,
    matching: MatchingConfig,
    constraints: Constraints,
) -> IncrementalMatch:
    """Match only the new and changed records and re-cluster only the region they touch.

    `records`: every party record as it is now (changed ones already merged in);
    `changed_keys`: the record keys standardized again this run (new, changed, or gone);
    `prior_scored`, `prior_xref`: the stored tables; `model`: the stored model (an
    incremental run does not re-train).

    The changed records are blocked against every record under the same rules and caps,
    scored with the model (term frequencies from every record as they are now), and replace
    every prior pair holding a changed record. The region is `touched_region` over the
    changed records, re-clustered by `recluster` as the quick apply does; `survive_region`
    then re-survives it.
    """
    stages = StageClock()
    lap = stages.lap

    changed = pd.Index(pd.unique(np.asarray(list(changed_keys), dtype=object)))
    model.check_compatible(matching)
    prepared = prepare_records(records, matching, only_needed=True)
    columns = RecordColumns(prepared)
    index = pd.Index(prepared["record_key"])
    stale = (
        prior_scored["record_key_l"].isin(changed) | prior_scored["record_key_r"].isin(changed)
    ).to_numpy()
    kept = prior_scored[~stale]
    pairs, _ = block_pairs(prepared, matching, columns=columns, focus=index.isin(changed))
    lap("block")
    lookalike = None
    if any(level.column == LOOKALIKE_COLUMN for c in matching.comparisons for level in c.levels):
        # Learned as a full run learns it: from every candidate pair, the kept and the new.
        kept_l = index.get_indexer(pd.Index(kept["record_key_l"]))
        kept_r = index.get_indexer(pd.Index(kept["record_key_r"]))
        known = (kept_l >= 0) & (kept_r >= 0)
        values, _ = lookalike_names(
            columns,
            np.concatenate([kept_l[known], pairs["idx_l"].to_numpy(dtype=np.int64)]),
            np.concatenate([kept_r[known], pairs["idx_r"].to_numpy(dtype=np.int64)]),
            min_support=matching.training.lookalike_min_support,
        )
        columns.add_column(LOOKALIKE_COLUMN, values)
        lookalike = pd.Series(values, index=index, dtype=object)
    lap("lookalike")
    gammas = compare(prepared, pairs, matching, columns=columns)
    masks = rule_masks_for(matching, columns, pairs, gammas)
    scored = predict(prepared, pairs, gammas, model, columns=columns)
    decided = decide(prepared, scored, matching, masks=masks, columns=columns)
    new_pairs = to_contract(decided, matching)
    del prepared, columns, gammas, masks, scored, decided
    lap("compare")
    every_pair = pd.concat([kept, new_pairs], ignore_index=True)
    region = touched_region(
        changed, [], scored=every_pair, must_link=constraints.must_link, xref=prior_xref
    )
    region_index = pd.Index(region)
    in_region = (
        every_pair["record_key_l"].isin(region_index)
        & every_pair["record_key_r"].isin(region_index)
    ).to_numpy()
    result, contract = recluster(
        records[records["record_key"].isin(region_index)],
        every_pair[in_region],
        matching,
        constraints,
        lookalike,
    )
    lap("cluster")
    kept_in_region = in_region[: len(kept)]
    return IncrementalMatch(
        record_keys=region,
        clusters=result.clusters,
        review_clusters=result.review_clusters,
        scored_pairs=contract,
        dropped_pairs=pd.concat([prior_scored[stale], kept[kept_in_region]], ignore_index=True)[
            PAIR_COLUMNS
        ],
        added_pairs=pd.concat([contract, new_pairs[~in_region[len(kept) :]]], ignore_index=True),
        candidate_pairs=len(new_pairs),
        timings=stages.seconds,
    )


# ---------------------------------------------------------------- the delta, from stored keys

#: The columns of the stored key tables (connectors.tables.BLOCK_KEYS and TERM_KEYS).
KEY_COLUMNS = ["record_key", "rule", "key"]


def term_key_config(config: MatchingConfig, model: FellegiSunterModel) -> MatchingConfig:
    """`config` with one blocking rule per term-frequency-adjusted comparison of `model` (in
    the model's order), on the column its frequency counts: `block_key_hashes` over it gives
    each record's key of that value, so a value's frequency is a count of equal keys."""
    rules = [
        BlockingRule(name=c.name, columns=[c.tf_column])
        for c in model.comparisons
        if c.tf_column is not None
    ]
    return config.model_copy(update={"blocking_rules": rules})


def match_key_rows(
    prepared: pd.DataFrame,
    columns: RecordColumns,
    config: MatchingConfig,
    model: FellegiSunterModel,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(block keys, term keys) of prepared records, `KEY_COLUMNS` each: the rows of
    BLOCK_KEYS and TERM_KEYS for them. Hashed by `matching.online.block_key_hashes`, so a
    key does not depend on the other records in the frame."""
    keys = prepared["record_key"].to_numpy(dtype=object)
    out = []
    for rules in (config, term_key_config(config, model)):
        hashes = block_key_hashes(columns, rules)
        out.append(
            pd.DataFrame(
                {
                    "record_key": keys[hashes["position"].to_numpy()],
                    "rule": hashes["rule"].to_numpy(dtype=np.int64),
                    "key": hashes["key"].to_numpy(dtype=np.int64),
                }
            )
        )
    return out[0], out[1]


def candidate_key_pairs(
    changed_keys: pd.DataFrame, members: pd.DataFrame, config: MatchingConfig
) -> pd.DataFrame:
    """The candidate pairs of the changed records (`record_key_l` < `record_key_r`, `rule`:
    the first rule in config order that pairs them), from block keys (`KEY_COLUMNS`).

    `changed_keys`: the changed records' keys as they are now; `members`: the stored keys of
    every other record sharing one of them. A block's size counts both; a block outside
    [2, the rule's cap] pairs nothing, as `matching.blocking` skips it. The link type's
    source filter is left to the caller (it needs the records)."""
    every = pd.concat([changed_keys, members], ignore_index=True)
    sizes = every.groupby("key")["record_key"].transform("size").to_numpy()
    caps = rule_caps(config)[every["rule"].to_numpy(dtype=np.int64)]
    every = every[(sizes >= 2) & (sizes <= caps)]
    changed = every[every["record_key"].isin(changed_keys["record_key"])]
    pairs = changed.merge(every, on=["key", "rule"], suffixes=("_a", "_b"))
    pairs = pairs[pairs["record_key_a"] != pairs["record_key_b"]]
    a = pairs["record_key_a"].to_numpy(dtype=object)
    b = pairs["record_key_b"].to_numpy(dtype=object)
    first = a < b
    out = pd.DataFrame(
        {
            "record_key_l": np.where(first, a, b),
            "record_key_r": np.where(first, b, a),
            "rule": pairs["rule"].to_numpy(dtype=np.int64),
        }
    )
    first_rule = out.groupby(["record_key_l", "record_key_r"], sort=True)["rule"].min()
    return first_rule.reset_index()


def key_frequencies(
    record_keys: pd.DataFrame, counts: pd.DataFrame, n_records: int, names: list[str]
) -> dict[str, np.ndarray]:
    """Per tf-adjusted comparison (`names`, in `term_key_config` order), tf of each of
    `n_records` records' value as `model.term_frequencies` gives it over every record:
    `record_keys` (`position`, `rule`, `key`) the records' term keys, `counts` (`rule`,
    `key`, `n`, `total`) every record's count of each key and (`total`) each rule's count
    of records with a value."""
    totals = counts[counts["total"]].set_index("rule")["n"]
    per_key = counts.loc[~counts["total"], ["rule", "key", "n"]]
    found = record_keys.merge(per_key, on=["rule", "key"], how="left", validate="m:1")
    out: dict[str, np.ndarray] = {}
    for number, name in enumerate(names):
        mine = found[found["rule"] == number]
        frequency = np.full(n_records, np.nan)
        total = float(totals.get(number, 0))
        if total > 0:
            frequency[mine["position"].to_numpy(dtype=np.int64)] = (
                mine["n"].to_numpy(dtype=np.float64) / total
            )
        out[name] = frequency
    return out
