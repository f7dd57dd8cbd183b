"""Extract: each source system's tables → an immutable landing batch → the warehouse raw schema."""

from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from connectors.config import SourceConfig
from connectors.landing import new_batch_id, with_lineage, write_batch
from connectors.sources import find_file, read_file_table, read_sql_table
from pipelines.resources import StorePathsResource, WarehouseResource


def raw_table_name(system: str, table: str) -> str:
    return f"{system}__{table.lower()}"


def raw_asset_key(system: str, table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", raw_table_name(system, table)])


def read_source_table(source: SourceConfig, table: str) -> pd.DataFrame:
    if source.connector == "sql":
        assert source.url is not None  # validated by SourceConfig
        chunks = list(read_sql_table(source.url, table))
        return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()
    assert source.path is not None
    return read_file_table(find_file(source.path, table), encoding=source.encoding)


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
        warehouse: WarehouseResource,
        stores: StorePathsResource,
    ) -> Iterator[dg.MaterializeResult]:
        batch_id = new_batch_id()
        extracted_at = datetime.now(UTC)
        store = warehouse.open()
        for table in source.tables:
            frame = with_lineage(read_source_table(source, table), batch_id, extracted_at)
            landed = write_batch(
                frame, landing_dir=stores.landing_dir, system=system, table=table, batch_id=batch_id
            )
            store.replace_table(f"raw.{raw_table_name(system, table)}", frame)
            context.log.info(f"{system}.{table}: {len(frame)} rows, batch {batch_id}")
            yield dg.MaterializeResult(
                asset_key=raw_asset_key(system, table),
                metadata={
                    "dagster/row_count": dg.MetadataValue.int(len(frame)),
                    "batch_id": batch_id,
                    "landing_file": dg.MetadataValue.path(str(landed)),
                    "columns": dg.MetadataValue.json(
                        [c for c in frame.columns if not c.startswith("_")]
                    ),
                },
            )

    return extract
