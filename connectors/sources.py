"""Reading source systems: SQL databases through SQLAlchemy and files (CSV, Excel, Parquet).

Every reader returns text columns exactly as the source holds them; parsing is the
standardization stage's job, so nothing is lost or guessed here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from connectors.landing import as_text_frame
from connectors.urls import sqlalchemy_url

# Tried in order when a CSV's encoding is "auto": UTF-8 (with or without BOM) first because it
# fails loudly on GBK bytes; GB18030 is a superset of GBK and so comes last.
AUTO_ENCODINGS = ("utf-8-sig", "gb18030")


class SourceReadError(RuntimeError):
    """A source could not be read; the message names the source and the cause."""


def read_sql_table(
    url: str,
    table: str,
    *,
    chunk_size: int = 100_000,
    watermark_column: str | None = None,
    since: str | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield a table in chunks; with a watermark, only rows changed after `since`."""
    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        metadata = sa.MetaData()
        try:
            source_table = sa.Table(table, metadata, autoload_with=engine)
        except sa.exc.NoSuchTableError as error:
            raise SourceReadError(f"table {table!r} not found in {engine.url!r}") from error
        query = sa.select(source_table)
        if watermark_column and since is not None:
            query = query.where(source_table.c[watermark_column] > since)
        if watermark_column:
            query = query.order_by(source_table.c[watermark_column])
        with engine.connect() as connection:
            result = connection.execution_options(stream_results=True).execute(query)
            columns = list(result.keys())
            while rows := result.fetchmany(chunk_size):
                records = [tuple(row) for row in rows]
                yield as_text_frame(pd.DataFrame.from_records(records, columns=columns))
    finally:
        engine.dispose()


def read_file_table(
    path: Path, *, encoding: str = "auto", sheet: str | None = None
) -> pd.DataFrame:
    """Read one file source as text columns; CSV encodings GBK, GB18030, UTF-8 (± BOM)."""
    if not path.exists():
        raise SourceReadError(f"source file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm", ".xls"}:
        frame = pd.read_excel(path, sheet_name=sheet or 0, dtype=str)
        return as_text_frame(frame)
    if suffix == ".parquet":
        return as_text_frame(pd.read_parquet(path))
    encodings = AUTO_ENCODINGS if encoding == "auto" else (encoding,)
    last_error: Exception | None = None
    for candidate in encodings:
        try:
            frame = pd.read_csv(
                path, dtype=str, encoding=candidate, keep_default_na=False, na_values=[""]
            )
            return as_text_frame(frame)
        except UnicodeDecodeError as error:
            last_error = error
    raise SourceReadError(
        f"{path} cannot be decoded as {' or '.join(encodings)}: {last_error}"
    ) from last_error


def find_file(folder: Path, table: str) -> Path:
    """The file holding `table` in a folder source: `<table>.csv`, `.xlsx` or `.parquet`."""
    for suffix in (".csv", ".xlsx", ".parquet", ".xls"):
        candidate = folder / f"{table}{suffix}"
        if candidate.exists():
            return candidate
    raise SourceReadError(f"no file for table {table!r} in {folder} (.csv, .xlsx or .parquet)")
