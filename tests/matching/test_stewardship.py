"""Steward decisions as constraints, contradictions, and the review queue."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matching.model import ComparisonParameters, FellegiSunterModel
from matching.stewardship import (
    build_review_queue,
    constraints_from_decisions,
    explain_pairs,
    find_contradiction,
)


def decisions(*rows: dict[str, object]) -> pd.DataFrame:
    base = {
        "record_key_l": None,
        "record_key_r": None,
        "golden_id": None,
        "related_golden_id": None,
        "status": "active",
    }
    return pd.DataFrame([{**base, "decision_id": i + 1, **row} for i, row in enumerate(rows)])


XREF = pd.DataFrame({"record_key": ["a", "b", "c", "d"], "golden_id": ["G1", "G1", "G1", "G2"]})


def test_split_forbids_the_record_with_every_other_member_of_its_golden_record():
    constraints = constraints_from_decisions(
        decisions({"decision_type": "split", "record_key_l": "c", "golden_id": "G1"}), XREF
    )
    pairs = set(map(tuple, constraints.cannot_link[["record_key_l", "record_key_r"]].to_numpy()))
    assert pairs == {("a", "c"), ("b", "c")}  # not d: it is in another golden record
    assert constraints.must_link.empty


def test_revoked_decisions_do_not_constrain():
    constraints = constraints_from_decisions(
        decisions(
            {"decision_type": "same", "record_key_l": "a", "record_key_r": "d", "status": "revoked"}
        ),
        XREF,
    )
    assert constraints.must_link.empty


def test_contradiction_through_a_chain_names_every_decision_involved():
    constraints = constraints_from_decisions(
        decisions(
            {"decision_type": "same", "record_key_l": "a", "record_key_r": "b"},
            {"decision_type": "same", "record_key_l": "b", "record_key_r": "d"},
            {"decision_type": "different", "record_key_l": "a", "record_key_r": "d"},
        ),
        XREF,
    )
    assert find_contradiction(constraints) == ("a", "d", [1, 2, 3])


def test_merge_pins_its_records_and_prefers_the_named_survivor():
    constraints = constraints_from_decisions(
        decisions(
            {
                "decision_type": "merge",
                "golden_id": "G2",
                "related_golden_id": "G1",
                "record_key_l": "d",
                "record_key_r": "a",
            }
        ),
        XREF,
    )
    assert constraints.must_link[["record_key_l", "record_key_r"]].values.tolist() == [["a", "d"]]
    assert constraints.preferred_golden_ids == frozenset({"G2"})


MODEL = FellegiSunterModel(
    comparisons=[
        ComparisonParameters(
            "name", ("else", "exact"), (0.1, 0.9), (0.9, 0.1), tf_gamma=1, tf_column="name"
        ),
        ComparisonParameters("mobile", ("else", "exact"), (0.2, 0.8), (0.99, 0.01)),
    ],
    prior_match_probability=0.001,
    config_hash="x",
    comparisons_hash="y",
)


def scored_pairs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_key_l": ["a", "a", "b"],
            "record_key_r": ["b", "c", "c"],
            "gamma_name": [1, 0, 1],
            "gamma_mobile": [1, 1, -1],
            "match_weight": [np.nan, np.nan, np.nan],
            "match_probability": [0.5, 0.9, 0.6],
            "zone": ["review", "review", "review"],
        }
    )


def test_explanation_adds_up_to_the_weight_including_term_frequency():
    scored = scored_pairs()
    records = pd.DataFrame({"record_key": ["a", "b", "c"], "name": ["张伟", "张伟", "欧阳婧"]})
    positions = pd.Index(records["record_key"])
    idx_l = positions.get_indexer(scored["record_key_l"])
    idx_r = positions.get_indexer(scored["record_key_r"])
    scored["match_weight"] = MODEL.match_weights(
        scored, idx_l, idx_r, MODEL.term_frequencies(records)
    )
    parts = explain_pairs(MODEL, scored, records)
    np.testing.assert_allclose(parts.sum(axis=1), scored["match_weight"])
    # 张伟 is two of three names: its exact agreement weighs less than the plain m/u says.
    assert parts.loc[0, "name"] < np.log2(0.9 / 0.1)
    assert parts.loc[2, "mobile"] == 0.0  # null level contributes nothing


def test_review_queue_skips_decided_pairs_and_puts_valuable_uncertain_ones_first():
    scored = scored_pairs()
    records = pd.DataFrame({"record_key": ["a", "b", "c"], "name": ["张伟", "张伟", "张玮"]})
    positions = pd.Index(records["record_key"])
    scored["match_weight"] = MODEL.match_weights(
        scored,
        positions.get_indexer(scored["record_key_l"]),
        positions.get_indexer(scored["record_key_r"]),
        MODEL.term_frequencies(records),
    )
    decided = decisions({"decision_type": "different", "record_key_l": "c", "record_key_r": "a"})
    value = pd.Series({"a": 0.0, "b": 999_999.0, "c": 0.0})
    queue = build_review_queue(
        scored, records, MODEL, decided, customer_value=value, review_clusters=[["x", "y", "z"]]
    )
    pairs = queue[queue["item_type"] == "pair"]
    # (a, c) was decided; (a, b) is the most uncertain (p = 0.5) and b holds ~1M in assets.
    assert pairs[["record_key_l", "record_key_r"]].values.tolist() == [["a", "b"], ["b", "c"]]
    assert pairs.iloc[0]["priority"] == 1.0 * (1 + np.log10(1_000_000.0))
    assert pairs.iloc[0]["name_l"] == "张伟"
    assert (queue["item_type"] == "oversized_cluster").sum() == 1
