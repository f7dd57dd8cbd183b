"""Small helpers shared by the field modules."""

from __future__ import annotations

from collections.abc import Callable
from unicodedata import normalize

import numpy as np
import pandas as pd


def _slow_text(value: object, strip: bool = False) -> str | None:
    """A value that is not a non-blank str: None when missing or blank, else its text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    text = value if isinstance(value, str) else str(value)
    if strip:
        text = text.strip()
    return None if text == "" or text.isspace() else text


def text_of(value: object, *, strip: bool = False) -> str | None:
    """`as_text` for one value: its str, None when missing or blank."""
    return _slow_text(value, strip)


def as_text(values: pd.Series, *, strip: bool = False) -> pd.Series:
    """Values as an object Series of str or None; blank strings become None.

    `strip=True` also removes leading and trailing whitespace (keys, codes).
    """
    if values.isna().all():  # an unmapped field: skip the string passes
        return pd.Series(np.full(len(values), None, dtype=object), index=values.index)
    array = values.to_numpy(dtype=object)
    # One Python pass: pandas' isna / == "" / .str.isspace passes cost three times as much.
    if strip:
        out = [(v.strip() or None) if type(v) is str else _slow_text(v, True) for v in array]
    else:
        out = [v if type(v) is str and v and not v.isspace() else _slow_text(v) for v in array]
    return pd.Series(out, index=values.index, dtype=object)


def arrow(values: pd.Series) -> pd.Series:
    """Arrow-backed copy: its .str methods run in C++, 5-10x faster than on Python objects.

    Used on row-unique columns (IDs, mobiles), where deduplication cannot help. Regexes there
    are RE2: no lookarounds or backreferences.
    """
    return values.astype("string[pyarrow]")


def flag(values: pd.Series) -> pd.Series:
    """A nullable boolean result as plain bool, NULL meaning False."""
    return values.fillna(False).astype(bool)


def nfkc(values: pd.Series) -> pd.Series:
    """NFKC: full-width digits, letters and punctuation become their ASCII forms."""
    if values.dtype != object:
        return values.str.normalize("NFKC")
    # A list comprehension is twice as fast as .str.normalize on object columns.
    out = [
        normalize("NFKC", v) if isinstance(v, str) else None for v in values.to_numpy(dtype=object)
    ]
    return pd.Series(out, index=values.index, dtype=object)


def on_uniques(values: pd.Series, fn: Callable[[pd.Series], pd.DataFrame]) -> pd.DataFrame:
    """Run a column function once per distinct non-null value and spread the result back.

    Customer data repeats a lot (names, birth dates, districts); the expensive per-value work
    (regexes, pinyin, OpenCC) then scales with the distinct values, not the rows. A null input
    gets None in object columns, False in bool columns and NaT in datetime columns.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    result = fn(pd.Series(uniques, dtype=object)).reset_index(drop=True)
    # Each column once per distinct value plus a last null row, which code -1 (null) picks.
    take = np.where(codes < 0, len(result), codes)
    out: dict[str, np.ndarray] = {}
    for col in result.columns:
        column = result[col]
        kind = column.dtype.kind
        if kind == "O":
            distinct = none_for_missing(column.to_numpy(dtype=object))
            out[col] = np.append(distinct, np.array([None], dtype=object))[take]
        elif kind == "b":
            out[col] = np.append(column.to_numpy(), False)[take]
        elif kind == "M":
            stamps = column.to_numpy()
            out[col] = np.append(stamps, np.array(["NaT"], dtype=stamps.dtype))[take]
        else:
            out[col] = np.append(column.to_numpy(dtype=float), np.nan)[take]
    return pd.DataFrame(out, index=values.index, columns=result.columns)


def is_none(values: np.ndarray) -> np.ndarray:
    """Elementwise `is None` on an object array of str / None: one C comparison pass."""
    return np.asarray(values == None, dtype=bool)  # noqa: E711 - elementwise on an array


def none_where(mask: np.ndarray, values: object) -> np.ndarray:
    """An object array of `values` (an array, or one value for all) where `mask`, else None."""
    out = np.full(len(mask), None, dtype=object)
    out[mask] = values[mask] if isinstance(values, np.ndarray) else values
    return out


def none_for_missing(values: np.ndarray) -> np.ndarray:
    """An object array with None for NaN, NaT and NA (a copy only when there are any)."""
    try:
        missing = values != values  # NaN and NaT only differ from themselves; 3x pd.isna's speed
    except TypeError:  # pd.NA refuses to be a bool
        missing = pd.isna(values)
    if not missing.any():
        return values
    out = values.copy()
    out[missing] = None
    return out


def none_if_nan(values: pd.Series) -> pd.Series:
    """Object Series with None (not NaN) for missing values, as the warehouse loaders expect."""
    array = values.to_numpy(dtype=object)
    clean = none_for_missing(array)
    if clean is array and values.dtype == object:
        return values
    return pd.Series(clean, index=values.index, dtype=object)


def set_null(values: pd.Series, mask: pd.Series) -> pd.Series:
    """Object copy of `values` with None where `mask` holds."""
    out = values.astype(object).copy()
    out[mask] = None
    return out
