"""Partially masked IDs as evidence: keys, the `visible_agree` level, and a whole run where
nameless mobile-banking records carrying `440***********1234` meet their full records."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pydantic
import pytest

from matching import compare, link
from matching.blocking import block_pairs, prepare_records
from matching.comparison import RecordColumns, compare_comparison
from matching.config import Comparison, ComparisonLevel, DeterministicRule
from matching.engine import rule_masks_for
from matching.rules import apply_rules
from tests.matching.test_engine import filler, same_cluster, shipped_config

FULL = "440301199001011234"


def key_values(column: str, ids: list[str | None]) -> list[object]:
    columns = RecordColumns(pd.DataFrame({"id_number": ids}))
    out = pd.Series([columns.value(column, row) for row in range(len(ids))], dtype=object)
    return [None if missing else value for value, missing in zip(out, out.isna(), strict=True)]


def test_a_masked_id_is_no_whole_id_for_any_key():
    ids = ["440***********1234", "440***********1234", FULL, "440301******123"]
    for column in ("id_full", "id_consistent", "id_body"):
        assert key_values(column, ids)[:2] == [None, None], column
        assert key_values(column, ids)[2] is not None, column
    assert key_values("id_without_area", ids)[:2] == [None, None]
    # What it shows is kept position by position; a 15-position ID is widened to 18, its
    # century and check character unknown.
    assert key_values("id_visible", ids) == [
        "440***********1234",
        "440***********1234",
        FULL,
        "440301********123*",
    ]
    # The sequence digits: shown by a masked ID of either length, and by the full one.
    assert key_values("id_sequence", ids) == ["123", "123", "123", "123"]
    assert key_values("id_sequence", ["440***********12**", "E12345678"]) == [None, None]
    assert key_values("id_tail", ids) == ["1234", "1234", "1234", None]  # 15: no check character


def visible_gammas(left: list[str | None], right: list[str | None], min_visible: int = 6):
    """The visible_agree level alone (1 holds, 0 else, -1 null) on pairs (left[i], right[i])."""
    n = len(left)
    frame = pd.DataFrame({"v": left + right})
    comparison = Comparison.model_validate(
        {
            "name": "c",
            "levels": [{"kind": "visible_agree", "column": "v", "min_visible": min_visible}],
        }
    )
    return compare_comparison(
        comparison, RecordColumns(frame), np.arange(n), np.arange(n, 2 * n)
    ).tolist()


def test_visible_digits_must_agree_in_every_position_both_show():
    assert visible_gammas(
        ["440***********1234", "440***********1234", "4403**********1234", "440***********1234"],
        [FULL, "440301199001011235", "440***********1234", "440***********1234"],
    ) == [1, 0, 1, 1]
    # A full ID against another full ID agrees only when equal; lengths must be equal; too
    # few digits visible in both is no agreement.
    assert visible_gammas(
        [FULL, FULL, "440***********1234", "4****************4", "440***********1234"],
        [FULL, "440301199001011299", "440***1234", FULL, None],
    ) == [1, 0, 0, 0, -1]
    assert visible_gammas(["440***********1234"], [FULL], min_visible=8) == [0]


def test_the_level_is_computed_over_arrays_for_many_pairs_at_once():
    rng = np.random.default_rng(3)
    full = [f"4403{k:014d}" for k in rng.integers(0, 10**14, 3000)]
    masked = [f"{v[:3]}{'*' * 11}{v[-4:]}" for v in full]
    other = masked[1:] + masked[:1]  # every masked ID against someone else's full one
    gammas = visible_gammas(masked + other, full + full)
    assert gammas[:3000] == [1] * 3000
    tails_equal = [a[-4:] == b[-4:] for a, b in zip(other, full, strict=True)]
    assert gammas[3000:] == [int(same) for same in tails_equal]


def test_the_level_needs_its_parameter_and_keeps_it_to_itself():
    with pytest.raises(pydantic.ValidationError, match="min_visible"):
        ComparisonLevel.model_validate({"kind": "visible_agree", "column": "v"})
    with pytest.raises(pydantic.ValidationError, match="min_visible"):
        ComparisonLevel.model_validate({"kind": "exact", "column": "v", "min_visible": 6})


def test_shipped_id_comparison_ranks_visible_digits_below_every_whole_id_level():
    id_number = next(c for c in shipped_config().comparisons if c.name == "id_number")
    visible = id_number.gamma_of_label("visible digits agree")
    assert visible == 1  # the weakest level; 0 is else
    assert id_number.levels[-1].kind == "visible_agree"


# --- a whole run ------------------------------------------------------------------------

RECORD_COLUMNS = [
    "record_key", "source_system", "name", "name_pinyin", "id_number", "id_valid",
    "birth_date", "gender", "mobile", "address", "district", "person",
]  # fmt: skip
HOME = "广东省深圳市罗湖区人民路1号"


def full(key: str, name: str, pinyin: str, id_number: str, born: dt.date, gender: str,
         mobile: str, person: int) -> tuple:  # fmt: skip
    return (f"core:{key}", "core", name, pinyin, id_number, True, born, gender, mobile,
            HOME, "罗湖区", person)  # fmt: skip


def nameless(key: str, id_number: str | None, mobile: str, person: int,
             born: dt.date | None = None) -> tuple:  # fmt: skip
    return (f"mobile:{key}", "mobile", None, None, id_number, False, born, None, mobile, None,
            None, person)  # fmt: skip


ROWS = [
    # A mobile-banking record: no name, the ID masked, the mobile the core record's.
    full("C1", "张伟", "zhang wei", FULL, dt.date(1990, 1, 1), "M", "13911110001", 1),
    nameless("M1", "440***********1234", "13911110001", 1),
    full("C2", "李娜", "li na", "440303198505052221", dt.date(1985, 5, 5), "F", "13911110002", 2),
    nameless("M2", "440303********2221", "13911110002", 2),
    full(
        "C6", "刘洋", "liu yang", "440306197203033318", dt.date(1972, 3, 3), "M", "13911110006", 6
    ),
    nameless("M6", "440＊＊＊＊＊＊＊＊＊＊＊3318".replace("＊", "*"), "13911110006", 6),
    # Its mobile one digit off: met on the ID's visible tail and the mobile's head.
    full(
        "C3", "王强", "wang qiang", "440304197707073335", dt.date(1977, 7, 7), "M", "13911110003", 3
    ),
    nameless("M3", "440***********3335", "13911110083", 3),
    # A relative using the same phone: the visible digits disagree with the customer's ID.
    full(
        "C4", "赵敏", "zhao min", "440305196812124446", dt.date(1968, 12, 12), "F", "13911110004", 4
    ),
    nameless("M4", "440***********9998", "13911110004", 40),
    # No ID at all, the same mobile and birth date.
    full(
        "C5",
        "陈静",
        "chen jing",
        "440306199212120021",
        dt.date(1992, 12, 12),
        "F",
        "13911110005",
        5,
    ),
    nameless("M5", None, "13911110005", 5, born=dt.date(1992, 12, 12)),
    # The core record, its card record with an older mobile, the masked record with the
    # current one: masked and card records share only the visible digits, yet all are one.
    full("C9", "孙丽", "sun li", "440307198808083346", dt.date(1988, 8, 8), "F", "13911110009", 9),
    full("K9", "孙丽", "sun li", "440307198808083346", dt.date(1988, 8, 8), "F", "13522220009", 9),
    nameless("M9", "440307********3346", "13911110009", 9),
    # Two strangers' masked IDs that show the same area and last four, nothing else shared.
    nameless("M7", "440***********7777", "13911110007", 7),
    nameless("M8", "440***********7777", "13622220008", 8),
]


def masked_records() -> pd.DataFrame:
    records = pd.concat([pd.DataFrame(ROWS, columns=RECORD_COLUMNS), filler()], ignore_index=True)
    issue = pd.Series(None, index=records.index, dtype=object)
    issue[records["id_number"].isna()] = "missing"
    issue[records["id_number"].str.contains("*", regex=False, na=False)] = "masked"
    records["id_issue"] = issue
    records["phone_other"] = None
    return records


@pytest.fixture(scope="module")
def run():
    return link(masked_records(), shipped_config())


def pair(result, a: str, b: str) -> pd.Series:
    pairs = result.scored_pairs.set_index(["record_key_l", "record_key_r"])
    return pairs.loc[(min(a, b), max(a, b))]


def test_a_nameless_record_with_a_masked_id_and_the_mobile_joins_its_full_record(run):
    for person in ("1", "2", "6"):
        scored = pair(run, f"core:C{person}", f"mobile:M{person}")
        assert scored["gamma_id_number"] == 1  # visible digits agree: never the exact level
        assert scored["gamma_name"] == -1  # a missing name is missing, not different
        assert scored["zone"] == "auto_match", person
        assert same_cluster(run.clusters, f"core:C{person}", f"mobile:M{person}")


def test_a_mobile_one_digit_off_is_met_on_the_visible_tail(run):
    scored = pair(run, "core:C3", "mobile:M3")
    assert scored["blocking_rule"] == "id_sequence_mobile_head"
    assert scored["zone"] in {"auto_match", "review"}


def test_visible_digits_that_disagree_keep_a_shared_phone_apart(run):
    scored = pair(run, "core:C4", "mobile:M4")
    assert scored["gamma_id_number"] == 0
    assert scored["zone"] == "non_match"
    assert not same_cluster(run.clusters, "core:C4", "mobile:M4")


def test_the_same_mobile_and_birth_date_without_a_name_reach_at_least_review(run):
    scored = pair(run, "core:C5", "mobile:M5")
    assert scored["zone"] in {"auto_match", "review"}


def test_two_masked_ids_written_alike_are_not_one_id():
    # Not paired by the exact ID rule (id_full leaves masked IDs out) ...
    records = masked_records()
    config = shipped_config()
    prepared = prepare_records(records, config)
    pairs, _ = block_pairs(prepared, config)
    keys = prepared["record_key"].to_numpy()
    m7, m8 = (int(np.flatnonzero(keys == key)[0]) for key in ("mobile:M7", "mobile:M8"))
    assert not ((pairs["idx_l"] == m7) & (pairs["idx_r"] == m8)).any()
    # ... and, when another rule pairs them, never above the visible-digits level; with
    # nothing else agreeing a masked ID alone is never auto-matched.
    both = pd.DataFrame({"idx_l": [m7], "idx_r": [m8]})
    columns = RecordColumns(prepared)
    gammas = compare(prepared, both, config, columns=columns)
    assert gammas["gamma_id_number"].tolist() == [1]
    assert rule_masks_for(config, columns, both, gammas)["masked_id_alone"].tolist() == [True]


def test_thin_evidence_between_two_records_does_not_keep_apart_what_others_join(run):
    # masked_id_alone caps the pair at review but, unlike never_auto_match, is no cannot-link.
    assert same_cluster(run.clusters, "core:C9", "mobile:M9")
    assert same_cluster(run.clusters, "core:K9", "mobile:M9")


def test_a_cap_at_review_rule_caps_an_auto_match_and_leaves_other_zones():
    rule = DeterministicRule.model_validate(
        {"name": "thin", "decision": "cap_at_review", "when": {"equal": ["v"]}}
    )
    probability, zone, decided_by = apply_rules(
        np.array([0.99, 0.7, 0.1]),
        np.array(["auto_match", "review", "non_match"], dtype=object),
        [rule],
        {"thin": np.array([True, True, True])},
    )
    assert zone.tolist() == ["review", "review", "non_match"]
    assert decided_by.tolist() == ["thin", None, None]
    assert probability.tolist() == [0.99, 0.7, 0.1]
