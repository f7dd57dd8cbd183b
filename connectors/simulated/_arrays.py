"""Vectorized helpers shared by the generator modules.

Strings are kept in NumPy object arrays: element-wise `+` on them runs in C, pandas takes them
without a copy, and `None` marks a missing value the way the writers expect. Where a string
operation has a fast NumPy `strings` ufunc (zero padding, replace) we go through StringDType.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd
from numpy.dtypes import StringDType

STR = StringDType()
SECONDS_PER_DAY = 86_400

FULL_WIDTH = str.maketrans(
    "0123456789Xx+- ",
    "０１２３４５６７８９Ｘｘ＋－\u3000",
)
FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def child_rng(seed: int, name: str) -> np.random.Generator:
    """A generator per component, keyed by its name.

    Adding a component, or drawing more numbers in one, never shifts another component's
    stream: outputs of unchanged parts stay identical across generator versions.
    """
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def as_obj(values: np.ndarray) -> np.ndarray:
    return np.asarray(values).astype(object)


def zpad(values: np.ndarray, width: int) -> np.ndarray:
    """Integers as zero-padded strings (object array)."""
    return np.strings.zfill(np.asarray(values, dtype=np.int64).astype(STR), width).astype(object)


def num(values: np.ndarray) -> np.ndarray:
    """Integers as strings without padding (object array)."""
    return np.asarray(values, dtype=np.int64).astype(STR).astype(object)


def cat(*parts: np.ndarray | str) -> np.ndarray:
    """Element-wise concatenation of object arrays and plain strings."""
    out: np.ndarray | str = parts[0]
    for part in parts[1:]:
        out = np.add(out, part)
    return np.asarray(out, dtype=object)


def map_unique(values: np.ndarray, fn: Callable[[str], object]) -> np.ndarray:
    """Apply a Python function once per distinct value, then broadcast back.

    Name lists are small even for millions of people, so this is how per-string work
    (OpenCC, pinyin) stays fast without a loop per row.
    """
    if len(values) == 0:
        return np.asarray(values, dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    mapped = np.empty(len(uniques), dtype=object)
    mapped[:] = [fn(u) for u in uniques]
    return mapped[codes]


def intern(values: np.ndarray) -> np.ndarray:
    """Make equal strings one shared object: a million rows of a few thousand names then cost
    a pointer each instead of a string each."""
    if len(values) == 0:
        return np.asarray(values, dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return np.asarray(uniques, dtype=object)[codes]


def set_missing(values: np.ndarray, mask: np.ndarray, blank: object = None) -> np.ndarray:
    out = np.asarray(values, dtype=object).copy()
    out[mask] = blank
    return out


def full_width(
    values: np.ndarray, mask: np.ndarray, table: dict[int, int] = FULL_WIDTH
) -> np.ndarray:
    """Digits (and +, -, space, X) typed with a Chinese input method's full-width forms;
    `table=FULL_WIDTH_DIGITS` widens the digits only."""
    out = np.asarray(values, dtype=object).copy()
    idx = np.flatnonzero(mask & pd.notna(out))
    if len(idx):
        out[idx] = pd.Series(out[idx], dtype=object).str.translate(table).to_numpy()
    return out


def day_number(d: date) -> int:
    return int(np.datetime64(d, "D").astype(np.int64))


def ymd_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day arrays from datetime64[D]."""
    d = days.astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def fmt_date(days: np.ndarray, style: str) -> np.ndarray:
    """datetime64[D] (NaT = missing) as strings in one of the source systems' styles.

    styles: `iso` 1985-03-07, `compact` 19850307, `slash` 1985/3/7, `cn` 1985年3月7日.
    """
    d = np.asarray(days).astype("datetime64[D]")
    missing = np.isnat(d)
    # A few tens of thousands of distinct days however many rows: format each day once.
    unique_days, inverse = np.unique(
        np.where(missing, np.datetime64("2000-01-01"), d), return_inverse=True
    )
    return set_missing(_fmt_days(unique_days, style)[inverse], missing)


def _fmt_days(safe: np.ndarray, style: str) -> np.ndarray:
    if style in ("iso", "compact"):
        s = np.datetime_as_string(safe, unit="D").astype(STR)
        if style == "compact":
            s = np.strings.replace(s, "-", "")
        out = s.astype(object)
    else:
        y, m, dd = ymd_parts(safe)
        if style == "slash":
            out = cat(num(y), "/", num(m), "/", num(dd))
        elif style == "cn":
            out = cat(num(y), "年", num(m), "月", num(dd), "日")
        else:
            raise ValueError(f"unknown date style {style!r}")
    return out


def fmt_ts(seconds: np.ndarray, style: str) -> np.ndarray:
    """datetime64[s] (NaT = missing) as strings.

    styles: `space` 2024-05-01 13:45:10, `iso_t` 2024-05-01T13:45:10, `crm` 2024/05/01 13:45.
    """
    t = np.asarray(seconds).astype("datetime64[s]")
    missing = np.isnat(t)
    safe = np.where(missing, np.datetime64("2000-01-01T00:00:00"), t)
    if style == "iso_t":
        s = np.datetime_as_string(safe, unit="s").astype(STR)
    elif style == "space":
        s = np.strings.replace(np.datetime_as_string(safe, unit="s").astype(STR), "T", " ")
    elif style == "crm":
        s = np.datetime_as_string(safe, unit="m").astype(STR)
        s = np.strings.replace(np.strings.replace(s, "-", "/"), "T", " ")
    else:
        raise ValueError(f"unknown timestamp style {style!r}")
    return set_missing(s.astype(object), missing)


def uniform_days(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A day uniformly in [lo, hi] (datetime64[D] arrays; hi < lo collapses to lo)."""
    lo_i = lo.astype("datetime64[D]").astype(np.int64)
    hi_i = np.maximum(hi.astype("datetime64[D]").astype(np.int64), lo_i)
    return (lo_i + np.floor(rng.random(len(lo_i)) * (hi_i - lo_i + 1)).astype(np.int64)).astype(
        "datetime64[D]"
    )


def uniform_seconds(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A second uniformly in [lo, hi] (datetime64[s] arrays; hi < lo collapses to lo)."""
    lo_i = lo.astype("datetime64[s]").astype(np.int64)
    hi_i = np.maximum(hi.astype("datetime64[s]").astype(np.int64), lo_i)
    return (lo_i + np.floor(rng.random(len(lo_i)) * (hi_i - lo_i + 1)).astype(np.int64)).astype(
        "datetime64[s]"
    )


def zipf_weights(n: int, exponent: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1, dtype=float) ** exponent
    return w / w.sum()


def sequential_ids(rng: np.random.Generator, n: int, start: int, max_gap: int = 3) -> np.ndarray:
    """Increasing numbers with small gaps, the way numbers look after deletions and retries."""
    return start + np.cumsum(rng.integers(1, max_gap + 1, n))


def guarantee_each(
    rng: np.random.Generator, codes: np.ndarray, n_classes: int, eligible: np.ndarray | None = None
) -> np.ndarray:
    """Make every class appear at least once when there are enough rows.

    Small demo sizes must still show every status a mart groups by; at realistic sizes this
    never changes anything because every class is already present.
    """
    codes = codes.copy()
    pool = np.flatnonzero(eligible) if eligible is not None else np.arange(len(codes))
    missing = [c for c in range(n_classes) if not np.any(codes[pool] == c)]
    if not missing or len(pool) < n_classes:
        return codes
    counts = np.bincount(codes[pool], minlength=n_classes)
    # Take rows from the most frequent class so no other class disappears.
    donors = pool[codes[pool] == int(np.argmax(counts))]
    chosen = rng.choice(donors, size=min(len(missing), len(donors)), replace=False)
    codes[chosen] = missing[: len(chosen)]
    return codes
