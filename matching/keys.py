"""Match keys: columns derived from the canonical party record for blocking and comparison.

A blocking rule or comparison level names columns; besides the canonical ones (docs/
CONTRACTS.md §3) it may name any key below. Each is a pure function of canonical columns, so
the config stays data (`columns: [id_without_area]`) and every derivation has one home.

Why these keys: a blocking rule finds a true pair only when its key survives the noise in both
records, and every field arrives with one corruption now and then. An 18-digit resident ID is
area (6) + birth date (8) + sequence (3) + check digit: a mistyped or transposed digit breaks
at most one or two of those parts, so the ID with one part left out (`id_without_*`) still
meets its twin, and two swapped digits leave the multiset of digits unchanged
(`id_sorted_digits`). A mobile with one digit wrong keeps its head or its tail. A name with a typo
keeps its surname; a birth date with a typo keeps its year.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

Factorize = Callable[[str], tuple[np.ndarray, np.ndarray]]

#: An ID shaped like a second-generation resident ID: 17 digits and a check character.
_EIGHTEEN_CHARACTERS = r"^\d{17}[\dX]$"


class Records:
    """The records a key is derived from, with what several keys share computed once.

    `factorize(column)` -> (codes, distinct values), -1 where missing: the caller's own cache
    (`RecordColumns`, which derives the keys on demand), so no column is hashed twice."""

    def __init__(self, frame: pd.DataFrame, factorize: Factorize) -> None:
        self.frame = frame
        self._factorize = factorize
        self._id_digits: tuple[np.ndarray, np.ndarray] | None = None
        self._text: dict[str, pa.Array] = {}

    def factorized(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        return self._factorize(column)

    def text(self, column: str) -> pa.Array:
        if column not in self._text:
            values = self.frame[column].to_numpy(dtype=object)
            self._text[column] = pa.array(values, type=pa.string(), from_pandas=True)
        return self._text[column]

    def id_digits(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, digits): the rows whose ID is 17 digits and a check character, and those
        17 digits as an (n, 17) int64 matrix."""
        if self._id_digits is None:
            ids = self.text("id_number")
            shaped = pc.fill_null(pc.match_substring_regex(ids, _EIGHTEEN_CHARACTERS), False)
            rows = np.flatnonzero(shaped.to_numpy(zero_copy_only=False))
            body = pc.utf8_slice_codeunits(ids.take(pa.array(rows)), 0, 17)
            raw = np.asarray(body.to_numpy(zero_copy_only=False), dtype="S17")
            digits = raw.view(np.uint8).reshape(len(rows), 17).astype(np.int64) - ord("0")
            self._id_digits = (rows, digits)
        return self._id_digits


@dataclass(frozen=True)
class MatchKey:
    inputs: tuple[str, ...]  # canonical columns the key is derived from
    derive: Callable[[Records], np.ndarray | pd.api.extensions.ExtensionArray]
    meaning: str
    optional_inputs: tuple[str, ...] = ()  # used when the records carry them


def _integer_key(n: int, rows: np.ndarray, values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """A nullable integer column: `values` at `rows`, NULL elsewhere. Integer keys factorize
    several times faster than strings and need no blank check."""
    data = np.zeros(n, dtype=np.int64)
    mask = np.ones(n, dtype=bool)
    data[rows] = values
    mask[rows] = False
    return pd.arrays.IntegerArray(data, mask)


def _as_number(digits: np.ndarray) -> np.ndarray:
    """Each row of a digit matrix as one integer (at most 18 digits fit in int64)."""
    powers = 10 ** np.arange(digits.shape[1] - 1, -1, -1, dtype=np.int64)
    return digits @ powers


def _id_parts(*parts: tuple[int, int]) -> Callable[[Records], pd.api.extensions.ExtensionArray]:
    columns = np.concatenate([np.arange(start, stop) for start, stop in parts])

    def derive(records: Records) -> pd.api.extensions.ExtensionArray:
        rows, digits = records.id_digits()
        return _integer_key(len(records.frame), rows, _as_number(digits[:, columns]))

    return derive


def _id_sorted_digits(records: Records) -> pd.api.extensions.ExtensionArray:
    """Area code, then the digits of birth date and sequence in sorted order: two swapped
    digits anywhere after the area code leave it unchanged."""
    rows, digits = records.id_digits()
    key = np.hstack([digits[:, :6], np.sort(digits[:, 6:], axis=1)])
    return _integer_key(len(records.frame), rows, _as_number(key))


def _id_body(ids: pa.Array) -> pa.Array:
    """The number without its check character when it has one, so that an upgraded 15-digit
    ID with a typo (whose recomputed check character differs too) is one edit away."""
    shaped = pc.fill_null(pc.match_substring_regex(ids, _EIGHTEEN_CHARACTERS), False)
    return pc.if_else(shaped, pc.utf8_slice_codeunits(ids, 0, 17), ids)


def _id_consistent(records: Records) -> pd.api.extensions.ExtensionArray:
    """The ID where the record's stated birth date does not contradict it (`id_conflict`), as
    integer codes (compared for equality and term frequency only)."""
    frame = records.frame
    codes, _ = records.factorized("id_number")
    missing = codes < 0
    if "id_conflict" in frame.columns:
        missing |= frame["id_conflict"].eq(True).to_numpy(dtype=bool)
    return pd.arrays.IntegerArray(np.where(missing, 0, codes).astype(np.int64), missing)


def _birth_year(records: Records) -> pd.api.extensions.ExtensionArray:
    dates = pd.to_datetime(records.frame["birth_date"], errors="coerce")
    known = np.flatnonzero(dates.notna().to_numpy())
    years = dates.to_numpy()[known].astype("datetime64[Y]").astype(np.int64) + 1970
    return _integer_key(len(dates), known, years)


def _birth_year_month(records: Records) -> pd.api.extensions.ExtensionArray:
    dates = pd.to_datetime(records.frame["birth_date"], errors="coerce")
    known = np.flatnonzero(dates.notna().to_numpy())
    months = dates.to_numpy()[known].astype("datetime64[M]").astype(np.int64)
    return _integer_key(len(dates), known, months)


def _as_codes(array: pa.Array) -> pd.Categorical:
    """A string key as a categorical: the distinct strings hashed once by Arrow, the records
    holding codes into them (`RecordColumns.codes` takes those codes as they are: no second
    hashing of two million strings)."""
    encoded = array.dictionary_encode()
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    categories = pd.Index(np.asarray(encoded.dictionary.to_numpy(zero_copy_only=False), object))
    return pd.Categorical.from_codes(codes, categories=categories)


def _on_distinct(
    column: str, derive: Callable[[pa.Array], pa.Array]
) -> Callable[[Records], pd.Categorical]:
    """An equality key that depends on one column only, derived once per distinct value (as
    a categorical: see `_as_codes`)."""

    def run(records: Records) -> pd.Categorical:
        codes, uniques = records.factorized(column)
        derived = _as_codes(derive(pa.array(uniques, type=pa.string())))
        per_unique = np.append(np.asarray(derived.codes, dtype=np.int64), -1)
        key = per_unique[np.where(codes >= 0, codes, len(uniques))]
        return pd.Categorical.from_codes(key, categories=derived.categories)  # type: ignore[arg-type]  # stubs want a list; an array is faster

    return run


def _name_masked(position: int) -> Callable[[pa.Array], pa.Array]:
    """The name with its character at `position` (0-based) replaced by `_`; NULL when the name
    is too short to have one there beside at least one other character."""

    def derive(names: pa.Array) -> pa.Array:
        long_enough = pc.greater(pc.utf8_length(names), max(position, 1))
        masked = pc.utf8_replace_slice(names, position, position + 1, "_")
        return pc.if_else(pc.fill_null(long_enough, False), masked, pa.scalar(None, pa.string()))

    return derive


def _surname(pinyin: pa.Array) -> pa.Array:
    return pc.struct_field(pc.extract_regex(pinyin, r"^(?P<token>\S+)"), "token")


def _mobile_slice(start: int, stop: int) -> Callable[[Records], pd.api.extensions.ExtensionArray]:
    def derive(records: Records) -> pd.api.extensions.ExtensionArray:
        mobile = records.text("mobile")
        mobile_shaped = pc.fill_null(pc.match_substring_regex(mobile, r"^\d{11}$"), False)
        rows = np.flatnonzero(mobile_shaped.to_numpy(zero_copy_only=False))
        raw = np.asarray(mobile.take(pa.array(rows)).to_numpy(zero_copy_only=False), dtype="S11")
        digits = raw.view(np.uint8).reshape(len(rows), 11).astype(np.int64) - ord("0")
        return _integer_key(len(records.frame), rows, _as_number(digits[:, start:stop]))

    return derive


MATCH_KEYS: dict[str, MatchKey] = {
    "id_body": MatchKey(
        ("id_number",), _on_distinct("id_number", _id_body), "the ID without its check character"
    ),
    "id_consistent": MatchKey(
        ("id_number",),
        _id_consistent,
        "the ID, NULL where the record's own birth date contradicts it",
        optional_inputs=("id_conflict",),
    ),
    "id_without_area": MatchKey(
        ("id_number",), _id_parts((6, 17)), "birth date and sequence of an 18-character ID"
    ),
    "id_without_birth_year": MatchKey(
        ("id_number",), _id_parts((0, 6), (10, 17)), "the ID without its birth year"
    ),
    "id_without_birth_day": MatchKey(
        ("id_number",), _id_parts((0, 10), (14, 17)), "the ID without birth month and day"
    ),
    "id_without_sequence": MatchKey(
        ("id_number",), _id_parts((0, 14)), "area and birth date of an 18-character ID"
    ),
    "id_sorted_digits": MatchKey(
        ("id_number",), _id_sorted_digits, "area code and the other digits sorted"
    ),
    "birth_year": MatchKey(("birth_date",), _birth_year, "year of birth"),
    "birth_year_month": MatchKey(("birth_date",), _birth_year_month, "year and month of birth"),
    "surname_pinyin": MatchKey(
        ("name_pinyin",),
        _on_distinct("name_pinyin", _surname),
        "the first pinyin syllable (the surname)",
    ),
    **{
        f"name_masked_{position + 1}": MatchKey(
            ("name",),
            _on_distinct("name", _name_masked(position)),
            f"the name with character {position + 1} masked (乔_珍): a one-character slip",
        )
        for position in range(3)
    },
    "mobile_head": MatchKey(("mobile",), _mobile_slice(0, 7), "the mobile's first 7 digits"),
    "mobile_tail": MatchKey(("mobile",), _mobile_slice(3, 11), "the mobile's last 8 digits"),
}


#: Keys learned from the records *and their candidate pairs* (so computed when comparing, not
#: here: `matching.lookalikes`), with the columns and match keys they are learned from.
LEARNED_KEYS: dict[str, tuple[str, ...]] = {
    "name_lookalike": ("name", "id_consistent", "birth_date"),
}


def without_learned_keys(columns: list[str]) -> list[str]:
    """`columns` with every learned key replaced by what it is learned from."""
    out: list[str] = []
    for column in columns:
        out += list(LEARNED_KEYS[column]) if column in LEARNED_KEYS else [column]
    return list(dict.fromkeys(out))


def key_inputs(columns: list[str]) -> list[str]:
    """`columns` with every match key replaced by the canonical columns it is derived from."""
    out: list[str] = []
    for column in without_learned_keys(columns):
        out += list(MATCH_KEYS[column].inputs) if column in MATCH_KEYS else [column]
    return list(dict.fromkeys(out))


def optional_key_inputs(columns: list[str]) -> list[str]:
    """Columns the match keys among `columns` use when present."""
    keys = [column for column in without_learned_keys(columns) if column in MATCH_KEYS]
    out = [c for column in keys for c in MATCH_KEYS[column].optional_inputs]
    return list(dict.fromkeys(out))
