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

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import duckdb

from matching.golden import GOLDEN_COLUMNS

NO_SNAPSHOT = "no published snapshot yet: run `make demo` or `mdm run`"

LookupKey = Literal["resident_id", "mobile", "name"]


XREF_COLUMNS = (
    "record_key",
    "source_system",
    "source_record_id",
    "match_rule",
    "match_weight",
    "linked_at",
)

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
    """One published file, attached read-only in a private in-memory DuckDB instance."""

    def __init__(self, path: Path, stat: os.stat_result) -> None:
        self.signature = FileSignature.of(stat)
        self.published_at = datetime.fromtimestamp(stat.st_mtime, tz=UTC)
        self.users = 0
        self.retired = False
        self.connection = duckdb.connect(":memory:")
        quoted = str(path).replace("'", "''")
        try:
            self.connection.execute(f"ATTACH '{quoted}' AS snapshot (READ_ONLY)")
        except duckdb.Error as exc:
            self.connection.close()
            raise SnapshotUnavailable(f"published snapshot {path} cannot be opened: {exc}") from exc

    def close(self) -> None:
        self.connection.close()


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
        try:
            with self._lock:
                cursor = generation.connection.cursor()
            try:
                cursor.execute("USE snapshot")
                yield Snapshot(cursor, self.path, generation.published_at)
            finally:
                cursor.close()
        finally:
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
            raise SnapshotUnavailable(f"{NO_SNAPSHOT} (looked for {self.path})") from None
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
    """The queries the API runs on one snapshot, through one cursor, for one request."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, path: Path, published_at: datetime):
        self._cursor = cursor
        self.path = path
        self.published_at = published_at

    def _rows(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> list[dict]:
        try:
            self._cursor.execute(sql, params)
        except duckdb.CatalogException as exc:
            raise SnapshotUnavailable(
                f"published snapshot {self.path} is incomplete: {exc}"
            ) from exc
        names = [column[0] for column in self._cursor.description or []]
        return [
            {name: _plain(value) for name, value in zip(names, row, strict=True)}
            for row in self._cursor.fetchall()
        ]

    def golden_record_counts(self) -> tuple[int, int]:
        """(all golden records, active ones)."""
        (row,) = self._rows(
            "select count(*) as total, count(*) filter (where status = 'active') as active"
            " from mdm.golden_records"
        )
        return int(row["total"]), int(row["active"])

    def golden_record(self, golden_id: str) -> dict[str, Any] | None:
        rows = self._rows(
            f"select {', '.join(GOLDEN_COLUMNS)} from mdm.golden_records where golden_id = ?",
            [golden_id],
        )
        return rows[0] if rows else None

    def current_golden_id(self, golden_id: str) -> str | None:
        """Follow survivor pointers to the active record; None if the chain is broken."""
        seen: set[str] = set()
        current: str | None = golden_id
        for _ in range(MAX_SURVIVOR_HOPS):
            if current is None or current in seen:
                return None
            seen.add(current)
            rows = self._rows(
                "select status, survivor_id from mdm.golden_records where golden_id = ?",
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
        columns = [f"x.{c}" for c in XREF_COLUMNS] + [f"p.{c}" for c in PARTY_COLUMNS]
        return self._rows(
            f"select {', '.join(columns)} from mdm.xref x"
            " left join mdm.party_records p on p.record_key = x.record_key"
            " where x.golden_id = ? order by x.source_system, x.source_record_id",
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
        params: dict[str, Any] = {"value": value}
        if key == "resident_id":
            condition = "{t}.id_number = $value"
        elif key == "mobile":
            condition = "{t}.mobile = $value"
        else:
            condition = "({t}.name = $value or {t}.name_pinyin = $pinyin)"
            params["pinyin"] = pinyin
        hits = (
            "with hits as ("
            f" select golden_id from mdm.golden_records g where {condition.format(t='g')}"
            " union"
            " select x.golden_id from mdm.xref x"
            " join mdm.party_records p on p.record_key = x.record_key"
            f" where {condition.format(t='p')})"
        )
        status = "" if include_retired else " and g.status = 'active'"
        if branch_id is not None:
            status += (
                " and g.golden_id in"
                " (select golden_id from marts.customer_360 where branch_no = $branch)"
            )
            params["branch"] = branch_id
        (count,) = self._rows(
            f"{hits} select count(*) as n from mdm.golden_records g"
            f" where g.golden_id in (select golden_id from hits){status}",
            params,
        )
        rows = self._rows(
            f"{hits} select {', '.join('g.' + c for c in GOLDEN_COLUMNS)}"
            f" from mdm.golden_records g where g.golden_id in (select golden_id from hits)"
            f"{status} order by g.golden_id limit $limit offset $offset",
            {**params, "limit": limit, "offset": offset},
        )
        return int(count["n"]), rows

    def customer_360(self, golden_id: str) -> dict[str, Any] | None:
        rows = self._rows("select * from marts.customer_360 where golden_id = ?", [golden_id])
        return rows[0] if rows else None

    def branch_of(self, golden_id: str) -> str | None:
        """The branch a customer belongs to (row-level access); None when it has no 360 row."""
        rows = self._rows(
            "select branch_no from marts.customer_360 where golden_id = ?", [golden_id]
        )
        return rows[0]["branch_no"] if rows else None

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
            "select event_id, run_id, event_type, golden_id, related_golden_id, detail,"
            " occurred_at from mdm.golden_events"
            " where golden_id = ? or related_golden_id = ? order by occurred_at, event_id",
            [golden_id, golden_id],
        )

    def xref(self, record_key: str) -> dict[str, Any] | None:
        """A source record's cross-reference entry."""
        rows = self._rows(
            f"select golden_id, {', '.join(XREF_COLUMNS)} from mdm.xref where record_key = ?",
            [record_key],
        )
        return rows[0] if rows else None

    def query(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> list[dict]:
        """Rows of a read-only query on this snapshot (for modules with their own tables)."""
        return self._rows(sql, params)
