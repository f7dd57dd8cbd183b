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


@dataclass(frozen=True)
class MatchKey:
    inputs: tuple[str, ...]  # canonical columns the key is derived from
    derive: Callable[[pd.DataFrame], np.ndarray]
    meaning: str
    optional_inputs: tuple[str, ...] = ()  # used when the records carry them


def _text(frame: pd.DataFrame, column: str) -> pa.Array:
    return pa.array(frame[column].to_numpy(dtype=object), type=pa.string(), from_pandas=True)


def _values(array: pa.Array) -> np.ndarray:
    out = array.to_numpy(zero_copy_only=False)
    return np.asarray(out, dtype=object)


def _resident_id_digits(frame: pd.DataFrame) -> pa.Array:
    """The 17 digits before the check character of an 18-character number, else NULL."""
    ids = _text(frame, "id_number")
    shaped = pc.fill_null(pc.match_substring_regex(ids, r"^\d{17}[\dX]$"), False)
    return pc.if_else(shaped, pc.utf8_slice_codeunits(ids, 0, 17), pa.scalar(None, pa.string()))


def _id_parts(*parts: tuple[int, int]) -> Callable[[pd.DataFrame], np.ndarray]:
    def derive(frame: pd.DataFrame) -> np.ndarray:
        digits = _resident_id_digits(frame)
        pieces = [pc.utf8_slice_codeunits(digits, start, stop) for start, stop in parts]
        return _values(pc.binary_join_element_wise(*pieces, ""))

    return derive


def _id_sorted_digits(frame: pd.DataFrame) -> np.ndarray:
    """Area code, then the digits of birth date and sequence in sorted order: two swapped
    digits anywhere after the area code leave it unchanged."""
    digits = _values(_resident_id_digits(frame))
    out = np.full(len(digits), None, dtype=object)
    shaped = np.flatnonzero(pd.notna(digits))
    if len(shaped):
        matrix = digits[shaped].astype("S17").view(np.uint8).reshape(len(shaped), 17)
        tail = np.sort(matrix[:, 6:], axis=1)
        key = np.ascontiguousarray(np.hstack([matrix[:, :6], tail]))
        out[shaped] = key.view("S17").ravel().astype(str).astype(object)
    return out


def _id_body(frame: pd.DataFrame) -> np.ndarray:
    """The number without its check character when it has one, so that an upgraded 15-digit
    ID with a typo (whose recomputed check character differs too) is one edit away."""
    ids = _text(frame, "id_number")
    body = _resident_id_digits(frame)
    return _values(pc.if_else(pc.is_null(body), ids, body))


def _id_consistent(frame: pd.DataFrame) -> np.ndarray:
    """The ID where the record's stated birth date does not contradict it (`id_conflict`)."""
    ids = frame["id_number"].to_numpy(dtype=object).copy()
    if "id_conflict" in frame.columns:
        ids[frame["id_conflict"].eq(True).to_numpy(dtype=bool)] = None
    return ids


def _date_text(frame: pd.DataFrame, column: str, fmt: str) -> np.ndarray:
    dates = pd.to_datetime(frame[column], errors="coerce")
    out = dates.dt.strftime(fmt).to_numpy(dtype=object)
    out[dates.isna().to_numpy()] = None
    return out


def _first_token(frame: pd.DataFrame) -> np.ndarray:
    first = pc.extract_regex(_text(frame, "name_pinyin"), r"^(?P<token>\S+)")
    return _values(pc.struct_field(first, "token"))


def _mobile_slice(start: int, stop: int) -> Callable[[pd.DataFrame], np.ndarray]:
    def derive(frame: pd.DataFrame) -> np.ndarray:
        return _values(pc.utf8_slice_codeunits(_text(frame, "mobile"), start, stop))

    return derive


def _address_numbers(frame: pd.DataFrame) -> np.ndarray:
    """District (else city) and the address's digit runs: `满城区|535-24-5-103`. The numbers
    of an address survive every way of writing it (号楼 or 栋, abbreviations, full-width);
    NULL when the address has no number (a village) or no district or city."""
    address = _text(frame, "address")
    numbers = pc.replace_substring_regex(address, r"\D+", "-")
    numbers = pc.utf8_trim(numbers, "-")
    place = _text(frame, "district")
    if "city" in frame.columns:
        place = pc.coalesce(place, _text(frame, "city"))
    key = pc.binary_join_element_wise(place, numbers, "|")
    usable = pc.and_(pc.is_valid(place), pc.greater(pc.utf8_length(numbers), 0))
    return _values(pc.if_else(pc.fill_null(usable, False), key, pa.scalar(None, pa.string())))


MATCH_KEYS: dict[str, MatchKey] = {
    "id_body": MatchKey(("id_number",), _id_body, "the ID without its check character"),
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
    "birth_year": MatchKey(
        ("birth_date",), lambda f: _date_text(f, "birth_date", "%Y"), "year of birth"
    ),
    "birth_year_month": MatchKey(
        ("birth_date",), lambda f: _date_text(f, "birth_date", "%Y-%m"), "year and month"
    ),
    "surname_pinyin": MatchKey(
        ("name_pinyin",), _first_token, "the first pinyin syllable (the surname)"
    ),
    "mobile_head": MatchKey(("mobile",), _mobile_slice(0, 7), "the mobile's first 7 digits"),
    "mobile_tail": MatchKey(("mobile",), _mobile_slice(3, 11), "the mobile's last 8 digits"),
    "address_numbers": MatchKey(
        ("address", "district"),
        _address_numbers,
        "district (else city) and house numbers",
        optional_inputs=("city",),
    ),
}


def key_inputs(columns: list[str]) -> list[str]:
    """`columns` with every match key replaced by the canonical columns it is derived from."""
    out: list[str] = []
    for column in columns:
        out += list(MATCH_KEYS[column].inputs) if column in MATCH_KEYS else [column]
    return list(dict.fromkeys(out))


def optional_key_inputs(columns: list[str]) -> list[str]:
    """Columns the match keys among `columns` use when present."""
    out = [
        c for column in columns if column in MATCH_KEYS for c in MATCH_KEYS[column].optional_inputs
    ]
    return list(dict.fromkeys(out))


def add_match_keys(records: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """`records` with the match keys among `columns` it does not carry yet (a new frame)."""
    todo = [c for c in columns if c in MATCH_KEYS and c not in records.columns]
    if not todo:
        return records
    derived = {name: MATCH_KEYS[name].derive(records) for name in todo}
    return records.assign(**derived)
