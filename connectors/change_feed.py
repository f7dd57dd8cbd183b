"""The change feed: golden events read from the outbox and published to NATS JetStream.

Every golden event (create, update, merge, split, retire) is appended to `mdm.change_outbox`
in the transaction that writes the golden change (`pipelines/assets/golden.py` for a run,
`connectors.steward_apply` for a quick apply), numbered by `seq`. Consumers get it two ways:

- pull: `GET /changes?after=SEQ` on the API (golden_record_api/routers/changes.py);
- push: `publish_changes` below (`mdm changes publish`), at least once, to a JetStream stream.

Both read the outbox from the **published serving snapshot**, not the warehouse: an event is
delivered only once the state it announces is served, so a consumer that re-reads the golden
record through the API sees the change it was told about (and neither holds the DuckDB
warehouse's write lock). Payloads carry golden IDs, the kind, changed field *names*, the
steward decision and time: no personal value (`matching.golden.OUTBOX_COLUMNS`).

Why NATS JetStream rather than RabbitMQ: a JetStream publish is acknowledged once the stream
has stored the message (file storage, survives a broker restart), and a `Nats-Msg-Id` header
makes the server drop a re-publish of the same ID within the stream's duplicate window. The
publisher's crash window (published and acknowledged, cursor not yet recorded) therefore costs
nothing inside that window, and consumers still de-duplicate on the event ID beyond it. A
stream also lets any number of consumers replay from any point (durable consumers, by
sequence or time) without the publisher knowing them; a RabbitMQ queue is consumed away.

At least once: the publisher reads outbox rows after its cursor (the last seq the broker
acknowledged, kept in the ops store's `feed_cursors`), publishes each with its event ID as
`Nats-Msg-Id`, waits for the broker's acks of a batch, and only then records the cursor.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import nats
import pandas as pd
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from connectors import tables
from connectors.ops_store import OpsStore
from connectors.serving import quoted_path
from matching.golden import OUTBOX_COLUMNS

log = logging.getLogger(__name__)

OUTBOX_TABLE = tables.CHANGE_OUTBOX
# A page of the feed: events after a seq, in seq order.
CHANGES_SQL = (
    f"select {', '.join(OUTBOX_COLUMNS)} from {OUTBOX_TABLE} where seq > ? order by seq limit ?"
)
LAST_SEQ_SQL = f"select coalesce(max(seq), 0) as last_seq from {OUTBOX_TABLE}"
MSG_ID_HEADER = "Nats-Msg-Id"  # JetStream's de-duplication key: the event ID
SEQ_HEADER = "Mdm-Seq"
ACK_TIMEOUT_SECONDS = 30.0  # a batch the broker has not acknowledged by then is re-sent later


def change_payload(row: Mapping[Hashable, Any]) -> dict[str, Any]:
    """One outbox row as the JSON a consumer gets (the same shape from the API and the broker).

    `occurred_at` is stamped in naive UTC by the pipeline; it is served with its offset.
    """
    occurred = row["occurred_at"]
    if isinstance(occurred, datetime | pd.Timestamp):
        occurred = pd.Timestamp(occurred).tz_localize(UTC).isoformat()
    fields = row.get("changed_fields")
    decision = row.get("decision_id")
    return {
        "seq": int(row["seq"]),
        "event_id": str(row["event_id"]),
        "event_type": str(row["event_type"]),
        "golden_id": str(row["golden_id"]),
        "related_golden_id": _text(row.get("related_golden_id")),
        "changed_fields": str(fields).split(",") if _text(fields) else [],
        "decision_id": None if decision is None or _missing(decision) else int(decision),
        "steward": _text(row.get("steward")),
        "occurred_at": occurred,
        "run_id": _text(row.get("run_id")),
    }


def _missing(value: object) -> bool:
    """None, NaN, NA or NaT: how an all-null or nullable column comes back from DuckDB."""
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))  # type: ignore[call-overload]


def _text(value: object) -> str | None:
    return None if _missing(value) or value == "" else str(value)


class SnapshotOutbox:
    """The published snapshot's outbox, kept open between reads and reopened when a publish
    swaps a new file in (its inode, size or mtime changed): opening the file costs ~50 ms,
    which per batch held the publisher to ~1,000 events/s.

    The file is ATTACHed read-only to a private in-memory database, as the API does: a plain
    `duckdb.connect(path)` would hand back DuckDB's cached instance of the *old* file while
    any connection to it is open.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._signature: tuple[int, int, int] | None = None

    def changes(self, after: int, limit: int) -> list[dict[str, Any]]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self.close()
            return []
        signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if self._connection is None or signature != self._signature:
            self.close()
            self._connection = duckdb.connect(":memory:")
            self._connection.execute(f"attach '{quoted_path(self.path)}' as snapshot (read_only)")
            self._connection.execute("use snapshot")
            self._signature = signature
        try:
            frame = self._connection.execute(CHANGES_SQL, [after, limit]).df()
        except duckdb.CatalogException:
            return []
        return [change_payload(row) for row in frame.to_dict("records")]

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


async def _broker_error(error: Exception) -> None:
    # One line instead of the client's default traceback per attempt; the caller reports
    # the failure that ends the publish.
    log.warning("NATS: %s", type(error).__name__)


@dataclass
class PublishReport:
    published: int = 0  # events the broker acknowledged (duplicates included)
    duplicates: int = 0  # of them, ones the stream already held (a re-send after a crash)
    cursor: int = 0  # the last seq recorded as acknowledged


def publisher_name(stream: str) -> str:
    """The ops-store key of a stream's publisher cursor."""
    return f"nats:{stream}"


async def publish_changes(
    *,
    serving_path: Path,
    ops_url: str,
    nats_url: str,
    stream: str,
    subject: str,
    follow: bool = False,
    batch: int = 100,
    max_rate: float | None = None,
    poll_seconds: float = 1.0,
    on_batch: Callable[[PublishReport], None] | None = None,
) -> PublishReport:
    """Publish outbox events after the stored cursor; with `follow`, keep polling for more.

    Each event goes to `<subject>.<event_type>` with its event ID as `Nats-Msg-Id`; the cursor
    moves to the last seq of a batch once every event of it is acknowledged. `max_rate`
    (events per second) spares a slow downstream. The stream is created if missing.
    """
    ops = OpsStore(ops_url)
    name = publisher_name(stream)
    report = PublishReport(cursor=ops.feed_cursor(name))
    outbox = SnapshotOutbox(serving_path)
    connection = await nats.connect(
        nats_url, connect_timeout=5, max_reconnect_attempts=3, error_cb=_broker_error
    )
    try:
        jetstream = connection.jetstream(timeout=10)
        try:
            await jetstream.stream_info(stream)
        except NotFoundError:
            await jetstream.add_stream(
                StreamConfig(
                    name=stream,
                    subjects=[f"{subject}.>"],
                    storage=StorageType.FILE,
                    duplicate_window=120.0,
                )
            )
        interval = 1.0 / max_rate if max_rate else 0.0
        while True:
            events = outbox.changes(report.cursor, batch)
            if not events:
                if not follow:
                    return report
                await asyncio.sleep(poll_seconds)
                continue
            # Sent in seq order without waiting for each ack (a round trip per event held the
            # publisher to ~800 events/s here), then every ack of the batch awaited.
            pending = []
            for event in events:
                started = time.monotonic()
                pending.append(
                    await jetstream.publish_async(
                        f"{subject}.{event['event_type']}",
                        json.dumps(event, ensure_ascii=False).encode(),
                        headers={MSG_ID_HEADER: event["event_id"], SEQ_HEADER: str(event["seq"])},
                    )
                )
                if interval:
                    await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
            acks = await asyncio.wait_for(asyncio.gather(*pending), timeout=ACK_TIMEOUT_SECONDS)
            report.published += len(acks)
            report.duplicates += sum(bool(ack.duplicate) for ack in acks)
            # Only now, every event of the batch acknowledged: a crash before this line
            # re-sends them, with the same IDs.
            report.cursor = int(events[-1]["seq"])
            ops.save_feed_cursor(name, report.cursor)
            if on_batch is not None:
                on_batch(report)
    finally:
        outbox.close()
        await connection.close()
        ops.dispose()
