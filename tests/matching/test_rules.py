"""Deterministic rules from config and the three zones."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matching.comparison import RecordColumns
from matching.config import Comparison, DeterministicRule, Thresholds
from matching.rules import apply_rules, assign_zones, rule_masks

RULES = [
    DeterministicRule.model_validate(
        {
            "name": "same_id_and_name",
            "decision": "match",
            "when": {"equal": ["id_number", "name"], "id_valid": True},
        }
    ),
    DeterministicRule.model_validate(
        {
            "name": "different_valid_resident_ids",
            "decision": "never_auto_match",
            "when": {"different": ["id_number"], "id_valid": True},
        }
    ),
]
THRESHOLDS = Thresholds(auto_match=0.95, review=0.5)


def records() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("a1", "张伟", "130102199001011234", True),
            ("a2", "张伟", "130102199001011234", True),  # same valid ID and name as a1
            ("a3", "张伟", "130102199001011234", False),  # same ID and name but ID invalid
            ("t1", "李明", "130102200005050011", True),  # twins: different valid IDs
            ("t2", "李明", "130102200005050038", True),
            ("t3", "李明", None, None),  # no ID at all
        ],
        columns=["record_key", "name", "id_number", "id_valid"],
    )


def decide(pairs: list[tuple[int, int]], probability: list[float]):
    idx_l = np.array([p[0] for p in pairs])
    idx_r = np.array([p[1] for p in pairs])
    masks = rule_masks(RULES, RecordColumns(records()), idx_l, idx_r)
    zone = assign_zones(np.array(probability), THRESHOLDS)
    return apply_rules(np.array(probability), zone, RULES, masks)


def test_zones_follow_the_thresholds_inclusively():
    zones = assign_zones(np.array([0.95, 0.9499, 0.5, 0.4999, 1.0, 0.0]), THRESHOLDS)
    assert zones.tolist() == [
        "auto_match",
        "review",
        "review",
        "non_match",
        "auto_match",
        "non_match",
    ]


def test_same_valid_id_and_name_is_an_auto_match_whatever_the_model_says():
    probability, zone, rule = decide([(0, 1)], [0.02])
    assert probability.tolist() == [1.0]
    assert zone.tolist() == ["auto_match"]
    assert rule.tolist() == ["same_id_and_name"]


def test_same_id_and_name_with_an_invalid_id_is_left_to_the_model():
    probability, zone, rule = decide([(0, 2)], [0.6])
    assert probability.tolist() == [0.6]
    assert zone.tolist() == ["review"]
    assert rule.tolist() == [None]


def test_twins_with_different_valid_ids_are_capped_at_review():
    probability, zone, rule = decide([(3, 4)], [0.999])
    # The model's probability is kept (explainable); only the zone is capped.
    assert probability.tolist() == [0.999]
    assert zone.tolist() == ["review"]
    assert rule.tolist() == ["different_valid_resident_ids"]


def test_never_auto_match_leaves_lower_zones_and_their_rule_alone():
    _, zone, rule = decide([(3, 4), (3, 4)], [0.7, 0.1])
    assert zone.tolist() == ["review", "non_match"]
    assert rule.tolist() == [None, None]


def test_never_auto_match_needs_both_ids_present():
    _, zone, rule = decide([(3, 5)], [0.99])
    assert zone.tolist() == ["auto_match"]
    assert rule.tolist() == [None]


# Rules on comparison levels and on columns missing on both sides.
LEVEL_RULES = [
    DeterministicRule.model_validate(
        {
            "name": "different_valid_resident_ids",
            "decision": "never_auto_match",
            "when": {"different": ["id_number"], "id_valid": True, "both_missing": ["id_issue"]},
        }
    ),
    DeterministicRule.model_validate(
        {
            "name": "different_names",
            "decision": "never_auto_match",
            "when": {"levels": {"name": ["else", "missing"], "id_number": ["else", "missing"]}},
        }
    ),
]
COMPARISONS = [
    Comparison.model_validate(
        {"name": "name", "levels": [{"kind": "exact", "column": "name", "label": "exact"}]}
    ),
    Comparison.model_validate(
        {
            "name": "id_number",
            "levels": [
                {"kind": "exact", "column": "id_number"},
                {"kind": "levenshtein", "column": "id_number", "max_distance": 1},
            ],
        }
    ),
]


def level_records() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("t1", "李明", "130102200005050011", True, None),  # twins: 0, 1
            ("t2", "李亮", "130102200005050038", True, None),
            ("u1", "王芳", "130102197001010015", True, None),  # 15-digit typo upgraded: 2, 3
            ("u2", "王芳", "130102197001010023", True, "upgraded_from_15"),
            ("n1", None, None, False, "missing"),  # nameless, ID-less rows: 4, 5
            ("n2", None, None, False, "missing"),
            ("a1", "张伟", "130102199001011234", True, None),  # one-digit ID typo: 6, 7
            ("a2", "张为", "130102199001011235", False, "bad_check_digit"),
        ],
        columns=["record_key", "name", "id_number", "id_valid", "id_issue"],
    )


def level_masks(pairs: list[tuple[int, int]], gammas: pd.DataFrame | None = None):
    idx_l = np.array([p[0] for p in pairs])
    idx_r = np.array([p[1] for p in pairs])
    columns = RecordColumns(level_records())
    return rule_masks(LEVEL_RULES, columns, idx_l, idx_r, comparisons=COMPARISONS, gammas=gammas)


def test_both_missing_spares_an_id_upgraded_from_15_digits():
    masks = level_masks([(0, 1), (2, 3)])
    # The twins' IDs are both checked by their own check digit: two people. The upgraded ID
    # has no check digit of its own, so the pair is left to the model.
    assert masks["different_valid_resident_ids"].tolist() == [True, False]


def test_level_condition_compares_the_pairs_when_no_gammas_are_given():
    masks = level_masks([(0, 1), (4, 5), (6, 7), (2, 3)])
    # Twins: names else, IDs else (two digits apart) -> holds. Nameless rows: name missing,
    # ID missing -> holds. One-digit ID typo: name else but ID at the typo level -> no.
    # 王芳/王芳: exact name -> no.
    assert masks["different_names"].tolist() == [True, True, False, False]


def test_level_condition_reads_given_gammas():
    # gamma_name 0 = else, gamma_id_number 2 = exact: the ID says same person -> no.
    gammas = pd.DataFrame({"gamma_name": [0, 0, 1], "gamma_id_number": [2, 0, -1]})
    masks = level_masks([(0, 1), (0, 1), (0, 1)], gammas)
    assert masks["different_names"].tolist() == [False, True, False]
