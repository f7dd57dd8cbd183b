"""Extraction: a source table read (whole, or the rows changed since its watermark), landed
as an immutable batch and merged into the warehouse's raw schema; the watermarks kept.

The Dagster extract asset (pipelines/assets/extract.py) calls `extract_table` per table and
`save_watermarks` once per source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from connectors import tables
from connectors.config import SourceConfig
from connectors.incremental import WATERMARK_COLUMNS, highest_watermark, merge_increment
from connectors.landing import with_lineage, write_batch
from connectors.source_counts import count_source_rows
from connectors.sources import find_file, read_file_table, read_sql_table
from connectors.warehouse import Warehouse, read_if_exists


def read_source_table(
    source: SourceConfig,
    table: str,
    *,
    watermark_column: str | None = None,
    since: str | None = None,
    system: str | None = None,
) -> pd.DataFrame:
    """One table of a source, whole (or changed since a watermark); `system` names it in errors."""
    if source.connector == "sql":
        assert source.url is not None  # validated by SourceConfig
        chunks = list(
            read_sql_table(
                source.url, table, watermark_column=watermark_column, since=since, source=system
            )
        )
        return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()
    assert source.path is not None
    return read_file_table(
        find_file(source.path, table), encoding=source.encoding, sheet=source.sheet
    )


def read_watermarks(store: Warehouse) -> pd.DataFrame:
    """Every source table's watermark (`WATERMARK_COLUMNS`); none before the first extract."""
    every = read_if_exists(store, tables.WATERMARKS)
    return pd.DataFrame(columns=list(WATERMARK_COLUMNS)) if every is None else every


def source_watermarks(every: pd.DataFrame, system: str) -> dict[str, str]:
    """table → the watermark the source's last extract reached."""
    mine = every[every["system"] == system]
    return dict(zip(mine["table_name"], mine["watermark"], strict=True))


@dataclass(frozen=True)
class TableExtract:
    """What one table's extraction did."""

    table: str
    incremental: bool
    since: str | None  # the watermark it read from (incremental only)
    extracted: pd.DataFrame  # the rows read, with lineage columns
    raw_rows: int  # rows in the raw table after the merge
    source_rows: int  # the source's own count of what was read
    landing_file: Path
    watermark: str | None  # the watermark the next extract starts from


def extract_table(
    store: Warehouse,
    source: SourceConfig,
    *,
    system: str,
    table: str,
    incremental_mode: bool,
    previous: dict[str, str],
    batch_id: str,
    extracted_at: datetime,
    landing_dir: Path,
) -> TableExtract:
    """Read one table (incrementally when asked, the source declares it, and a previous
    extract left a watermark and a raw table), land the batch, and replace the raw table with
    the rows after the increment."""
    qualified = tables.raw_table(system, table)
    plan = source.incremental.get(table)
    incremental = (
        incremental_mode
        and plan is not None
        and table in previous
        and store.table_exists(qualified)
    )
    since = previous.get(table) if incremental else None
    watermark_column = plan.watermark if incremental and plan else None
    # Counted apart from the reader, so a reader that drops rows is caught by the
    # raw.row_count_matches_source check.
    source_rows = count_source_rows(source, table, watermark_column=watermark_column, since=since)
    read = read_source_table(
        source, table, watermark_column=watermark_column, since=since, system=system
    )
    frame = with_lineage(read, batch_id, extracted_at)
    landed = write_batch(
        frame, landing_dir=landing_dir, system=system, table=table, batch_id=batch_id
    )
    if incremental and plan is not None:
        merged = merge_increment(store.read_table(qualified), frame, plan.key)
    else:
        merged = frame
    watermark = highest_watermark(read, plan.watermark, since) if plan is not None else None
    store.replace_table(qualified, merged)
    return TableExtract(
        table=table,
        incremental=incremental,
        since=since,
        extracted=frame,
        raw_rows=len(merged),
        source_rows=source_rows,
        landing_file=landed,
        watermark=watermark,
    )


def save_watermarks(
    store: Warehouse,
    every: pd.DataFrame,
    *,
    system: str,
    extracts: list[TableExtract],
    batch_id: str,
    extracted_at: datetime,
) -> None:
    """Replace the source's watermarks of the tables that reached one; keep every other."""
    new = [
        (system, e.table, e.watermark, batch_id, extracted_at)
        for e in extracts
        if e.watermark is not None
    ]
    if not new:
        return
    replaced = (every["system"] == system) & every["table_name"].isin([row[1] for row in new])
    parts = [every[~replaced]] if (~replaced).any() else []
    updated = pd.concat(
        [*parts, pd.DataFrame(new, columns=list(WATERMARK_COLUMNS))], ignore_index=True
    )
    updated["extracted_at"] = pd.to_datetime(updated["extracted_at"], utc=True)
    updated["extracted_at"] = updated["extracted_at"].dt.tz_localize(None)
    store.replace_table(tables.WATERMARKS, updated.astype({"watermark": str}))
