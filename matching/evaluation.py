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
    )
