"""How many rows a source table holds, counted at the source, apart from the extract's reader.

The raw rule `raw.row_count_matches_source` compares this count with the rows that reached the
warehouse. The count is taken by other means than the extract (SQL `count(*)`, the CSV module,
Parquet metadata), so a reader that drops rows (a bad line, a lost chunk) is caught.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import sqlalchemy as sa

from connectors.config import SourceConfig
from connectors.sources import (
    AUTO_ENCODINGS,
    SourceReadError,
    excel_sheet,
    find_file,
    open_source_engine,
    reflect_table,
)

#: The materialization metadata key under which an extract records `count_source_rows`.
SOURCE_ROW_COUNT = "source_row_count"


def _count_csv(path: Path, encoding: str) -> int:
    """Records (not lines: a quoted field may hold a line break), blank lines skipped, as
    pandas skips them, header not counted."""
    encodings = AUTO_ENCODINGS if encoding == "auto" else (encoding,)
    last_error: UnicodeDecodeError | None = None
    for candidate in encodings:
        try:
            with path.open(encoding=candidate, newline="") as handle:
                records = sum(1 for row in csv.reader(handle) if row)
            return max(records - 1, 0)
        except UnicodeDecodeError as error:
            last_error = error
    raise SourceReadError(f"{path} cannot be decoded as {' or '.join(encodings)}: {last_error}")


def count_source_rows(
    source: SourceConfig,
    table: str,
    *,
    watermark_column: str | None = None,
    since: str | None = None,
) -> int:
    """The number of rows `table` holds in the source right now; with a watermark, the rows
    changed after `since` (what an incremental extract reads). Files are always read whole."""
    if source.connector == "sql":
        assert source.url is not None  # validated by SourceConfig
        engine = open_source_engine(source.url)
        try:
            with engine.connect() as connection:
                reflected = reflect_table(connection, table, source.url)
                query = sa.select(sa.func.count()).select_from(reflected)
                if watermark_column and since is not None:
                    query = query.where(reflected.c[watermark_column] > since)
                count = connection.execute(query).scalar_one()
            return int(count)
        finally:
            engine.dispose()
    assert source.path is not None
    path = find_file(source.path, table)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    if suffix in {".xlsx", ".xlsm"}:
        from openpyxl import load_workbook

        chosen = excel_sheet(path, source.sheet)
        workbook = load_workbook(path, read_only=True)
        try:
            sheet = workbook.worksheets[chosen] if isinstance(chosen, int) else workbook[chosen]
            rows = sum(
                1 for row in sheet.iter_rows(values_only=True) if any(v is not None for v in row)
            )
        finally:
            workbook.close()
        return max(rows - 1, 0)
    if suffix == ".xls":
        import pandas as pd

        return len(pd.read_excel(path, sheet_name=excel_sheet(path, source.sheet), dtype=str))
    return _count_csv(path, source.encoding)
