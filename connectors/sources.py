"""Reading source systems: SQL databases through SQLAlchemy and files (CSV, Excel, Parquet).

Every reader returns text columns exactly as the source holds them; parsing is the
standardization stage's job, so nothing is lost or guessed here. Readers never create
anything: a SQLite file that is not there is an error (SQLAlchemy would create an empty
database and fail later, far from the cause), and SQLite sources are opened read-only.
"""

from __future__ import annotations

import codecs
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from connectors.landing import as_text_frame
from connectors.urls import sqlalchemy_url

# Tried in order when a CSV's encoding is "auto": UTF-8 (with or without BOM) first because it
# fails loudly on GBK bytes; GB18030 is a superset of GBK and so comes last.
AUTO_ENCODINGS = ("utf-8-sig", "gb18030")
#: The suffixes a folder source's table may have, in the order they are looked for.
FILE_SUFFIXES = (".csv", ".xlsx", ".parquet", ".xls")
EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls"})
_DECODE_CHUNK = 1 << 20


class SourceReadError(RuntimeError):
    """A source could not be read; the message names the source and the cause."""


def safe_url(url: str) -> str:
    """The URL as it may be printed: the password hidden."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparsable database URL>"


def sqlite_file(url: str) -> Path | None:
    """The file a `sqlite:///` URL names; None for other databases and in-memory SQLite."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database.startswith("file:"):  # SQLite's own URI form
        database = database.removeprefix("file:").split("?", 1)[0]
    if not database or database == ":memory:":
        return None
    return Path(database)


def open_source_engine(url: str, *, source: str | None = None) -> sa.Engine:
    """An engine on a source database that reads and never creates: a SQLite file must exist
    and is opened read-only; any other URL is SQLAlchemy's (drivers as `sqlalchemy_url`)."""
    path = sqlite_file(url)
    if path is None:
        return sa.create_engine(sqlalchemy_url(url))
    if not path.is_file():
        prefix = f"{source}: " if source else ""
        raise SourceReadError(f"{prefix}SQLite file {path} does not exist")
    uri = f"{path.resolve().as_uri()}?mode=ro"
    return sa.create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))


def database_tables(connection: sa.Connection) -> list[str]:
    """The tables and views a source database offers, for messages that list them."""
    inspector = sa.inspect(connection)
    return sorted({*inspector.get_table_names(), *inspector.get_view_names()})


def reflect_table(
    connection: sa.Connection, table: str, url: str, source: str | None = None
) -> sa.Table:
    """`table` as SQLAlchemy reflects it; a missing table is an error listing the tables."""
    try:
        return sa.Table(table, sa.MetaData(), autoload_with=connection)
    except sa.exc.NoSuchTableError as error:
        prefix = f"{source}: " if source else ""
        offered = ", ".join(database_tables(connection)) or "none"
        raise SourceReadError(
            f"{prefix}table {table!r} not found in {safe_url(url)} (tables: {offered})"
        ) from error


def read_sql_table(
    url: str,
    table: str,
    *,
    chunk_size: int = 100_000,
    watermark_column: str | None = None,
    since: str | None = None,
    limit: int | None = None,
    source: str | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield a table in chunks; with a watermark, only rows changed after `since`; with a
    `limit`, its first rows only (a sample). `source` names the source in errors."""
    engine = open_source_engine(url, source=source)
    try:
        with engine.connect() as connection:
            source_table = reflect_table(connection, table, url, source)
            query = sa.select(source_table)
            if watermark_column and since is not None:
                query = query.where(source_table.c[watermark_column] > since)
            if watermark_column:
                query = query.order_by(source_table.c[watermark_column])
            if limit is not None:
                query = query.limit(limit)
            result = connection.execution_options(stream_results=True).execute(query)
            columns = list(result.keys())
            while rows := result.fetchmany(chunk_size):
                records = [tuple(row) for row in rows]
                yield as_text_frame(pd.DataFrame.from_records(records, columns=columns))
    finally:
        engine.dispose()


def csv_encoding(path: Path, encoding: str = "auto") -> str:
    """The encoding the whole CSV file decodes with: the configured one, or for `auto` the
    first of `AUTO_ENCODINGS` that decodes every byte. Raises naming the first bad byte."""
    candidates = AUTO_ENCODINGS if encoding == "auto" else (encoding,)
    failures = []
    for candidate in candidates:
        decoder = codecs.getincrementaldecoder(candidate)()
        offset = 0
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(_DECODE_CHUNK):
                    decoder.decode(chunk)
                    offset += len(chunk)
                decoder.decode(b"", final=True)
            return candidate
        except UnicodeDecodeError as error:
            failures.append(f"{candidate} (byte {offset + error.start:,})")
    raise SourceReadError(f"{path} cannot be decoded as {' or '.join(failures)}")


def excel_sheet(path: Path, sheet: str | int | None) -> str | int:
    """The sheet to read from a workbook: `sheet` if the workbook has it (default the first).
    Raises listing the workbook's sheets."""
    with pd.ExcelFile(path) as workbook:
        names = [str(name) for name in workbook.sheet_names]
    if sheet is None:
        return 0
    if isinstance(sheet, int) and 0 <= sheet < len(names):
        return sheet
    if isinstance(sheet, str) and sheet in names:
        return sheet
    raise SourceReadError(f"{path} has no sheet {sheet!r} (sheets: {', '.join(names)})")


def read_file_table(
    path: Path,
    *,
    encoding: str = "auto",
    sheet: str | int | None = None,
    nrows: int | None = None,
) -> pd.DataFrame:
    """Read one file source as text columns; CSV encodings GBK, GB18030, UTF-8 (± BOM), the
    workbook's `sheet` (name or 0-based index; default the first); `nrows`: the first rows."""
    if not path.exists():
        raise SourceReadError(f"source file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        frame = pd.read_excel(path, sheet_name=excel_sheet(path, sheet), dtype=str, nrows=nrows)
        return as_text_frame(frame)
    if suffix == ".parquet":
        if nrows is None:
            return as_text_frame(pd.read_parquet(path))
        parquet = pq.ParquetFile(path)
        batch = next(parquet.iter_batches(batch_size=max(nrows, 1)), None)
        table = (
            pa.Table.from_batches([batch])
            if batch is not None
            else parquet.schema_arrow.empty_table()
        )
        return as_text_frame(table.slice(0, nrows).to_pandas())
    encodings = AUTO_ENCODINGS if encoding == "auto" else (encoding,)
    last_error: Exception | None = None
    for candidate in encodings:
        try:
            frame = pd.read_csv(
                path,
                dtype=str,
                encoding=candidate,
                keep_default_na=False,
                na_values=[""],
                nrows=nrows,
            )
            return as_text_frame(frame)
        except UnicodeDecodeError as error:
            last_error = error
    raise SourceReadError(
        f"{path} cannot be decoded as {' or '.join(encodings)}: {last_error}"
    ) from last_error


def find_file(folder: Path, table: str) -> Path:
    """The file holding `table` in a folder source: `<table>.csv`, `.xlsx` or `.parquet`."""
    if not folder.is_dir():
        raise SourceReadError(f"source folder {folder} does not exist")
    for suffix in FILE_SUFFIXES:
        candidate = folder / f"{table}{suffix}"
        if candidate.exists():
            return candidate
    raise SourceReadError(f"no file for table {table!r} in {folder} (.csv, .xlsx or .parquet)")
