"""Deterministic rules from config and the three zones."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matching.comparison import RecordColumns
from matching.config import DeterministicRule, Thresholds
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
