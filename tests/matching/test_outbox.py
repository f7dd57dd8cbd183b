"""`outbox_rows`: golden events numbered for the change feed, each once, without personal text."""

from __future__ import annotations

import pandas as pd

from matching.golden import EVENT_COLUMNS, OUTBOX_COLUMNS, outbox_rows


def _events(*rows: tuple[str, str, str, str]) -> pd.DataFrame:
    """(event_id, event_type, golden_id, occurred_at) rows; the detail names a person, as a
    free-text column may."""
    frame = pd.DataFrame(
        [
            {
                "event_id": event_id,
                "run_id": event_id.split(":")[0],
                "event_type": kind,
                "golden_id": golden_id,
                "related_golden_id": None,
                "detail": "张伟 moved to 河北省石家庄市",
                "occurred_at": pd.Timestamp(at),
                "decision_id": None,
                "steward": None,
                "changed_fields": None,
            }
            for event_id, kind, golden_id, at in rows
        ]
    )
    return frame[list(EVENT_COLUMNS)]


def test_new_events_are_numbered_on_in_the_order_they_happened() -> None:
    events = _events(
        ("r2:0000000", "update", "G0000000001", "2026-11-29 01:00"),
        ("r1:0000001", "create", "G0000000002", "2026-11-28 01:00"),
        ("r1:0000000", "create", "G0000000001", "2026-11-28 01:00"),
    )

    rows = outbox_rows(events, last_seq=41)

    assert list(rows.columns) == list(OUTBOX_COLUMNS)
    # Run r1 first (earlier), its own numbering within the run; then r2.
    assert rows[["seq", "event_id"]].values.tolist() == [
        [42, "r1:0000000"],
        [43, "r1:0000001"],
        [44, "r2:0000000"],
    ]
    assert "detail" not in rows.columns  # free text stays out of the feed


def test_events_the_outbox_holds_are_not_added_again() -> None:
    events = _events(
        ("r1:0000000", "create", "G0000000001", "2026-11-28 01:00"),
        ("r2:0000000", "merge", "G0000000001", "2026-11-29 01:00"),
    )
    published = pd.Series(["r1:0000000"])

    rows = outbox_rows(events, last_seq=1, published=published)

    assert rows[["seq", "event_id", "event_type"]].values.tolist() == [[2, "r2:0000000", "merge"]]
    assert outbox_rows(events, last_seq=2, published=events["event_id"]).empty
