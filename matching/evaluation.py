"""Quality of matching against a ground truth (record_key → person_id).

`evaluate_clusters` / `evaluate_pairs` / `blocking_recall` give pairwise scores for any data
set with a truth (FEBRL, the synthetic benchmark); `evaluate_simulated` adds what the
simulated bank sources can tell (B-cubed cluster scores, the review queue, false merges by
kind: twins, households, namesakes), used by the demo and `benchmarks/bench_pipeline.py`.

Counts come from group sizes, never from listing pairs: the true pairs are Σ C(n, 2) over
persons, the predicted pairs of a clustering Σ C(n, 2) over clusters, and the pairs both
predicted and true Σ C(n, 2) over the (cluster, person) groups. Records missing from the
ground truth are left out of every count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from matching.blocking import pairs_of_each_rule, prepare_records, within_block_pairs
from matching.config import MatchingConfig
from matching.rules import SPLIT_BY_CLUSTERING


@dataclass(frozen=True)
class PairwiseScores:
    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float

    @classmethod
    def from_counts(cls, tp: int, fp: int, fn: int) -> PairwiseScores:
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return cls(tp=int(tp), fp=int(fp), fn=int(fn), precision=precision, recall=recall, f1=f1)


def _pairs_within(sizes: pd.Series | np.ndarray) -> int:
    n = np.asarray(sizes, dtype=np.int64)
    return int((n * (n - 1) // 2).sum())


def _truth_series(truth: pd.DataFrame | pd.Series) -> pd.Series:
    """person_id indexed by record_key, from a frame with both columns or such a Series."""
    if isinstance(truth, pd.Series):
        return truth
    return truth.set_index("record_key")["person_id"]


def true_pair_count(truth: pd.DataFrame | pd.Series) -> int:
    return _pairs_within(_truth_series(truth).value_counts())


def evaluate_clusters(clusters: pd.DataFrame, truth: pd.DataFrame | pd.Series) -> PairwiseScores:
    """Pairwise precision / recall / F1 of `clusters` (record_key, cluster_id)."""
    person = _truth_series(truth)
    joined = clusters[["record_key", "cluster_id"]].merge(
        person.rename("person_id"), left_on="record_key", right_index=True
    )
    predicted = _pairs_within(joined.groupby("cluster_id").size())
    tp = _pairs_within(joined.groupby(["cluster_id", "person_id"]).size())
    actual = _pairs_within(joined.groupby("person_id").size())
    return PairwiseScores.from_counts(tp, predicted - tp, actual - tp)


def _pair_truth(pairs: pd.DataFrame, person: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(both records known, same person) per pair."""
    left = person.reindex(pairs["record_key_l"].to_numpy()).to_numpy()
    right = person.reindex(pairs["record_key_r"].to_numpy()).to_numpy()
    known = pd.notna(left) & pd.notna(right)
    return known, known & (left == right)


def evaluate_pairs(
    scored_pairs: pd.DataFrame,
    truth: pd.DataFrame | pd.Series,
    *,
    threshold: float | None = None,
    zones: tuple[str, ...] = ("auto_match",),
) -> PairwiseScores:
    """Scored pairs taken as matches vs the true pairs.

    With `threshold`, a pair is predicted a match when match_probability >= threshold;
    without, when its zone is in `zones`. True pairs that blocking never produced count as
    false negatives.
    """
    person = _truth_series(truth)
    if threshold is not None:
        predicted = scored_pairs["match_probability"].to_numpy() >= threshold
    else:
        predicted = scored_pairs["zone"].isin(zones).to_numpy()
    known, same = _pair_truth(scored_pairs, person)
    tp = int((predicted & same).sum())
    fp = int((predicted & known & ~same).sum())
    return PairwiseScores.from_counts(tp, fp, true_pair_count(person) - tp)


def blocking_recall(pairs: pd.DataFrame, truth: pd.DataFrame | pd.Series) -> PairwiseScores:
    """How well candidate pairs cover the true pairs: `recall` is the blocking recall."""
    person = _truth_series(truth)
    known, same = _pair_truth(pairs, person)
    tp = int(same.sum())
    return PairwiseScores.from_counts(tp, int((known & ~same).sum()), true_pair_count(person) - tp)


# ---------------------------------------------------------------------- why pairs were missed

#: Why a true pair of records ended in different clusters, in the order they are decided.
MISS_CAUSES = ("never_candidate", "below_review", "in_review", "vetoed", "split_by_clustering")


@dataclass(frozen=True)
class MissBreakdown:
    """True record pairs left in different clusters, by cause: never a candidate pair, scored
    below the review threshold, left in review by the model, capped at review by a
    never-auto-match rule (`vetoed_by` names which), or auto-matched but kept apart by
    clustering (a rule through a third record, a steward's cannot-link, the size guard)."""

    true_pairs: int
    missed: int
    by_cause: dict[str, int]
    vetoed_by: dict[str, int]

    def to_dict(self) -> dict[str, object]:
        return {
            "true_pairs": self.true_pairs,
            "missed": self.missed,
            "by_cause": dict(self.by_cause),
            "vetoed_by": dict(self.vetoed_by),
        }


def _person_codes(keys: np.ndarray, truth: pd.DataFrame | pd.Series) -> np.ndarray:
    """Integer person per record key, -1 where unknown (junk rows are nobody's pair)."""
    person = _truth_series(truth).reindex(keys)
    codes, _ = pd.factorize(person.to_numpy(dtype=object), use_na_sentinel=True)
    return codes.astype(np.int64)


def true_pair_positions(keys: np.ndarray, truth: pd.DataFrame | pd.Series) -> np.ndarray:
    """(k, 2) positions in `keys` of every pair of records of one person (low, high)."""
    person = _person_codes(keys, truth)
    known = np.flatnonzero(person >= 0)
    left, right = within_block_pairs(person[known], known)
    return np.column_stack([left, right]).astype(np.int64)


def _pair_codes(left: np.ndarray, right: np.ndarray, n: int) -> np.ndarray:
    return np.minimum(left, right).astype(np.int64) * n + np.maximum(left, right)


def explain_misses(
    scored_pairs: pd.DataFrame, clusters: pd.DataFrame, truth: pd.DataFrame | pd.Series
) -> MissBreakdown:
    """Why each true pair that is not in one cluster was missed (see `MissBreakdown`).

    `scored_pairs` as `mdm.scored_pairs` (zone, deterministic_rule); `clusters` one row per
    record (record_key, cluster_id)."""
    keys = clusters["record_key"].to_numpy(dtype=object)
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    cluster = pd.factorize(clusters["cluster_id"].to_numpy(dtype=object)[order])[0]
    n = len(keys)
    true_pairs = true_pair_positions(keys, truth)
    missed = true_pairs[cluster[true_pairs[:, 0]] != cluster[true_pairs[:, 1]]]
    index = pd.Index(keys)
    left = index.get_indexer(pd.Index(scored_pairs["record_key_l"]))
    right = index.get_indexer(pd.Index(scored_pairs["record_key_r"]))
    known = (left >= 0) & (right >= 0)
    scored_codes = _pair_codes(left[known], right[known], n)
    zone = scored_pairs["zone"].to_numpy(dtype=object)[known]
    rule = (
        scored_pairs["deterministic_rule"].to_numpy(dtype=object)[known]
        if "deterministic_rule" in scored_pairs.columns
        else np.full(int(known.sum()), None, dtype=object)
    )
    sorter = np.argsort(scored_codes, kind="stable")
    missed_codes = _pair_codes(missed[:, 0], missed[:, 1], n)
    at = np.searchsorted(scored_codes, missed_codes, sorter=sorter)
    at = np.minimum(at, max(len(scored_codes) - 1, 0))
    found = (
        scored_codes[sorter[at]] == missed_codes
        if len(scored_codes)
        else np.zeros(len(missed_codes), dtype=bool)
    )
    row = sorter[at[found]] if len(scored_codes) else np.empty(0, dtype=np.int64)
    zone_of, rule_of = zone[row], rule[row]
    split = (zone_of == "auto_match") | (rule_of == SPLIT_BY_CLUSTERING)
    review = (zone_of == "review") & ~split
    vetoed = review & pd.notna(rule_of)
    counts = (~found, zone_of == "non_match", review & ~vetoed, vetoed, split)
    by_cause = {cause: int(hit.sum()) for cause, hit in zip(MISS_CAUSES, counts, strict=True)}
    vetoed_by = pd.Series(rule_of[vetoed], dtype=object).value_counts()
    return MissBreakdown(
        true_pairs=len(true_pairs),
        missed=len(missed),
        by_cause=by_cause,
        vetoed_by={str(k): int(v) for k, v in vetoed_by.items()},
    )


@dataclass(frozen=True)
class RuleRecall:
    """What one blocking rule contributes: the pairs it makes, the share of all true pairs
    among them (recall), and the true pairs no other rule finds."""

    rule: str
    pairs: int
    true_pairs_found: int
    recall: float
    only_this_rule: int


@dataclass(frozen=True)
class BlockingRecall:
    true_pairs: int
    union_recall: float
    candidate_pairs: int
    rules: list[RuleRecall]

    def to_dict(self) -> dict[str, object]:
        return {
            "true_pairs": self.true_pairs,
            "union_recall": round(self.union_recall, 6),
            "candidate_pairs": self.candidate_pairs,
            "rules": [
                {
                    "rule": r.rule,
                    "pairs": r.pairs,
                    "true_pairs_found": r.true_pairs_found,
                    "recall": round(r.recall, 6),
                    "only_this_rule": r.only_this_rule,
                }
                for r in self.rules
            ],
        }


def blocking_recall_by_rule(
    records: pd.DataFrame, config: MatchingConfig, truth: pd.DataFrame | pd.Series
) -> BlockingRecall:
    """Each blocking rule's pairs and recall against the truth, and the union's recall."""
    prepared = prepare_records(records, config, only_needed=True)
    keys = prepared["record_key"].to_numpy(dtype=object)
    n = len(keys)
    true_pairs = true_pair_positions(keys, truth)
    true_codes = np.sort(_pair_codes(true_pairs[:, 0], true_pairs[:, 1], n))
    found_by = np.zeros(len(true_codes), dtype=np.int64)
    hits: list[np.ndarray] = []
    counts: list[int] = []
    every: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    for left, right in pairs_of_each_rule(prepared, config):
        codes = np.unique(_pair_codes(left, right, n))
        hit = np.isin(true_codes, codes, assume_unique=True)
        found_by += hit
        hits.append(hit)
        counts.append(len(codes))
        every.append(codes)
    union = found_by > 0
    candidate_pairs = len(np.unique(np.concatenate(every)))
    total = max(len(true_codes), 1)
    rules = [
        RuleRecall(
            rule=rule.name,
            pairs=count,
            true_pairs_found=int(hit.sum()),
            recall=float(hit.sum()) / total,
            only_this_rule=int((hit & (found_by == 1)).sum()),
        )
        for rule, hit, count in zip(config.blocking_rules, hits, counts, strict=True)
    ]
    return BlockingRecall(
        true_pairs=len(true_codes),
        union_recall=float(union.sum()) / total,
        candidate_pairs=candidate_pairs,
        rules=rules,
    )


# ---------------------------------------------------------------------- simulated sources

FALSE_MERGE_KINDS = ("twin", "household", "namesake", "junk", "other")


@dataclass(frozen=True)
class ClusterScores:
    """B-cubed precision / recall / F1 (record-averaged) and the share of persons whose
    records form exactly one predicted cluster with nothing else in it."""

    precision: float
    recall: float
    f1: float
    exact_persons: float


@dataclass(frozen=True)
class SimulatedEvaluation:
    """Quality of a matching run on the simulated sources (`evaluate_simulated`)."""

    n_records: int
    n_persons: int
    pairwise: PairwiseScores  # pairs inside the clusters vs the true pairs
    clusters: ClusterScores  # B-cubed, and exact person clusters
    auto_match: PairwiseScores  # the auto_match pairs alone (precision is what matters)
    review_pairs: int  # pairs in the review zone
    review_pairs_open: int  # of those, pairs whose records ended in different clusters
    review_records: int  # records named by at least one review pair
    false_merges: dict[str, int]  # false merged pairs by kind (FALSE_MERGE_KINDS)
    twins_merged: int  # twin pairs with records of both in one cluster
    misses: MissBreakdown | None = None  # true pairs left apart, by cause
    # Auto-matched pairs of two different people, by the blocking rule that found them.
    false_auto_matches_by_rule: dict[str, int] | None = None

    @property
    def review_share(self) -> float:
        """Review queue (pairs) per record."""
        return self.review_pairs / self.n_records if self.n_records else 0.0

    def to_dict(self) -> dict[str, object]:
        def scores(s: PairwiseScores) -> dict[str, object]:
            return {
                "precision": round(s.precision, 6),
                "recall": round(s.recall, 6),
                "f1": round(s.f1, 6),
                "tp": s.tp,
                "fp": s.fp,
                "fn": s.fn,
            }

        return {
            "records": self.n_records,
            "persons": self.n_persons,
            "pairwise": scores(self.pairwise),
            "clusters_bcubed": {
                "precision": round(self.clusters.precision, 6),
                "recall": round(self.clusters.recall, 6),
                "f1": round(self.clusters.f1, 6),
                "exact_persons": round(self.clusters.exact_persons, 6),
            },
            "auto_match": scores(self.auto_match),
            "review_pairs": self.review_pairs,
            "review_pairs_open": self.review_pairs_open,
            "review_records": self.review_records,
            "review_share": round(self.review_share, 6),
            "false_merges": dict(self.false_merges),
            "twins_merged": self.twins_merged,
            "misses": None if self.misses is None else self.misses.to_dict(),
            "false_auto_matches_by_rule": self.false_auto_matches_by_rule,
        }


def _bcubed(joined: pd.DataFrame) -> ClusterScores:
    """B-cubed from (cluster_id, person_id) per record, by group sizes."""
    n = len(joined)
    if n == 0:
        return ClusterScores(1.0, 1.0, 1.0, 1.0)
    both = joined.groupby(["cluster_id", "person_id"], sort=False).size().rename("both")
    cluster_size = joined.groupby("cluster_id", sort=False).size().rename("cluster")
    person_size = joined.groupby("person_id", sort=False).size().rename("person")
    groups = both.reset_index()
    groups = groups.join(cluster_size, on="cluster_id").join(person_size, on="person_id")
    k = groups["both"].to_numpy(dtype=np.float64)
    # Each of the k records of a (cluster, person) group has precision k/|cluster| and
    # recall k/|person|: the group adds k²/|cluster| and k²/|person|.
    precision = float((k * k / groups["cluster"].to_numpy()).sum() / n)
    recall = float((k * k / groups["person"].to_numpy()).sum() / n)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    exact = (groups["both"] == groups["cluster"]) & (groups["both"] == groups["person"])
    return ClusterScores(precision, recall, f1, float(exact.sum()) / len(person_size))


def _false_pairs(joined: pd.DataFrame) -> pd.DataFrame:
    """(person_l, person_r) of every pair of records of different persons in one cluster."""
    persons = joined.groupby("cluster_id", sort=False)["person_id"].transform("nunique")
    mixed = joined.loc[persons > 1, ["cluster_id", "record_key", "person_id"]]
    pairs = mixed.merge(mixed, on="cluster_id", suffixes=("_l", "_r"))
    pairs = pairs[
        (pairs["record_key_l"] < pairs["record_key_r"])
        & (pairs["person_id_l"] != pairs["person_id_r"])
    ]
    return pairs[["cluster_id", "person_id_l", "person_id_r"]].reset_index(drop=True)


def classify_false_merges(false_pairs: pd.DataFrame, people: pd.DataFrame) -> np.ndarray:
    """Kind of each false merged pair (columns person_id_l, person_id_r), first that holds:
    `junk` (a record of nobody), `twin`, `household` (same household, not twins),
    `namesake` (same true name), `other`."""
    info = people.set_index("person_id")
    left = info.reindex(false_pairs["person_id_l"].to_numpy())
    right = info.reindex(false_pairs["person_id_r"].to_numpy())
    junk = left.index.isna() | ~left.index.isin(info.index)
    junk |= right.index.isna() | ~right.index.isin(info.index)

    def same(column: str) -> np.ndarray:
        a, b = left[column].to_numpy(), right[column].to_numpy()
        return np.asarray(pd.notna(a) & pd.notna(b) & (a == b), dtype=bool)

    twin_l = left["twin_person_id"].to_numpy()
    twin = np.asarray(twin_l == false_pairs["person_id_r"].to_numpy(), dtype=bool)
    return np.select(
        [junk, twin, same("household_id"), same("name")],
        ["junk", "twin", "household", "namesake"],
        default="other",
    ).astype(object)


def evaluate_simulated(
    records: pd.DataFrame,
    scored_pairs: pd.DataFrame,
    clusters: pd.DataFrame,
    ground_truth: pd.DataFrame,
    people: pd.DataFrame,
) -> SimulatedEvaluation:
    """Quality of a matching run on the simulated sources.

    `records`: the party records that were matched (their `record_key` is the population
    measured: rows the standardizer quarantined are left out). `ground_truth`: record_key →
    person_id, null for junk rows, which count as persons of their own (merging one with
    anybody is a false merge of kind `junk`). `people`: person_id, name, household_id,
    twin_person_id (the simulator's `people.parquet`).

    Pairwise scores count the pairs inside clusters; the cluster-level scores are B-cubed
    (per record: the share of its cluster that is its person, and of its person that is its
    cluster, averaged over records) and the share of persons matched exactly.
    """
    keys = pd.Index(records["record_key"])
    truth = ground_truth[["record_key", "person_id"]]
    truth = truth[truth["record_key"].isin(keys)]
    person = truth["person_id"].astype(object)
    person = person.where(person.notna(), "junk:" + truth["record_key"].astype(str))
    person_of = pd.Series(person.to_numpy(), index=truth["record_key"].to_numpy())

    joined = clusters[["record_key", "cluster_id"]].merge(
        person_of.rename("person_id"), left_on="record_key", right_index=True
    )
    pairwise = evaluate_clusters(joined, person_of)
    auto = evaluate_pairs(scored_pairs, person_of, zones=("auto_match",))

    review = scored_pairs[scored_pairs["zone"] == "review"]
    cluster_of = clusters.set_index("record_key")["cluster_id"]
    open_review = cluster_of.reindex(review["record_key_l"].to_numpy()).to_numpy() != (
        cluster_of.reindex(review["record_key_r"].to_numpy()).to_numpy()
    )
    review_records = pd.unique(
        np.concatenate([review["record_key_l"].to_numpy(), review["record_key_r"].to_numpy()])
    )

    false_pairs = _false_pairs(joined)
    kinds = classify_false_merges(false_pairs, people)
    counts = pd.Series(kinds, dtype=object).value_counts()
    twin_pairs = np.sort(
        false_pairs.loc[kinds == "twin", ["person_id_l", "person_id_r"]].to_numpy(dtype=str), axis=1
    )
    twins_merged = len(pd.DataFrame(twin_pairs).drop_duplicates())
    auto_pairs = scored_pairs[scored_pairs["zone"] == "auto_match"]
    known_auto, same_auto = _pair_truth(auto_pairs, person_of)
    false_auto = (
        auto_pairs["blocking_rule"].astype(object)[known_auto & ~same_auto]
        if "blocking_rule" in auto_pairs.columns
        else pd.Series(dtype=object)
    )
    return SimulatedEvaluation(
        n_records=len(keys),
        n_persons=int(person_of.nunique()),
        pairwise=pairwise,
        clusters=_bcubed(joined),
        auto_match=auto,
        review_pairs=len(review),
        review_pairs_open=int(open_review.sum()),
        review_records=len(review_records),
        false_merges={kind: int(counts.get(kind, 0)) for kind in FALSE_MERGE_KINDS},
        twins_merged=twins_merged,
        misses=explain_misses(scored_pairs, clusters, person_of),
        false_auto_matches_by_rule={str(k): int(v) for k, v in false_auto.value_counts().items()},
    )


def describe(evaluation: SimulatedEvaluation, blocking: BlockingRecall | None = None) -> list[str]:
    """The evaluation as lines of text for a terminal (`mdm evaluate`, the benchmarks)."""
    e = evaluation
    pw, cl, am = e.pairwise, e.clusters, e.auto_match
    lines = [
        f"pairwise      P {pw.precision:.5f}  R {pw.recall:.5f}  F1 {pw.f1:.5f}"
        f"  (tp {pw.tp:,}, fp {pw.fp:,}, fn {pw.fn:,})",
        f"clusters      B-cubed P {cl.precision:.5f}  R {cl.recall:.5f}  F1 {cl.f1:.5f}"
        f"  exact persons {cl.exact_persons:.5f}",
        f"auto-match    P {am.precision:.5f}  R {am.recall:.5f}  (fp {am.fp:,})",
        f"review queue  {e.review_pairs:,} pairs = {e.review_share:.3%} of records"
        f"  ({e.review_pairs_open:,} across clusters, {e.review_records:,} records)",
        f"false merges  {e.false_merges}  twins merged {e.twins_merged}",
    ]
    if e.false_auto_matches_by_rule:
        lines.append(f"  false auto-matches by blocking rule {e.false_auto_matches_by_rule}")
    if e.misses is not None:
        m = e.misses
        lines.append(f"missed pairs  {m.missed:,} of {m.true_pairs:,} true pairs: {m.by_cause}")
        if m.vetoed_by:
            lines.append(f"  vetoed by   {m.vetoed_by}")
    if blocking is not None:
        lines.append(
            f"blocking      union recall {blocking.union_recall:.5f} of {blocking.true_pairs:,}"
            f" true pairs, {blocking.candidate_pairs:,} candidate pairs"
        )
        lines.append(f"  {'rule':<26}{'pairs':>12}{'recall':>9}{'only it':>9}")
        lines += [
            f"  {r.rule:<26}{r.pairs:>12,}{r.recall:>9.4f}{r.only_this_rule:>9,}"
            for r in blocking.rules
        ]
    return lines
