"""Extract: each source system's tables → an immutable landing batch → the warehouse raw schema."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Literal

import dagster as dg
import pandas as pd

from connectors.config import SourceConfig
from connectors.incremental import WATERMARK_COLUMNS, highest_watermark, merge_increment
from connectors.landing import new_batch_id, with_lineage, write_batch
from connectors.source_counts import SOURCE_ROW_COUNT, count_source_rows
from connectors.sources import find_file, read_file_table, read_sql_table
from pipelines.resources import StorePathsResource, WarehouseResource


def raw_table_name(system: str, table: str) -> str:
    return f"{system}__{table.lower()}"


def raw_asset_key(system: str, table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", raw_table_name(system, table)])


class ExtractConfig(dg.Config):
    """`full` re-reads every table; `incremental` reads only rows changed since the last run
    for the tables the source declares incremental (the rest are read in full)."""

    mode: Literal["full", "incremental"] = "full"


WATERMARKS = "raw._watermarks"


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


def build_extract_asset(system: str, source: SourceConfig) -> dg.AssetsDefinition:
    specs = [
        dg.AssetSpec(
            key=raw_asset_key(system, table),
            description=f"Raw `{table}` from {source.description or system}, as extracted.",
            group_name="extract",
            kinds={"duckdb", "parquet"},
            owners=["team:data-engineering"],
        )
        for table in source.tables
    ]

    @dg.multi_asset(
        name=f"extract_{system}",
        specs=specs,
        pool="warehouse",
        description=f"Extract every table of the {system} source into landing and raw.",
    )
    def extract(
        context: dg.AssetExecutionContext,
        config: ExtractConfig,
        warehouse: WarehouseResource,
        stores: StorePathsResource,
    ) -> Iterator[dg.MaterializeResult]:
        batch_id = new_batch_id()
        extracted_at = datetime.now(UTC)
        store = warehouse.open()
        every_watermark = (
            store.read_table(WATERMARKS)
            if store.table_exists(WATERMARKS)
            else pd.DataFrame(columns=list(WATERMARK_COLUMNS))
        )
        mine = every_watermark["system"] == system
        watermarks = every_watermark[mine]
        previous = dict(zip(watermarks["table_name"], watermarks["watermark"], strict=True))
        new_watermarks = []
        for table in source.tables:
            qualified = f"raw.{raw_table_name(system, table)}"
            plan = source.incremental.get(table)
            incremental = (
                config.mode == "incremental"
                and plan is not None
                and table in previous
                and store.table_exists(qualified)
            )
            since = previous.get(table) if incremental else None
            watermark_column = plan.watermark if incremental and plan else None
            # Counted apart from the reader, so a reader that drops rows is caught by the
            # raw.row_count_matches_source check.
            source_rows = count_source_rows(
                source, table, watermark_column=watermark_column, since=since
            )
            extract = read_source_table(
                source, table, watermark_column=watermark_column, since=since, system=system
            )
            frame = with_lineage(extract, batch_id, extracted_at)
            landed = write_batch(
                frame, landing_dir=stores.landing_dir, system=system, table=table, batch_id=batch_id
            )
            if incremental and plan is not None:
                merged = merge_increment(store.read_table(qualified), frame, plan.key)
            else:
                merged = frame
            if plan is not None:
                watermark = highest_watermark(extract, plan.watermark, since)
                if watermark is not None:
                    new_watermarks.append((system, table, watermark, batch_id, extracted_at))
            store.replace_table(qualified, merged)
            context.log.info(
                f"{system}.{table}: {len(frame)} rows extracted "
                f"({'incremental since ' + str(since) if incremental else 'full'}), "
                f"{len(merged)} in raw, batch {batch_id}"
            )
            yield dg.MaterializeResult(
                asset_key=raw_asset_key(system, table),
                metadata={
                    "dagster/row_count": dg.MetadataValue.int(len(merged)),
                    "extracted_rows": dg.MetadataValue.int(len(frame)),
                    SOURCE_ROW_COUNT: dg.MetadataValue.int(source_rows),
                    "mode": "incremental" if incremental else "full",
                    "watermark_from": str(since) if since is not None else "",
                    "batch_id": batch_id,
                    "landing_file": dg.MetadataValue.path(str(landed)),
                    "columns": dg.MetadataValue.json(
                        [c for c in frame.columns if not c.startswith("_")]
                    ),
                },
            )
        if new_watermarks:
            replaced = mine & every_watermark["table_name"].isin([row[1] for row in new_watermarks])
            parts = [every_watermark[~replaced]] if (~replaced).any() else []
            updated = pd.concat(
                [*parts, pd.DataFrame(new_watermarks, columns=list(WATERMARK_COLUMNS))],
                ignore_index=True,
            )
            updated["extracted_at"] = pd.to_datetime(updated["extracted_at"], utc=True)
            updated["extracted_at"] = updated["extracted_at"].dt.tz_localize(None)
            store.replace_table(WATERMARKS, updated.astype({"watermark": str}))

    return extract
