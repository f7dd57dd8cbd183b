"""An example consumer of the change feed: keeps a downstream table of golden IDs in sync.

A downstream system (a CRM, a credit system) holds its own copy of which golden IDs exist and
where a merged one now lives. This consumer reads the JetStream stream `mdm changes publish`
fills, through a durable pull consumer, and applies each event to two tables of any
SQLAlchemy database:

- `downstream_golden_ids`: one row per golden ID: active / merged / retired, the survivor a
  merged ID points to, the last event applied and the names of the fields it changed;
- `applied_change_events`: the event IDs applied, written in the same transaction as the
  change, so an event delivered twice (the feed is at least once) is applied once.

A message is acknowledged only after its transaction commits: a consumer killed in between
gets it again and skips it by its event ID. The events carry no personal value; a consumer
needing the new name or phone fetches `GET /golden-records/{golden_id}` with its own API key
(where its role's masking and the read audit apply). That call is left out here: the table
kept in sync is the golden IDs' status, which the events alone determine.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import nats
import sqlalchemy as sa
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy.engine import Connection, Engine

metadata = sa.MetaData()

downstream_golden_ids = sa.Table(
    "downstream_golden_ids",
    metadata,
    sa.Column("golden_id", sa.String(20), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # active / merged / retired
    sa.Column("survivor_id", sa.String(20)),  # where a merged ID lives on
    sa.Column("changed_fields", sa.Text),  # an update's field names, comma-separated
    sa.Column("last_event_id", sa.String(200), nullable=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
)
applied_change_events = sa.Table(
    "applied_change_events",
    metadata,
    sa.Column("event_id", sa.String(200), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("applied_at", sa.DateTime, nullable=False),
)


def create_tables(engine: Engine) -> None:
    metadata.create_all(engine)


def apply_change(connection: Connection, event: Mapping[str, Any]) -> bool:
    """Apply one event inside the caller's transaction; False if it was applied before."""
    event_id, seq = str(event["event_id"]), int(event["seq"])
    seen = connection.execute(
        sa.select(applied_change_events.c.event_id).where(
            applied_change_events.c.event_id == event_id
        )
    ).first()
    if seen is not None:
        return False
    connection.execute(
        sa.insert(applied_change_events).values(
            event_id=event_id, seq=seq, applied_at=datetime.now(UTC).replace(tzinfo=None)
        )
    )
    kind, golden_id = str(event["event_type"]), str(event["golden_id"])
    fields = ",".join(event.get("changed_fields") or []) or None
    if kind == "retire":
        _upsert(connection, golden_id, "retired", None, None, event_id, seq)
    else:  # create, split, update, merge: the golden ID named is active
        _upsert(connection, golden_id, "active", None, fields, event_id, seq)
    if kind == "merge" and event.get("related_golden_id"):
        # The merged (retired) ID lives on in the survivor: downstream links follow it.
        _upsert(
            connection, str(event["related_golden_id"]), "merged", golden_id, None, event_id, seq
        )
    return True


def _upsert(
    connection: Connection,
    golden_id: str,
    status: str,
    survivor_id: str | None,
    changed_fields: str | None,
    event_id: str,
    seq: int,
) -> None:
    values = {
        "status": status,
        "survivor_id": survivor_id,
        "changed_fields": changed_fields,
        "last_event_id": event_id,
        "last_seq": seq,
    }
    updated = connection.execute(
        sa.update(downstream_golden_ids)
        .where(downstream_golden_ids.c.golden_id == golden_id)
        .values(**values)
    ).rowcount
    if not updated:
        connection.execute(sa.insert(downstream_golden_ids).values(golden_id=golden_id, **values))


async def consume(
    engine: Engine,
    *,
    nats_url: str,
    stream: str,
    subject: str,
    durable: str,
    batch: int = 100,
    idle_seconds: float = 1.0,
) -> int:
    """Apply every message the durable consumer has not acknowledged, until `idle_seconds`
    pass without one; returns how many events were applied (duplicates not counted)."""
    create_tables(engine)
    connection = await nats.connect(nats_url, connect_timeout=5)
    applied = 0
    try:
        jetstream = connection.jetstream()
        subscription = await jetstream.pull_subscribe(
            f"{subject}.>",
            durable=durable,
            stream=stream,
            config=ConsumerConfig(
                durable_name=durable,
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
            ),
        )
        while True:
            try:
                messages = await subscription.fetch(batch, timeout=idle_seconds)
            except TimeoutError:  # nats' own TimeoutError is one too
                return applied
            for message in messages:
                with engine.begin() as transaction:
                    applied += apply_change(transaction, json.loads(message.data))
                await message.ack()  # after the commit: a crash before it redelivers
    finally:
        await connection.close()
