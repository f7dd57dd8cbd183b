"""Publish: swap the finished warehouse in as the API's read-only serving snapshot."""

import dagster as dg

from pipelines.resources import StorePathsResource, WarehouseResource
from pipelines.runs import run_records
from quality.runs import RUNS_TABLE, as_published


def build_publish_asset(upstream: list[dg.AssetsDefinition | dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(["serving", "snapshot"]),
        deps=upstream,
        group_name="publish",
        kinds={"duckdb"},
        owners=["team:data-engineering"],
        pool="warehouse",
        description="The read-only snapshot the API serves, swapped in at the end of a run, "
        "with the run list and quality results the auditor's console reads.",
    )
    def serving_snapshot(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, stores: StorePathsResource
    ) -> dg.MaterializeResult:
        from pathlib import Path

        store = warehouse.open()
        # The auditor's console reads the runs from the snapshot: this run among them.
        store.replace_table(RUNS_TABLE, as_published(run_records(context.instance), context.run_id))
        published = store.publish(
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
