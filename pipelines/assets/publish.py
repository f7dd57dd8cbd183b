"""Publish: swap the finished warehouse in as the API's read-only serving snapshot, then apply
the online writes queued while the run held the home (`connectors.record_inbox`)."""

from pathlib import Path

import dagster as dg

from pipelines.resources import OpsStoreResource, StorePathsResource, WarehouseResource
from pipelines.runs import run_records
from quality.runs import RUNS_TABLE, as_published


def build_publish_asset(
    upstream: list[dg.AssetsDefinition | dg.AssetKey], config_path: Path | None = None
) -> dg.AssetsDefinition:
    """`config_path`: the mdm.yaml whose `sources:` map the queued online writes (default:
    the settings' default)."""

    @dg.asset(
        key=dg.AssetKey(["serving", "snapshot"]),
        deps=upstream,
        group_name="publish",
        kinds={"duckdb"},
        owners=["team:data-engineering"],
        pool="warehouse",
        description="The read-only snapshot the API serves, swapped in at the end of a run, "
        "with the run list and quality results the auditor's console reads; then the online "
        "writes (POST /records) queued during the run are applied to it, before the run lets "
        "go of the warehouse.",
    )
    def serving_snapshot(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        stores: StorePathsResource,
        ops: OpsStoreResource,
    ) -> dg.MaterializeResult:
        from connectors.record_inbox import drain
        from connectors.settings import Settings

        store = warehouse.open()
        # The auditor's console reads the runs from the snapshot: this run among them.
        store.replace_table(RUNS_TABLE, as_published(run_records(context.instance), context.run_id))
        published = store.publish(
            Path(stores.serving_path), drop_schemas=("staging", "intermediate")
        )
        context.log.info(f"published {published}")
        # The run still holds the home's lock (re-entrant in this process): the queued writes
        # go in now, in order, before any later write can overtake them.
        settings = Settings(
            home=Path(stores.home),
            warehouse_url=warehouse.url,
            ops_url=ops.url,
            serving_path=Path(stores.serving_path),
        )
        if config_path is not None:
            settings = settings.model_copy(update={"config_path": config_path})
        metadata: dict[str, dg.MetadataValue] = {
            "path": dg.MetadataValue.path(str(published)),
            "bytes": dg.MetadataValue.int(published.stat().st_size),
        }
        try:
            drained = drain(settings, command=f"run {context.run_id}: drain the record inbox")
        except Exception as error:  # the snapshot is published: the API drains what is left
            context.log.warning(
                f"the record inbox was not drained ({type(error).__name__}); the API applies "
                "its queued writes once the run has ended"
            )
        else:
            metadata["inbox_applied"] = dg.MetadataValue.int(drained.applied)
            metadata["inbox_failed"] = dg.MetadataValue.int(drained.failed)
            if drained.applied or drained.failed:
                context.log.info(
                    f"record inbox: {drained.applied} queued write(s) applied, "
                    f"{drained.failed} failed, {drained.superseded} superseded"
                )
        return dg.MaterializeResult(metadata=metadata)

    return serving_snapshot
