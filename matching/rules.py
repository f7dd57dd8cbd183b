"""Deterministic rules and the three zones.

Rules come from config (`deterministic_rules`) and are evaluated as boolean masks over all
pairs at once. For each pair the first rule (in config order) whose condition holds decides:

* `match`: probability 1, zone `auto_match`, `deterministic_rule` = the rule's name. The
  match weight stays the model's so the pair is still explainable.
* `never_chained`: nothing about the pair itself; clustering keeps its records apart unless
  the pair is itself an auto-match (see `engine`).
* `never_auto_match`: if the model would auto-match, the zone is capped at `review` and
  `deterministic_rule` names the rule; otherwise the pair keeps its score and zone, and no
  rule is recorded (it decided nothing). Clustering also uses these rules to keep such records
  out of one cluster when other records would chain them together, and training leaves the
  pairs they hold for out of EM (see `engine`).
* `cap_at_review`: the same cap on the pair itself, and nothing more: its records may still
  share a cluster through other records, and EM learns from the pair.

A condition may test columns (`equal`, `different`, `both_missing`, `id_valid`) and the
pair's comparison levels (`levels`: e.g. names at `else` and IDs at `else` or `missing`, the
signature of twins and relatives who share a phone and an address).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from matching.comparison import RecordColumns, compare_comparison
from matching.config import Comparison, DeterministicRule, RuleCondition, Thresholds

ZONES = ("auto_match", "review", "non_match")
#: `deterministic_rule` of an auto-match pair that clustering kept apart (a never-auto-match
#: rule holding through a third record, a steward's cannot-link, the cluster-size guard).
SPLIT_BY_CLUSTERING = "split_by_clustering"


def condition_mask(
    condition: RuleCondition,
    columns: RecordColumns,
    idx_l: np.ndarray,
    idx_r: np.ndarray,
    *,
    comparisons: Sequence[Comparison] = (),
    gammas: Mapping[str, np.ndarray] | pd.DataFrame | None = None,
) -> np.ndarray:
    """True for the pairs (idx_l[i], idx_r[i]) that satisfy every part of `condition`.

    A `levels` condition reads the pairs' gamma columns from `gammas` when given, else
    compares the pairs (`comparisons` must hold the comparisons it names).
    """
    mask = np.ones(len(idx_l), dtype=bool)
    for column in condition.equal:
        codes = columns.codes(column)
        left, right = codes[idx_l], codes[idx_r]
        mask &= (left >= 0) & (left == right)
    for column in condition.different:
        codes = columns.codes(column)
        left, right = codes[idx_l], codes[idx_r]
        mask &= (left >= 0) & (right >= 0) & (left != right)
    for column in condition.both_missing:
        codes = columns.codes(column)
        mask &= (codes[idx_l] < 0) & (codes[idx_r] < 0)
    if condition.id_valid is not None:
        valid = columns.is_true("id_valid")
        both = valid[idx_l] & valid[idx_r]
        mask &= both if condition.id_valid else ~both
    by_name = {c.name: c for c in comparisons}
    for name, labels in condition.levels.items():
        comparison = by_name.get(name)
        if comparison is None:
            raise ValueError(f"the rule condition needs comparison {name!r}")
        if gammas is not None and comparison.gamma_column in gammas:
            gamma = np.asarray(gammas[comparison.gamma_column])
        else:
            todo = np.flatnonzero(mask)  # only the pairs every other part allows
            gamma = np.full(len(idx_l), -2, dtype=np.int64)
            gamma[todo] = compare_comparison(comparison, columns, idx_l[todo], idx_r[todo])
        mask &= np.isin(gamma, [comparison.gamma_of_label(label) for label in labels])
    return mask


def rule_masks(
    rules: Sequence[DeterministicRule],
    columns: RecordColumns,
    idx_l: np.ndarray,
    idx_r: np.ndarray,
    *,
    comparisons: Sequence[Comparison] = (),
    gammas: Mapping[str, np.ndarray] | pd.DataFrame | None = None,
) -> dict[str, np.ndarray]:
    return {
        rule.name: condition_mask(
            rule.when, columns, idx_l, idx_r, comparisons=comparisons, gammas=gammas
        )
        for rule in rules
    }


def assign_zones(probability: np.ndarray, thresholds: Thresholds) -> np.ndarray:
    """`auto_match` at or above thresholds.auto_match, `review` at or above .review."""
    probability = np.asarray(probability, dtype=np.float64)
    code = np.full(len(probability), 2, dtype=np.int8)  # index into ZONES
    code[probability >= thresholds.review] = 1
    code[probability >= thresholds.auto_match] = 0
    return np.array(ZONES, dtype=object)[code]


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
        if rule.decision == "never_chained":  # decides nothing about the pair itself
            undecided |= holds
            continue
        if rule.decision == "match":
            probability[holds] = 1.0
            zone[holds] = "auto_match"
            decided_by[holds] = rule.name
        else:  # never_auto_match, cap_at_review
            capped = holds & (zone == "auto_match")
            zone[capped] = "review"
            decided_by[capped] = rule.name
    return probability, zone, decided_by
