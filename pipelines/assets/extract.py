"""Extract: each source system's tables → an immutable landing batch → the warehouse raw schema.

Wiring over `connectors.extract` (per table: read, land, merge into raw; the watermarks)."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Literal

import dagster as dg

from connectors.config import SourceConfig
from connectors.extract import extract_table, read_watermarks, save_watermarks, source_watermarks
from connectors.landing import new_batch_id
from connectors.source_counts import SOURCE_ROW_COUNT
from connectors.tables import raw_table_name
from pipelines.resources import StorePathsResource, WarehouseResource


def raw_asset_key(system: str, table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", raw_table_name(system, table)])


class ExtractConfig(dg.Config):
    """`full` re-reads every table; `incremental` reads only rows changed since the last run
    for the tables the source declares incremental (the rest are read in full)."""

    mode: Literal["full", "incremental"] = "full"


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
        every_watermark = read_watermarks(store)
        previous = source_watermarks(every_watermark, system)
        extracts = []
        for table in source.tables:
            done = extract_table(
                store,
                source,
                system=system,
                table=table,
                incremental_mode=config.mode == "incremental",
                previous=previous,
                batch_id=batch_id,
                extracted_at=extracted_at,
                landing_dir=stores.landing_dir,
            )
            extracts.append(done)
            frame = done.extracted
            context.log.info(
                f"{system}.{table}: {len(frame)} rows extracted "
                f"({'incremental since ' + str(done.since) if done.incremental else 'full'}), "
                f"{done.raw_rows} in raw, batch {batch_id}"
            )
            yield dg.MaterializeResult(
                asset_key=raw_asset_key(system, table),
                metadata={
                    "dagster/row_count": dg.MetadataValue.int(done.raw_rows),
                    "extracted_rows": dg.MetadataValue.int(len(frame)),
                    SOURCE_ROW_COUNT: dg.MetadataValue.int(done.source_rows),
                    "mode": "incremental" if done.incremental else "full",
                    "watermark_from": str(done.since) if done.since is not None else "",
                    "batch_id": batch_id,
                    "landing_file": dg.MetadataValue.path(str(done.landing_file)),
                    "columns": dg.MetadataValue.json(
                        [c for c in frame.columns if not c.startswith("_")]
                    ),
                },
            )
        save_watermarks(
            store,
            every_watermark,
            system=system,
            extracts=extracts,
            batch_id=batch_id,
            extracted_at=extracted_at,
        )

    return extract
