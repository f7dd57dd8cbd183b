"""Pairwise quality of matching against a ground truth (record_key → person_id).

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
