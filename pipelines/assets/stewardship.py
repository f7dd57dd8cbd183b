"""Stewardship: the review queue, and the sensor that applies new steward decisions."""

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from connectors import review, tables
from connectors.warehouse import Warehouse
from matching import MatchingConfig
from matching.model import FellegiSunterModel
from matching.online import record_columns
from matching.stewardship import REVIEW_RECORD_FIELDS
from pipelines.assets.golden import GOLDEN_RECORDS, XREF
from pipelines.assets.match import CLUSTERS, SCORED_PAIRS
from pipelines.business_date import last_business_date, marts_run_config
from pipelines.resources import OpsStoreResource, WarehouseResource

REVIEW_QUEUE = dg.AssetKey(["mdm", "review_queue"])
REVIEW_QUESTIONS = dg.AssetKey(["mdm", "review_questions"])
#: The dbt mart the queue's priority reads each customer's assets from (connectors.review).
CUSTOMER_360 = dg.AssetKey(["marts", "customer_360"])
APPLY_DECISIONS_JOB = "apply_steward_decisions"


def review_record_columns(store: Warehouse, matching: MatchingConfig | None) -> list[str] | None:
    """The party columns the queue reads: what the comparisons and their term frequencies
    read (`matching.online.record_columns`) and what a steward sees side by side. None (every
    column) without the matching config."""
    if matching is None:
        return None
    present = list(store.query(f"select * from {tables.PARTY_RECORDS} limit 0").columns)
    wanted = [*record_columns(matching, present), *REVIEW_RECORD_FIELDS]
    return [c for c in dict.fromkeys(wanted) if c in present]


def build_review_queue_asset(matching: MatchingConfig | None = None) -> dg.AssetsDefinition:
    @dg.asset(
        key=REVIEW_QUEUE,
        deps=[SCORED_PAIRS, CLUSTERS, GOLDEN_RECORDS, XREF, CUSTOMER_360],
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
        scored = store.query(f"select * from {tables.SCORED_PAIRS} where zone = 'review'")
        records = store.read_table(tables.PARTY_RECORDS, review_record_columns(store, matching))
        model = FellegiSunterModel.from_json(
            str(store.query(f"select model_json from {tables.MATCH_MODEL}").iloc[0, 0])
        )
        oversized = store.read_table(tables.OVERSIZED_CLUSTERS)
        decisions = ops.decisions()
        xref = store.read_table(tables.XREF, ["record_key", "golden_id"]).set_index("record_key")
        queue = review.review_queue(
            store,
            scored,
            records,
            model,
            decisions,
            golden_ids=xref["golden_id"],
            review_clusters=[keys.split(",") for keys in oversized["record_keys"]],
            run_id=context.run_id,
        )
        store.replace_table(review.REVIEW_QUEUE_TABLE, queue)
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


def build_review_questions_asset() -> dg.AssetsDefinition:
    @dg.asset(
        key=REVIEW_QUESTIONS,
        deps=[REVIEW_QUEUE],
        group_name="stewardship",
        kinds={"duckdb"},
        owners=["team:data-stewards"],
        pool="warehouse",
        description="The review queue as questions: connected undecided pairs and oversized "
        "clusters, one item each, by priority.",
    )
    def review_questions(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        store = warehouse.open()
        queue = store.read_table(review.REVIEW_QUEUE_TABLE)
        golden_ids = store.read_table(tables.XREF, ["record_key", "golden_id"]).set_index(
            "record_key"
        )["golden_id"]
        questions = review.review_questions(
            store,
            queue,
            golden_ids=golden_ids,
            now=pd.Timestamp.now(tz="UTC").tz_localize(None),
            run_id=context.run_id,
        )
        store.replace_table(review.REVIEW_QUESTIONS_TABLE, questions)
        by_type = questions["question_type"].value_counts().to_dict() if len(questions) else {}
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": dg.MetadataValue.int(len(questions)),
                "questions_by_type": dg.MetadataValue.json(
                    {str(k): int(v) for k, v in by_type.items()}
                ),
                "queue_items": dg.MetadataValue.int(len(queue)),
            }
        )

    return review_questions


# Re-cluster → golden → review queue → marts → publish, without re-extracting. Defined once
# here (it depends on no configuration); Dagster's public API does not name its type.
apply_decisions_job = dg.define_asset_job(
    APPLY_DECISIONS_JOB,
    selection=dg.AssetSelection.assets(SCORED_PAIRS, CLUSTERS).downstream(),
    description="Apply new steward decisions: re-cluster, golden records, marts, publish.",
)


def build_decisions_sensor() -> dg.SensorDefinition:
    @dg.sensor(
        job_name=APPLY_DECISIONS_JOB,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Starts a re-cluster run when stewards have made, approved or revoked "
        "decisions.",
    )
    def steward_decisions_sensor(
        context: dg.SensorEvaluationContext, ops: OpsStoreResource
    ) -> Iterator[dg.RunRequest | dg.SkipReason]:
        ops_store = ops.open()
        try:
            # Approvals and revokes change the constraints as much as new decisions do; a
            # decision waiting for approval changes nothing yet.
            latest = ops_store.latest_change_id()
        finally:
            ops_store.dispose()
        seen = int(context.cursor or 0)
        if latest <= seen:
            yield dg.SkipReason(f"no decision changes after event #{seen}")
            return
        context.update_cursor(str(latest))
        # The marts it rebuilds stay at the business date the warehouse is at.
        as_of = last_business_date(context.instance)
        yield dg.RunRequest(
            run_key=f"decisions-through-{latest}",
            run_config=marts_run_config(as_of),
            tags={"mdm/trigger": "steward_decisions", "mdm/decisions_through": str(latest)},
        )

    return steward_decisions_sensor


__all__ = [
    "APPLY_DECISIONS_JOB",
    "REVIEW_QUESTIONS",
    "REVIEW_QUEUE",
    "apply_decisions_job",
    "build_decisions_sensor",
    "build_review_questions_asset",
    "build_review_queue_asset",
]
