"""Golden records: survivorship, persistent golden IDs, cross-reference and events.

Wiring over `connectors.pipeline_stages.survive_all` (a full run) and
`connectors.incremental.survive_incrementally` (an incremental run)."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import pandas as pd

from connectors import tables
from connectors.incremental import TOUCHED_RECORDS, changed_records_of, survive_incrementally
from connectors.pipeline_stages import steward_constraints, survive_all
from connectors.warehouse import Warehouse
from matching.incremental import pending_decisions
from pipelines.assets.match import CLUSTERS, SCORED_PAIRS
from pipelines.assets.standardize import PARTY_RECORDS
from pipelines.mdm_config import MdmConfig
from pipelines.resources import OpsStoreResource, WarehouseResource

GOLDEN_RECORDS = dg.AssetKey(["mdm", "golden_records"])
XREF = dg.AssetKey(["mdm", "xref"])
GOLDEN_LINEAGE = dg.AssetKey(["mdm", "golden_lineage"])
GOLDEN_EVENTS = dg.AssetKey(["mdm", "golden_events"])
GOLDEN_HISTORY = dg.AssetKey(["mdm", "golden_history"])
CHANGE_OUTBOX = dg.AssetKey(["mdm", "change_outbox"])


def build_golden_asset(config: MdmConfig) -> dg.AssetsDefinition:
    deps = [PARTY_RECORDS, SCORED_PAIRS, CLUSTERS]
    spec: dict[str, Any] = dict(
        group_name="golden", kinds={"duckdb", "pandas"}, owners=["team:data-stewards"], deps=deps
    )

    @dg.multi_asset(
        name="build_golden_records",
        specs=[
            dg.AssetSpec(
                GOLDEN_RECORDS, description="One golden record per real customer.", **spec
            ),
            dg.AssetSpec(
                XREF, description="Every source record → its golden ID, with the evidence.", **spec
            ),
            dg.AssetSpec(
                GOLDEN_LINEAGE,
                description="Which source record and rule gave each golden attribute.",
                **spec,
            ),
            dg.AssetSpec(
                GOLDEN_HISTORY,
                description="Every version of every golden record, valid from / valid to.",
                **spec,
            ),
            dg.AssetSpec(
                GOLDEN_EVENTS,
                description="Create / update / merge / split / retire history of golden IDs.",
                **spec,
            ),
            dg.AssetSpec(
                CHANGE_OUTBOX,
                description="The change feed: every golden event numbered for consumers and "
                "the broker publisher, written with the golden change it announces.",
                **spec,
            ),
        ],
        pool="warehouse",
    )
    def golden(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, ops: OpsStoreResource
    ) -> Iterator[dg.MaterializeResult]:
        store = warehouse.open()
        if changed_records_of(store, TOUCHED_RECORDS, context.run_id) is not None:
            yield from _survive_region(context, store, ops, config)
            return
        survived = survive_all(
            store,
            survivorship=config.survivorship,
            decisions=ops.decisions(),
            run_id=context.run_id,
            now=_now(),
        )
        result, history, events, outbox = (
            survived.result,
            survived.history,
            survived.events,
            survived.outbox,
        )
        active = int((result.golden_records["status"] == "active").sum())
        context.log.info(f"golden records: {active} active, events {result.event_counts}")
        yield dg.MaterializeResult(
            asset_key=GOLDEN_RECORDS,
            metadata={
                "dagster/row_count": dg.MetadataValue.int(len(result.golden_records)),
                "active": dg.MetadataValue.int(active),
                "events_this_run": dg.MetadataValue.json(result.event_counts),
            },
        )
        yield dg.MaterializeResult(
            asset_key=XREF, metadata={"dagster/row_count": dg.MetadataValue.int(len(result.xref))}
        )
        yield dg.MaterializeResult(
            asset_key=GOLDEN_LINEAGE,
            metadata={"dagster/row_count": dg.MetadataValue.int(len(result.lineage))},
        )
        yield dg.MaterializeResult(
            asset_key=GOLDEN_HISTORY,
            metadata={
                "dagster/row_count": dg.MetadataValue.int(len(history)),
                "open_versions": dg.MetadataValue.int(int(history["valid_to"].isna().sum())),
            },
        )
        yield dg.MaterializeResult(
            asset_key=GOLDEN_EVENTS,
            metadata={"dagster/row_count": dg.MetadataValue.int(len(events))},
        )
        yield dg.MaterializeResult(
            asset_key=CHANGE_OUTBOX,
            metadata={
                "dagster/row_count": dg.MetadataValue.int(len(outbox)),
                "appended": dg.MetadataValue.int(survived.appended),
                "last_seq": dg.MetadataValue.int(int(outbox["seq"].max()) if len(outbox) else 0),
            },
        )

    return golden


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")


def _survive_region(
    context: dg.AssetExecutionContext,
    store: Warehouse,
    ops: OpsStoreResource,
    config: MdmConfig,
) -> Iterator[dg.MaterializeResult]:
    """An incremental run's golden step: only the clusters its match step re-clustered."""
    decisions = ops.decisions()
    prior_events = store.read_table(tables.GOLDEN_EVENTS)
    prior_xref = store.read_table(tables.XREF, ["record_key", "match_rule"])
    result, history, region = survive_incrementally(
        store,
        survivorship=config.survivorship,
        constraints=steward_constraints(store, decisions),
        decisions=decisions,
        credited=pending_decisions(decisions, prior_events, prior_xref),
        run_id=context.run_id,
        now=_now(),
    )
    context.log.info(f"incremental: {region} records re-survived, events {result.event_counts}")
    rows = {
        GOLDEN_RECORDS: len(result.golden_records),
        XREF: len(result.xref),
        GOLDEN_LINEAGE: len(result.lineage),
        GOLDEN_HISTORY: len(history),
        GOLDEN_EVENTS: len(result.events),
    }
    rows[CHANGE_OUTBOX] = len(result.events)  # one feed event per golden event
    for key, count in rows.items():
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={"mode": "incremental", "rows_rewritten": dg.MetadataValue.int(count)},
        )
