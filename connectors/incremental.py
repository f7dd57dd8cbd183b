"""Incremental extraction: which rows changed since the last extract, and merging them in."""

from __future__ import annotations

import pandas as pd

WATERMARK_COLUMNS = ("system", "table_name", "watermark", "batch_id", "extracted_at")


def merge_increment(
    current: pd.DataFrame | None, increment: pd.DataFrame, key: str
) -> pd.DataFrame:
    """The raw table after an increment: changed rows replace their old versions by key."""
    if current is None or current.empty:
        return increment.reset_index(drop=True)
    if increment.empty:
        return current.reset_index(drop=True)
    kept = current[~current[key].isin(increment[key])]
    return pd.concat([kept, increment[current.columns]], ignore_index=True)


def highest_watermark(frame: pd.DataFrame, column: str, previous: str | None) -> str | None:
    """The watermark to start from next time: the largest value seen (text compares as the
    source stores it; ISO timestamps sort correctly as text)."""
    values = frame[column].dropna() if column in frame else pd.Series(dtype=object)
    candidates = [v for v in (values.max() if len(values) else None, previous) if v is not None]
    return max(candidates) if candidates else None
