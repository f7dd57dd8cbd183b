"""Publish: swap the finished warehouse in as the API's read-only serving snapshot."""

import dagster as dg

from pipelines.resources import StorePathsResource, WarehouseResource


def build_publish_asset(upstream: list[dg.AssetsDefinition | dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(["serving", "snapshot"]),
        deps=upstream,
        group_name="publish",
        kinds={"duckdb"},
        owners=["team:data-engineering"],
        pool="warehouse",
        description="The read-only snapshot the API serves, swapped in at the end of a run.",
    )
    def serving_snapshot(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, stores: StorePathsResource
    ) -> dg.MaterializeResult:
        from pathlib import Path

        published = warehouse.open().publish(
            Path(stores.serving_path), drop_schemas=("staging", "intermediate")
        )
        context.log.info(f"published {published}")
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(published)),
                "bytes": published.stat().st_size,
            }
        )

    return serving_snapshot
