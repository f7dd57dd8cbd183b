"""Stewardship: the review queue, and the sensor that applies new steward decisions."""

from collections.abc import Iterator

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,  # the public API returns it but does not export the name
)

from matching.model import FellegiSunterModel
from matching.stewardship import build_review_queue
from pipelines.assets.golden import GOLDEN_RECORDS, XREF
from pipelines.assets.match import CLUSTERS, SCORED_PAIRS
from pipelines.resources import OpsStoreResource, WarehouseResource

REVIEW_QUEUE = dg.AssetKey(["mdm", "review_queue"])
APPLY_DECISIONS_JOB = "apply_steward_decisions"


def build_review_queue_asset() -> dg.AssetsDefinition:
    @dg.asset(
        key=REVIEW_QUEUE,
        deps=[SCORED_PAIRS, CLUSTERS, GOLDEN_RECORDS, XREF],
        group_name="stewardship",
        kinds={"duckdb"},
        owners=["team:data-stewards"],
        pool="warehouse",
        description="Undecided uncertain pairs and oversized clusters, by priority.",
    )
    def review_queue(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, ops: OpsStoreResource
    ) -> dg.MaterializeResult:
        store = warehouse.open()
        scored = store.query("select * from mdm.scored_pairs where zone = 'review'")
        records = store.read_table("mdm.party_records")
        model = FellegiSunterModel.from_json(
            str(store.query("select model_json from mdm.match_model").iloc[0, 0])
        )
        oversized = store.read_table("mdm.oversized_clusters")
        ops_store = ops.open()
        try:
            decisions = ops_store.decisions()
        finally:
            ops_store.dispose()
        xref = store.read_table("mdm.xref", ["record_key", "golden_id"]).set_index("record_key")
        value = None
        if store.table_exists("marts.customer_360"):
            # Customer value from the last published marts: the assets of the golden customer.
            aum = store.query("select golden_id, total_aum from marts.customer_360")
            aum_by_golden = aum.set_index("golden_id")["total_aum"].astype(float)
            value = xref["golden_id"].map(aum_by_golden).fillna(0.0)
        queue = build_review_queue(
            scored,
            records,
            model,
            decisions,
            customer_value=value,
            review_clusters=[keys.split(",") for keys in oversized["record_keys"]],
        )
        queue.insert(3, "golden_id_l", xref["golden_id"].reindex(queue["record_key_l"]).to_numpy())
        queue.insert(4, "golden_id_r", xref["golden_id"].reindex(queue["record_key_r"]).to_numpy())
        queue.insert(0, "run_id", context.run_id)
        store.replace_table("mdm.review_queue", queue)
        by_type = queue["item_type"].value_counts().to_dict() if len(queue) else {}
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": dg.MetadataValue.int(len(queue)),
                "items_by_type": dg.MetadataValue.json(
                    {str(k): int(v) for k, v in by_type.items()}
                ),
                "share_of_records": dg.MetadataValue.float(
                    float(len(queue)) / max(len(records), 1)
                ),
            }
        )

    return review_queue


def build_apply_decisions_job() -> UnresolvedAssetJobDefinition:
    """Re-cluster → golden → review queue → marts → publish, without re-extracting."""
    return dg.define_asset_job(
        APPLY_DECISIONS_JOB,
        selection=dg.AssetSelection.assets(SCORED_PAIRS, CLUSTERS).downstream(),
        description="Apply new steward decisions: re-cluster, golden records, marts, publish.",
    )


def build_decisions_sensor(job: UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        job=job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Starts a re-cluster run when stewards have recorded new decisions.",
    )
    def steward_decisions_sensor(
        context: dg.SensorEvaluationContext, ops: OpsStoreResource
    ) -> Iterator[dg.RunRequest | dg.SkipReason]:
        ops_store = ops.open()
        try:
            latest = ops_store.latest_decision_id()
        finally:
            ops_store.dispose()
        seen = int(context.cursor or 0)
        if latest <= seen:
            yield dg.SkipReason(f"no decisions after #{seen}")
            return
        context.update_cursor(str(latest))
        yield dg.RunRequest(
            run_key=f"decisions-through-{latest}",
            tags={"mdm/trigger": "steward_decisions", "mdm/decisions_through": str(latest)},
        )

    return steward_decisions_sensor


__all__ = [
    "APPLY_DECISIONS_JOB",
    "REVIEW_QUEUE",
    "build_apply_decisions_job",
    "build_decisions_sensor",
    "build_review_queue_asset",
]
