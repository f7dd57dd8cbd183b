"""Deterministic rules and the three zones.

Rules come from config (`deterministic_rules`) and are evaluated as boolean masks over all
pairs at once. For each pair the first rule (in config order) whose condition holds decides:

* `match`: probability 1, zone `auto_match`, `deterministic_rule` = the rule's name. The
  match weight stays the model's so the pair is still explainable.
* `never_auto_match`: if the model would auto-match, the zone is capped at `review` and
  `deterministic_rule` names the rule; otherwise the pair keeps its score and zone, and no
  rule is recorded (it decided nothing). Clustering also uses these rules to keep such records
  out of one cluster when other records would chain them together (see `engine`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matching.comparison import RecordColumns
from matching.config import DeterministicRule, RuleCondition, Thresholds

ZONES = ("auto_match", "review", "non_match")


def _both_true(columns: RecordColumns, column: str) -> np.ndarray:
    # `id_valid` may arrive as bool, nullable boolean or object with None: only True counts.
    return columns.frame[column].eq(True).fillna(False).to_numpy(dtype=bool)


def condition_mask(
    condition: RuleCondition,
    columns: RecordColumns,
    idx_l: np.ndarray,
    idx_r: np.ndarray,
) -> np.ndarray:
    """True for the pairs (idx_l[i], idx_r[i]) that satisfy every part of `condition`."""
    mask = np.ones(len(idx_l), dtype=bool)
    for column in condition.equal:
        codes = columns.codes(column)
        left, right = codes[idx_l], codes[idx_r]
        mask &= (left >= 0) & (left == right)
    for column in condition.different:
        codes = columns.codes(column)
        left, right = codes[idx_l], codes[idx_r]
        mask &= (left >= 0) & (right >= 0) & (left != right)
    if condition.id_valid is not None:
        valid = _both_true(columns, "id_valid")
        both = valid[idx_l] & valid[idx_r]
        mask &= both if condition.id_valid else ~both
    return mask


def rule_masks(
    rules: Sequence[DeterministicRule],
    columns: RecordColumns,
    idx_l: np.ndarray,
    idx_r: np.ndarray,
) -> dict[str, np.ndarray]:
    return {rule.name: condition_mask(rule.when, columns, idx_l, idx_r) for rule in rules}


def assign_zones(probability: np.ndarray, thresholds: Thresholds) -> np.ndarray:
    """`auto_match` at or above thresholds.auto_match, `review` at or above .review."""
    probability = np.asarray(probability, dtype=np.float64)
    return np.select(
        [probability >= thresholds.auto_match, probability >= thresholds.review],
        ["auto_match", "review"],
        default="non_match",
    ).astype(object)


def apply_rules(
    probability: np.ndarray,
    zone: np.ndarray,
    rules: Sequence[DeterministicRule],
    masks: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(probability, zone, deterministic_rule) after the rules; inputs are not modified."""
    probability = np.array(probability, dtype=np.float64, copy=True)
    zone = np.array(zone, dtype=object, copy=True)
    decided_by = np.full(len(zone), None, dtype=object)
    undecided = np.ones(len(zone), dtype=bool)
    for rule in rules:
        holds = masks[rule.name] & undecided
        undecided &= ~holds
        if rule.decision == "match":
            probability[holds] = 1.0
            zone[holds] = "auto_match"
            decided_by[holds] = rule.name
        else:
            capped = holds & (zone == "auto_match")
            zone[capped] = "review"
            decided_by[capped] = rule.name
    return probability, zone, decided_by
