"""Precision / recall / F1 counted from group sizes, and the simulated-source evaluation, on
hand-computed examples."""

from __future__ import annotations

import pandas as pd
import pytest

from matching.evaluation import (
    PairwiseScores,
    blocking_recall,
    evaluate_clusters,
    evaluate_pairs,
    evaluate_simulated,
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


# evaluate_simulated: people of the simulator and a clustering with one false merge of each kind.
PEOPLE = pd.DataFrame(
    {
        "person_id": [f"P{i}" for i in range(1, 10)],
        "name": ["李明", "李亮", "李国强", "张伟", "张伟", "王芳", "赵敏", "陈静", "周杰"],
        # P1 and P2 are twins; with their father P3 they are household H1.
        "household_id": ["H1", "H1", "H1", None, None, None, None, None, None],
        "twin_person_id": ["P2", "P1", None, None, None, None, None, None, None],
    }
)
SIM_TRUTH = pd.DataFrame(
    {
        "record_key": ["a1", "a2", "b1", "c1", "d1", "e1", "j1", "f1", "g1",
                       "h1", "h2", "h3", "i1"],
        "person_id": ["P1", "P1", "P2", "P3", "P4", "P5", None, "P6", "P7", "P8", "P8", "P8", "P9"],
    }
)  # fmt: skip
SIM_CLUSTERS = pd.DataFrame(
    {
        "record_key": SIM_TRUTH["record_key"],
        # K1 = the twins and their father, K2 = two namesakes and a junk row, K3 = two
        # strangers, P8's third record h3 missed, i1 alone and right.
        "cluster_id": ["a1", "a1", "a1", "a1", "d1", "d1", "d1", "f1", "f1",
                       "h1", "h1", "h3", "i1"],
    }
)  # fmt: skip
SIM_SCORED = pd.DataFrame(
    {
        "record_key_l": ["a1", "a1", "h1", "c1", "a2"],
        "record_key_r": ["a2", "b1", "h2", "d1", "c1"],
        "zone": ["auto_match", "auto_match", "auto_match", "review", "review"],
    }
)


def test_simulated_evaluation_counts_false_merges_by_kind():
    result = evaluate_simulated(
        SIM_TRUTH[["record_key"]], SIM_SCORED, SIM_CLUSTERS, SIM_TRUTH, PEOPLE
    )
    # K1 {a1,a2,b1,c1}: a1-a2 true; a1-b1, a2-b1 twins (2); a1-c1, a2-c1, b1-c1 household (3:
    # the father, and P2 with him, share H1 but are not twins). K2 {d1,e1,j1}: d1-e1 namesakes
    # (both 张伟, no household); d1-j1, e1-j1 junk (j1 is nobody). K3 {f1,g1}: other.
    assert result.false_merges == {
        "twin": 2, "household": 3, "namesake": 1, "junk": 2, "other": 1,
    }  # fmt: skip
    assert result.twins_merged == 1  # the pair P1/P2, once however many records
    # True pairs: P1's a1-a2 and P8's three (h1-h2, h1-h3, h2-h3). Predicted and true: a1-a2,
    # h1-h2; the 9 false merges above are the false positives.
    assert (result.pairwise.tp, result.pairwise.fp, result.pairwise.fn) == (2, 9, 2)
    # Persons: P1..P9 and the junk row = 10.
    assert (result.n_records, result.n_persons) == (13, 10)


def test_simulated_evaluation_cluster_scores_are_b_cubed():
    result = evaluate_simulated(
        SIM_TRUTH[["record_key"]], SIM_SCORED, SIM_CLUSTERS, SIM_TRUTH, PEOPLE
    )
    # B-cubed precision per record = share of its cluster that is its person: a1, a2 2/4;
    # b1, c1 1/4; d1, e1, j1 1/3; f1, g1 1/2; h1, h2, h3, i1 1. Sum 7.5 over 13 records.
    assert result.clusters.precision == pytest.approx(7.5 / 13)
    # Recall per record = share of its person in its cluster: h1, h2 2/3, h3 1/3, others 1.
    assert result.clusters.recall == pytest.approx((10 + 5 / 3) / 13)
    # Only P9 (i1 alone) is one cluster holding exactly its records: 1 of 10 persons.
    assert result.clusters.exact_persons == pytest.approx(0.1)


def test_simulated_evaluation_auto_match_precision_and_review_queue():
    result = evaluate_simulated(
        SIM_TRUTH[["record_key"]], SIM_SCORED, SIM_CLUSTERS, SIM_TRUTH, PEOPLE
    )
    # Auto-match pairs: a1-a2 and h1-h2 true, a1-b1 (twins) false.
    assert result.auto_match.precision == pytest.approx(2 / 3)
    # Two review pairs naming c1, d1, a2 (3 records); a2-c1 already share cluster K1,
    # so one stays open.
    assert (result.review_pairs, result.review_pairs_open, result.review_records) == (2, 1, 3)
    assert result.review_share == pytest.approx(2 / 13)
    printed = result.to_dict()
    assert printed["false_merges"]["twin"] == 2
    assert printed["twins_merged"] == 1
    assert printed["review_share"] == pytest.approx(2 / 13, abs=1e-6)


def test_misses_are_explained_by_cause():
    from matching.evaluation import explain_misses

    # Records a..h; persons: P1 = a, b, c; P2 = d, e; P3 = f, g; P4 = h alone.
    truth = pd.DataFrame(
        {"record_key": list("abcdefgh"), "person_id": ["P1"] * 3 + ["P2"] * 2 + ["P3"] * 2 + ["P4"]}
    )
    # a and b merged; c alone; d, e apart; f, g apart.
    clusters = pd.DataFrame(
        {"record_key": list("abcdefgh"), "cluster_id": ["a", "a", "c", "d", "e", "f", "g", "h"]}
    )
    scored = pd.DataFrame(
        {
            "record_key_l": ["a", "b", "d", "f"],
            "record_key_r": ["b", "c", "e", "g"],
            "zone": ["auto_match", "review", "non_match", "review"],
            "deterministic_rule": [None, "different_names", None, "split_by_clustering"],
        }
    )
    misses = explain_misses(scored, clusters, truth)
    # True pairs: ab ac bc de fg = 5; ab is merged, so 4 missed: ac never a candidate, bc
    # vetoed by different_names, de below review, fg split by clustering.
    assert (misses.true_pairs, misses.missed) == (5, 4)
    assert misses.by_cause == {
        "never_candidate": 1,
        "below_review": 1,
        "in_review": 0,
        "vetoed": 1,
        "split_by_clustering": 1,
    }
    assert misses.vetoed_by == {"different_names": 1}


def test_blocking_recall_is_measured_per_rule_and_for_the_union():
    from matching import MatchingConfig
    from matching.evaluation import blocking_recall_by_rule

    records = pd.DataFrame(
        {
            "record_key": list("abcde"),
            "mobile": ["1", "1", "2", None, "2"],
            "name": ["x", "y", "y", "z", "z"],
        }
    )
    truth = pd.DataFrame({"record_key": list("abcde"), "person_id": ["P", "P", "P", "Q", "Q"]})
    config = MatchingConfig.model_validate(
        {
            "blocking_rules": [
                {"name": "mobile", "columns": ["mobile"]},
                {"name": "name", "columns": ["name"]},
            ],
            "max_block_size": 10,
            "comparisons": [{"name": "name", "levels": [{"kind": "exact", "column": "name"}]}],
            "thresholds": {"auto_match": 0.9, "review": 0.5},
            "max_cluster_size": 5,
        }
    )
    recall = blocking_recall_by_rule(records, config, truth)
    # True pairs ab ac bc de = 4. mobile finds ab and ce (ce is false); name finds bc and de.
    # ac is found by neither.
    assert recall.true_pairs == 4
    by_rule = {r.rule: r for r in recall.rules}
    assert (by_rule["mobile"].pairs, by_rule["mobile"].true_pairs_found) == (2, 1)
    assert (by_rule["name"].pairs, by_rule["name"].true_pairs_found) == (2, 2)
    assert by_rule["name"].only_this_rule == 2
    assert recall.union_recall == pytest.approx(3 / 4)
    assert recall.candidate_pairs == 4
