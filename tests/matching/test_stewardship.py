"""Steward decisions as constraints, contradictions, and the review queue."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from matching.model import ComparisonParameters, FellegiSunterModel
from matching.stewardship import (
    QUESTION_COLUMNS,
    RISK_SAME_ID_AND_NAME,
    RISK_TWO_VALID_IDS,
    build_review_questions,
    build_review_queue,
    check_references,
    cli_steward,
    constraints_from_decisions,
    explain_pairs,
    find_contradiction,
    involved_record_keys,
    match_weight_waterfall,
    merge_members_json,
    question_id,
    risk_reasons,
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


def test_merge_keeps_every_record_it_was_decided_on_that_is_still_on_file():
    constraints = constraints_from_decisions(
        decisions(
            {
                "decision_type": "merge",
                "golden_id": "G2",
                "related_golden_id": "G1",
                "record_key_l": "d",
                "record_key_r": "a",
                "member_keys": merge_members_json(["a", "b", "d", "gone"]),
            }
        ),
        XREF,
    )
    pairs = constraints.must_link[["record_key_l", "record_key_r"]].values.tolist()
    assert sorted(pairs) == [["a", "d"], ["b", "d"]]  # "gone" left its source since
    assert set(constraints.must_link["decision_id"]) == {1}


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


def test_a_pair_waiting_for_approval_is_not_asked_again_and_a_rejected_one_is():
    scored = scored_pairs().assign(match_weight=0.0)
    records = pd.DataFrame({"record_key": ["a", "b", "c"], "name": ["张伟", "张伟", "张玮"]})
    decided = decisions(
        {"decision_type": "same", "record_key_l": "a", "record_key_r": "b", "status": "pending"},
        {"decision_type": "same", "record_key_l": "b", "record_key_r": "c", "status": "rejected"},
    )
    queue = build_review_queue(scored, records, MODEL, decided)
    asked = queue[["record_key_l", "record_key_r"]].values.tolist()
    assert sorted(asked) == [["a", "c"], ["b", "c"]]


# ---------------------------------------------------------------- checking what a decision names

PARTY = pd.DataFrame(
    {
        "record_key": ["core:1", "crm:1", "credit:1", "core:2", "crm:2", "core:3"],
        "name": ["李娜", "李娜", "李娜", "王敏", "王敏", "王敏"],
        # core:2 and crm:2 are one person (one valid ID); core:3 is a namesake with another.
        "id_number": [
            "110101199001011234",
            "110101199001011234",
            None,
            "130102197602100027",
            "130102197602100027",
            "130102198001010011",
        ],
        "id_valid": [True, True, False, True, True, True],
        "source_trust": [1, 3, 2, 1, 3, 1],
        "source_updated_at": pd.to_datetime(
            ["2026-01-01", "2026-02-01", "2025-06-01", "2026-03-01", "2024-01-01", "2026-04-01"]
        ),
    }
)
PARTY_XREF = pd.DataFrame(
    {
        "record_key": ["core:1", "crm:1", "credit:1", "core:2", "crm:2", "core:3"],
        "golden_id": ["G1", "G1", "G1", "G2", "G2", "G3"],
    }
)
GOLDEN = pd.DataFrame(
    {
        "golden_id": ["G1", "G2", "G3", "G4"],
        "status": ["active", "active", "active", "retired"],
        "survivor_id": [None, None, None, "G2"],
    }
)


@pytest.mark.parametrize(
    ("decision_type", "fields", "message"),
    [
        (
            "same",
            {"record_key_l": "nosuch:1", "record_key_r": "nosuch:2"},
            "record key nosuch:1 and record key nosuch:2 are not in the cross-reference",
        ),
        (
            "different",
            {"record_key_l": "core:1", "record_key_r": "nosuch:2"},
            "record key nosuch:2 is not in the cross-reference",
        ),
        # The regression of issue 15: a split naming the wrong golden ID was accepted, silently
        # not applied, and then blocked the right one.
        (
            "split",
            {"record_key_l": "core:2", "golden_id": "G1"},
            "record core:2 is in golden record G2, not G1",
        ),
        (
            "split",
            {"record_key_l": "core:3", "golden_id": "G3"},
            "only record of golden record G3",
        ),
        (
            "split",
            {"record_key_l": "core:2", "golden_id": "G4"},
            "G4 was retired: merged into G2; record core:2 is in golden record G2",
        ),
        (
            "merge",
            {"golden_id": "G1", "related_golden_id": "G4"},
            "golden record G4 was retired: merged into G2; name G2 instead",
        ),
        (
            "merge",
            {"golden_id": "G9", "related_golden_id": "G1"},
            "golden ID G9 is not an active golden record",
        ),
    ],
)
def test_a_decision_naming_what_is_not_there_is_refused_naming_it(decision_type, fields, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        check_references(decision_type, xref=PARTY_XREF, golden=GOLDEN, **fields)


def test_a_decision_naming_what_is_there_passes_the_check():
    check_references("split", xref=PARTY_XREF, golden=GOLDEN, record_key_l="crm:1", golden_id="G1")
    check_references(
        "merge", xref=PARTY_XREF, golden=GOLDEN, golden_id="G1", related_golden_id="G3"
    )
    check_references(
        "same", xref=PARTY_XREF, golden=GOLDEN, record_key_l="core:1", record_key_r="core:3"
    )


def risks(decision_type: str, **fields: str) -> tuple[str, ...]:
    return risk_reasons(decision_type, xref=PARTY_XREF, golden=GOLDEN, records=PARTY, **fields)


def test_joining_two_valid_resident_ids_is_risky_and_says_so_without_the_ids():
    reasons = risks("same", record_key_l="core:2", record_key_r="core:3")
    assert RISK_TWO_VALID_IDS in reasons
    # core:2 (trust 1) keeps G2's ID against core:3 (trust 1, newer): survivorship picks the
    # newer one, so one of the two golden records changes its resident ID.
    assert any("resident ID of golden record" in r for r in reasons)
    assert not any(digit in " ".join(reasons) for digit in ("1301", "1101"))
    assert RISK_TWO_VALID_IDS in risks("merge", golden_id="G2", related_golden_id="G3")


def test_joining_records_that_change_no_golden_value_is_not_risky():
    # Already one golden record: confirming it joins nothing.
    assert risks("same", record_key_l="crm:1", record_key_r="credit:1") == ()
    # A record with no ID and G1's name joining G1 from its own golden record: G1 keeps its
    # name and ID (core:1 is the most trusted); the newcomer's golden record gains an ID it
    # lacked, which changes no one's identity.
    xref = PARTY_XREF.assign(
        golden_id=PARTY_XREF["golden_id"].where(PARTY_XREF["record_key"] != "credit:1", "G5")
    )
    reasons = risk_reasons(
        "same", xref=xref, records=PARTY, record_key_l="credit:1", record_key_r="core:1"
    )
    assert reasons == ()


def test_a_join_that_changes_a_golden_name_is_risky():
    party = PARTY.assign(name=PARTY["name"].where(PARTY["record_key"] != "core:3", "闫国斌"))
    # G3 (闫国斌, one valid ID) joins G2: survivorship keeps the newest most-trusted record's
    # name (core:3, 2026-04-01), so G2's name would change.
    reasons = risk_reasons(
        "merge",
        xref=PARTY_XREF,
        golden=GOLDEN,
        records=party,
        golden_id="G2",
        related_golden_id="G3",
    )
    assert "would change the name of golden record G2" in reasons


def test_splitting_records_with_one_valid_id_and_one_name_is_risky():
    assert RISK_SAME_ID_AND_NAME in risks("split", record_key_l="crm:2", golden_id="G2")
    assert RISK_SAME_ID_AND_NAME in risks("different", record_key_l="core:1", record_key_r="crm:1")
    # credit:1 has no valid ID: splitting it out keeps G1's name and ID, so it is not risky.
    assert risks("split", record_key_l="credit:1", golden_id="G1") == ()


def test_splitting_out_the_record_that_gave_the_golden_id_is_risky():
    party = PARTY.assign(id_valid=PARTY["record_key"] != "crm:2")
    # core:2 gives G2 its ID; without it only crm:2, whose ID is not valid, is left.
    reasons = risk_reasons(
        "split",
        xref=PARTY_XREF,
        golden=GOLDEN,
        records=party,
        record_key_l="core:2",
        golden_id="G2",
    )
    assert reasons == ()  # crm:2 still carries the same ID value (invalid, but the same)
    party = party.assign(id_number=party["id_number"].where(party["record_key"] != "crm:2", None))
    reasons = risk_reasons(
        "split",
        xref=PARTY_XREF,
        golden=GOLDEN,
        records=party,
        record_key_l="core:2",
        golden_id="G2",
    )
    assert reasons == ("would change the resident ID of golden record G2",)


def test_a_decisions_risk_needs_only_the_records_of_the_golden_records_it_involves():
    assert involved_record_keys(xref=PARTY_XREF, record_key_l="crm:2", record_key_r="core:3") == [
        "core:2",
        "core:3",
        "crm:2",
    ]
    assert involved_record_keys(
        xref=PARTY_XREF, golden=GOLDEN, golden_id="G1", related_golden_id="G3"
    ) == ["core:1", "core:3", "credit:1", "crm:1"]
    # An unknown key is still named (so the check can refuse it), with nothing else.
    assert involved_record_keys(xref=PARTY_XREF, record_key_l="nosuch:1") == ["nosuch:1"]


def test_cli_stewards_are_login_names_recorded_under_cli():
    assert cli_steward("wang.min@branch-01") == "cli:wang.min@branch-01"
    for bad in ("王敏", "", "a b", "x" * 101, "a;drop"):
        with pytest.raises(ValueError, match="letters, digits"):
            cli_steward(bad)


# ---------------------------------------------------------------- questions


def queue_of(pairs: list[tuple[str, str, float]], oversized: list[list[str]] = ()) -> pd.DataFrame:  # type: ignore[assignment]
    rows = [
        {"item_type": "pair", "record_key_l": left, "record_key_r": right, "priority": p}
        for left, right, p in pairs
    ]
    rows += [
        {
            "item_type": "oversized_cluster",
            "record_key_l": min(m),
            "record_key_r": ",".join(sorted(m)),
            "priority": 1.0,
        }
        for m in oversized
    ]
    return pd.DataFrame(rows)


def test_connected_pairs_are_one_question_with_the_highest_priority():
    queue = queue_of(
        [
            ("a:1", "b:1", 0.2),
            ("b:1", "c:1", 0.9),  # a-b-c: one question through b:1
            ("a:2", "b:2", 0.5),  # a question of its own
            ("x:1", "y:1", 0.1),  # joins the oversized cluster through y:1
        ],
        oversized=[["y:1", "y:2", "y:3"]],
    )
    records = pd.DataFrame(
        {
            "record_key": ["a:1", "b:1", "c:1", "a:2", "b:2"],
            "source_system": ["a", "b", "c", "a", "b"],
            "source_updated_at": pd.to_datetime(
                ["2026-01-01", "2025-01-01", "2026-02-01", "2026-03-01", "2026-03-05"]
            ),
        }
    )
    golden = pd.Series({"a:1": "G1", "b:1": "G1", "c:1": "G2", "a:2": "G3", "b:2": "G4"})
    value = pd.Series({"a:1": 100.0, "b:1": 100.0, "c:1": 5.0, "a:2": 1.0, "b:2": 2.0})
    questions = build_review_questions(
        queue, records, customer_value=value, golden_ids=golden, as_of=pd.Timestamp("2026-03-10")
    )
    assert len(questions) == 3  # five items, three questions
    assert questions["record_keys"].tolist() == [
        "x:1,y:1,y:2,y:3",  # priority 1.0: an oversized cluster
        "a:1,b:1,c:1",  # 0.9: its highest pair, not 0.2 + 0.9
        "a:2,b:2",
    ]
    first_pairs = questions.iloc[1]
    assert first_pairs["priority"] == 0.9
    assert first_pairs["pair_count"] == 2
    assert first_pairs["pairs"] == "a:1|b:1;b:1|c:1"
    assert first_pairs["source_systems"] == "a,b,c"
    assert first_pairs["golden_ids"] == "G1,G2"
    assert first_pairs["value"] == 105.0  # G1's 100 counted once, plus G2's 5
    assert first_pairs["age_days"] == 433  # b:1 2025-01-01 to 2026-03-10: 365 + 31 + 28 + 9
    assert first_pairs["question_type"] == "pairs"
    oversized = questions.iloc[0]
    assert (oversized["question_type"], oversized["pair_count"]) == ("oversized_cluster", 1)


def test_a_question_id_depends_only_on_its_records():
    queue = queue_of([("a:1", "b:1", 0.2), ("b:1", "c:1", 0.9)])
    records = pd.DataFrame({"record_key": ["a:1", "b:1", "c:1"]})
    forward = build_review_questions(queue, records)
    backward = build_review_questions(queue.iloc[::-1].reset_index(drop=True), records)
    assert forward["question_id"].tolist() == backward["question_id"].tolist()
    assert forward["question_id"].iloc[0] == question_id(["c:1", "a:1", "b:1"])
    assert forward["source_systems"].iloc[0] == "a,b,c"  # from the keys when no source column


def test_no_queue_no_questions():
    empty = build_review_questions(queue_of([]).reindex(columns=["item_type"]), pd.DataFrame())
    assert empty.empty
    assert list(empty.columns) == list(QUESTION_COLUMNS)


# ---------------------------------------------------------------- waterfall


def test_waterfall_steps_add_up_to_the_pairs_weight_including_term_frequency():
    scored = scored_pairs()
    records = pd.DataFrame({"record_key": ["a", "b", "c"], "name": ["张伟", "张伟", "欧阳婧"]})
    positions = pd.Index(records["record_key"])
    scored["match_weight"] = MODEL.match_weights(
        scored,
        positions.get_indexer(scored["record_key_l"]),
        positions.get_indexer(scored["record_key_r"]),
        MODEL.term_frequencies(records),
    )
    for _, pair in scored.iterrows():
        steps = match_weight_waterfall(MODEL, pair, records)
        assert steps["step"].tolist() == ["prior", "name", "mobile"]
        assert steps["end"].iloc[-1] == pytest.approx(pair["match_weight"], abs=1e-9)
        assert steps["start"].iloc[0] == 0.0
        np.testing.assert_allclose(steps["start"].iloc[1:], steps["end"].iloc[:-1])
    steps = match_weight_waterfall(MODEL, scored.iloc[0], records)
    assert steps.loc[1, "level"].startswith("exact (term frequency")
    assert steps.loc[0, "bits"] == pytest.approx(np.log2(0.001 / 0.999))
