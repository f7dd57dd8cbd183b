"""Logged golden events and an outbox file of them, for the change-feed tests (API and broker)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from matching.golden import EVENT_COLUMNS, format_golden_id, outbox_rows


def created_events(count: int) -> pd.DataFrame:
    """`count` events of run `run-a`, each creating golden record G…1, G…2, …, in event order."""
    numbers = range(1, count + 1)
    events = pd.DataFrame(
        {
            "event_id": [f"run-a:{n:07d}" for n in numbers],
            "run_id": "run-a",
            "event_type": "create",
            "golden_id": [format_golden_id(n) for n in numbers],
            "related_golden_id": None,
            "detail": "new customer",
            "occurred_at": pd.Timestamp("2026-11-28 02:00:00"),
            "decision_id": pd.array([pd.NA] * count, dtype="Int64"),
            "steward": None,
            "changed_fields": None,
        }
    )
    return events[list(EVENT_COLUMNS)]


def write_outbox(path: Path, events: pd.DataFrame) -> Path:
    """A DuckDB file at `path` holding `mdm.change_outbox` of `events`, numbered from 1."""
    with duckdb.connect(str(path)) as snapshot:
        snapshot.execute("create schema mdm")
        snapshot.register("outbox", outbox_rows(events, last_seq=0))
        snapshot.execute("create table mdm.change_outbox as select * from outbox")
    return path
