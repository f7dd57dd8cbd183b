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

A partially masked ID (`440***********1234`, `matching.standardize.ids`) is no ID: every key
that stands for the whole ID (`id_full`, `id_consistent`, `id_body`) and every part of one is
NULL for it, so two masked IDs written alike are never an exact match. What it shows is compared
position by position (`id_visible`, the `visible_agree` level: the visible digits must agree)
and blocked on with its sequence digits (`id_sequence`), which a masked ID of either length
shows and a full one has, or with them and the check character (`id_tail`: ten times fewer
strangers share it, for rules whose other half namesakes share).

A customer may hold several documents (a source's identifiers table: `other_ids`), and the
one a source took as its ID need not be the one another took. `id_numbers` holds them all, so
it has several values per record (`Items`): a blocking rule on it pairs records that share
any one, an `exact` level holds when they do; nothing else can use it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.standardize.ids import MASK

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
        self._id_masked: np.ndarray | None = None
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

    def id_masked(self) -> np.ndarray:
        """Per record: its ID is partially masked (holds `MASK`)."""
        if self._id_masked is None:
            codes, uniques = self.factorized("id_number")
            text = pa.array(uniques, type=pa.string())
            masked = pc.fill_null(pc.match_substring(text, MASK), False)
            per_unique = np.append(masked.to_numpy(zero_copy_only=False), False)
            self._id_masked = per_unique[np.where(codes >= 0, codes, len(uniques))]
        return self._id_masked


@dataclass(frozen=True)
class Items:
    """A key with several values per record (a record's document numbers), exploded: item i
    is `values[codes[i]]` of the record at `positions[i]`; sorted by position, each value at
    most once per record. A blocking rule on it pairs records sharing any item; an `exact`
    level holds when the two records share one."""

    positions: np.ndarray  # int64
    codes: np.ndarray  # int64, into `values`
    values: np.ndarray  # object: the distinct values


@dataclass(frozen=True)
class MatchKey:
    inputs: tuple[str, ...]  # canonical columns the key is derived from
    derive: Callable[[Records], np.ndarray | pd.api.extensions.ExtensionArray | Items]
    meaning: str
    optional_inputs: tuple[str, ...] = ()  # used when the records carry them
    many: bool = False  # derives `Items`: several values per record
    # The key's values are codes of this column, numbered within the frame (equal codes,
    # equal values): a key stored across frames (`matching.online`) uses the column's values.
    coded_from: str | None = None


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
    ID with a typo (whose recomputed check character differs too) is one edit away; NULL for
    a masked ID."""
    shaped = pc.fill_null(pc.match_substring_regex(ids, _EIGHTEEN_CHARACTERS), False)
    body = pc.if_else(shaped, pc.utf8_slice_codeunits(ids, 0, 17), ids)
    masked = pc.fill_null(pc.match_substring(ids, MASK), False)
    return pc.if_else(masked, pa.scalar(None, pa.string()), body)


def _id_codes(*, consistent: bool) -> Callable[[Records], pd.api.extensions.ExtensionArray]:
    """The ID as integer codes (compared for equality and term frequency only), NULL where it
    is masked and, when `consistent`, where the record's stated birth date contradicts it
    (`id_conflict`)."""

    def derive(records: Records) -> pd.api.extensions.ExtensionArray:
        frame = records.frame
        codes, _ = records.factorized("id_number")
        missing = (codes < 0) | records.id_masked()
        if consistent and "id_conflict" in frame.columns:
            missing |= frame["id_conflict"].eq(True).to_numpy(dtype=bool)
        return pd.arrays.IntegerArray(np.where(missing, 0, codes).astype(np.int64), missing)

    return derive


def _id_visible(ids: pa.Array) -> pa.Array:
    """The resident ID's 18 positions as far as the record shows them, `MASK` where it does not:
    an 18-position ID as written, a 15-position one (masked or not upgraded) with `MASK` for
    the century and the check character it lacks; NULL for any other number."""
    eighteen = pc.fill_null(pc.match_substring_regex(ids, r"^[0-9*]{17}[0-9X*]$"), False)
    fifteen = pc.fill_null(pc.match_substring_regex(ids, r"^[0-9*]{15}$"), False)
    widened = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(ids, 0, 6),
        pc.utf8_slice_codeunits(ids, 6, 15),
        MASK * 2,
    )
    widened = pc.binary_join_element_wise(widened, MASK, "")
    nothing = pa.scalar(None, pa.string())
    return pc.if_else(eighteen, ids, pc.if_else(fifteen, widened, nothing))


def _id_sequence(ids: pa.Array) -> pa.Array:
    """The 3 sequence digits (positions 15-17 of 18) where visible. A masked ID shows its last
    4 positions, which for a 15-digit one are a birth-day digit and the sequence, for an
    18-digit one the sequence and the check character: the sequence is what both show."""
    sequence = pc.utf8_slice_codeunits(_id_visible(ids), 14, 17)
    hidden = pc.fill_null(pc.match_substring(sequence, MASK), True)
    return pc.if_else(hidden, pa.scalar(None, pa.string()), sequence)


def _id_tail(ids: pa.Array) -> pa.Array:
    """The last 4 of the 18 positions (sequence and check character) where all are visible:
    what an 18-position masked ID shows (a 15-position one has no check character)."""
    tail = pc.utf8_slice_codeunits(_id_visible(ids), 14, 18)
    hidden = pc.fill_null(pc.match_substring(tail, MASK), True)
    return pc.if_else(hidden, pa.scalar(None, pa.string()), tail)


def _id_numbers(records: Records) -> Items:
    """The record's ID (unless masked or contradicted by its record, as `id_consistent`) and
    the number of each of its other documents (`other_ids`, `type:number;…`, masked ones left
    out), in one numbering with `id_number`'s distinct values (no second hashing of them)."""
    frame = records.frame
    codes, uniques = records.factorized("id_number")
    keep = (codes >= 0) & ~records.id_masked()
    if "id_conflict" in frame.columns:
        keep &= ~frame["id_conflict"].eq(True).to_numpy(dtype=bool)
    positions = [np.flatnonzero(keep)]
    item_codes = [codes[keep].astype(np.int64)]
    values = np.asarray(uniques, dtype=object)
    if "other_ids" in frame.columns:
        lists = pc.split_pattern(records.text("other_ids"), ";")
        owner = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False).astype(np.int64)
        numbers = pc.replace_substring_regex(pc.list_flatten(lists), r"^[^:]*:", "")
        shown = pc.invert(pc.match_substring(numbers, MASK))
        shown = pc.and_(shown, pc.greater(pc.utf8_length(numbers), 0))
        shown = pc.fill_null(shown, False).to_numpy(zero_copy_only=False)
        texts = np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=object)[shown]
        found = pd.Index(values).get_indexer(texts).astype(np.int64)
        new, fresh = pd.factorize(texts[found < 0])
        found[found < 0] = len(values) + new
        values = np.concatenate([values, np.asarray(fresh, dtype=object)])
        positions.append(owner[shown])
        item_codes.append(found)
    if len(positions) == 1:  # one ID per record at most, in record order already
        return Items(positions=positions[0], codes=item_codes[0], values=values)
    width = len(values) + 1
    combined = np.sort(np.concatenate(positions) * width + np.concatenate(item_codes))
    distinct = np.ones(len(combined), dtype=bool)  # each value once per record
    distinct[1:] = combined[1:] != combined[:-1]
    position, code = np.divmod(combined[distinct], width)
    return Items(positions=position, codes=code, values=values)


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
    "id_full": MatchKey(
        ("id_number",),
        _id_codes(consistent=False),
        "the ID, NULL where it is masked",
        coded_from="id_number",
    ),
    "id_consistent": MatchKey(
        ("id_number",),
        _id_codes(consistent=True),
        "the ID, NULL where it is masked or the record's own birth date contradicts it",
        optional_inputs=("id_conflict",),
        coded_from="id_number",
    ),
    "id_visible": MatchKey(
        ("id_number",),
        _on_distinct("id_number", _id_visible),
        "the ID's 18 positions, `*` where masked (a 15-digit one widened)",
    ),
    "id_sequence": MatchKey(
        ("id_number",),
        _on_distinct("id_number", _id_sequence),
        "the ID's 3 sequence digits where visible: what a masked ID shows and a full one has",
    ),
    "id_tail": MatchKey(
        ("id_number",),
        _on_distinct("id_number", _id_tail),
        "the ID's sequence digits and check character where visible (18 positions only)",
    ),
    "id_numbers": MatchKey(
        ("id_number",),
        _id_numbers,
        "the ID (as id_consistent) and every other document's number (other_ids): several "
        "values per record",
        optional_inputs=("id_conflict", "other_ids"),
        many=True,
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


def is_many(column: str) -> bool:
    """Whether `column` is a match key with several values per record (`Items`)."""
    key = MATCH_KEYS.get(column)
    return key is not None and key.many


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


# One record's keys, without frames (`POST /match`): each key's values as `RecordColumns.text`
# writes them (integers in decimal, dates as YYYY-MM-DD), the same derivations on one value.
# `tests/matching/test_keys.py` proves them equal to the column derivations on every record.

_EIGHTEEN_RE = re.compile(r"[0-9]{17}[0-9X]")
_VISIBLE_18_RE = re.compile(r"[0-9*]{17}[0-9X*]")
_VISIBLE_15_RE = re.compile(r"[0-9*]{15}")
_ELEVEN_DIGITS_RE = re.compile(r"[0-9]{11}")
_NON_SPACE_RE = re.compile(r"[^\t\n\f\r ]+")
_ID_PARTS: dict[str, tuple[tuple[int, int], ...]] = {
    "id_without_area": ((6, 17),),
    "id_without_birth_year": ((0, 6), (10, 17)),
    "id_without_birth_day": ((0, 10), (14, 17)),
    "id_without_sequence": ((0, 14),),
}
_MOBILE_SLICES = {"mobile_head": (0, 7), "mobile_tail": (3, 11)}


def _text(value: object) -> str | None:
    """A value as `RecordColumns.text` writes it; None where it counts as missing."""
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp | np.datetime64):
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    text = str(value)
    return None if not text.strip() else text


def _visible(number: str) -> str | None:
    if _VISIBLE_18_RE.fullmatch(number):
        return number
    if _VISIBLE_15_RE.fullmatch(number):
        return number[:6] + MASK * 2 + number[6:15] + MASK
    return None


def _consistent_id(record: Mapping[str, object]) -> str | None:
    number = _text(record.get("id_number"))
    conflict = record.get("id_conflict")
    if number is None or MASK in number or (conflict is not None and conflict == True):  # noqa: E712 - numpy's bool too
        return None
    return number


def key_texts(record: Mapping[str, object], column: str) -> tuple[str, ...]:
    """The record's values of `column` (a canonical column or a match key), as the batch's
    `RecordColumns.text` writes them: none when missing, several for `id_numbers`."""
    if column not in MATCH_KEYS:
        text = _text(record.get(column))
        return () if text is None else (text,)
    number = _text(record.get("id_number"))
    value: str | None = None
    if column == "id_numbers":
        found = [n for n in (_consistent_id(record),) if n is not None]
        for item in (_text(record.get("other_ids")) or "").split(";"):
            other = re.sub(r"^[^:]*:", "", item)
            if other and MASK not in other:
                found.append(other)
        return tuple(dict.fromkeys(found))
    if column == "id_full":
        value = None if number is None or MASK in number else number
    elif column == "id_consistent":
        value = _consistent_id(record)
    elif number is not None and column == "id_body":
        value = (
            None if MASK in number else (number[:17] if _EIGHTEEN_RE.fullmatch(number) else number)
        )
    elif number is not None and column in ("id_visible", "id_sequence", "id_tail"):
        visible = _visible(number)
        if column == "id_visible":
            value = visible
        elif visible is not None:
            part = visible[14:17] if column == "id_sequence" else visible[14:18]
            value = None if MASK in part else part
    elif number is not None and column in _ID_PARTS and _EIGHTEEN_RE.fullmatch(number):
        value = str(int("".join(number[a:b] for a, b in _ID_PARTS[column])))
    elif number is not None and column == "id_sorted_digits" and _EIGHTEEN_RE.fullmatch(number):
        value = str(int(number[:6] + "".join(sorted(number[6:17]))))
    elif column in ("birth_year", "birth_year_month"):
        born = record.get("birth_date")
        if isinstance(born, date) and not pd.isna(born):  # a Timestamp is a date too
            stamp = pd.Timestamp(born)
            months = (stamp.year - 1970) * 12 + stamp.month - 1
            value = str(stamp.year if column == "birth_year" else months)
    elif column == "surname_pinyin":
        found_token = _NON_SPACE_RE.match(_text(record.get("name_pinyin")) or "")
        value = None if found_token is None else found_token.group(0)
    elif column.startswith("name_masked_"):
        name = _text(record.get("name"))
        position = int(column.rsplit("_", 1)[1]) - 1
        if name is not None and len(name) > max(position, 1):
            value = name[:position] + "_" + name[position + 1 :]
    elif column in _MOBILE_SLICES:
        mobile = _text(record.get("mobile"))
        if mobile is not None and _ELEVEN_DIGITS_RE.fullmatch(mobile):
            start, stop = _MOBILE_SLICES[column]
            value = str(int(mobile[start:stop]))
    if value is None or not value.strip():
        return ()
    return (value,)
