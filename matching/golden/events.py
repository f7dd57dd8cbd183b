"""Golden events (create / update / merge / split / retire) and the change feed's outbox rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from matching.golden.arrays import zero_padded
from matching.golden.columns import EVENT_COLUMNS, OUTBOX_COLUMNS


def event_frame(
    event_type: object,
    golden_id: np.ndarray,
    related_golden_id: object,
    detail: object,
    changed_fields: object = None,
) -> pd.DataFrame:
    """Events without run/time columns; scalars apply to every event."""
    columns = {
        "event_type": event_type,
        "golden_id": golden_id,
        "related_golden_id": related_golden_id,
        "detail": detail,
        "changed_fields": changed_fields,
    }
    return pd.DataFrame(columns, index=pd.RangeIndex(len(golden_id))).astype(object)


def numbered_events(events: pd.DataFrame, run_id: str, now: pd.Timestamp) -> pd.DataFrame:
    """Events with their IDs (run ID and sequence number), run and time."""
    events = events.reset_index(drop=True)
    sequence = zero_padded(np.arange(len(events)), 7)
    events.insert(0, "run_id", run_id)
    # Inserted as a list, as ever: with no events that keeps the column's float64 dtype.
    events.insert(0, "event_id", (f"{run_id}:" + sequence).tolist())
    events["occurred_at"] = now
    # Typed even when all null, so the table's columns keep one type across writes.
    events["decision_id"] = pd.array([pd.NA] * len(events), dtype="Int64")
    events["steward"] = pd.Series([None] * len(events), dtype=object)
    return events[list(EVENT_COLUMNS)]


def with_event_columns(events: pd.DataFrame) -> pd.DataFrame:
    """Events (this run's and earlier ones) with every column of EVENT_COLUMNS: those logged
    before a column existed get it as NULL, so the table keeps one shape."""
    missing = [c for c in EVENT_COLUMNS if c not in events.columns]
    if missing:
        events = events.assign(**{c: None for c in missing})
    events = events.astype({"decision_id": "Int64"})
    return events[[*EVENT_COLUMNS, *(c for c in events.columns if c not in EVENT_COLUMNS)]]


def outbox_rows(
    events: pd.DataFrame, *, last_seq: int, published: pd.Series | None = None
) -> pd.DataFrame:
    """The outbox rows for `events` not yet in the outbox, numbered on from `last_seq`.

    `published`: the event IDs the outbox already holds (None: all of `events` are new). An
    event keeps the ID it was logged under, so a publisher re-sending it after a crash sends the
    same ID. New rows are numbered in the events' order (occurred_at, then event ID: a run's
    own sequence), so the feed replays history in the order it happened.
    """
    events = with_event_columns(events)
    if published is not None:
        events = events[~events["event_id"].isin(published)]
    events = events.sort_values(["occurred_at", "event_id"], kind="stable", ignore_index=True)
    rows = events[[c for c in OUTBOX_COLUMNS if c != "seq"]].copy()
    rows.insert(0, "seq", np.arange(last_seq + 1, last_seq + 1 + len(rows), dtype=np.int64))
    rows["occurred_at"] = pd.to_datetime(rows["occurred_at"])
    return rows
