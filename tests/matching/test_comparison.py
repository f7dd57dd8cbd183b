"""Comparison levels: the first level that holds wins; -1 null, 0 else, k the first level."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from matching.comparison import RecordColumns, compare_comparison
from matching.config import Comparison


def gammas(levels: list[dict[str, Any]], left: list[Any], right: list[Any], **extra: list[Any]):
    """Gamma for pairs (left[i], right[i]) of one column `v` (plus optional other columns)."""
    n = len(left)
    frame = pd.DataFrame({"v": left + right, **{k: v for k, v in extra.items()}})
    comparison = Comparison.model_validate({"name": "c", "levels": levels})
    return compare_comparison(
        comparison, RecordColumns(frame), np.arange(n), np.arange(n, 2 * n)
    ).tolist()


def test_exact_level_and_null_and_else():
    # equal -> 1, different -> 0 (else), either side null or blank -> -1
    assert gammas(
        [{"kind": "exact", "column": "v"}],
        ["a", "a", None, "a", ""],
        ["a", "b", "a", None, "a"],
    ) == [1, 0, -1, -1, -1]


def test_name_levels_exact_then_same_pinyin_then_jaro_winkler():
    levels = [
        {"kind": "exact", "column": "name"},
        {"kind": "exact", "column": "v"},
        {"kind": "jaro_winkler", "column": "v", "threshold": 0.88},
    ]
    frame_name = ["张伟", "张伟", "张伟", "张伟", "张伟", "张伟", "张玮", "张文", "王芳", "张伟"]
    # pairs: identical (3); homophone 张伟/张玮 same pinyin (2); zhang wei ~ zhang wen JW 0.956
    # (1); zhang wei vs wang fang JW 0.63 (0); name null on one side but pinyin present: still
    # compared on pinyin (2).
    result = gammas(
        levels,
        ["zhang wei", "zhang wei", "zhang wei", "zhang wei", "zhang wei"],
        ["zhang wei", "zhang wei", "zhang wen", "wang fang", "zhang wei"],
        name=[*frame_name[:4], None, *frame_name[5:]],
    )
    assert result == [3, 2, 1, 0, 2]


def test_levenshtein_catches_one_digit_typo_damerau_catches_transposition():
    levels = [
        {"kind": "exact", "column": "v"},
        {"kind": "levenshtein", "column": "v", "max_distance": 1},
        {"kind": "damerau_levenshtein", "column": "v", "max_distance": 1},
    ]
    base = "110101199003071234"
    assert gammas(
        levels,
        [base, base, base, base],
        [
            base,
            "110101199003071235",  # one digit changed: Levenshtein 1
            "110101199003071243",  # last two swapped: Levenshtein 2, Damerau 1
            "110101199003079999",  # far
        ],
    ) == [3, 2, 1, 0]


def test_date_day_month_swap_on_dates_and_strings():
    levels = [
        {"kind": "exact", "column": "v"},
        {"kind": "date_day_month_swap", "column": "v"},
        {"kind": "levenshtein", "column": "v", "max_distance": 1},
    ]
    left = [dt.date(1985, 3, 7), dt.date(1985, 3, 7), dt.date(1985, 3, 7), dt.date(1985, 3, 7)]
    right = [
        dt.date(1985, 3, 7),  # exact
        dt.date(1985, 7, 3),  # day and month swapped
        dt.date(1985, 3, 8),  # one character off in 1985-03-0x
        dt.date(1986, 7, 3),  # swapped but another year: neither
    ]
    assert gammas(levels, left, right) == [3, 2, 1, 0]
    # The same on datetime64 and on yyyymmdd text.
    stamps = pd.to_datetime(["1985-03-07", "1985-07-03"]).tolist()
    assert gammas(levels, stamps[:1], stamps[1:]) == [2]
    assert gammas(levels, ["19850307"], ["19850703"]) == [2]


def test_equal_day_and_month_is_exact_not_swapped():
    levels = [{"kind": "date_day_month_swap", "column": "v"}]
    # 1985-03-03 swapped is itself: that is an exact agreement, not the swap level.
    assert gammas(levels, ["1985-03-03"], ["1985-03-03"]) == [0]


def test_token_set_ratio_uses_a_zero_to_one_threshold():
    levels = [
        {"kind": "exact", "column": "v"},
        {"kind": "token_set_ratio", "column": "v", "threshold": 0.85},
    ]
    assert gammas(
        levels,
        ["长安区 中山路 1号", "河北省石家庄市长安区中山路1号", "河北省石家庄市长安区中山路1号"],
        ["中山路 1号 长安区", "石家庄市长安区中山路1号", "河北省唐山市路南区建设路8号"],
    ) == [1, 1, 0]  # same tokens reordered: 100; abbreviated province: 88.9; other city: 48


def test_comparison_is_null_only_when_no_level_column_is_present_on_both_sides():
    levels = [
        {"kind": "exact", "column": "v"},
        {"kind": "token_set_ratio", "column": "v", "threshold": 0.85},
        {"kind": "exact", "column": "district"},
    ]
    result = gammas(
        levels,
        ["河北省石家庄市长安区中山路1号", None, None, None],
        [None, "石家庄市长安区中山路1号", None, None],
        district=["长安区", "长安区", "长安区", None, "长安区", "桥西区", None, None],
    )
    # address missing on one side: the district still decides (1 equal, 0 different);
    # address and district missing: -1.
    assert result == [1, 0, -1, -1]


def test_token_sort_ratio_accepts_reordered_syllables_but_not_a_missing_one():
    level = [{"kind": "token_sort_ratio", "column": "v", "threshold": 1.0}]
    # ZHANG WEI typed given name first; 朱秀 vs 朱秀英 are two people (token_set would say 100).
    assert gammas(level, ["zhang wei", "zhu xiu"], ["wei zhang", "zhu xiu ying"]) == [1, 0]


def test_full_width_space_alone_is_missing():
    assert gammas([{"kind": "exact", "column": "v"}], ["\u3000", "a"], ["a", "\t "]) == [-1, -1]


def test_dates_read_off_a_datetime_column_equal_the_digits_of_their_text():
    """`ymd` / `days` of a datetime column come straight from the dates; the same values
    as text (an object column) take the digits path. Both must agree, timestamps (counted
    by their date) and the ends of datetime64[ns]'s range included."""
    rng = np.random.default_rng(7)
    low, high = pd.Timestamp("1678-01-01").value // 10**9, pd.Timestamp("2090-12-31").value // 10**9
    stamps = pd.Series(pd.to_datetime(rng.integers(low, high, 2000), unit="s"))
    stamps = stamps.where(rng.random(len(stamps)) > 0.1)  # some missing
    for dates in (stamps, stamps.dt.normalize(), stamps.astype("datetime64[s]")):
        fast = RecordColumns(pd.DataFrame({"d": dates}))
        as_text = dates.dt.strftime("%Y-%m-%d").astype(object).where(dates.notna(), None)
        slow = RecordColumns(pd.DataFrame({"d": as_text}))
        # Per record (two timestamps of one day are two distinct values, one text).
        for encoding in (RecordColumns.ymd, RecordColumns.days):
            got = np.where(fast.codes("d") >= 0, encoding(fast, "d")[fast.codes("d")], -2)
            want = np.where(slow.codes("d") >= 0, encoding(slow, "d")[slow.codes("d")], -2)
            assert np.array_equal(got, want)
    late = RecordColumns(pd.DataFrame({"d": pd.to_datetime(["2262-04-01", "1800-01-02"])}))
    assert late.days("d").tolist() == [168832, 1]  # no overflow near the range's end


def test_a_small_column_is_coded_as_a_large_one():
    # POST /match codes ~100 records in one Python pass (`small_factorize`); a column past
    # SMALL_FRAME goes through pandas and arrow. Both must give the same codes and values.
    from matching.comparison import SMALL_FRAME, small_factorize

    values = ["a", " a", "", "  ", None, np.nan, pd.NaT, "\u3000", "b", "a", "张伟", "b ", "a"]
    small = pd.Series(values, dtype=object)
    large = pd.Series(values * (SMALL_FRAME // len(values) + 1), dtype=object)
    assert len(large) > SMALL_FRAME
    codes, uniques = small_factorize(small)
    big = RecordColumns(pd.DataFrame({"c": large}))
    np.testing.assert_array_equal(codes, big.codes("c")[: len(values)])
    assert list(uniques) == list(big.text("c"))
    alone = RecordColumns(pd.DataFrame({"c": small}))
    np.testing.assert_array_equal(alone.codes("c"), codes)
    assert list(alone.text("c")) == ["a", " a", "b", "张伟", "b "]
