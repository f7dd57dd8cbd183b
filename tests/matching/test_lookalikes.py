"""Look-alike characters learned from pairs that agree on ID and birth date."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matching.comparison import RecordColumns
from matching.lookalikes import add_lookalike_names, canonical_spelling, learn_substitutions


def records(rows: list[tuple]) -> RecordColumns:
    frame = pd.DataFrame(rows, columns=["name", "id_consistent", "birth_date"])
    return RecordColumns(frame)


ROWS = [
    ("王淑兰", "A", "1950-01-01"),  # 0
    ("王叔兰", "A", "1950-01-01"),  # 1: 淑 -> 叔, same ID and birth date
    ("李淑芬", "B", "1951-01-01"),  # 2
    ("李叔芬", "B", "1951-01-01"),  # 3: the same slip in another name
    ("钱子豪", "C", "1990-01-01"),  # 4
    ("钱子杰", "C", "1990-01-01"),  # 5: 豪 -> 杰, once only (a twin carrying the twin's ID)
    ("钱子杰", "C", "1990-01-01"),  # 6: ... copied into another record: still one name pair
    ("赵淑华", "D", "1952-01-01"),  # 7
    ("赵叔华", None, "1952-01-01"),  # 8: no ID: not evidence, but spelled the same canonically
    ("孙淑云", "E", "1953-01-01"),  # 9: 淑 is the more frequent spelling
]
PAIRS = (np.array([0, 2, 4, 4, 7]), np.array([1, 3, 5, 6, 8]))


def test_a_substitution_is_learned_only_from_several_pairs_of_names():
    learned = learn_substitutions(records(ROWS), *PAIRS, min_support=2)
    assert learned[["a", "b", "support"]].values.tolist() == [["叔", "淑", 2]]


def test_the_canonical_spelling_takes_the_groups_most_frequent_character():
    learned = learn_substitutions(records(ROWS), *PAIRS, min_support=2)
    names = pd.Series([row[0] for row in ROWS])
    assert canonical_spelling(learned, names) == {ord("叔"): "淑"}


def test_lookalike_names_are_offered_as_a_column():
    columns = records(ROWS)
    add_lookalike_names(columns, *PAIRS, min_support=2)
    codes = columns.codes("name_lookalike")
    assert codes[7] == codes[8]  # 赵淑华 / 赵叔华
    assert codes[4] != codes[5]  # 钱子豪 / 钱子杰
