"""Comparison vectors: one level number (gamma) per comparison for every candidate pair.

Everything runs over whole arrays. Each column is factorized once into integer codes, so an
exact test is an integer comparison; string similarities go through rapidfuzz's
`process.cpdist`, which scores two equal-length lists element-wise in C. A level is computed
only for the pairs that no earlier level of the same comparison has decided, and only where
its column is present on both sides.

Null handling: a comparison is -1 (null) when none of its levels' columns is present on both
sides; when some column is present but no level holds, it is 0 ("else"). So an address
comparison whose last level is `exact district` still scores two records that only share a
district.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler, Levenshtein

from matching.config import Comparison, ComparisonLevel
from matching.keys import MATCH_KEYS, Items, Records, is_many
from matching.standardize.ids import MASK

GAMMA_DTYPE = np.int8
_EPOCH_DAYS_SINCE_1800 = int(
    (np.datetime64("1970-01-01") - np.datetime64("1800-01-01")).astype(np.int64)
)


def _blank_positions(uniques: pd.Index) -> np.ndarray:
    """Positions of the values that are empty once whitespace is stripped."""
    values = uniques.to_numpy(dtype=object)
    try:
        text = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all strings: the slow, general way
        return np.flatnonzero(uniques.astype(str).str.strip() == "")
    blank = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0)
    return np.flatnonzero(pc.fill_null(blank, False).to_numpy(zero_copy_only=False))


#: Up to this many records (a prospect and the records it blocks with, `POST /match`), object
#: columns are coded in one Python pass: pandas' and arrow's per-call overhead, not the values,
#: is what a column of a hundred costs.
SMALL_FRAME = 1024


def _is_object(values: Any) -> bool:
    return isinstance(values, pd.Series | np.ndarray) and values.dtype == object


def _missing_value(value: object) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and value != value)
    )


def small_factorize(values: pd.Series | np.ndarray) -> tuple[np.ndarray, pd.Index]:
    """`RecordColumns.codes` of a small object column: codes in order of first appearance,
    -1 for a missing value or a string that is empty once stripped, and the distinct values
    (what `pd.factorize` and `_blank_positions` give, without their per-call cost)."""
    array = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
    codes = np.empty(len(array), dtype=np.int64)
    seen: dict[object, int] = {}
    for position, value in enumerate(array.tolist()):
        if _missing_value(value) or (isinstance(value, str) and not value.strip()):
            codes[position] = -1
            continue
        code = seen.get(value)
        if code is None:
            code = seen[value] = len(seen)
        codes[position] = code
    distinct = np.empty(len(seen), dtype=object)
    distinct[:] = list(seen)
    return codes, pd.Index(distinct, dtype=object)


class RecordColumns:
    """Per-column encodings of the prepared records, computed once and shared by every level.

    `codes(column)`: int64 code per record, -1 where missing. The other encodings are indexed
    by code (one entry per distinct value), so their cost grows with distinct values, not pairs.
    """

    def __init__(self, records: pd.DataFrame) -> None:
        self._records = records
        self._added: dict[str, Any] = {}
        self._frame_columns: dict[str, pd.Series] = {}
        self._keys = Records(records, self._factorized)
        self._codes: dict[str, np.ndarray] = {}
        self._uniques: dict[str, pd.Index] = {}
        self._text: dict[str, np.ndarray] = {}
        self._ymd: dict[str, np.ndarray] = {}
        self._days: dict[str, np.ndarray] = {}
        self._masked: dict[str, np.ndarray] = {}
        self._true: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._records)

    @property
    def frame(self) -> pd.DataFrame:
        return self._records

    def has(self, column: str) -> bool:
        return column in self._added or column in self._records.columns

    def _factorized(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        codes = self.codes(column)
        return codes, np.asarray(self._uniques[column], dtype=object)

    def add_column(self, column: str, values: np.ndarray) -> None:
        """Offer a column computed from the records and their pairs (one value per record,
        in the records' order) to every level, without changing the records' frame."""
        if len(values) != len(self._records):
            raise ValueError(f"{column}: {len(values)} values for {len(self._records)} records")
        self._added[column] = values
        caches = (self._codes, self._uniques, self._text, self._ymd, self._days, self._masked)
        for cache in (*caches, self._true):
            cache.pop(column, None)

    def value(self, column: str, position: int) -> object:
        """One record's value of a column or match key (for reports, not for matching); a
        key with several values gives them joined by `;`."""
        values = self._column(column)
        if isinstance(values, Items):
            mine = values.codes[values.positions == position]
            return ";".join(str(v) for v in values.values[mine])
        return values.iloc[position] if isinstance(values, pd.Series) else values[position]

    def items(self, column: str) -> Items:
        """The items of a key with several values per record (`matching.keys.Items`)."""
        values = self._column(column)
        if not isinstance(values, Items):
            raise ValueError(f"{column!r} has one value per record, not several")
        return values

    def item_counts(self, column: str) -> np.ndarray:
        """How many items of `column` each record has."""
        key = f"{column}\x00count"
        if key not in self._codes:
            self._codes[key] = np.bincount(self.items(column).positions, minlength=len(self))
        return self._codes[key]

    def share_item(self, column: str, idx_l: np.ndarray, idx_r: np.ndarray) -> np.ndarray:
        """Whether the records of each pair share an item of `column`: each of the left
        record's items looked up among the right one's, in one sorted search."""
        items = self.items(column)
        shares = np.zeros(len(idx_l), dtype=bool)
        if len(items.positions) == 0:
            return shares
        width = len(items.values) + 1
        owned = items.positions * width + items.codes  # sorted: by position, then code
        counts = self.item_counts(column)
        starts = np.cumsum(counts) - counts
        per_pair = counts[idx_l]
        pair = np.repeat(np.arange(len(idx_l)), per_pair)
        within = np.arange(len(pair)) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
        wanted = idx_r[pair] * width + items.codes[starts[idx_l][pair] + within]
        found = np.minimum(np.searchsorted(owned, wanted), len(owned) - 1)
        shares[pair[owned[found] == wanted]] = True
        return shares

    def block_members(self, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(positions, block code) of the records with all of `columns` present, as
        `block_codes` gives them; with a key of several values among `columns` (one at most),
        a record is a member of one block per item."""
        many = [column for column in columns if is_many(column)]
        if not many:
            block = self.block_codes(columns)
            positions = np.flatnonzero(block >= 0)
            return positions, block[positions]
        if len(many) > 1:
            raise ValueError(f"at most one key with several values per rule: {many}")
        items = self.items(many[0])
        positions, block = items.positions, items.codes
        rest = [column for column in columns if column != many[0]]
        if rest:
            other = self.block_codes(rest)[positions]
            present = other >= 0
            positions, block, other = positions[present], block[present], other[present]
            block = pd.factorize(block * (int(other.max(initial=0)) + 1) + other)[0]
        return positions, block.astype(np.int64)

    def _column(self, column: str) -> Any:
        """A column of the records, a match key derived from them (`matching.keys`, on first
        use), or a column added for matching."""
        if column in self._added:
            return self._added[column]
        if column in self._records.columns:
            # Kept: a frame's column lookup costs more than most encodings of a small frame.
            if column not in self._frame_columns:
                self._frame_columns[column] = self._records[column]
            return self._frame_columns[column]
        if column in MATCH_KEYS:
            self._added[column] = MATCH_KEYS[column].derive(self._keys)
            return self._added[column]
        raise KeyError(f"no column {column!r} among the records (nor added for matching)")

    def is_true(self, column: str) -> np.ndarray:
        """Per record, whether `column` holds True (a bool, a nullable boolean or an object
        with None alike: only True counts), computed once however many rules ask."""
        if column not in self._true:
            values = self._column(column)
            self._true[column] = pd.Series(values).eq(True).fillna(False).to_numpy(dtype=bool)
        return self._true[column]

    def codes(self, column: str) -> np.ndarray:
        """Missing means null, or a string that is empty once stripped."""
        if column not in self._codes:
            values = self._column(column)
            if isinstance(values, Items):
                raise ValueError(f"{column!r} has several values per record: no single code")
            if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
                # Already coded (the match keys): its codes are the codes.
                categorical = pd.Categorical(values)
                self._codes[column] = np.asarray(categorical.codes, dtype=np.int64)
                self._uniques[column] = pd.Index(categorical.categories)
                return self._codes[column]
            if len(values) <= SMALL_FRAME and _is_object(values):
                self._codes[column], self._uniques[column] = small_factorize(values)
                return self._codes[column]
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
            codes = codes.astype(np.int64)
            uniques = pd.Index(uniques)
            if uniques.dtype == object or pd.api.types.is_string_dtype(uniques.dtype):
                # Checked on the distinct values, so the cost does not grow with records.
                blank = _blank_positions(uniques)
                if len(blank):
                    remap = np.arange(len(uniques), dtype=np.int64)
                    remap[blank] = -1
                    keep = remap >= 0
                    remap[keep] = np.arange(int(keep.sum()))
                    present = codes >= 0
                    codes[present] = remap[codes[present]]
                    uniques = uniques[keep]
            self._codes[column] = codes
            self._uniques[column] = uniques
        return self._codes[column]

    def block_codes(self, columns: list[str]) -> np.ndarray:
        """One code per distinct combination of `columns`, -1 where any is missing."""
        key = self.codes(columns[0]).copy()
        for column in columns[1:]:
            codes = self.codes(column)
            present = (key >= 0) & (codes >= 0)
            # Re-factorizing after each column keeps the combined code below n (no overflow).
            combined = key[present] * (int(codes.max(initial=0)) + 1) + codes[present]
            key = np.full(len(key), -1, dtype=np.int64)
            key[present] = pd.factorize(combined)[0]
        return key

    def joint_codes(self, first: str, second: str) -> tuple[np.ndarray, np.ndarray]:
        """Codes of two columns in one numbering: `second`'s values are looked up among
        `first`'s distinct values (equal values, equal codes; -1 missing or not among them)."""
        key = f"{first}\x00{second}"
        if key not in self._codes:
            self.codes(first)
            self.codes(second)
            position = self._uniques[first].get_indexer(self._uniques[second])
            codes = self._codes[second]
            translated = np.full(len(codes), -1, dtype=np.int64)
            present = codes >= 0
            translated[present] = position[codes[present]]
            self._codes[key] = translated
        return self._codes[first], self._codes[key]

    def _distinct(self, column: str) -> pd.Index:
        """The distinct values of `column`, indexed by code."""
        self.codes(column)
        return self._uniques[column]

    def text(self, column: str) -> np.ndarray:
        """Distinct values as strings (dates as YYYY-MM-DD), indexed by code."""
        if column not in self._text:
            self.codes(column)
            uniques = self._uniques[column]
            if isinstance(uniques, pd.DatetimeIndex):
                text = uniques.strftime("%Y-%m-%d")
            else:
                text = uniques.astype(str)
            self._text[column] = np.asarray(text, dtype=object)
        return self._text[column]

    def days(self, column: str) -> np.ndarray:
        """Distinct values as days since 1800-01-01 (-1 when not a date), indexed by code."""
        if column not in self._days:
            uniques = self._distinct(column)
            if isinstance(uniques, pd.DatetimeIndex):
                # Dates already: their days directly, which is what the digits below give (a
                # timestamp counts by its date, as its text has the date part only).
                day = uniques.to_numpy().astype("datetime64[D]").astype(np.int64)
                self._days[column] = day + _EPOCH_DAYS_SINCE_1800
                return self._days[column]
            ymd = self.ymd(column)
            text = pd.Series(ymd.astype(str), dtype=object)
            dates = pd.to_datetime(text.where(ymd >= 0), format="%Y%m%d", errors="coerce")
            days = (dates - pd.Timestamp("1800-01-01")).dt.days
            self._days[column] = days.fillna(-1).to_numpy(dtype=np.int64)
        return self._days[column]

    def masked(self, column: str) -> np.ndarray:
        """Whether each distinct value holds a masked position (`MASK`), indexed by code."""
        if column not in self._masked:
            text = pa.array(self.text(column), type=pa.string())
            found = pc.fill_null(pc.match_substring(text, MASK), False)
            self._masked[column] = found.to_numpy(zero_copy_only=False)
        return self._masked[column]

    def ymd(self, column: str) -> np.ndarray:
        """Distinct values as yyyymmdd integers (-1 when not 8 digits), indexed by code.

        Reading the digits accepts `1985-03-07`, `19850307`, dates and timestamps alike.
        """
        if column not in self._ymd:
            uniques = self._distinct(column)
            if isinstance(uniques, pd.DatetimeIndex):
                # Read off the dates: their text is always 8 digits (datetime64[ns] holds the
                # years 1677-2262 only), so the digits below would give the same numbers.
                numbers = uniques.year * 10000 + uniques.month * 100 + uniques.day
                self._ymd[column] = np.asarray(numbers, dtype=np.int64)
                return self._ymd[column]
            digits = pd.Series(self.text(column), dtype="string").str.replace(r"\D", "", regex=True)
            # A timestamp's text is its date part only (see `text`), so 8 digits is a date.
            eight = digits.str.len() == 8
            ymd = np.full(len(digits), -1, dtype=np.int64)
            ok = eight.fillna(False).to_numpy(dtype=bool)
            ymd[ok] = digits[ok].astype(np.int64).to_numpy()
            self._ymd[column] = ymd
        return self._ymd[column]


def _similar(
    scorer: Callable[..., float],
    left: np.ndarray,
    right: np.ndarray,
    cutoff: float,
    workers: int,
) -> np.ndarray:
    if len(left) == 0:
        return np.empty(0, dtype=np.float64)
    return np.asarray(
        process.cpdist(
            left.tolist(), right.tolist(), scorer=scorer, score_cutoff=cutoff, workers=workers
        )
    )


def level_holds(
    level: ComparisonLevel,
    columns: RecordColumns,
    code_l: np.ndarray,
    code_r: np.ndarray,
    *,
    workers: int = 1,
) -> np.ndarray:
    """Whether `level` holds for pairs whose `level.column` codes are given (both >= 0)."""
    same = code_l == code_r
    if level.kind == "exact":
        return same
    if level.kind == "date_day_month_swap":
        ymd = columns.ymd(level.column)
        a, b = ymd[code_l], ymd[code_r]
        valid = (a >= 0) & (b >= 0)
        year_a, month_a, day_a = a // 10000, a // 100 % 100, a % 100
        year_b, month_b, day_b = b // 10000, b // 100 % 100, b % 100
        return (
            valid
            & (year_a == year_b)
            & (month_a == day_b)
            & (day_a == month_b)
            & (month_a != day_a)
        )

    if level.kind == "date_within_days":
        assert level.max_days is not None
        days = columns.days(level.column)
        a, b = days[code_l], days[code_r]
        return (a >= 0) & (b >= 0) & (np.abs(a - b) <= level.max_days)

    if level.kind == "visible_agree":
        assert level.min_visible is not None
        return _visible_agree(columns, level.column, code_l, code_r, level.min_visible)

    # Equal values satisfy every similarity level; only the rest needs a string scorer.
    holds = same.copy()
    todo = np.flatnonzero(~same)
    text = columns.text(level.column)
    left, right = text[code_l[todo]], text[code_r[todo]]
    if level.kind in ("levenshtein", "damerau_levenshtein"):
        assert level.max_distance is not None
        scorer = Levenshtein if level.kind == "levenshtein" else DamerauLevenshtein
        distance = _similar(scorer.distance, left, right, level.max_distance, workers)
        holds[todo] = distance <= level.max_distance
    elif level.kind == "jaro_winkler":
        assert level.threshold is not None
        score = _similar(JaroWinkler.similarity, left, right, level.threshold, workers)
        holds[todo] = score >= level.threshold
    else:  # token_set_ratio / token_sort_ratio: rapidfuzz scores 0-100, the config 0-1
        assert level.threshold is not None
        cutoff = level.threshold * 100.0
        ratio = fuzz.token_set_ratio if level.kind == "token_set_ratio" else fuzz.token_sort_ratio
        score = _similar(ratio, left, right, cutoff, workers)
        holds[todo] = score >= cutoff
    return holds


def _visible_agree(
    columns: RecordColumns, column: str, code_l: np.ndarray, code_r: np.ndarray, min_visible: int
) -> np.ndarray:
    """Values of one length agree at every position visible (not `MASK`) in both, and at least
    `min_visible` positions are visible in both. Values without a mask: equal and that long."""
    text = columns.text(column)
    masked = columns.masked(column)
    either = masked[code_l] | masked[code_r]
    holds = np.zeros(len(code_l), dtype=bool)
    plain = np.flatnonzero(~either & (code_l == code_r))
    if len(plain):
        length = pc.utf8_length(pa.array(text[code_l[plain]], type=pa.string()))
        holds[plain] = length.to_numpy(zero_copy_only=False) >= min_visible
    todo = np.flatnonzero(either)
    if len(todo) == 0:
        return holds
    # A character matrix over the distinct values these pairs hold (zero-padded to the longest).
    needed, inverse = np.unique(np.concatenate([code_l[todo], code_r[todo]]), return_inverse=True)
    chars = text[needed].astype(str)
    matrix = chars.view(np.uint32).reshape(len(needed), -1)
    length = (matrix != 0).sum(axis=1)
    visible = (matrix != ord(MASK)) & (matrix != 0)
    left, right = inverse[: len(todo)], inverse[len(todo) :]
    both = visible[left] & visible[right]
    agree = ((matrix[left] == matrix[right]) | ~both).all(axis=1)
    holds[todo] = agree & (length[left] == length[right]) & (both.sum(axis=1) >= min_visible)
    return holds


def _cross_equal(
    columns: RecordColumns, level: ComparisonLevel, idx_l: np.ndarray, idx_r: np.ndarray
) -> np.ndarray:
    """`level.column` of one record equals `level.other_column` of the other, either way."""
    assert level.other_column is not None
    own, other = columns.joint_codes(level.column, level.other_column)
    forward = (own[idx_l] >= 0) & (own[idx_l] == other[idx_r])
    backward = (other[idx_l] >= 0) & (other[idx_l] == own[idx_r])
    return forward | backward


def compare_comparison(
    comparison: Comparison,
    columns: RecordColumns,
    idx_l: np.ndarray,
    idx_r: np.ndarray,
    *,
    workers: int = 1,
) -> np.ndarray:
    """Gamma of one comparison for the pairs (idx_l[i], idx_r[i])."""
    n = len(idx_l)
    gamma = np.full(n, -1, dtype=GAMMA_DTYPE)
    undecided = np.ones(n, dtype=bool)
    any_present = np.zeros(n, dtype=bool)
    pair_codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for position, level in enumerate(comparison.levels):
        if level.other_column is not None:
            hit = np.flatnonzero(undecided & _cross_equal(columns, level, idx_l, idx_r))
            gamma[hit] = comparison.level_number(position)
            undecided[hit] = False
            continue
        if is_many(level.column):  # `exact` on a key of several values: an item shared
            counts = columns.item_counts(level.column)
            present = (counts[idx_l] > 0) & (counts[idx_r] > 0)
            any_present |= present
            todo = np.flatnonzero(undecided & present)
            hit = todo[columns.share_item(level.column, idx_l[todo], idx_r[todo])]
            gamma[hit] = comparison.level_number(position)
            undecided[hit] = False
            continue
        if level.column not in pair_codes:
            codes = columns.codes(level.column)
            pair_codes[level.column] = (codes[idx_l], codes[idx_r])
        code_l, code_r = pair_codes[level.column]
        present = (code_l >= 0) & (code_r >= 0)
        any_present |= present
        todo = np.flatnonzero(undecided & present)
        if len(todo) == 0:
            continue
        hit = todo[level_holds(level, columns, code_l[todo], code_r[todo], workers=workers)]
        gamma[hit] = comparison.level_number(position)
        undecided[hit] = False
    gamma[undecided & any_present] = 0
    return gamma


def compare_pairs(
    columns: RecordColumns,
    idx_l: np.ndarray,
    idx_r: np.ndarray,
    comparisons: Sequence[Comparison],
    *,
    workers: int = 1,
) -> pd.DataFrame:
    """One int8 `gamma_<comparison>` column per comparison, row i for pair i."""
    idx_l = np.asarray(idx_l, dtype=np.int64)
    idx_r = np.asarray(idx_r, dtype=np.int64)
    return pd.DataFrame(
        {
            c.gamma_column: compare_comparison(c, columns, idx_l, idx_r, workers=workers)
            for c in comparisons
        }
    )
