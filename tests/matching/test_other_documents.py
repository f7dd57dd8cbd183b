"""A record's other documents (`other_ids`, from a source's identifiers table) as evidence: the
`id_numbers` key with several values per record, blocking on it, the `exact` level that holds
when two records share one, and a whole run where a passport-only record meets its customer."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pydantic
import pytest

from matching import link
from matching.blocking import block_pairs, prepare_records
from matching.comparison import RecordColumns, compare_comparison
from matching.config import BlockingRule, Comparison, ComparisonLevel, RuleCondition
from tests.matching.test_engine import COLUMNS, filler, same_cluster, shipped_config

ID_A = "130102198503071235"
ID_B = "130102199001011234"


def items_of(frame: pd.DataFrame) -> list[list[str]]:
    items = RecordColumns(frame).items("id_numbers")
    out: list[list[str]] = [[] for _ in range(len(frame))]
    for position, code in zip(items.positions, items.codes, strict=True):
        out[position].append(items.values[code])
    return [sorted(numbers) for numbers in out]


def test_the_key_holds_the_id_and_every_other_documents_number():
    frame = pd.DataFrame(
        {
            "id_number": [ID_A, "E12345678", "440***********1234", ID_B, None],
            "id_conflict": [False, False, False, True, False],
            "other_ids": [
                "passport:E12345678;hk_macao_permit:H12345678",
                None,
                "passport:E7654321",
                "passport:G12345678",
                f"resident_id:{ID_A};resident_id:440***********9999",
            ],
        }
    )
    assert items_of(frame) == [
        [ID_A, "E12345678", "H12345678"],
        ["E12345678"],
        ["E7654321"],  # a masked ID is no number to share
        ["G12345678"],  # an ID its own record contradicts neither (as id_consistent)
        [ID_A],
    ]
    # Without the column the key is the ID alone.
    assert items_of(frame.drop(columns="other_ids"))[:2] == [[ID_A], ["E12345678"]]


def shared_gammas(left: list[str | None], right: list[str | None]) -> list[int]:
    """The `exact` level on `id_numbers` alone: pair i is (ID, other_ids) left[i] / right[i]."""
    n = len(left)
    parse = [(None, None) if v is None else tuple(v.split("|")) for v in left + right]
    frame = pd.DataFrame(parse, columns=["id_number", "other_ids"]).replace("", None)
    comparison = Comparison.model_validate(
        {"name": "c", "levels": [{"kind": "exact", "column": "id_numbers"}]}
    )
    return compare_comparison(
        comparison, RecordColumns(frame), np.arange(n), np.arange(n, 2 * n)
    ).tolist()


def test_the_level_holds_when_the_two_records_share_a_document():
    assert shared_gammas(
        [f"{ID_A}|passport:E12345678", "E12345678|", f"{ID_A}|", f"{ID_A}|passport:E1", None],
        ["E12345678|", f"{ID_B}|passport:E12345678", f"{ID_B}|", f"{ID_B}|passport:E2", "E1|"],
    ) == [1, 1, 0, 0, -1]


def test_the_level_is_computed_over_arrays_for_many_pairs_at_once():
    # Against a set intersection per pair, on random records of up to four numbers each.
    rng = np.random.default_rng(5)
    n = 2000
    pool = [f"E{k:08d}" for k in range(300)]
    ids = [pool[k] if k < 300 else None for k in rng.integers(0, 400, n)]
    others = [
        ";".join(f"passport:{pool[k]}" for k in rng.integers(0, 300, rng.integers(0, 4))) or None
        for _ in range(n)
    ]
    frame = pd.DataFrame({"id_number": ids, "other_ids": others})
    left, right = rng.integers(0, n, 20_000), rng.integers(0, n, 20_000)
    shares = RecordColumns(frame).share_item("id_numbers", left, right)

    def numbers(i: int) -> set[str]:
        own = {ids[i]} if ids[i] else set()
        return own | {item.split(":")[1] for item in (others[i] or "").split(";") if item}

    expected = [bool(numbers(a) & numbers(b)) for a, b in zip(left, right, strict=True)]
    assert shares.tolist() == expected
    assert 0 < sum(expected) < len(expected)


def test_a_key_of_several_values_is_only_ever_shared():
    with pytest.raises(pydantic.ValidationError, match="several values"):
        ComparisonLevel(kind="levenshtein", column="id_numbers", max_distance=1)
    with pytest.raises(pydantic.ValidationError, match="several values"):
        ComparisonLevel(kind="exact", column="id_numbers", tf_adjust=True)
    with pytest.raises(pydantic.ValidationError, match="several values"):
        RuleCondition(equal=["id_numbers"])
    with pytest.raises(pydantic.ValidationError, match="at most one"):
        BlockingRule(name="twice", columns=["id_numbers", "id_numbers"])


def records(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column in COLUMNS:
        if column not in frame:
            frame[column] = None
    frame["id_issue"] = None
    frame["phone_other"] = None
    return frame


def test_blocking_pairs_records_sharing_any_document_once():
    config = shipped_config()
    frame = prepare_records(
        records(
            [
                {"record_key": "a:1", "id_number": ID_A, "other_ids": "passport:E1;other:X1"},
                {"record_key": "b:1", "id_number": "E1", "other_ids": "other:X1"},
                {"record_key": "c:1", "id_number": ID_B, "other_ids": f"resident_id:{ID_A}"},
                {"record_key": "d:1", "id_number": "E2", "other_ids": None},
            ]
        ),
        config,
    )
    pairs, report = block_pairs(frame, config)
    found = pairs[["record_key_l", "record_key_r", "blocking_rule"]].values.tolist()
    assert found == [["a:1", "b:1", "any_document"], ["a:1", "c:1", "any_document"]]
    # a and b share two numbers: one pair, counted once.
    assert report.pairs_per_rule["any_document"] == 2


# A customer of the core system (resident ID, a passport in its identifiers table), the same
# customer's credit card opened with the passport and a latin name, and a stranger whose
# card shows another passport.
PEOPLE = [
    {"record_key": "core:D1", "source_system": "core", "name": "张晓明",
     "name_pinyin": "zhang xiao ming", "id_number": ID_A, "id_valid": True,
     "other_ids": "passport:E12345678", "birth_date": dt.date(1985, 3, 7), "gender": "M",
     "mobile": "13911112222", "address": "河北省石家庄市长安区中山路1号", "district": "长安区",
     "person": 1},
    {"record_key": "card:D1", "source_system": "card", "name": "ZHANG XIAOMING",
     "name_pinyin": "zhang xiao ming", "id_number": "E12345678", "id_valid": False,
     "birth_date": dt.date(1985, 3, 7), "gender": "M", "mobile": "13700001111", "person": 1},
    {"record_key": "core:D2", "source_system": "core", "name": "李娜", "name_pinyin": "li na",
     "id_number": ID_B, "id_valid": True, "other_ids": "passport:E22222222",
     "birth_date": dt.date(1990, 1, 1), "gender": "F", "mobile": "13911113333", "person": 2},
    {"record_key": "card:D2", "source_system": "card", "name": "LI NA", "name_pinyin": "li na",
     "id_number": "E22222222", "id_valid": False, "birth_date": dt.date(1990, 1, 1),
     "gender": "F", "person": 2},
    {"record_key": "card:D3", "source_system": "card", "name": "WANG FANG",
     "name_pinyin": "wang fang", "id_number": "E99999999", "id_valid": False,
     "birth_date": dt.date(1979, 9, 9), "gender": "F", "person": 3},
]  # fmt: skip


@pytest.fixture(scope="module")
def run():
    frame = pd.concat([records(PEOPLE), filler()], ignore_index=True)
    frame.loc[frame["source_system"] == "card", "id_issue"] = "not_resident_id"
    return link(frame, shipped_config())


def test_a_passport_only_record_meets_and_joins_the_customer_listing_it(run):
    another = shipped_config().comparisons[1].gamma_of_label("another document")
    pairs = run.scored_pairs.set_index(["record_key_l", "record_key_r"])
    for person in ("D1", "D2"):
        scored = pairs.loc[(f"card:{person}", f"core:{person}")]
        assert scored["blocking_rule"] == "any_document"
        assert scored["gamma_id_number"] == another
        assert scored["zone"] == "auto_match", person
        assert same_cluster(run.clusters, f"card:{person}", f"core:{person}")
    assert not same_cluster(run.clusters, "card:D3", "core:D1")
