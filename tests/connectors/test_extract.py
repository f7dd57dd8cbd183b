"""Extraction as a library call: a SQLite source read in full, then by watermark, landed and
merged into a real DuckDB warehouse; the watermarks of other sources left alone."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from connectors import tables
from connectors.config import SourceConfig
from connectors.extract import (
    TableExtract,
    extract_table,
    read_watermarks,
    save_watermarks,
    source_watermarks,
)
from connectors.warehouse import DuckDBWarehouse


def _source(database: Path) -> SourceConfig:
    return SourceConfig(
        connector="sql",
        url=f"sqlite:///{database}",
        trust_rank=1,
        party_table="cust",
        key_column="id",
        watermark_column="updated_at",
        mapping={"name": "name"},
    )


def _extract(
    store: DuckDBWarehouse, source: SourceConfig, tmp_path: Path, batch: str, mode: bool
) -> TableExtract:
    every = read_watermarks(store)
    done = extract_table(
        store,
        source,
        system="core",
        table="cust",
        incremental_mode=mode,
        previous=source_watermarks(every, "core"),
        batch_id=batch,
        extracted_at=datetime(2026, 12, 1, tzinfo=UTC),
        landing_dir=tmp_path / "landing",
    )
    save_watermarks(
        store,
        every,
        system="core",
        extracts=[done],
        batch_id=batch,
        extracted_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    return done


def test_a_full_then_an_incremental_extract_merge_changed_rows_by_key(tmp_path: Path) -> None:
    database = tmp_path / "core.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("create table cust (id text, name text, updated_at text)")
        connection.executemany(
            "insert into cust values (?, ?, ?)",
            [("1", "a", "2026-11-01"), ("2", "b", "2026-11-02"), ("3", "c", "2026-11-03")],
        )
    store = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    # Another source's watermark: an extract of `core` must keep it.
    store.replace_table(
        tables.WATERMARKS,
        pd.DataFrame(
            [("crm", "people", "2026-10-01", "b0", pd.Timestamp("2026-10-01"))],
            columns=["system", "table_name", "watermark", "batch_id", "extracted_at"],
        ),
    )
    source = _source(database)

    full = _extract(store, source, tmp_path, "b1", mode=True)  # no watermark yet: full
    assert (full.incremental, len(full.extracted), full.raw_rows) == (False, 3, 3)
    assert full.watermark == "2026-11-03" and full.landing_file.exists()

    with sqlite3.connect(database) as connection:
        connection.execute("update cust set name = 'b2', updated_at = '2026-11-05' where id = '2'")
        connection.execute("insert into cust values ('4', 'd', '2026-11-06')")
    delta = _extract(store, source, tmp_path, "b2", mode=True)
    assert (delta.incremental, delta.since, len(delta.extracted)) == (True, "2026-11-03", 2)
    assert delta.source_rows == 2 and delta.raw_rows == 4
    raw = store.read_table(tables.raw_table("core", "cust")).sort_values("id")
    assert raw["name"].tolist() == ["a", "b2", "c", "d"]
    marks = read_watermarks(store).set_index("system")["watermark"].to_dict()
    assert marks == {"crm": "2026-10-01", "core": "2026-11-06"}

    again = _extract(store, source, tmp_path, "b3", mode=False)  # full mode re-reads all
    assert (again.incremental, len(again.extracted), again.raw_rows) == (False, 4, 4)
