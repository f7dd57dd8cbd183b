"""Golden record history: every version with valid_from / valid_to."""

from __future__ import annotations

import pandas as pd

from matching.golden.columns import HISTORY_COLUMNS, HISTORY_VERSIONED


def _version_text(frame: pd.DataFrame) -> pd.DataFrame:
    """golden_id, and the versioned columns as the text versions are compared by (null: "")."""
    versioned = frame[list(HISTORY_VERSIONED)]
    text = versioned.astype(str).where(versioned.notna(), "")
    return text.assign(golden_id=frame["golden_id"].to_numpy())


def _changed_ids(current: pd.DataFrame, open_rows: pd.DataFrame) -> pd.Series:
    """Golden IDs whose versioned values differ from their open version's, or that have none."""
    joined = _version_text(current).merge(
        _version_text(open_rows), on="golden_id", how="left", suffixes=("", "_open"), indicator=True
    )
    changed = joined["_merge"] != "both"
    for column in HISTORY_VERSIONED:
        changed |= joined[column] != joined[f"{column}_open"]
    return joined.loc[changed, "golden_id"]


def update_history(
    prior_history: pd.DataFrame | None, golden: pd.DataFrame, *, now: pd.Timestamp, run_id: str
) -> pd.DataFrame:
    """Every golden record's versions with valid_from / valid_to (NULL while current).

    A record whose attributes, sources or status changed gets its open version closed at `now`
    and a new one opened, so "what did we know about this customer on date D" is a query:
    valid_from <= D and (valid_to is null or D < valid_to).
    """
    current = golden[list(("golden_id", *HISTORY_VERSIONED))].copy()
    if prior_history is None or prior_history.empty:
        opened = current.assign(valid_from=now, valid_to=None, run_id=run_id)
        return _history_frame(opened)
    history = prior_history.copy()
    history["valid_to"] = pd.to_datetime(history["valid_to"])
    is_open = history["valid_to"].isna()
    changed_ids = _changed_ids(current, history[is_open])
    closing = is_open & history["golden_id"].isin(changed_ids)
    history.loc[closing, "valid_to"] = now
    opened = current[current["golden_id"].isin(changed_ids)].assign(
        valid_from=now, valid_to=None, run_id=run_id
    )
    if opened.empty:  # nothing changed: no empty frame in the concatenation (pandas warns)
        return _history_frame(history)
    return _history_frame(pd.concat([history, _typed_like(opened, history)], ignore_index=True))


def _typed_like(frame: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its all-null columns in `like`'s dtypes: pandas warns that a concatenation
    will stop ignoring all-null columns when it picks the result's dtypes."""
    empty = [c for c in frame.columns if c in like.columns and frame[c].isna().all()]
    return frame.astype({c: like[c].dtype for c in empty}) if empty else frame


def _history_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[list(HISTORY_COLUMNS)].copy()
    out["valid_from"] = pd.to_datetime(out["valid_from"])
    out["valid_to"] = pd.to_datetime(out["valid_to"])
    return out.sort_values(["golden_id", "valid_from"], ignore_index=True)
