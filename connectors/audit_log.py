"""The audit trail of reads: an append-only, hash-chained table in the ops store.

Every API response that carried personal data becomes one row of `read_audit`: who (subject,
principal kind, role), when, which endpoint, which golden IDs, which fields went out in clear,
the purpose the caller gave and the status code. Query values (a resident ID or mobile looked
up) are never stored: a row names golden IDs, which are not personal data.

Why it can be trusted:

- **Hash chain.** Row `n` stores `prev_hash` (row `n-1`'s hash; 64 zeros for row 1) and
  `row_hash = sha256(prev_hash + canonical(row))`. `verify()` walks the chain and names the
  first row whose sequence number, link or content does not fit, so an edited, deleted or
  reordered row is found. (Dropping rows from the *end* leaves a valid, shorter chain: keep the
  head that `verify()` reports somewhere else, e.g. the run log, to notice that too.)
- **Keyed.** Anyone who can write the table can also recompute a plain sha256 chain after
  rewriting it. With `MDM_AUDIT_KEY` set (`Settings.audit_key`), rows are chained with
  HMAC-SHA256 under that key instead, which nobody without the key can recompute. Each row
  records its `scheme` (`sha256` or `hmac-sha256`). Switching on the key: the first append
  under it writes a *keying marker* (`read_audit_keying`: the first keyed seq and an HMAC of
  it), so rows before it stay verifiable as the plain-sha256 rows they were, and verifying
  under the key demands a genuine marker and HMAC rows from its seq on — a chain rewritten as
  plain sha256 (marker deleted or not) fails. Without the key, `verify()` cannot check keyed
  rows and says so. Rotating the key is not supported: verify with the key the rows were
  written under.
- **Append-only in the database.** Triggers reject UPDATE and DELETE (and TRUNCATE on
  PostgreSQL) on both tables, so a tamperer has to drop them first.
- **One chain across processes.** Appends are serialized in the database: SQLite's
  `BEGIN IMMEDIATE` takes the write lock before the head is read, PostgreSQL a transaction-level
  advisory lock. Several API workers therefore extend one chain.

`read_audit_golden_ids` is the index an auditor's "who read G…?" uses (one row per golden ID
read; a JSON list cannot be indexed portably); `verify()` checks it against the chained rows.

The API does not append per request: `QueuedAuditWriter` takes rows on a bounded in-process
queue and a background thread appends them in batches, one transaction per batch. A full queue
never blocks a request for long: the row is counted as dropped (see `stats()`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect, Engine

from connectors.ops_store import create_ops_engine, metadata

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
PLAIN = "sha256"
KEYED = "hmac-sha256"
PURPOSE_MAX_LENGTH = 200
# The advisory lock key that serializes appends on PostgreSQL (any constant unique to this
# table among the ops store's advisory locks).
APPEND_LOCK_KEY = 1_400_300_001
_IMMEDIATE = "mdm_audit_immediate"


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware instant stored as UTC (naive text on SQLite, timestamptz on PostgreSQL).

    Naive datetimes are refused: an audit time without a zone means nothing.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("audit times must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


read_audit = sa.Table(
    "read_audit",
    metadata,
    # An INTEGER primary key on SQLite is the rowid; seq is set by the appender, gap-free.
    sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("occurred_at", UtcDateTime, nullable=False, index=True),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("principal_kind", sa.String(16), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("endpoint", sa.String(200), nullable=False),
    sa.Column("golden_ids", sa.Text, nullable=False),  # JSON list, part of the hashed row
    sa.Column("clear_fields", sa.Text, nullable=False),  # JSON list
    sa.Column("purpose", sa.String(PURPOSE_MAX_LENGTH)),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("row_hash", sa.String(64), nullable=False),
    # How row_hash was made: PLAIN or KEYED. Null on rows written before the column existed
    # (added by `_create_tables`), which were all plain.
    sa.Column("scheme", sa.String(16)),
    sa.Index("ix_read_audit_subject_seq", "subject", "seq"),
)

read_audit_golden_ids = sa.Table(
    "read_audit_golden_ids",
    metadata,
    sa.Column("golden_id", sa.String(20), primary_key=True),
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Index("ix_read_audit_golden_ids_seq", "seq"),  # verify() reads it by seq range
)

# Where the chain switched to HMAC: rows from `from_seq` on are keyed; `proof` is the HMAC of
# that seq under the key, so only the key's holder can write (or move) the marker.
read_audit_keying = sa.Table(
    "read_audit_keying",
    metadata,
    sa.Column(
        "from_seq",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("proof", sa.String(64), nullable=False),
)

APPEND_ONLY_TABLES = (read_audit, read_audit_golden_ids, read_audit_keying)


def _append_only_triggers() -> None:
    # Attached to each table's creation (not to every create_all), so API workers starting
    # together do not race to replace the same function and triggers.
    reject = (
        "create or replace function ops_reject_change() returns trigger language plpgsql"
        " as $$ begin raise exception using message = tg_table_name || ' is append-only';"
        " end $$"
    )
    for table in APPEND_ONLY_TABLES:
        name = table.name
        for operation in ("update", "delete"):
            sa.event.listen(
                table,
                "after_create",
                sa.DDL(
                    f"create trigger {name}_no_{operation} before {operation} on {name}"
                    f" begin select raise(abort, '{name} is append-only'); end"
                ).execute_if(dialect="sqlite"),
            )
        sa.event.listen(
            table,
            "after_create",
            sa.DDL(
                f"{reject}; create trigger {name}_append_only before update or delete or"
                f" truncate on {name} for each statement execute function ops_reject_change()"
            ).execute_if(dialect="postgresql"),
        )


_append_only_triggers()


@dataclass(frozen=True)
class ReadAuditRow:
    """What one audited read says (no personal data: golden IDs and field names only)."""

    occurred_at: datetime  # timezone-aware
    subject: str
    principal_kind: str
    role: str
    endpoint: str
    golden_ids: tuple[str, ...]
    clear_fields: tuple[str, ...]
    purpose: str | None
    status_code: int


@dataclass(frozen=True)
class StoredReadAudit:
    seq: int
    row: ReadAuditRow
    prev_hash: str
    row_hash: str
    scheme: str = PLAIN


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of `verify()`: rows walked, the head, and the first row that broke."""

    rows: int
    head_seq: int
    head_hash: str
    first_broken_seq: int | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.first_broken_seq is None


@dataclass(frozen=True)
class AuditFilter:
    subject: str | None = None
    golden_id: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def canonical(seq: int, row: ReadAuditRow) -> str:
    """The row as hashed: a JSON array in a fixed order, times in UTC to the microsecond."""
    return json.dumps(
        [
            seq,
            row.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            row.subject,
            row.principal_kind,
            row.role,
            row.endpoint,
            list(row.golden_ids),
            list(row.clear_fields),
            row.purpose,
            row.status_code,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def chain_hash(prev_hash: str, seq: int, row: ReadAuditRow, key: bytes | None = None) -> str:
    """The one home of the chain's hashing: over the previous hash and the row, sha256, or
    HMAC-SHA256 under `key` when one is given."""
    message = (prev_hash + canonical(seq, row)).encode("utf-8")
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def keying_proof(key: bytes, from_seq: int) -> str:
    """The marker's HMAC: binds "keyed from this seq" to the key."""
    return hmac.new(
        key, f"read_audit keyed from seq {from_seq}".encode(), hashlib.sha256
    ).hexdigest()


def _normalized(row: ReadAuditRow) -> ReadAuditRow:
    if row.occurred_at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    purpose = row.purpose[:PURPOSE_MAX_LENGTH] if row.purpose else None
    # Microseconds in UTC are what both databases keep, so the hash survives a round trip.
    occurred_at = row.occurred_at.astimezone(UTC)
    return ReadAuditRow(
        occurred_at=occurred_at,
        subject=row.subject,
        principal_kind=row.principal_kind,
        role=row.role,
        endpoint=row.endpoint,
        golden_ids=tuple(dict.fromkeys(row.golden_ids)),
        clear_fields=tuple(row.clear_fields),
        purpose=purpose,
        status_code=int(row.status_code),
    )


def _from_db(record: Any) -> StoredReadAudit:
    return StoredReadAudit(
        seq=int(record.seq),
        row=ReadAuditRow(
            occurred_at=record.occurred_at,
            subject=record.subject,
            principal_kind=record.principal_kind,
            role=record.role,
            endpoint=record.endpoint,
            golden_ids=tuple(json.loads(record.golden_ids)),
            clear_fields=tuple(json.loads(record.clear_fields)),
            purpose=record.purpose,
            status_code=int(record.status_code),
        ),
        prev_hash=record.prev_hash,
        row_hash=record.row_hash,
        scheme=record.scheme or PLAIN,
    )


class ReadAuditLog:
    """Append to, verify and query the read audit chain in the ops store at `url`.

    With `key` (`Settings.audit_key`), appends are HMAC-chained and `verify()` checks them.
    """

    def __init__(self, url: str, key: bytes | None = None) -> None:
        self.url = url
        self.key = key or None
        self._keyed_from: int | None = None  # the marker's seq, once this log has seen it
        self.engine: Engine = create_ops_engine(url)
        if self.engine.dialect.name == "sqlite":
            # pysqlite's own implicit BEGIN is deferred: the write lock would come only at the
            # first insert, after the head was read, and two writers could fork the chain.
            sa.event.listen(self.engine, "connect", _sqlite_manual_transactions)
            sa.event.listen(self.engine, "begin", _sqlite_begin)
        self._create_tables()

    def dispose(self) -> None:
        self.engine.dispose()

    def _create_tables(self) -> None:
        # API workers start together: under the append lock, the first creates the tables and
        # triggers and the others find them, instead of racing to create them twice.
        with self._locked() as connection:
            metadata.create_all(connection, tables=list(APPEND_ONLY_TABLES))
            columns = {
                column["name"] for column in sa.inspect(connection).get_columns("read_audit")
            }
            if "scheme" not in columns:
                # A chain written before rows said how they were hashed: all plain sha256.
                connection.exec_driver_sql("alter table read_audit add column scheme varchar(16)")

    @contextmanager
    def _locked(self) -> Iterator[Connection]:
        """A transaction holding the chain's write lock (SQLite: the database's; PG: advisory)."""
        with self.engine.connect() as connection:
            connection.execution_options(**{_IMMEDIATE: True})
            with connection.begin():
                if self.engine.dialect.name == "postgresql":
                    connection.execute(sa.select(sa.func.pg_advisory_xact_lock(APPEND_LOCK_KEY)))
                yield connection

    def append(self, rows: Sequence[ReadAuditRow]) -> int:
        """Append `rows` in one transaction, extending the chain; returns the new head seq."""
        prepared = [_normalized(row) for row in rows]
        with self._locked() as connection:
            head = connection.execute(
                sa.select(read_audit.c.seq, read_audit.c.row_hash)
                .order_by(read_audit.c.seq.desc())
                .limit(1)
            ).first()
            seq, prev_hash = (int(head.seq), head.row_hash) if head else (0, GENESIS_HASH)
            if not prepared:
                return seq
            scheme, keyed_from = PLAIN, self._keyed_from
            if self.key is not None:
                scheme = KEYED
                if keyed_from is None:
                    keyed_from = self._keying_marker(connection) or self._mark_keyed(
                        connection, seq + 1
                    )
            values: list[dict[str, Any]] = []
            index: list[dict[str, Any]] = []
            for row in prepared:
                seq += 1
                row_hash = chain_hash(prev_hash, seq, row, self.key)
                values.append(
                    {
                        "seq": seq,
                        "occurred_at": row.occurred_at,
                        "subject": row.subject,
                        "principal_kind": row.principal_kind,
                        "role": row.role,
                        "endpoint": row.endpoint,
                        "golden_ids": json.dumps(list(row.golden_ids)),
                        "clear_fields": json.dumps(list(row.clear_fields)),
                        "purpose": row.purpose,
                        "status_code": row.status_code,
                        "prev_hash": prev_hash,
                        "row_hash": row_hash,
                        "scheme": scheme,
                    }
                )
                index.extend({"golden_id": g, "seq": seq} for g in row.golden_ids)
                prev_hash = row_hash
            connection.execute(sa.insert(read_audit), values)
            if index:
                connection.execute(sa.insert(read_audit_golden_ids), index)
        # Remembered once committed: a batch that rolled back took its marker with it.
        self._keyed_from = keyed_from
        return seq

    def _keying_marker(self, connection: Connection) -> int | None:
        """The first seq keyed under this log's key, from a marker only the key could write."""
        assert self.key is not None
        genuine = [
            int(from_seq)
            for from_seq, proof in connection.execute(
                sa.select(read_audit_keying.c.from_seq, read_audit_keying.c.proof)
            )
            if hmac.compare_digest(str(proof), keying_proof(self.key, int(from_seq)))
        ]
        return min(genuine) if genuine else None

    def _mark_keyed(self, connection: Connection, from_seq: int) -> int:
        assert self.key is not None
        connection.execute(
            sa.insert(read_audit_keying).values(
                from_seq=from_seq, proof=keying_proof(self.key, from_seq)
            )
        )
        return from_seq

    def verify(self, *, batch_size: int = 5000) -> ChainCheck:
        """Walk the chain from seq 1; name the first row that is missing, altered or moved.

        The golden-ID index is checked page by page against the rows it indexes: an index row
        dropped or added would hide a read from, or invent one in, "who read G…?". With a key,
        rows from the keying marker on must be HMAC rows under it (see the module docstring).
        """
        keyed_from: int | None = None
        if self.key is not None:
            with self.engine.connect() as connection:
                keyed_from = self._keying_marker(connection)
            if keyed_from is None and self.count() > 0:
                return ChainCheck(
                    0,
                    0,
                    GENESIS_HASH,
                    1,
                    "no keying marker verifies under MDM_AUDIT_KEY: the chain was never"
                    " written under this key, or its keyed part was rewritten",
                )
        expected_seq, prev_hash, rows = 1, GENESIS_HASH, 0
        for page, indexed in self._pages(batch_size):
            for stored in page:
                broken = self._check_scheme(stored, keyed_from) or self._check_row(
                    stored,
                    expected_seq,
                    prev_hash,
                    indexed,
                    self.key if stored.scheme == KEYED else None,
                )
                if broken is not None:
                    return ChainCheck(rows, expected_seq - 1, prev_hash, *broken)
                rows += 1
                prev_hash, expected_seq = stored.row_hash, stored.seq + 1
        with self.engine.connect() as connection:
            stray = connection.execute(
                sa.select(sa.func.min(read_audit_golden_ids.c.seq)).where(
                    read_audit_golden_ids.c.seq >= expected_seq
                )
            ).scalar()
        if stray is not None:
            return ChainCheck(
                rows,
                expected_seq - 1,
                prev_hash,
                int(stray),
                "the golden-ID index names a row that is not there",
            )
        return ChainCheck(rows, expected_seq - 1, prev_hash, None, None)

    def _check_scheme(
        self, stored: StoredReadAudit, keyed_from: int | None
    ) -> tuple[int, str] | None:
        """(seq, why) when the row is not hashed the way its place in the chain demands."""
        if self.key is None:
            if stored.scheme == KEYED:
                return stored.seq, "the row is HMAC-keyed: set MDM_AUDIT_KEY to verify it"
            return None
        must_be = KEYED if keyed_from is not None and stored.seq >= keyed_from else PLAIN
        if stored.scheme != must_be:
            return stored.seq, f"the row says {stored.scheme} where the chain is {must_be}"
        return None

    @staticmethod
    def _check_row(
        stored: StoredReadAudit,
        expected_seq: int,
        prev_hash: str,
        indexed: dict[int, list[str]],
        key: bytes | None = None,
    ) -> tuple[int, str] | None:
        """(seq, why) when `stored` does not continue the chain, else None.

        Rows are checked to be consecutive first, so an index row whose seq has no row is
        either in a gap (reported as the missing row) or past the head (checked at the end).
        """
        if stored.seq != expected_seq:
            return expected_seq, f"row {expected_seq} is missing (next row is {stored.seq})"
        if stored.prev_hash != prev_hash:
            return stored.seq, "its link to the previous row does not match"
        if not hmac.compare_digest(
            chain_hash(prev_hash, stored.seq, stored.row, key), stored.row_hash
        ):
            return stored.seq, "its content does not match its hash"
        if sorted(indexed.get(stored.seq, [])) != sorted(stored.row.golden_ids):
            return stored.seq, "the golden-ID index does not match the row"
        return None

    def _pages(
        self, batch_size: int
    ) -> Iterator[tuple[list[StoredReadAudit], dict[int, list[str]]]]:
        """Pages of the chain by seq, each with the index rows of its seq range."""
        # Keyset pages rather than one long cursor: verifying never holds a lock for long.
        after = 0
        while True:
            with self.engine.connect() as connection:
                records = connection.execute(
                    sa.select(read_audit)
                    .where(read_audit.c.seq > after)
                    .order_by(read_audit.c.seq)
                    .limit(batch_size)
                ).all()
                if not records:
                    return
                last = int(records[-1].seq)
                indexed: dict[int, list[str]] = {}
                for seq, golden_id in connection.execute(
                    sa.select(read_audit_golden_ids.c.seq, read_audit_golden_ids.c.golden_id)
                    .where(read_audit_golden_ids.c.seq > after)
                    .where(read_audit_golden_ids.c.seq <= last)
                ):
                    indexed.setdefault(int(seq), []).append(str(golden_id))
            yield [_from_db(record) for record in records], indexed
            after = last

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(sa.select(sa.func.count()).select_from(read_audit)).scalar_one()
            )

    def list(
        self, where: AuditFilter, *, after_seq: int = 0, limit: int = 50
    ) -> tuple[int, list[StoredReadAudit]]:
        """(rows matching `where`, up to `limit` of them after `after_seq`, by seq)."""
        conditions: list[sa.ColumnElement[bool]] = []
        if where.subject is not None:
            conditions.append(read_audit.c.subject == where.subject)
        if where.golden_id is not None:
            conditions.append(
                read_audit.c.seq.in_(
                    sa.select(read_audit_golden_ids.c.seq).where(
                        read_audit_golden_ids.c.golden_id == where.golden_id
                    )
                )
            )
        if where.since is not None:
            conditions.append(read_audit.c.occurred_at >= where.since)
        if where.until is not None:
            conditions.append(read_audit.c.occurred_at < where.until)
        with self.engine.connect() as connection:
            total = connection.execute(
                sa.select(sa.func.count()).select_from(read_audit).where(*conditions)
            ).scalar_one()
            records = connection.execute(
                sa.select(read_audit)
                .where(*conditions, read_audit.c.seq > after_seq)
                .order_by(read_audit.c.seq)
                .limit(limit)
            ).all()
        return int(total), [_from_db(record) for record in records]


def _sqlite_manual_transactions(dbapi_connection: Any, _record: object) -> None:
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(_IMMEDIATE)
    connection.exec_driver_sql("begin immediate" if immediate else "begin")


@dataclass(frozen=True)
class WriterStats:
    submitted: int
    written: int
    dropped: int  # refused because the queue was full
    failed: int  # lost because the store refused the batch after retries
    queued: int


class QueuedAuditWriter:
    """A bounded queue in front of `ReadAuditLog.append`, drained by one background thread.

    `submit` costs a queue put; the thread appends whatever has queued up (at most
    `batch_size` rows) in one transaction. `close` flushes what is queued, then stops.
    """

    def __init__(
        self,
        log_: ReadAuditLog,
        *,
        max_queue: int = 10_000,
        batch_size: int = 500,
        put_timeout: float = 0.05,
        retries: int = 3,
        linger: float = 0.05,
    ) -> None:
        self.log = log_
        self._linger = linger
        self._queue: queue.Queue[ReadAuditRow | None] = queue.Queue(maxsize=max_queue)
        self._batch_size = batch_size
        self._put_timeout = put_timeout
        self._retries = retries
        self._lock = threading.Lock()
        self._submitted = self._written = self._dropped = self._failed = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="read-audit-writer", daemon=True
                )
                self._thread.start()

    def submit(self, row: ReadAuditRow) -> bool:
        """Queue a row; False (and counted as dropped) when the queue stays full."""
        try:
            if self._put_timeout > 0:
                self._queue.put(row, timeout=self._put_timeout)
            else:
                self._queue.put_nowait(row)
        except queue.Full:
            with self._lock:
                self._dropped += 1
                dropped = self._dropped
            if dropped == 1 or dropped % 1000 == 0:
                log.warning("read audit queue full: %d event(s) dropped so far", dropped)
            return False
        with self._lock:
            self._submitted += 1
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Append everything queued, then stop the thread."""
        thread = self._thread
        if thread is None:
            self._drain_inline()
            return
        self._queue.put(None)  # blocks only while the queue is full, which the thread drains
        thread.join(timeout)
        self._thread = None

    def stats(self) -> WriterStats:
        with self._lock:
            return WriterStats(
                self._submitted, self._written, self._dropped, self._failed, self._queue.qsize()
            )

    def _drain_inline(self) -> None:
        batch: list[ReadAuditRow] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                batch.append(item)
        for start in range(0, len(batch), self._batch_size):
            self._write(batch[start : start + self._batch_size])

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            # Sleep through the linger, then take what queued up meanwhile. Waiting in
            # `get(timeout=…)` instead woke this thread on every put, and each wake-up took the
            # GIL from the request being answered (the audit queue's share of the API's p99).
            # At a few hundred requests a second a batch is one commit for many requests.
            time.sleep(self._linger)
            batch = [first]
            while len(batch) < self._batch_size:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            self._write(batch)
        self._drain_inline()

    def _write(self, batch: list[ReadAuditRow]) -> None:
        for attempt in range(self._retries):
            try:
                self.log.append(batch)
            except sa.exc.SQLAlchemyError as error:
                # The exception's class only: its text may quote the statement's parameters.
                log.warning(
                    "read audit append failed (%s), attempt %d of %d",
                    type(error).__name__,
                    attempt + 1,
                    self._retries,
                )
                time.sleep(0.2 * (attempt + 1))
                continue
            with self._lock:
                self._written += len(batch)
            return
        with self._lock:
            self._failed += len(batch)
        log.error("read audit: %d event(s) lost after %d failed appends", len(batch), self._retries)
