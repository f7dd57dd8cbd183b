"""Online writes during a batch run: queued in a durable inbox, applied after it.

**The rule.** `POST /records` standardizes the posted row first, by the batch's code
(`online_records.standardize_posted`): a row the pipeline would quarantine is refused at once
(422, naming the rule, never the value), whatever the home is doing. A valid row is then
written at once (`online_records.upsert_record`'s path) when the home's run lock is free within
the short wait; when a batch run holds it (or another online write holds it longer than the
wait) the row is **queued**: written to the ops store's `record_inbox` (SQLite or PostgreSQL,
so it survives a restart) and answered 202 with a receipt, `GET /records/receipts/{id}`.

The inbox is **drained** by `drain`, holding the writer and run locks across the posts it
applies:

- by the batch run itself, at its end: the publish step drains after it has published the
  snapshot and before the run releases the lock (the run's lock is re-entrant), so the run's
  snapshot already carries the queued writes when the next reader comes;
- by the API, in the background (`golden_record_api.drain`): every few seconds and after each
  direct write, when the lock is free; a queued post is applied even if no run drains it.

Posts are applied in arrival order by the same `online_records.apply_posted` as a direct post,
so a drained receipt says what the direct answer would have. Per record (source, record key)
the last post wins: the earlier queued ones are marked `superseded` (naming the receipt that
replaced them) and never applied, and a direct post supersedes the queued posts of its record
before it writes. Draining is at-least-once: a post leaves `queued` only once its write is
done (`applied`, with the outcome) or refused (`failed`, with the reason, no values), so a
drain killed half-way leaves the rest queued and the next drain applies them; applying one
again is safe, since a repeat of the same content is `unchanged`. A post that fails on drain
never blocks the rest: a refused one (the mapping changed since) fails at once, an unexpected
error is retried by the next drains and fails after `MAX_ATTEMPTS`. A post already queued
with the same source, record key and content hash is not queued twice: its receipt is
answered again.

The inbox holds the posted row as sent (its values are personal data, as the warehouse's are):
it is stored, never logged, and no receipt or error repeats it.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal, get_args

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, ProgrammingError

from connectors import online_records, run_lock, tables
from connectors.online_records import (
    NotReady,
    Posted,
    RecordRejected,
    UpsertResult,
    apply_posted,
    new_write_id,
    source_mappings,
    standardize_posted,
    utc_now,
    writing,
)
from connectors.ops_store import create_ops_engine, metadata
from connectors.settings import Settings
from matching.standardize import SourceMapping

log = logging.getLogger(__name__)

ReceiptStatus = Literal["queued", "applied", "failed", "superseded"]
RECEIPT_STATUSES: tuple[str, ...] = get_args(ReceiptStatus)
QUEUED = "queued"
#: Drains an unexpected error may cost a post before it is marked failed (a transient error,
#: a database restart, is given another chance; a post that breaks every drain is not).
MAX_ATTEMPTS = 3
#: A receipt ID: uuid4's 32 hex digits.
RECEIPT_ID_REGEX = "^[0-9a-f]{32}$"
#: Posts a drain reads at a time (it reads again until the inbox is empty).
DRAIN_BATCH = 500

record_inbox = sa.Table(
    tables.RECORD_INBOX,
    metadata,
    # Arrival order: the order the inbox is applied in.
    sa.Column("inbox_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("receipt_id", sa.String(40), nullable=False, unique=True),
    sa.Column("source_system", sa.String(64), nullable=False),
    sa.Column("record_key", sa.String(400), nullable=False),
    # The landing's hash of the posted columns (online_records.content_hash).
    sa.Column("content_hash", sa.String(128), nullable=False),
    sa.Column("record_json", sa.Text, nullable=False),  # the row as posted: never logged
    sa.Column("posted_by", sa.String(200), nullable=False),  # the principal's subject
    sa.Column("posted_at", sa.DateTime, nullable=False),  # naive UTC
    sa.Column("queued_behind", sa.String(200)),  # the run ID that held the home, if known
    sa.Column("status", sa.String(16), nullable=False, server_default=QUEUED),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reason", sa.Text),  # why it failed: a rule or field name, never a value
    sa.Column("result_json", sa.Text),  # the direct answer's body (result_document)
    sa.Column("finished_at", sa.DateTime),
    sa.Column("superseded_by", sa.String(40)),  # the receipt (or direct write) that won
    sa.Index("ix_record_inbox_status", "status", "inbox_id"),
    # Idempotency: one queued post per (source, record key, content).
    sa.Index(
        "ux_record_inbox_queued_content",
        "source_system",
        "record_key",
        "content_hash",
        unique=True,
        sqlite_where=sa.text(f"status = '{QUEUED}'"),
        postgresql_where=sa.text(f"status = '{QUEUED}'"),
    ),
)


@dataclass(frozen=True)
class Receipt:
    """Where a queued post stands; nothing in it is a posted value."""

    receipt_id: str
    source_system: str
    record_key: str
    status: ReceiptStatus
    posted_by: str
    posted_at: datetime
    queued_behind: str | None = None
    reason: str | None = None
    result: dict[str, Any] | None = None  # when applied: the direct answer's body
    finished_at: datetime | None = None
    superseded_by: str | None = None
    attempts: int = 0


@dataclass(frozen=True)
class _Entry:
    inbox_id: int
    receipt_id: str
    source_system: str
    record_key: str
    record: dict[str, object]
    posted_at: datetime
    attempts: int


@dataclass(frozen=True)
class DrainReport:
    applied: int = 0
    failed: int = 0
    superseded: int = 0
    retried: int = 0  # left queued after an unexpected error, for the next drain
    stopped: str | None = None  # why the drain stopped before the end (no full run yet)


def result_document(result: UpsertResult) -> dict[str, Any]:
    """The body `POST /records` answers for a write (and a receipt carries once applied)."""
    return {
        "record_key": result.record_key,
        "outcome": result.outcome,
        "golden_id": result.golden_id,
        "review_golden_ids": list(result.review_golden_ids),
        "events": [{"event_type": t, "golden_id": g} for t, g in result.events],
        "records_reclustered": result.records,
        "write_id": result.run_id,
    }


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


_engines_lock = threading.Lock()


def _engine(url: str) -> Engine:
    # One engine (and its pool) per ops store for the process: a post must not pay for a new
    # connection pool, nor create the table again. Locked: the background drain and a post
    # start at once, and PostgreSQL refuses two concurrent CREATE TABLEs of one name.
    with _engines_lock:
        return _created_engine(url)


@lru_cache(maxsize=8)
def _created_engine(url: str) -> Engine:
    engine = create_ops_engine(url)
    try:
        metadata.create_all(engine, tables=[record_inbox])
    except (IntegrityError, ProgrammingError):
        # Another process (an API worker, the run) created it in the same instant.
        metadata.create_all(engine, tables=[record_inbox])
    return engine


class Inbox:
    """The record inbox in the ops store at `url` (the table is created on first use)."""

    def __init__(self, url: str) -> None:
        self.engine = _engine(url)

    def enqueue(
        self,
        posted: Posted,
        source_system: str,
        row: Mapping[str, object],
        *,
        posted_by: str,
        queued_behind: str | None = None,
        now: datetime | None = None,
    ) -> tuple[Receipt, bool]:
        """Queue a standardized post; (its receipt, True), or (the receipt of the record's last
        queued post when it has the same content, False). The record's earlier queued posts
        are superseded by the new one at once: the last write wins."""
        values = {
            "receipt_id": uuid.uuid4().hex,
            "source_system": source_system,
            "record_key": posted.record_key,
            "content_hash": online_records.content_hash(posted),
            "record_json": json.dumps(dict(row), ensure_ascii=False, sort_keys=True),
            "posted_by": posted_by,
            "posted_at": now or _utc_now(),
            "queued_behind": queued_behind,
            "status": QUEUED,
            "attempts": 0,
        }
        same = self._last_queued(source_system, posted.record_key)
        if same is not None and same[1] == values["content_hash"]:
            found = self.receipt(same[0])
            assert found is not None
            return found, False
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    sa.update(record_inbox)
                    .where(
                        record_inbox.c.status == QUEUED,
                        record_inbox.c.source_system == source_system,
                        record_inbox.c.record_key == posted.record_key,
                    )
                    .values(
                        status="superseded",
                        superseded_by=values["receipt_id"],
                        finished_at=_utc_now(),
                    )
                )
                connection.execute(sa.insert(record_inbox).values(**values))
        except IntegrityError:
            # The partial unique index: the same post, queued at this moment by another worker.
            again = self._last_queued(source_system, posted.record_key)
            if again is not None and again[1] == values["content_hash"]:
                found = self.receipt(again[0])
                assert found is not None
                return found, False
            raise
        found = self.receipt(str(values["receipt_id"]))
        assert found is not None  # just written
        return found, True

    def _last_queued(self, source_system: str, record_key: str) -> tuple[str, str] | None:
        """(receipt ID, content hash) of the record's last queued post."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(record_inbox.c.receipt_id, record_inbox.c.content_hash)
                .where(
                    record_inbox.c.status == QUEUED,
                    record_inbox.c.source_system == source_system,
                    record_inbox.c.record_key == record_key,
                )
                .order_by(record_inbox.c.inbox_id.desc())
                .limit(1)
            ).first()
        return None if row is None else (str(row[0]), str(row[1]))

    def receipt(self, receipt_id: str) -> Receipt | None:
        with self.engine.connect() as connection:
            row = (
                connection.execute(
                    sa.select(record_inbox).where(record_inbox.c.receipt_id == receipt_id)
                )
                .mappings()
                .first()
            )
        return None if row is None else _receipt(row)

    def queued_count(self) -> int:
        with self.engine.connect() as connection:
            count = connection.execute(
                sa.select(sa.func.count()).where(record_inbox.c.status == QUEUED)
            ).scalar()
        return int(count or 0)

    def _queued_after(self, inbox_id: int, limit: int) -> list[_Entry]:
        with self.engine.connect() as connection:
            rows = (
                connection.execute(
                    sa.select(record_inbox)
                    .where(record_inbox.c.status == QUEUED, record_inbox.c.inbox_id > inbox_id)
                    .order_by(record_inbox.c.inbox_id)
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        return [
            _Entry(
                inbox_id=int(row["inbox_id"]),
                receipt_id=str(row["receipt_id"]),
                source_system=str(row["source_system"]),
                record_key=str(row["record_key"]),
                record=json.loads(row["record_json"]),
                posted_at=row["posted_at"],
                attempts=int(row["attempts"]),
            )
            for row in rows
        ]

    def supersede(
        self, source_system: str, record_key: str, *, by: str, before_id: int | None = None
    ) -> int:
        """Mark the queued posts of a record (those before `before_id`, or all) superseded by
        `by`: a later write of the record wins. Returns how many."""
        condition = [
            record_inbox.c.status == QUEUED,
            record_inbox.c.source_system == source_system,
            record_inbox.c.record_key == record_key,
        ]
        if before_id is not None:
            condition.append(record_inbox.c.inbox_id < before_id)
        with self.engine.begin() as connection:
            return int(
                connection.execute(
                    sa.update(record_inbox)
                    .where(*condition)
                    .values(status="superseded", superseded_by=by, finished_at=_utc_now())
                ).rowcount
            )

    def _finish(self, receipt_id: str, **values: object) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                sa.update(record_inbox)
                .where(record_inbox.c.receipt_id == receipt_id, record_inbox.c.status == QUEUED)
                .values(finished_at=_utc_now(), **values)
            )

    def applied(self, receipt_id: str, result: UpsertResult) -> None:
        self._finish(receipt_id, status="applied", result_json=json.dumps(result_document(result)))

    def failed(self, receipt_id: str, reason: str) -> None:
        self._finish(receipt_id, status="failed", reason=reason)

    def attempted(self, entry: _Entry, reason: str) -> bool:
        """Count a failed attempt; True when it was the last one (the post is now failed)."""
        last = entry.attempts + 1 >= MAX_ATTEMPTS
        with self.engine.begin() as connection:
            connection.execute(
                sa.update(record_inbox)
                .where(record_inbox.c.receipt_id == entry.receipt_id)
                .values(
                    attempts=entry.attempts + 1,
                    reason=reason,
                    **({"status": "failed", "finished_at": _utc_now()} if last else {}),
                )
            )
        return last


def _receipt(row: sa.RowMapping) -> Receipt:
    result = row["result_json"]
    return Receipt(
        receipt_id=str(row["receipt_id"]),
        source_system=str(row["source_system"]),
        record_key=str(row["record_key"]),
        status=row["status"],
        posted_by=str(row["posted_by"]),
        posted_at=row["posted_at"],
        queued_behind=row["queued_behind"],
        reason=row["reason"],
        result=None if result is None else json.loads(result),
        finished_at=row["finished_at"],
        superseded_by=row["superseded_by"],
        attempts=int(row["attempts"]),
    )


def post_or_queue(
    settings: Settings,
    mapping: SourceMapping,
    row: Mapping[str, object],
    *,
    posted_by: str,
    wait_seconds: float = 2.0,
    now: pd.Timestamp | None = None,
) -> UpsertResult | Receipt:
    """`POST /records`: the write's result now, or the receipt of its queued post.

    Raises `RecordRejected` (nothing written, nothing queued) or `NotReady` (no full run yet).
    """
    now = now or utc_now()
    posted = standardize_posted(mapping, row, now=now)
    inbox = Inbox(settings.resolved_ops_url)
    run_id = new_write_id()
    try:
        with writing(
            settings,
            run_id=run_id,
            command=f"POST /records ({mapping.source_system})",
            wait_seconds=wait_seconds,
        ):
            # This post is the record's latest: a queued older one must never be applied over
            # it. Marked first, under the lock no drain runs without.
            inbox.supersede(mapping.source_system, posted.record_key, by=run_id)
            return apply_posted(settings, posted, run_id, now)
    except run_lock.RunLockBusy as busy:
        receipt, _ = inbox.enqueue(
            posted,
            mapping.source_system,
            row,
            posted_by=posted_by,
            queued_behind=busy.holder.run_id if busy.holder else None,
            now=now.to_pydatetime(),
        )
        log.info(
            "POST /records queued as receipt %s: %s holds the home",
            receipt.receipt_id,
            f"run {busy.holder.run_id}" if busy.holder else "another writer",
        )
        return receipt


def drain(
    settings: Settings,
    *,
    wait_seconds: float = 0.0,
    batch: int = DRAIN_BATCH,
    command: str = "drain the record inbox",
) -> DrainReport:
    """Apply the queued posts (see the module docstring). Raises `run_lock.RunLockBusy` when the
    home stays busy for `wait_seconds` (the inbox waits for the next drain). Safe to repeat and
    to run after a kill: only what is still queued is applied."""
    inbox = Inbox(settings.resolved_ops_url)
    if not inbox.queued_count():  # the common case costs one indexed count, no lock
        return DrainReport()
    counts = {"applied": 0, "failed": 0, "superseded": 0, "retried": 0}
    stopped: str | None = None
    with writing(settings, run_id=new_write_id(), command=command, wait_seconds=wait_seconds):
        mappings = source_mappings(settings.config_path)
        seen = 0
        while stopped is None:
            entries = inbox._queued_after(seen, batch)
            if not entries:
                break
            latest = {(e.source_system, e.record_key): e.inbox_id for e in entries}
            for entry in entries:
                seen = entry.inbox_id
                record = (entry.source_system, entry.record_key)
                if latest[record] != entry.inbox_id:
                    continue  # superseded below, by the record's last post in this batch
                counts["superseded"] += inbox.supersede(
                    *record, by=entry.receipt_id, before_id=entry.inbox_id
                )
                outcome = _apply(inbox, mappings, entry, settings)
                if outcome == "stopped":
                    stopped = "no full run has built the golden records yet"
                    break
                counts[outcome] += 1
    report = DrainReport(stopped=stopped, **counts)
    log.info(
        "record inbox drained: %d applied, %d failed, %d superseded, %d left for a retry%s",
        report.applied,
        report.failed,
        report.superseded,
        report.retried,
        f"; stopped: {stopped}" if stopped else "",
    )
    return report


def _apply(
    inbox: Inbox, mappings: Mapping[str, SourceMapping], entry: _Entry, settings: Settings
) -> Literal["applied", "failed", "retried", "stopped"]:
    mapping = mappings.get(entry.source_system)
    if mapping is None:
        inbox.failed(
            entry.receipt_id, "source_system: mdm.yaml no longer has a source of that name"
        )
        return "failed"
    # The post's own time, as its direct write would have had.
    now = pd.Timestamp(entry.posted_at)
    try:
        posted = standardize_posted(mapping, entry.record, now=now)
        result = apply_posted(settings, posted, new_write_id(), now)
    except RecordRejected as rejected:  # the mapping changed since it was queued
        where = f"record.{rejected.field}: " if rejected.field else ""
        inbox.failed(entry.receipt_id, f"{where}{rejected}")
        return "failed"
    except NotReady:
        return "stopped"
    except Exception as error:  # one post's failure must not block the rest
        # The type only: a database error's message may quote the row's values.
        reason = f"the write failed ({type(error).__name__})"
        last = inbox.attempted(entry, reason)
        log.warning(
            "record inbox: receipt %s: %s%s",
            entry.receipt_id,
            reason,
            "; marked failed" if last else "; left queued for the next drain",
        )
        return "failed" if last else "retried"
    inbox.applied(entry.receipt_id, result)
    return "applied"
