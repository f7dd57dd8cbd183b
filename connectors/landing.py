"""The landing zone: every extract becomes an immutable, replayable Parquet batch.

A batch is written once under `<landing>/<system>/<table>/batch_id=<id>/part-0.parquet` and never
overwritten, so any later stage can be rerun from exactly the bytes the source gave us.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

LINEAGE_COLUMNS = ("_batch_id", "_row_hash", "_extracted_at")


class BatchExistsError(RuntimeError):
    """A landing batch with this id is already written; batches are immutable."""


def new_batch_id(now: datetime | None = None) -> str:
    """Sortable and unique: the UTC time of the extract plus a short random suffix."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def as_text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as nullable text: the raw layer keeps what the source said, not a guess."""
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        series = frame[column]
        text = series.astype("string").astype(object)
        out[str(column)] = text.mask(series.isna(), None)
    return out


def row_hashes(frame: pd.DataFrame) -> pd.Series:
    """A stable hash of each row's values, to detect changed rows between batches.

    pandas' hash uses a fixed key, so the same values give the same hash in every run.
    """
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return pd.Series([f"{value:016x}" for value in hashes], index=frame.index, dtype=object)


def with_lineage(frame: pd.DataFrame, batch_id: str, extracted_at: datetime) -> pd.DataFrame:
    text = as_text_frame(frame).reset_index(drop=True)
    text["_row_hash"] = row_hashes(text) if len(text) else pd.Series(dtype=object)
    text["_batch_id"] = batch_id
    text["_extracted_at"] = extracted_at.isoformat()
    return text


def write_batch(
    frame: pd.DataFrame,
    *,
    landing_dir: Path,
    system: str,
    table: str,
    batch_id: str,
) -> Path:
    """Write one extract (already carrying lineage columns) as an immutable Parquet batch."""
    folder = landing_dir / system / table / f"batch_id={batch_id}"
    target = folder / "part-0.parquet"
    if target.exists():
        raise BatchExistsError(f"landing batch {target} already exists; batches are immutable")
    folder.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([(str(name), pa.string()) for name in frame.columns])
    table_arrow = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    temporary = folder / "part-0.parquet.tmp"
    pq.write_table(table_arrow, temporary)
    temporary.rename(target)
    return target


def read_batch(landing_dir: Path, system: str, table: str, batch_id: str) -> pd.DataFrame:
    path = landing_dir / system / table / f"batch_id={batch_id}" / "part-0.parquet"
    return pq.read_table(path).to_pandas()
