"""Read-only access to the published serving snapshot (`var/serving.duckdb`, CONTRACTS.md §7).

The pipeline publishes the snapshot by writing a temporary file and renaming it over the old
one. The API therefore never reads a half-written file; what it must do is notice a publish.
`SnapshotStore` keeps one open *generation* per published file: before each request it stats
the path, and when the inode, mtime or size changed it opens the new file (requests already
running finish on the old generation, which is closed when the last of them is done). A new
publish is picked up by the next request, without a restart.

How the file is opened: each generation is a private in-memory DuckDB instance that
`ATTACH`es the file `READ_ONLY`. Plain `duckdb.connect(path, read_only=True)` is not used on
purpose: DuckDB caches database instances per path inside the process, so while any
connection to the old file is alive, connecting to the same path again returns the *old*
database even after the rename. A private instance per generation has no such cache. Every
request gets its own cursor (a connection of its own) on the generation.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_args

import duckdb
import pandas as pd

from connectors.serving import MANIFEST_TABLE
from matching.config import MatchingConfig
from matching.golden import GOLDEN_COLUMNS, XREF_COLUMNS
from matching.incremental import configs_from_json
from matching.model import FellegiSunterModel

logger = logging.getLogger(__name__)

NO_SNAPSHOT = "no published snapshot yet: run `make demo` or `mdm run`"

LookupKey = Literal["resident_id", "mobile", "name"]
LOOKUP_KEYS: tuple[LookupKey, ...] = get_args(LookupKey)
CustomerDetail = Literal[
    "customer_accounts", "customer_loans", "customer_tickets", "customer_households"
]
# How a customer's rows are listed: open accounts first, the latest loans and tickets first,
# each ending on the primary key so pages never overlap.
DETAIL_ORDER: dict[CustomerDetail, str] = {
    "customer_accounts": "is_active desc, opened_on desc, record_key",
    "customer_loans": "start_date desc, record_key",
    "customer_tickets": "created_at desc, record_key",
    "customer_households": "member_golden_id",
}


# A source record's link as served beside its golden record: the xref row (one home,
# matching.golden) without the golden ID it hangs under.
LINK_COLUMNS = tuple(column for column in XREF_COLUMNS if column != "golden_id")

PARTY_COLUMNS = (
    "source_updated_at",
    "batch_id",
    "name_raw",
    "name",
    "name_pinyin",
    "name_script",
    "id_type",
    "id_number",
    "id_valid",
    "id_issue",
    "birth_date",
    "gender",
    "mobile",
    "phone_other",
    "email",
    "address_raw",
    "address",
    "province",
    "city",
    "district",
    "adcode",
    "source_trust",
)

# How far `current_golden_id` follows survivor pointers before giving up (a chain of merges
# longer than this means the data is broken, not that the customer merged 20 times).
MAX_SURVIVOR_HOPS = 20


class SnapshotUnavailable(Exception):
    """The snapshot cannot answer: not published yet, unreadable, or missing a table."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class FileSignature:
    """What identifies one published file: a publish by rename changes the inode."""

    inode: int
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, stat: os.stat_result) -> FileSignature:
        return cls(stat.st_ino, stat.st_mtime_ns, stat.st_size)


class _Generation:
    """One publish: its DuckDB file attached read-only in a private in-memory instance, and
    a pool of read-only connections to the SQLite point store its manifest names."""

    def __init__(self, path: Path, stat: os.stat_result) -> None:
        self.signature = FileSignature.of(stat)
        self.published_at = datetime.fromtimestamp(stat.st_mtime, tz=UTC)
        self.users = 0
        self.retired = False
        self.connection = duckdb.connect(":memory:")
        self._idle: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self.match_setup: MatchSetup | None = None  # read on the first POST /match
        quoted = str(path).replace("'", "''")
        try:
            self.connection.execute(f"ATTACH '{quoted}' AS snapshot (READ_ONLY)")
            manifest = self.connection.execute(
                f"select point_store from snapshot.{MANIFEST_TABLE}"
            ).fetchone()
            if manifest is None:
                raise SnapshotUnavailable("published snapshot has an empty manifest")
            self.points_path = path.with_name(str(manifest[0]))
            # Opened now, so a missing point store fails this publish's first request, and
            # keeps the file alive should a later publish unlink it.
            points = self._connect_points()
            self._idle.append(points)
            self.restore = _restorers(points)
        except duckdb.CatalogException as exc:
            self.close()
            raise SnapshotUnavailable(
                "published snapshot has no point store: publish it again"
            ) from exc
        except (duckdb.Error, sqlite3.Error) as exc:
            self.close()
            # The reason names the server's files: for the operator's log, not for callers.
            logger.warning("published snapshot %s cannot be opened: %s", path, exc)
            raise SnapshotUnavailable("published snapshot cannot be opened") from exc
        except SnapshotUnavailable:
            self.close()
            raise

    def _connect_points(self) -> sqlite3.Connection:
        # immutable: a published point store never changes, so SQLite may skip file locking.
        uri = f"{self.points_path.as_uri()}?mode=ro&immutable=1"
        return sqlite3.connect(uri, uri=True, check_same_thread=False)

    def take_points(self) -> sqlite3.Connection:
        with self._pool_lock:
            if self._idle:
                return self._idle.pop()
        return self._connect_points()

    def give_back_points(self, points: sqlite3.Connection) -> None:
        with self._pool_lock:
            if not self.retired:
                self._idle.append(points)
                return
        points.close()

    def close(self) -> None:
        with self._pool_lock:
            idle, self._idle = self._idle, []
        for points in idle:
            points.close()
        self.connection.close()


Restorer = Callable[[Any], Any]
RESTORERS: dict[str, Restorer] = {
    "date": date.fromisoformat,
    "timestamp": datetime.fromisoformat,
    "boolean": bool,
}


def _restorers(points: sqlite3.Connection) -> dict[str, dict[str, Restorer]]:
    """Point-store table → column → how its SQLite value becomes the DuckDB type it was."""
    restore: dict[str, dict[str, Restorer]] = {}
    for table, column, kind in points.execute(
        "select table_name, column_name, kind from restored_columns"
    ):
        restore.setdefault(table, {})[column] = RESTORERS[kind]
    return restore


@dataclass(frozen=True)
class MatchSetup:
    """What `POST /match` scores with, read once per publish from the point store: the run's
    matching rules and model, and its look-alike spelling table."""

    config: MatchingConfig
    model: FellegiSunterModel
    spelling: dict[int, str]


class SnapshotStore:
    """Hands out read-only snapshots of the serving file, reopening it after each publish."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._current: _Generation | None = None

    @contextmanager
    def open(self) -> Iterator[Snapshot]:
        """A snapshot for one request; raises `SnapshotUnavailable` if there is none."""
        generation = self._acquire()
        snapshot = Snapshot(generation, self._lock, self.path)
        try:
            yield snapshot
        finally:
            snapshot.close()
            self._release(generation)

    def close(self) -> None:
        """Close the current generation (at shutdown); later requests reopen the file."""
        with self._lock:
            current, self._current = self._current, None
            if current is not None:
                self._retire(current)

    def _acquire(self) -> _Generation:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            logger.warning("no published snapshot at %s", self.path)
            raise SnapshotUnavailable(NO_SNAPSHOT) from None
        with self._lock:
            current = self._current
            if current is None or current.signature != FileSignature.of(stat):
                # Stat first, open second: if another publish lands in between, the newer file
                # is opened under the older signature and the next request simply reopens.
                fresh = _Generation(self.path, stat)
                if current is not None:
                    self._retire(current)
                self._current = current = fresh
            current.users += 1
            return current

    def _release(self, generation: _Generation) -> None:
        with self._lock:
            generation.users -= 1
            if generation.retired and generation.users == 0:
                generation.close()

    @staticmethod
    def _retire(generation: _Generation) -> None:
        # Caller holds the lock. Closing the instance would kill the cursors of requests still
        # running on it, so the last of them closes it in `_release`.
        generation.retired = True
        if generation.users == 0:
            generation.close()


def _plain(value: Any) -> Any:
    """DuckDB DECIMALs come back as `Decimal`; the API speaks JSON numbers."""
    return float(value) if isinstance(value, Decimal) else value


class Snapshot:
    """The queries the API runs on one snapshot, for one request.

    Point reads (one customer by golden ID or lookup key) go to the generation's SQLite point
    store; the rest to its DuckDB file. Each is taken on first use, so a lookup never pays
    for a DuckDB cursor and a KPI query never for a SQLite connection.
    """

    def __init__(self, generation: _Generation, lock: threading.Lock, path: Path) -> None:
        self._generation = generation
        self._lock = lock
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._points: sqlite3.Connection | None = None
        self.path = path
        self.published_at = generation.published_at

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None
        if self._points is not None:
            self._generation.give_back_points(self._points)
            self._points = None

    def _rows(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> list[dict]:
        if self._cursor is None:
            with self._lock:
                self._cursor = self._generation.connection.cursor()
            self._cursor.execute("USE snapshot")
        try:
            self._cursor.execute(sql, params)
        except duckdb.CatalogException as exc:
            raise SnapshotUnavailable(f"published snapshot is incomplete: {exc}") from exc
        names = [column[0] for column in self._cursor.description or []]
        return [
            {name: _plain(value) for name, value in zip(names, row, strict=True)}
            for row in self._cursor.fetchall()
        ]

    def _point_rows(self, table: str, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        """Rows of `sql` on the point store; `table` says how to restore their types."""
        if self._points is None:
            self._points = self._generation.take_points()
        try:
            cursor = self._points.execute(sql, params)
        except sqlite3.OperationalError as exc:
            raise SnapshotUnavailable(f"published snapshot is incomplete: {exc}") from exc
        names = [column[0] for column in cursor.description or []]
        restore = self._generation.restore.get(table, {})
        rows = []
        for row in cursor.fetchall():
            record = dict(zip(names, row, strict=True))
            for name, restorer in restore.items():
                value = record.get(name)
                if value is not None:
                    record[name] = restorer(value)
            rows.append(record)
        return rows

    def golden_record_counts(self) -> tuple[int, int]:
        """(all golden records, active ones)."""
        (row,) = self._rows(
            "select count(*) as total, count(*) filter (where status = 'active') as active"
            " from mdm.golden_records"
        )
        return int(row["total"]), int(row["active"])

    def golden_record(self, golden_id: str) -> dict[str, Any] | None:
        rows = self._point_rows(
            "golden_records",
            f"select {', '.join(GOLDEN_COLUMNS)} from golden_records where golden_id = ?",
            [golden_id],
        )
        return rows[0] if rows else None

    def golden_records(self, golden_ids: list[str]) -> dict[str, dict[str, Any]]:
        """`golden_record` of several IDs in one query (the ones found, by ID)."""
        if not golden_ids:
            return {}
        rows = self._point_rows(
            "golden_records",
            f"select {', '.join(GOLDEN_COLUMNS)} from golden_records"
            f" where golden_id in ({', '.join('?' for _ in golden_ids)})",
            list(golden_ids),
        )
        return {str(row["golden_id"]): row for row in rows}

    def current_golden_id(self, golden_id: str) -> str | None:
        """Follow survivor pointers to the active record; None if the chain is broken."""
        seen: set[str] = set()
        current: str | None = golden_id
        for _ in range(MAX_SURVIVOR_HOPS):
            if current is None or current in seen:
                return None
            seen.add(current)
            rows = self._point_rows(
                "golden_records",
                "select status, survivor_id from golden_records where golden_id = ?",
                [current],
            )
            if not rows:
                return None
            if rows[0]["status"] != "retired":
                return current
            current = rows[0]["survivor_id"]
        return None

    def source_records(self, golden_id: str) -> list[dict[str, Any]]:
        """The party records linked to a golden record through the xref."""
        return self._point_rows(
            "sources",
            f"select {', '.join((*LINK_COLUMNS, *PARTY_COLUMNS))} from sources"
            " where golden_id = ? order by source_system, source_record_id",
            [golden_id],
        )

    def find_golden_records(
        self,
        key: LookupKey,
        value: str,
        *,
        pinyin: str | None = None,
        include_retired: bool,
        limit: int,
        offset: int,
        branch_id: str | None = None,
    ) -> tuple[int, list[dict[str, Any]]]:
        """Golden records whose own value, or a linked source record's, matches `value`.

        `value` is already normalized (`matching.standardize.lookup`); a name also matches
        on `pinyin` when given. Searching the source records too finds a customer by
        an ID or mobile that lost survivorship (an older number still on file in one system).
        With `branch_id`, only customers of that branch (`marts.customer_360.branch_no`).
        """
        keys: list[Any] = [key, value]
        if key == "name" and pinyin is not None:
            keys += ["name_pinyin", pinyin]
        hits = " union ".join(
            ["select golden_id from lookup_keys where kind = ? and value = ?"] * (len(keys) // 2)
        )
        status = "" if include_retired else " and status = 'active'"
        if branch_id is not None:
            # Per hit, through the 360 table's golden-ID index (hits are few, branches large).
            status += (
                " and exists (select 1 from customer_360 c"
                " where c.golden_id = golden_records.golden_id and c.branch_no = ?)"
            )
            keys.append(branch_id)
        where = f"where golden_id in ({hits}){status}"
        (count,) = self._point_rows(
            "golden_records", f"select count(*) as n from golden_records {where}", keys
        )
        total = int(count["n"])
        if offset >= total or limit <= 0:
            # Past the end: nothing to fetch, and no offset SQLite's integers cannot hold.
            return total, []
        rows = self._point_rows(
            "golden_records",
            f"select {', '.join(GOLDEN_COLUMNS)} from golden_records {where}"
            " order by golden_id limit ? offset ?",
            [*keys, min(limit, total), offset],
        )
        return total, rows

    def customer_360(self, golden_id: str) -> dict[str, Any] | None:
        rows = self._point_rows(
            "customer_360", "select * from customer_360 where golden_id = ?", [golden_id]
        )
        return rows[0] if rows else None

    def customer_detail(
        self,
        table: CustomerDetail,
        golden_id: str,
        *,
        limit: int,
        offset: int,
        member_branch_id: str | None = None,
    ) -> tuple[int, list[dict[str, Any]]]:
        """One page of a customer's rows in a detail mart (`connectors.serving`), and the total.

        With `member_branch_id`, household members of another branch are left out: a caller
        held to a branch must not learn that a customer exists elsewhere.
        """
        where = "where golden_id = ?"
        params: list[Any] = [golden_id]
        if member_branch_id is not None:
            where += (
                " and exists (select 1 from customer_360 c"
                f" where c.golden_id = {table}.member_golden_id and c.branch_no = ?)"
            )
            params.append(member_branch_id)
        (count,) = self._point_rows(table, f"select count(*) as n from {table} {where}", params)
        total = int(count["n"])
        if offset >= total:
            return total, []
        rows = self._point_rows(
            table,
            f"select * from {table} {where} order by {DETAIL_ORDER[table]} limit ? offset ?",
            [*params, limit, offset],
        )
        return total, rows

    def branch_of(self, golden_id: str) -> str | None:
        """The branch a customer belongs to (row-level access); None when it has no 360 row."""
        rows = self._point_rows(
            "customer_360", "select branch_no from customer_360 where golden_id = ?", [golden_id]
        )
        return rows[0]["branch_no"] if rows else None

    def branches_of(self, golden_ids: list[str]) -> dict[str, str | None]:
        """`branch_of` several customers in one query (those without a 360 row are absent)."""
        if not golden_ids:
            return {}
        rows = self._point_rows(
            "customer_360",
            "select golden_id, branch_no from customer_360"
            f" where golden_id in ({', '.join('?' for _ in golden_ids)})",
            list(golden_ids),
        )
        return {str(row["golden_id"]): row["branch_no"] for row in rows}

    def lineage(self, golden_id: str) -> list[dict[str, Any]]:
        """Which source record and survivorship rule gave each attribute of a golden record."""
        return self._rows(
            "select l.attribute, l.record_key, l.rule, x.source_system"
            " from mdm.golden_lineage l left join mdm.xref x on x.record_key = l.record_key"
            " where l.golden_id = ? order by l.attribute",
            [golden_id],
        )

    def history(self, golden_id: str, as_of: datetime | None) -> list[dict[str, Any]]:
        """Every version of a golden record, or the one valid at `as_of`."""
        condition = ""
        params: list[Any] = [golden_id]
        if as_of is not None:
            condition = " and valid_from <= ? and (valid_to is null or ? < valid_to)"
            params += [as_of, as_of]
        return self._rows(
            f"select * from mdm.golden_history where golden_id = ?{condition} order by valid_from",
            params,
        )

    def events(self, golden_id: str) -> list[dict[str, Any]]:
        """Create / update / merge / split / retire events naming this golden ID."""
        return self._rows(
            # Every column: a snapshot published before events named their steward decision
            # has no decision_id / steward / changed_fields, and the schema defaults them.
            "select * from mdm.golden_events"
            " where golden_id = ? or related_golden_id = ? order by occurred_at, event_id",
            [golden_id, golden_id],
        )

    def match_setup(self) -> MatchSetup:
        """The published run's rules, model and spelling (`connectors.serving.MATCH_TABLES`)."""
        generation = self._generation
        if generation.match_setup is None:
            rows = self._point_rows("match_model", "select * from match_model", [])
            if not rows:
                raise SnapshotUnavailable("published snapshot is incomplete: no match model")
            row = rows[0]
            spelling = json.loads(str(row["spelling_json"]))
            generation.match_setup = MatchSetup(
                config=configs_from_json(str(row["config_json"]))[0],
                model=FellegiSunterModel.from_json(str(row["model_json"])),
                spelling={ord(a): b for a, b in spelling.items()},
            )
        return generation.match_setup

    def match_records(self, keys: list[int]) -> pd.DataFrame:
        """The indexed party records holding any of the block `keys`, with their golden ID;
        every column as the index stores it (dates as ISO text)."""
        if self._points is None:
            self._points = self._generation.take_points()
        placeholders = ", ".join("?" for _ in keys) or "null"
        try:
            cursor = self._points.execute(
                "select r.*, s.golden_id from match_records r"
                " left join sources s on s.record_key = r.record_key"
                " where r.position in"
                f" (select position from match_keys where key in ({placeholders}))"
                " order by r.position",
                keys,
            )
        except sqlite3.OperationalError as exc:
            raise SnapshotUnavailable(f"published snapshot is incomplete: {exc}") from exc
        names = [column[0] for column in cursor.description or []]
        return pd.DataFrame.from_records(cursor.fetchall(), columns=names)

    def xref(self, record_key: str) -> dict[str, Any] | None:
        """A source record's cross-reference entry."""
        rows = self._point_rows(
            "sources",
            f"select golden_id, {', '.join(LINK_COLUMNS)} from sources where record_key = ?",
            [record_key],
        )
        return rows[0] if rows else None

    def frame(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """A read-only query's rows as a DataFrame (its columns kept when it has no rows)."""
        self._rows("select 1")  # opens the cursor on the snapshot
        assert self._cursor is not None
        try:
            return self._cursor.execute(sql, params).df()
        except duckdb.CatalogException as exc:
            raise SnapshotUnavailable(f"published snapshot is incomplete: {exc}") from exc

    def query(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> list[dict]:
        """Rows of a read-only query on this snapshot (for modules with their own tables)."""
        return self._rows(sql, params)
