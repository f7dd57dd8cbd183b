"""Writers: SQLite databases, CSV exports, Excel workbooks, the ground-truth Parquet and the
manifest.

Every file is written under a temporary name and renamed into place, so a reader never
sees half a database and a rerun into the same folder replaces the previous output whole.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook

from .config import GENERATOR_VERSION, NoiseConfig

Layout = tuple[tuple[str, str, str], ...]


def _column_values(frame: pd.DataFrame, column: str) -> list[Any]:
    values = frame[column].to_numpy(dtype=object)
    missing = pd.isna(values)
    if missing.any():
        values = values.copy()
        values[missing] = None
    return values.tolist()


def _rows(
    frame: pd.DataFrame, columns: list[str], chunk: int = 100_000
) -> Iterator[tuple[Any, ...]]:
    # Row tuples a chunk at a time: the tuples of a whole table would double its memory.
    for start in range(0, len(frame), chunk):
        part = frame.iloc[start : start + chunk]
        yield from zip(*(_column_values(part, c) for c in columns), strict=True)


def write_sqlite(
    path: Path,
    tables: Mapping[str, pd.DataFrame],
    layouts: Mapping[str, Layout],
    indexes: tuple[tuple[str, str], ...] = (),
) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    try:
        # Nothing to recover if the build fails half-way: the temporary file is thrown away.
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        for table, frame in tables.items():
            layout = layouts[table]
            columns = [c for c, _, _ in layout]
            if list(frame.columns) != columns:
                raise ValueError(f"{table}: columns {list(frame.columns)} differ from {columns}")
            spec = ", ".join(f'"{c}" {t} {k}'.strip() for c, t, k in layout)
            con.execute(f'CREATE TABLE "{table}" ({spec})')
            marks = ", ".join("?" * len(columns))
            con.executemany(f'INSERT INTO "{table}" VALUES ({marks})', _rows(frame, columns))
        for table, column in indexes:
            con.execute(f'CREATE INDEX "ix_{table}_{column}" ON "{table}" ("{column}")')
        con.commit()
    finally:
        con.close()
    os.replace(tmp, path)


def write_csv(path: Path, frame: pd.DataFrame, encoding: str) -> None:
    """A legacy export: strict encoding, so a character the encoding lacks fails loudly."""
    tmp = path.with_name(path.name + ".tmp")
    frame.to_csv(tmp, index=False, encoding=encoding, errors="strict")
    os.replace(tmp, path)


def manifest_header(
    *,
    seed: int,
    people: int,
    as_of: date,
    profile: object | None,
    noise: NoiseConfig,
    row_counts: Mapping[str, object],
    ground_truth: pd.DataFrame,
) -> dict[str, Any]:
    """What every simulated bank's manifest says first: how it was drawn and what it holds."""
    return {
        "generator": "connectors.simulated",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "people": people,
        "as_of": as_of.isoformat(),
        "profile": None if profile is None else str(profile),
        "noise": asdict(noise),
        "row_counts": row_counts,
        "ground_truth": {
            "records": len(ground_truth),
            "persons": int(ground_truth["person_id"].nunique()),
            "junk_records": int(ground_truth["person_id"].isna().sum()),
        },
    }


def write_ground_truth(path: Path, frame: pd.DataFrame) -> None:
    table = pa.table(
        {
            "record_key": pa.array(frame["record_key"].to_numpy(dtype=object), type=pa.string()),
            "person_id": pa.array(frame["person_id"].to_numpy(dtype=object), type=pa.string()),
        }
    )
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


#: people.parquet, in contract order (docs/CONTRACTS.md §1).
PEOPLE_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("name", pa.string()),
        ("name_pinyin", pa.string()),
        ("id_number", pa.string()),
        ("birth_date", pa.date32()),
        ("gender", pa.string()),
        ("mobile", pa.string()),
        ("address", pa.string()),
        ("household_id", pa.string()),
        ("twin_person_id", pa.string()),
    ]
)


def write_people(path: Path, frame: pd.DataFrame) -> None:
    """The true attributes of every person: one row per person, typed by PEOPLE_SCHEMA."""
    arrays = []
    for field in PEOPLE_SCHEMA:
        values = frame[field.name].to_numpy()
        if field.type == pa.date32():
            arrays.append(pa.array(values.astype("datetime64[D]"), type=pa.date32()))
        else:
            arrays.append(pa.array(values.astype(object), type=field.type))
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(pa.Table.from_arrays(arrays, schema=PEOPLE_SCHEMA), tmp)
    os.replace(tmp, path)


def write_manifest(path: Path, manifest: Mapping[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, default=_json_default) + "\n",
        encoding="utf-8",
    )
    os.replace(tmp, path)


def _json_default(value: object) -> object:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def write_xlsx(
    path: Path,
    frame: pd.DataFrame,
    sheet: str,
    notes_sheet: str,
    notes: tuple[tuple[str, str], ...] = (),
) -> None:
    """A real Excel workbook the way a reporting tool exports one: a first sheet describing
    the export (`notes`, label and value per row), the data on `sheet` after it, so a reader
    that takes the first sheet gets the notes. Dates stay date cells, numbers numbers."""
    book = Workbook(write_only=True)
    cover = book.create_sheet(notes_sheet)
    for label, value in notes:
        cover.append([label, value])
    data = book.create_sheet(sheet)
    data.append(list(frame.columns))
    for row in _rows(frame, list(frame.columns)):
        data.append([_cell(value) for value in row])
    tmp = path.with_name(path.name + ".tmp")
    book.save(tmp)
    os.replace(tmp, path)


def _cell(value: object) -> object:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value
