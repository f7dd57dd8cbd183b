"""Small helpers shared by the field modules."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def as_text(values: pd.Series) -> pd.Series:
    """Values as an object Series of str or None; blank strings become None."""
    missing = values.isna()
    if missing.all():  # an unmapped field: skip the string passes
        return pd.Series(None, index=values.index, dtype=object)
    s = set_null(values, missing)
    if pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
        s = s.map(lambda v: v if v is None or isinstance(v, str) else str(v))
    blank = (s == "") | s.str.isspace().eq(True)
    return set_null(s, blank)


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
    return values.str.normalize("NFKC")


def on_uniques(values: pd.Series, fn: Callable[[pd.Series], pd.DataFrame]) -> pd.DataFrame:
    """Run a column function once per distinct non-null value and spread the result back.

    Customer data repeats a lot (names, birth dates, districts); the expensive per-value work
    (regexes, pinyin, OpenCC) then scales with the distinct values, not the rows. A null input
    gets None in object columns, False in bool columns and NaT in datetime columns.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    result = fn(pd.Series(uniques, dtype=object)).reset_index(drop=True)
    null_row: dict[str, object] = {}
    for col in result.columns:
        dtype = result[col].dtype
        if dtype.kind == "O":
            result[col] = none_if_nan(result[col])  # on the distinct rows, not on all rows
        null_row[col] = False if dtype.kind == "b" else (pd.NaT if dtype.kind == "M" else None)
    # The null row goes last, so that code -1 (a null input) picks it.
    padded = pd.concat(
        [result, pd.DataFrame([null_row]).astype(result.dtypes.to_dict())], ignore_index=True
    )
    return padded.iloc[np.where(codes < 0, len(result), codes)].set_axis(values.index, axis=0)


def none_if_nan(values: pd.Series) -> pd.Series:
    """Object Series with None (not NaN) for missing values, as the warehouse loaders expect."""
    out = values.astype(object)
    missing = out.isna()
    return set_null(out, missing) if missing.any() else out


def set_null(values: pd.Series, mask: pd.Series) -> pd.Series:
    """Object copy of `values` with None where `mask` holds."""
    out = values.astype(object).copy()
    out[mask] = None
    return out
