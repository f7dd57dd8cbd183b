"""`GET /changes`: the change feed for pull consumers, paged by cursor, long-polled.

Each test publishes its own snapshot holding `mdm.change_outbox` (rows made by
`matching.golden.outbox_rows`: creates of G…001-G…004 at 2026-11-28 02:00 UTC, the last one
an update of two fields), through a temporary file and a rename as the pipeline does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import httpx
import pandas as pd

from connectors.serving import publish_snapshot_file
from tests.api.conftest import IdentityProvider, problem_detail
from tests.change_events import created_events, write_outbox


def _events(count: int) -> pd.DataFrame:
    events = created_events(count)
    events.loc[count - 1, ["event_type", "changed_fields"]] = ["update", "mobile,address"]
    return events


def _publish_feed(path: Path, events: int) -> Path:
    temporary = path.with_name(path.name + ".publishing")
    temporary.unlink(missing_ok=True)
    return publish_snapshot_file(write_outbox(temporary, _events(events)), path)


def test_an_app_pages_through_the_feed_by_cursor(
    tmp_path: Path, serve_on: Callable[..., httpx.Client], idp: IdentityProvider
) -> None:
    serving = _publish_feed(tmp_path / "serving.duckdb", 4)
    client = serve_on(serving, headers=idp.headers("app"))

    first = client.get("/changes", params={"after": 0, "limit": 3})
    assert first.status_code == 200, first.text
    page = first.json()
    assert [item["seq"] for item in page["items"]] == [1, 2, 3]
    assert (page["next_cursor"], page["last_seq"]) == (3, 4)
    assert page["items"][0] == {
        "seq": 1,
        "event_id": "run-a:0000001",
        "event_type": "create",
        "golden_id": "G0000000001",
        "related_golden_id": None,
        "changed_fields": [],
        "decision_id": None,
        "steward": None,
        "occurred_at": "2026-11-28T10:00:00+08:00",  # 02:00 UTC, served in the bank's zone
        "run_id": "run-a",
    }
    rest = client.get("/changes", params={"after": page["next_cursor"]}).json()
    assert [(i["seq"], i["event_type"]) for i in rest["items"]] == [(4, "update")]
    assert rest["items"][0]["changed_fields"] == ["mobile", "address"]
    caught_up = client.get("/changes", params={"after": 4}).json()
    assert caught_up == {"items": [], "next_cursor": 4, "last_seq": 4}


def test_a_caught_up_consumer_waits_and_gets_the_next_publish(
    tmp_path: Path, serve_on: Callable[..., httpx.Client], idp: IdentityProvider
) -> None:
    serving = _publish_feed(tmp_path / "serving.duckdb", 4)
    client = serve_on(serving, headers=idp.headers("admin"))

    started = time.monotonic()
    idle = client.get("/changes", params={"after": 4, "wait": 0.5})
    assert idle.status_code == 200 and idle.json()["items"] == []
    assert time.monotonic() - started >= 0.5

    # A run publishes two more events while the request waits.
    publisher = threading.Timer(0.6, _publish_feed, args=(serving, 6))
    publisher.start()
    started = time.monotonic()
    woken = client.get("/changes", params={"after": 4, "wait": 8})
    waited = time.monotonic() - started
    publisher.join()
    assert woken.status_code == 200, woken.text
    assert [item["seq"] for item in woken.json()["items"]] == [5, 6]
    assert 0.5 < waited < 8  # answered on the publish, not at the end of the wait


def test_a_bad_cursor_is_a_4xx_that_says_what_is_wrong(
    tmp_path: Path, serve_on: Callable[..., httpx.Client], idp: IdentityProvider
) -> None:
    serving = _publish_feed(tmp_path / "serving.duckdb", 4)
    client = serve_on(serving, headers=idp.headers("app"))

    past = client.get("/changes", params={"after": 9})
    assert "cursor 9 is past the feed's last event (seq 4)" in problem_detail(past, 400)
    for bad in ("-1", "abc"):
        malformed = client.get("/changes", params={"after": bad})
        assert malformed.status_code == 422
        assert [e["loc"] for e in malformed.json()["errors"]] == [["query", "after"]]
    too_long = client.get("/changes", params={"after": 0, "wait": 31})
    assert too_long.status_code == 422


def test_the_feed_needs_the_changes_scope(
    tmp_path: Path, serve_on: Callable[..., httpx.Client], idp: IdentityProvider
) -> None:
    serving = _publish_feed(tmp_path / "serving.duckdb", 4)
    steward = serve_on(serving, headers=idp.headers("steward"))
    assert "changes:read" in problem_detail(steward.get("/changes"), 403)
    anonymous = serve_on(serving, headers={})
    assert anonymous.get("/changes").status_code == 401


def test_a_snapshot_without_a_feed_is_a_503(
    tmp_path: Path, serve_on: Callable[..., httpx.Client], idp: IdentityProvider
) -> None:
    temporary = tmp_path / "old.duckdb"
    with duckdb.connect(str(temporary)) as snapshot:
        snapshot.execute("create schema mdm")
    serving = publish_snapshot_file(temporary, tmp_path / "serving.duckdb")
    client = serve_on(serving, headers=idp.headers("app"))
    assert "incomplete" in problem_detail(client.get("/changes"), 503)
