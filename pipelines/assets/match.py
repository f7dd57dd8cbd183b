"""Match: candidate pairs scored by the model and rules, then clusters of the same person.

Wiring over `connectors.pipeline_stages.match_all` (a full run) and
`connectors.incremental.match_incrementally` (an incremental run)."""

from collections.abc import Callable, Iterator
from functools import partial

import dagster as dg

from connectors.incremental import CHANGED_RECORDS, changed_records_of, match_incrementally
from connectors.pipeline_stages import (
    can_match_incrementally,
    match_all,
    pending_decision_records,
    save_model,
    steward_constraints,
)
from matching import LinkResult
from pipelines.assets.standardize import PARTY_RECORDS
from pipelines.mdm_config import MdmConfig
from pipelines.resources import (
    OpsStoreResource,
    SparkResource,
    StorePathsResource,
    WarehouseResource,
)

SCORED_PAIRS = dg.AssetKey(["mdm", "scored_pairs"])


CLUSTERS = dg.AssetKey(["mdm", "clusters"])


def build_match_asset(config: MdmConfig) -> dg.AssetsDefinition:
    decorator = dg.multi_asset(
        name="match_party_records",
        specs=[
            dg.AssetSpec(
                SCORED_PAIRS,
                description="Candidate pairs with field levels, match weight and zone.",
                group_name="match",
                kinds={"duckdb", "pandas"},
                owners=["team:data-engineering"],
                deps=[PARTY_RECORDS],
            ),
            dg.AssetSpec(
                CLUSTERS,
                description="Party records grouped into one cluster per real person.",
                group_name="match",
                kinds={"duckdb"},
                owners=["team:data-engineering"],
                deps=[PARTY_RECORDS],
            ),
        ],
        pool="warehouse",
    )
    match = _match_stage(config)

    if config.spark.engine == "spark":
        # Blocking, comparison and scoring on the session the `spark` resource provides.
        @decorator
        def match_on_spark(
            context: dg.AssetExecutionContext,
            warehouse: WarehouseResource,
            stores: StorePathsResource,
            ops: OpsStoreResource,
            spark: SparkResource,
        ) -> Iterator[dg.MaterializeResult]:
            from matching.spark import link_on_spark

            linker = partial(link_on_spark, spark.session())
            yield from match(context, warehouse, stores, ops, linker)

        return match_on_spark

    @decorator
    def match_here(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        stores: StorePathsResource,
        ops: OpsStoreResource,
    ) -> Iterator[dg.MaterializeResult]:
        yield from match(context, warehouse, stores, ops, None)

    return match_here


def _match_stage(
    config: MdmConfig,
) -> Callable[..., Iterator[dg.MaterializeResult]]:
    """The match asset's body, given the full run's linker (None: `matching.engine.link`)."""

    def match(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        stores: StorePathsResource,
        ops: OpsStoreResource,
        linker: Callable[..., LinkResult] | None,
    ) -> Iterator[dg.MaterializeResult]:
        store = warehouse.open()
        decisions = ops.decisions()
        constraints = steward_constraints(store, decisions)
        changed = changed_records_of(store, CHANGED_RECORDS, context.run_id)
        if changed is not None and can_match_incrementally(store):
            # An incremental run: the changed records against every record, the stored model.
            delta = match_incrementally(
                store,
                changed.union(pending_decision_records(store, decisions)),
                matching=config.matching,
                constraints=constraints,
                run_id=context.run_id,
            )
            context.log.info(
                f"incremental: {len(changed)} changed records, {delta.candidate_pairs} pairs "
                f"scored, {len(delta.record_keys)} records re-clustered"
            )
            summary: dict[str, dg.RawMetadataValue] = {
                "mode": "incremental",
                "changed_records": dg.MetadataValue.int(len(changed)),
                "seconds_per_stage": dg.MetadataValue.json(delta.timings),
            }
            yield dg.MaterializeResult(
                asset_key=SCORED_PAIRS,
                metadata={**summary, "pairs_scored": dg.MetadataValue.int(delta.candidate_pairs)},
            )
            yield dg.MaterializeResult(
                asset_key=CLUSTERS,
                metadata={
                    **summary,
                    "records_reclustered": dg.MetadataValue.int(len(delta.record_keys)),
                },
            )
            return
        matched = match_all(
            store,
            matching=config.matching,
            survivorship=config.survivorship,
            constraints=constraints,
            run_id=context.run_id,
            ground_truth=config.evaluation.ground_truth,
            linker=linker,
        )
        result = matched.result
        evaluation_metadata: dict[str, dg.RawMetadataValue] = {}
        if matched.evaluation is not None:
            scores = matched.evaluation.scores
            evaluation_metadata = {
                "pairwise_precision": dg.MetadataValue.float(float(scores.precision)),
                "pairwise_recall": dg.MetadataValue.float(float(scores.recall)),
                "pairwise_f1": dg.MetadataValue.float(float(scores.f1)),
            }
        model_path = save_model(result, stores.models_dir, context.run_id)
        report = result.blocking_report
        clusters = result.clusters
        multi = int((clusters.drop_duplicates("cluster_id")["cluster_size"] > 1).sum())
        yield dg.MaterializeResult(
            asset_key=SCORED_PAIRS,
            metadata={
                "dagster/row_count": dg.MetadataValue.int(len(result.scored_pairs)),
                "zones": dg.MetadataValue.json({k: int(v) for k, v in result.zone_counts.items()}),
                "pairs_per_blocking_rule": dg.MetadataValue.json(
                    {k: int(v) for k, v in report.pairs_per_rule.items()}
                ),
                "reduction_ratio": dg.MetadataValue.float(float(report.reduction_ratio)),
                "model_artifact": dg.MetadataValue.path(str(model_path)),
            },
        )
        yield dg.MaterializeResult(
            asset_key=CLUSTERS,
            metadata={
                "dagster/row_count": dg.MetadataValue.int(len(clusters)),
                "clusters": dg.MetadataValue.int(int(clusters["cluster_id"].nunique())),
                "multi_record_clusters": dg.MetadataValue.int(multi),
                "review_clusters": dg.MetadataValue.int(len(result.review_clusters)),
                "steward_must_links": dg.MetadataValue.int(len(constraints.must_link)),
                "steward_cannot_links": dg.MetadataValue.int(len(constraints.cannot_link)),
                **evaluation_metadata,
            },
        )

    return match
