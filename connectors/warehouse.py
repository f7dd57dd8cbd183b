"""The warehouse: raw, mdm and dq schemas and the dbt marts.

The embedded default is one DuckDB file. DuckDB allows one writing process, so every write opens
a short-lived connection and closes it, and the API never reads this file: it reads the serving
snapshot that `publish` swaps in atomically at the end of a run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

SCHEMAS = ("raw", "mdm", "dq", "ops")


class WarehouseError(RuntimeError):
    """A warehouse operation failed; the message names the table."""


def duckdb_path_from_url(url: str) -> Path:
    if not url.startswith("duckdb:///"):
        raise WarehouseError(f"not a DuckDB URL: {url!r} (expected duckdb:///path/to/file.duckdb)")
    return Path(url.removeprefix("duckdb:///"))


class DuckDBWarehouse:
    """The embedded warehouse: a DuckDB file; writes replace whole tables atomically."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def from_url(cls, url: str) -> DuckDBWarehouse:
        return cls(duckdb_path_from_url(url))

    @property
    def dialect(self) -> str:
        return "duckdb"

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = duckdb.connect(str(self.path), read_only=read_only)
        try:
            yield connection
        finally:
            connection.close()

    def ensure_schemas(self) -> None:
        with self.connect() as connection:
            for schema in SCHEMAS:
                connection.execute(f"create schema if not exists {schema}")

    def replace_tables(self, tables: Mapping[str, pd.DataFrame]) -> None:
        """Replace several `schema.table`s in one transaction: all of them change or none."""
        with self.connect() as connection:
            connection.execute("begin transaction")
            try:
                for qualified, frame in tables.items():
                    schema, _ = _split(qualified)
                    connection.execute(f"create schema if not exists {schema}")
                    connection.register("incoming_frame", frame)
                    connection.execute(
                        f"create or replace table {_quote(qualified)} as "
                        "select * from incoming_frame"
                    )
                    connection.unregister("incoming_frame")
                connection.execute("commit")
            except Exception as error:
                connection.execute("rollback")
                raise WarehouseError(f"writing {', '.join(tables)} failed: {error}") from error

    def replace_table(self, qualified: str, frame: pd.DataFrame) -> None:
        self.replace_tables({qualified: frame})

    def append_rows(self, qualified: str, frame: pd.DataFrame) -> None:
        """Append to a history table (dq.results, golden events), creating it on first use."""
        schema, _ = _split(qualified)
        with self.connect() as connection:
            connection.execute(f"create schema if not exists {schema}")
            connection.register("incoming_frame", frame)
            if self._exists(connection, qualified):
                connection.execute(
                    f"insert into {_quote(qualified)} by name select * from incoming_frame"
                )
            else:
                connection.execute(
                    f"create table {_quote(qualified)} as select * from incoming_frame"
                )

    def read_table(self, qualified: str, columns: list[str] | None = None) -> pd.DataFrame:
        selected = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        return self.query(f"select {selected} from {_quote(qualified)}")

    def query(self, sql: str, parameters: list[Any] | None = None) -> pd.DataFrame:
        with self.connect() as connection:
            return connection.execute(sql, parameters or []).df()

    def table_exists(self, qualified: str) -> bool:
        if not self.path.exists():
            return False
        with self.connect() as connection:
            return self._exists(connection, qualified)

    @staticmethod
    def _exists(connection: duckdb.DuckDBPyConnection, qualified: str) -> bool:
        schema, table = _split(qualified)
        found = connection.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()
        return bool(found and found[0])

    def publish(self, serving_path: Path, drop_schemas: tuple[str, ...] = ()) -> Path:
        """Copy the warehouse to the serving file and swap it in with one atomic rename.

        `drop_schemas` are removed from the copy: dbt-duckdb writes the database name into view
        definitions, so views would not resolve in a file with another name; readers use tables.
        """
        with self.connect() as connection:
            connection.execute("checkpoint")
        serving_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = serving_path.with_name(f".{serving_path.name}.{os.getpid()}.tmp")
        shutil.copyfile(self.path, temporary)
        if drop_schemas:
            connection = duckdb.connect(str(temporary))
            try:
                for schema in drop_schemas:
                    connection.execute(f'drop schema if exists "{schema}" cascade')
                connection.execute("checkpoint")
            finally:
                connection.close()
        os.replace(temporary, serving_path)
        return serving_path


Warehouse = DuckDBWarehouse


def open_warehouse(url: str) -> Warehouse:
    """The warehouse behind a URL. PostgreSQL support arrives with the production issue."""
    if url.startswith("duckdb:///"):
        return DuckDBWarehouse.from_url(url)
    raise WarehouseError(f"unsupported warehouse URL {url!r}: use duckdb:///path/to/file.duckdb")


def _split(qualified: str) -> tuple[str, str]:
    schema, _, table = qualified.partition(".")
    if not table:
        raise WarehouseError(f"table name {qualified!r} must be schema-qualified (schema.table)")
    return schema, table


def _quote(qualified: str) -> str:
    schema, table = _split(qualified)
    return f'"{schema}"."{table}"'
