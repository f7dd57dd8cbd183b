"""The change feed's publisher and example consumer, against the real NATS JetStream server.

The outbox is a real serving snapshot (a DuckDB file) holding `mdm.change_outbox` rows made by
`matching.golden.outbox_rows` from 120 logged events; the cursor lives in a real SQLite ops
store. Every test uses a stream and subject of its own and deletes the stream afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import nats
import pandas as pd
import pytest
import sqlalchemy as sa

from connectors.change_consumer import applied_change_events, consume, downstream_golden_ids
from connectors.change_feed import (
    MSG_ID_HEADER,
    SEQ_HEADER,
    SnapshotOutbox,
    publish_changes,
    publisher_name,
)
from connectors.ops_store import OpsStore
from connectors.serving import publish_snapshot_file
from connectors.settings import Settings
from matching.golden import format_golden_id, outbox_rows
from tests.change_events import created_events, write_outbox
from tests.conftest import running_in_ci

NATS_URL = "nats://127.0.0.1:4222"
EVENTS = 120
BATCH = 10  # the publisher's cursor commits every 10 acknowledged events
ROOT = Path(__file__).resolve().parents[2]


def _nats_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 4222), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def nats_server() -> None:
    if not _nats_reachable():
        if running_in_ci():
            pytest.fail("NATS at 127.0.0.1:4222 is unreachable, and CI requires it")
        pytest.skip("no NATS server at 127.0.0.1:4222 (nats-server -js)")


@pytest.fixture
def feed() -> Iterator[tuple[str, str]]:
    """A stream and subject prefix unique to this test, deleted afterwards."""
    tag = uuid.uuid4().hex[:10]
    stream, subject = f"MDM_TEST_{tag}", f"mdmtest.{tag}"
    yield stream, subject

    async def delete() -> None:
        connection = await nats.connect(NATS_URL)
        try:
            await connection.jetstream().delete_stream(stream)
        except nats.js.errors.NotFoundError:
            pass
        finally:
            await connection.close()

    asyncio.run(delete())


def _events(count: int) -> pd.DataFrame:
    """`count` logged golden events: creates, then an update and a merge at the end."""
    events = created_events(count)
    events.loc[count - 2, ["event_type", "changed_fields"]] = ["update", "mobile,address"]
    events.loc[count - 1, ["event_type", "golden_id", "related_golden_id"]] = [
        "merge",
        format_golden_id(1),
        format_golden_id(2),
    ]
    events.loc[count - 1, ["decision_id", "steward"]] = [7, "cli:wang.min"]
    return events


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A home whose published snapshot holds the outbox of `_events(EVENTS)`."""
    settings = Settings(home=tmp_path / "var")
    settings.home.mkdir(parents=True)
    write_outbox(settings.resolved_serving_path, _events(EVENTS))
    return settings


def _publisher(settings: Settings, stream: str, subject: str, *options: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pipelines.cli",
        "changes",
        "publish",
        "--stream",
        stream,
        "--subject",
        subject,
        "--server",
        NATS_URL,
        "--batch",
        str(BATCH),
        *options,
    ]


def _environment(settings: Settings) -> dict[str, str]:
    return {**os.environ, "MDM_HOME": str(settings.home)}


async def _kill_mid_stream_then_resume(
    settings: Settings, stream: str, subject: str
) -> tuple[list[tuple[str, str, bytes]], int, int, str]:
    """Every message seen on the subject (a plain subscriber sees re-sends the stream drops),
    the cursor stored when the publisher was killed, the stream's message count and the
    resumed publisher's output."""
    seen: list[tuple[str, str, bytes]] = []
    connection = await nats.connect(NATS_URL)
    try:

        async def collect(message: nats.aio.msg.Msg) -> None:
            headers = message.headers or {}
            seen.append((headers[MSG_ID_HEADER], headers[SEQ_HEADER], message.data))

        await connection.subscribe(f"{subject}.>", cb=collect)
        await connection.flush()
        # Paced at 100 events/s so the kill lands mid-stream, between two cursor commits.
        first = await asyncio.create_subprocess_exec(
            *_publisher(settings, stream, subject, "--follow", "--max-rate", "100"),
            cwd=ROOT,
            env=_environment(settings),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        # Kill once events 2 past a commit point are out: 2*BATCH+1 and +2 are acknowledged
        # (the publisher awaits each ack before the next) but not yet in the cursor.
        deadline = asyncio.get_running_loop().time() + 60
        while not any(int(seq) >= 2 * BATCH + 3 for _, seq, _ in seen):
            assert first.returncode is None, await first.stderr.read()  # type: ignore[union-attr]
            assert asyncio.get_running_loop().time() < deadline, "the publisher sent nothing"
            await asyncio.sleep(0.005)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        assert first.returncode == -signal.SIGKILL
        ops = OpsStore(settings.resolved_ops_url)
        try:
            cursor_at_kill = ops.feed_cursor(publisher_name(stream))
        finally:
            ops.dispose()

        second = await asyncio.create_subprocess_exec(
            *_publisher(settings, stream, subject, "--once"),
            cwd=ROOT,
            env=_environment(settings),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        output, errors = await asyncio.wait_for(second.communicate(), timeout=60)
        assert second.returncode == 0, errors.decode()
        await connection.flush()
        await asyncio.sleep(0.2)  # the last messages reach the plain subscriber
        info = await connection.jetstream().stream_info(stream)
        return seen, cursor_at_kill, info.state.messages, output.decode()
    finally:
        await connection.close()


def test_a_publisher_killed_mid_stream_loses_nothing_and_resends_with_the_same_ids(
    settings: Settings, feed: tuple[str, str]
) -> None:
    stream, subject = feed
    seen, cursor_at_kill, stored, output = asyncio.run(
        _kill_mid_stream_then_resume(settings, stream, subject)
    )

    # Killed between commits: the cursor is a commit point behind what the broker acked.
    highest_before_kill = 2 * BATCH + 3
    assert cursor_at_kill % BATCH == 0 and 0 < cursor_at_kill < highest_before_kill
    expected = outbox_rows(_events(EVENTS), last_seq=0)
    ids = Counter(message_id for message_id, _, _ in seen)
    # Nothing lost: every outbox event went out, in seq order within each publisher's run.
    assert set(ids) == set(expected["event_id"])
    # At least once: the events after the stored cursor were sent again, each with its ID.
    resent = sorted(message_id for message_id, count in ids.items() if count > 1)
    assert resent, "the kill left no acknowledged event beyond the stored cursor"
    for message_id in resent:
        copies = {(seq, data) for found, seq, data in seen if found == message_id}
        assert len(copies) == 1, f"{message_id} was re-sent with a different body"
    assert all(int(json.loads(data)["seq"]) > cursor_at_kill for m, _, data in seen if m in resent)
    # JetStream dropped the re-sends by their Nats-Msg-Id: the stream holds each event once,
    # and the resumed publisher was told so.
    assert stored == EVENTS
    assert f"({len(resent)} the stream already held)" in output
    ops = OpsStore(settings.resolved_ops_url)
    try:
        assert ops.feed_cursor(publisher_name(stream)) == EVENTS
    finally:
        ops.dispose()


def test_the_payload_carries_ids_and_field_names_and_no_personal_value(
    settings: Settings, feed: tuple[str, str]
) -> None:
    stream, subject = feed
    report = asyncio.run(
        publish_changes(
            serving_path=settings.resolved_serving_path,
            ops_url=settings.resolved_ops_url,
            nats_url=NATS_URL,
            stream=stream,
            subject=subject,
            batch=50,
        )
    )
    assert (report.published, report.duplicates, report.cursor) == (EVENTS, 0, EVENTS)

    async def last_two() -> list[tuple[str, dict[str, object]]]:
        connection = await nats.connect(NATS_URL)
        try:
            jetstream = connection.jetstream()
            found = []
            for sequence in (EVENTS - 1, EVENTS):
                message = await jetstream.get_msg(stream, sequence)
                found.append((message.subject, json.loads(message.data or b"{}")))
            return found
        finally:
            await connection.close()

    (update_subject, update), (merge_subject, merge) = asyncio.run(last_two())
    assert update_subject == f"{subject}.update"
    assert update["changed_fields"] == ["mobile", "address"]
    assert merge_subject == f"{subject}.merge"
    assert merge == {
        "seq": EVENTS,
        "event_id": f"run-a:{EVENTS:07d}",
        "event_type": "merge",
        "golden_id": "G0000000001",
        "related_golden_id": "G0000000002",
        "changed_fields": [],
        "decision_id": 7,
        "steward": "cli:wang.min",
        "occurred_at": "2026-11-28T02:00:00+00:00",
        "run_id": "run-a",
    }


def test_the_example_consumer_keeps_a_downstream_table_in_sync_once_per_event(
    settings: Settings, feed: tuple[str, str], tmp_path: Path
) -> None:
    stream, subject = feed
    publish = publish_changes(
        serving_path=settings.resolved_serving_path,
        ops_url=settings.resolved_ops_url,
        nats_url=NATS_URL,
        stream=stream,
        subject=subject,
    )
    asyncio.run(publish)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'downstream.sqlite'}")
    options = dict(nats_url=NATS_URL, stream=stream, subject=subject, idle_seconds=0.5)
    assert asyncio.run(consume(engine, durable="crm-a", **options)) == EVENTS

    async def redeliver_all() -> None:
        """What a publisher that lost its cursor past the dedup window does: send them all
        again, to be stored a second time."""
        connection = await nats.connect(NATS_URL)
        try:
            jetstream = connection.jetstream()
            for sequence in range(1, EVENTS + 1):
                stored = await jetstream.get_msg(stream, sequence)
                await jetstream.publish(stored.subject, stored.data or b"")
        finally:
            await connection.close()

    asyncio.run(redeliver_all())
    # The duplicates arrive and are skipped by event ID: nothing applied twice.
    assert asyncio.run(consume(engine, durable="crm-a", **options)) == 0
    with engine.connect() as connection:
        rows = {
            row.golden_id: row for row in connection.execute(sa.select(downstream_golden_ids)).all()
        }
        applied = connection.execute(sa.select(sa.func.count()).select_from(applied_change_events))
        assert applied.scalar() == EVENTS
    engine.dispose()
    # 118 creates, an update of G..119, then G..2 merged into G..1.
    assert len(rows) == EVENTS - 1
    assert rows["G0000000002"].status == "merged"
    assert rows["G0000000002"].survivor_id == "G0000000001"
    assert rows["G0000000001"].status == "active"
    assert rows["G0000000001"].last_seq == EVENTS
    assert rows[format_golden_id(EVENTS - 1)].changed_fields == "mobile,address"
    assert sum(row.status == "active" for row in rows.values()) == EVENTS - 2


def test_the_publisher_reads_a_new_publish_without_a_restart(settings: Settings) -> None:
    outbox = SnapshotOutbox(settings.resolved_serving_path)
    try:
        assert [e["seq"] for e in outbox.changes(EVENTS - 2, 10)] == [EVENTS - 1, EVENTS]
        # A run publishes a snapshot with two more events: a new file renamed over the old.
        temporary = write_outbox(settings.home / "next.duckdb", _events(EVENTS + 2))
        publish_snapshot_file(temporary, settings.resolved_serving_path)
        assert [e["seq"] for e in outbox.changes(EVENTS, 10)] == [EVENTS + 1, EVENTS + 2]
    finally:
        outbox.close()
