"""Match: candidate pairs scored by the model and rules, then clusters of the same person."""

from collections.abc import Iterator
from dataclasses import asdict

import dagster as dg
import pandas as pd

from connectors.incremental import CHANGED_RECORDS, changed_records_of, match_incrementally
from connectors.warehouse import Warehouse
from matching import link
from matching.clustering import oversized_frame
from matching.evaluation import evaluate_clusters
from matching.incremental import applied_config_json, pending_decisions
from matching.online import substitutions_json
from matching.standardize import standardization_accuracy
from matching.stewardship import Constraints, constraints_from_decisions
from pipelines.assets.standardize import PARTY_RECORDS
from pipelines.mdm_config import MdmConfig
from pipelines.resources import OpsStoreResource, StorePathsResource, WarehouseResource

SCORED_PAIRS = dg.AssetKey(["mdm", "scored_pairs"])


def steward_constraints(store: Warehouse, ops: OpsStoreResource) -> Constraints:
    """The active steward decisions as constraints, against the last run's golden IDs."""
    xref = store.read_table("mdm.xref") if store.table_exists("mdm.xref") else None
    golden = (
        store.read_table("mdm.golden_records", ["golden_id", "survivor_id"])
        if store.table_exists("mdm.golden_records")
        else None
    )
    ops_store = ops.open()
    try:
        return constraints_from_decisions(ops_store.decisions(), xref, golden)
    finally:
        ops_store.dispose()


def pending_decision_records(store: Warehouse, ops: OpsStoreResource) -> pd.Index:
    """The records the decisions no run has applied yet name (directly or by golden ID): an
    incremental run re-clusters them too, so it applies every pending decision as a full
    run would."""
    ops_store = ops.open()
    try:
        decisions = ops_store.decisions()
    finally:
        ops_store.dispose()
    xref = store.read_table("mdm.xref", ["record_key", "golden_id", "match_rule"])
    events = (
        store.read_table("mdm.golden_events", ["decision_id"])
        if store.table_exists("mdm.golden_events")
        else None
    )
    pending = pending_decisions(decisions, events, xref)
    if pending.empty:
        return pd.Index([], dtype=object)
    named = pd.concat([pending[c] for c in ("record_key_l", "record_key_r")]).dropna()
    goldens = pd.concat([pending[c] for c in ("golden_id", "related_golden_id")]).dropna()
    of_goldens = xref.loc[xref["golden_id"].isin(goldens), "record_key"]
    return pd.Index(pd.unique(pd.concat([named, of_goldens]).to_numpy(dtype=object)))


CLUSTERS = dg.AssetKey(["mdm", "clusters"])
MATCH_EVALUATION_TABLE = "mdm.match_evaluation"
ACCURACY_TABLE = "mdm.standardization_accuracy"


def build_match_asset(config: MdmConfig) -> dg.AssetsDefinition:
    @dg.multi_asset(
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
    def match(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        stores: StorePathsResource,
        ops: OpsStoreResource,
    ) -> Iterator[dg.MaterializeResult]:
        store = warehouse.open()
        constraints = steward_constraints(store, ops)
        changed = changed_records_of(store, CHANGED_RECORDS, context.run_id)
        if changed is not None and all(
            store.table_exists(t) for t in ("mdm.scored_pairs", "mdm.xref", "mdm.match_model")
        ):
            # An incremental run: the changed records against every record, the stored model.
            delta = match_incrementally(
                store,
                changed.union(pending_decision_records(store, ops)),
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
        records = store.read_table("mdm.party_records")
        result = link(
            records,
            config.matching,
            must_link=constraints.must_link,
            cannot_link=constraints.cannot_link,
        )
        oversized = oversized_frame(result.review_clusters)
        tables = {
            "mdm.scored_pairs": result.scored_pairs,
            "mdm.clusters": result.clusters,
            "mdm.oversized_clusters": oversized,
            "mdm.match_model": pd.DataFrame(
                [
                    {
                        "run_id": context.run_id,
                        "model_json": result.model.to_json(),
                        # A quick apply of a steward decision re-clusters with the rules
                        # this run clustered with (connectors/steward_apply.py).
                        "config_json": applied_config_json(config.matching, config.survivorship),
                        # And the look-alike spellings it compared names with, so that
                        # `POST /match` spells a new customer's name as this run did.
                        "lookalike_json": substitutions_json(result.lookalike_substitutions),
                    }
                ]
            ),
        }
        evaluation_metadata: dict[str, dg.RawMetadataValue] = {}
        truth_path = config.evaluation.ground_truth
        if truth_path is not None and truth_path.exists():
            truth = pd.read_parquet(truth_path)
            scores = evaluate_clusters(result.clusters, truth)
            row = {"run_id": context.run_id, **asdict(scores)}
            tables[MATCH_EVALUATION_TABLE] = pd.DataFrame([row])
            people_path = truth_path.with_name("people.parquet")
            if people_path.exists():
                accuracy = standardization_accuracy(records, truth, pd.read_parquet(people_path))
                tables[ACCURACY_TABLE] = accuracy.assign(run_id=context.run_id)
            evaluation_metadata = {
                "pairwise_precision": dg.MetadataValue.float(float(scores.precision)),
                "pairwise_recall": dg.MetadataValue.float(float(scores.recall)),
                "pairwise_f1": dg.MetadataValue.float(float(scores.f1)),
            }
        store.replace_tables(tables)
        stores.models_dir.mkdir(parents=True, exist_ok=True)
        model_path = stores.models_dir / f"model-{context.run_id}.json"
        model_path.write_text(result.model.to_json(), encoding="utf-8")
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
