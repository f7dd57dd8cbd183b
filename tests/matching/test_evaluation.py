"""Pairwise precision / recall / F1 counted from group sizes, on a hand-computed example."""

from __future__ import annotations

import pandas as pd
import pytest

from matching.evaluation import (
    PairwiseScores,
    blocking_recall,
    evaluate_clusters,
    evaluate_pairs,
)

# Persons: P1 = a, b, c (3 true pairs: ab, ac, bc); P2 = d, e (1 pair: de); P3 = f.
TRUTH = pd.DataFrame(
    {"record_key": list("abcdef"), "person_id": ["P1", "P1", "P1", "P2", "P2", "P3"]}
)


def test_cluster_scores_from_group_sizes():
    clusters = pd.DataFrame(
        {"record_key": list("abcdef"), "cluster_id": ["a", "a", "a", "a", "e", "f"]}
    )
    scores = evaluate_clusters(clusters, TRUTH)
    # Predicted: cluster {a,b,c,d} gives C(4,2) = 6 pairs. True among them: the (cluster,
    # P1) group of 3 gives 3, (cluster, P2) of 1 gives 0 -> tp 3, fp 3. True pairs 3 + 1 = 4,
    # so fn = 1 (de).
    assert (scores.tp, scores.fp, scores.fn) == (3, 3, 1)
    assert scores.precision == pytest.approx(0.5)
    assert scores.recall == pytest.approx(0.75)
    assert scores.f1 == pytest.approx(0.6)


def test_records_without_truth_are_left_out():
    clusters = pd.DataFrame({"record_key": ["a", "b", "x"], "cluster_id": ["a", "a", "a"]})
    scores = evaluate_clusters(clusters, TRUTH.iloc[:2])
    assert (scores.tp, scores.fp, scores.fn) == (1, 0, 0)


SCORED = pd.DataFrame(
    {
        "record_key_l": ["a", "a", "b", "d"],
        "record_key_r": ["b", "d", "c", "e"],
        "match_probability": [0.99, 0.97, 0.6, 0.4],
        "zone": ["auto_match", "auto_match", "review", "non_match"],
    }
)


def test_pair_scores_at_a_threshold_count_unblocked_true_pairs_as_missed():
    # >= 0.95: ab (true), ad (false). 4 true pairs, ac never blocked: fn = 4 - 1 = 3.
    assert evaluate_pairs(SCORED, TRUTH, threshold=0.95) == PairwiseScores.from_counts(1, 1, 3)
    # >= 0.5 adds bc (true).
    assert evaluate_pairs(SCORED, TRUTH, threshold=0.5) == PairwiseScores.from_counts(2, 1, 2)
    # By zone: the auto_match pairs, the same as 0.95 here.
    assert evaluate_pairs(SCORED, TRUTH) == PairwiseScores.from_counts(1, 1, 3)


def test_blocking_recall_is_the_share_of_true_pairs_among_candidates():
    scores = blocking_recall(SCORED, TRUTH)
    # Candidates hold ab, bc, de of the 4 true pairs (ac missing).
    assert scores.recall == pytest.approx(0.75)
    assert (scores.tp, scores.fp, scores.fn) == (3, 1, 1)


def test_empty_prediction_has_precision_one_and_recall_zero():
    scores = PairwiseScores.from_counts(0, 0, 5)
    assert (scores.precision, scores.recall, scores.f1) == (1.0, 0.0, 0.0)
