"""Look-alike characters (形近字) learned from the records being matched.

A clerk copying a handwritten form types 淑 for 叔, 王 for 玉, 车 for 军: the name then
differs in one character from the person's other records, just as twins' names often do (子豪
/ 子杰). No fixed table of similar-looking characters knows which slips a bank's own clerks
make, so they are learned from the data at hand: among the candidate pairs that agree on a
resident ID (not contradicted by either record) and on the birth date, two names of equal
length differing in exactly one character show a substitution. A substitution seen between at
least `min_support` different pairs of names is a look-alike; twins never share an ID, so their
names do not become look-alikes (and one relative's borrowed ID, copied into several records,
counts once).

The learned substitutions give each name a canonical spelling (`name_lookalike`: every
look-alike replaced by the most frequent character of its group), which the comparison reads
like any column. Like the term frequencies, the table is recomputed from the records of each
run rather than stored in the model: it follows the customer base.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from matching.comparison import RecordColumns

#: The column the learned canonical spelling is offered as.
LOOKALIKE_COLUMN = "name_lookalike"
MAX_NAME_LENGTH = 8


def _char_matrix(names: np.ndarray) -> np.ndarray:
    """(n, MAX_NAME_LENGTH) code points of names, 0-padded (longer names are cut)."""
    fixed = np.asarray(names, dtype=f"<U{MAX_NAME_LENGTH}")
    return fixed.view(np.uint32).reshape(len(names), MAX_NAME_LENGTH)


def learn_substitutions(
    columns: RecordColumns,
    idx_l: np.ndarray,
    idx_r: np.ndarray,
    *,
    min_support: int = 2,
) -> pd.DataFrame:
    """The character substitutions (`a`, `b`, `support`) seen between names of pairs that
    agree on an unconflicted ID and on the birth date, kept where support >= min_support."""
    empty = pd.DataFrame({"a": [], "b": [], "support": []}).astype({"support": "int64"})
    try:
        names, ids, births = (columns.codes(c) for c in ("name", "id_consistent", "birth_date"))
    except KeyError:  # records without an ID or a birth date: nothing to learn from
        return empty
    anchored = (
        (ids[idx_l] >= 0)
        & (ids[idx_l] == ids[idx_r])
        & (births[idx_l] >= 0)
        & (births[idx_l] == births[idx_r])
        & (names[idx_l] >= 0)
        & (names[idx_r] >= 0)
        & (names[idx_l] != names[idx_r])
    )
    left_code, right_code = names[idx_l[anchored]], names[idx_r[anchored]]
    # Support counts distinct pairs of names: one person's several records, or a relative's
    # ID copied into several of them, must not make a substitution look common.
    distinct = np.unique(
        np.column_stack([np.minimum(left_code, right_code), np.maximum(left_code, right_code)]),
        axis=0,
    )
    left_code, right_code = distinct[:, 0], distinct[:, 1]
    if not len(left_code):
        return empty
    text = columns.text("name")
    left_text, right_text = text[left_code], text[right_code]
    same_length = np.fromiter(
        (len(a) == len(b) for a, b in zip(left_text, right_text, strict=True)),
        bool,
        len(left_text),
    )
    left, right = _char_matrix(left_text[same_length]), _char_matrix(right_text[same_length])
    differs = left != right
    one = differs.sum(axis=1) == 1
    position = differs[one].argmax(axis=1)
    a = left[one][np.arange(len(position)), position]
    b = right[one][np.arange(len(position)), position]
    low, high = np.minimum(a, b), np.maximum(a, b)
    found = pd.DataFrame({"a": low, "b": high}).value_counts().rename("support").reset_index()
    found = found[found["support"] >= min_support]
    return pd.DataFrame(
        {
            "a": [chr(int(c)) for c in found["a"]],
            "b": [chr(int(c)) for c in found["b"]],
            "support": found["support"].to_numpy(dtype=np.int64),
        }
    )


def lookalike_groups(substitutions: pd.DataFrame) -> list[list[str]]:
    """The look-alike groups the substitutions join (each a list of characters)."""
    parent: dict[str, str] = {}

    def find(c: str) -> str:
        while parent.setdefault(c, c) != c:
            c = parent[c]
        return c

    for a, b in zip(substitutions["a"], substitutions["b"], strict=True):
        parent[find(a)] = find(b)
    groups: dict[str, list[str]] = {}
    for c in list(parent):
        groups.setdefault(find(c), []).append(c)
    return list(groups.values())


def spelling_of_groups(groups: list[list[str]], counts: Mapping[str, int]) -> dict[int, str]:
    """A `str.translate` table: each character of a group to the group's character that
    most names hold (`counts`: per character, how many names hold it)."""
    table: dict[int, str] = {}
    for members in groups:
        canonical = max(sorted(members), key=lambda c: counts[c])
        table.update({ord(c): canonical for c in members if c != canonical})
    return table


def canonical_spelling(substitutions: pd.DataFrame, names: pd.Series) -> dict[int, str]:
    """A `str.translate` table: each character of a look-alike group to the group's most
    frequent character in `names` (so the choice does not depend on pair order)."""
    if substitutions.empty:
        return {}
    groups = lookalike_groups(substitutions)
    codes, uniques = pd.factorize(names, use_na_sentinel=True)
    weights = np.bincount(codes[codes >= 0], minlength=len(uniques))
    return spelling_of_groups(groups, character_counts(groups, uniques, weights))


def character_counts(
    groups: list[list[str]], names: Iterable[object], weights: Iterable[int]
) -> dict[str, int]:
    """How many names hold each look-alike character: `names` distinct, each counted
    `weights` times."""
    counts: dict[str, int] = {c: 0 for members in groups for c in members}
    for name, weight in zip(names, weights, strict=True):
        for c in set(str(name)) & counts.keys():
            counts[c] += int(weight)
    return counts


def lookalike_names(
    columns: RecordColumns,
    idx_l: np.ndarray,
    idx_r: np.ndarray,
    *,
    min_support: int = 2,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Each record's name in its canonical spelling (None where it has no name), and the
    substitutions learned from the candidate pairs."""
    substitutions = learn_substitutions(columns, idx_l, idx_r, min_support=min_support)
    names = columns.frame["name"]
    table = canonical_spelling(substitutions, names)
    codes, uniques = pd.factorize(names, use_na_sentinel=True)
    spelled = np.array([str(u).translate(table) for u in uniques], dtype=object)
    values = np.full(len(codes), None, dtype=object)
    values[codes >= 0] = spelled[codes[codes >= 0]]
    return values, substitutions


def add_lookalike_names(
    columns: RecordColumns,
    idx_l: np.ndarray,
    idx_r: np.ndarray,
    *,
    min_support: int = 2,
) -> pd.DataFrame:
    """Learn the substitutions from the candidate pairs and offer `name_lookalike` (the name in
    its canonical spelling) to the comparisons; returns the substitutions learned."""
    values, substitutions = lookalike_names(columns, idx_l, idx_r, min_support=min_support)
    columns.add_column(LOOKALIKE_COLUMN, values)
    return substitutions
