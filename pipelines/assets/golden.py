"""Golden records: survivorship, persistent golden IDs, cross-reference and events."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import pandas as pd

from connectors.incremental import TOUCHED_RECORDS, changed_records_of, survive_incrementally
from connectors.warehouse import Warehouse
from matching.golden import (
    build_golden_records,
    outbox_rows,
    update_history,
    with_event_columns,
)
from matching.incremental import credit_events, decision_placements, pending_decisions
from pipelines.assets.match import CLUSTERS, SCORED_PAIRS, steward_constraints
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
        records = store.read_table("mdm.party_records")
        clusters = store.read_table("mdm.clusters")
        pairs = store.read_table("mdm.scored_pairs")
        prior_golden = (
            store.read_table("mdm.golden_records")
            if store.table_exists("mdm.golden_records")
            else None
        )
        prior_xref = store.read_table("mdm.xref") if store.table_exists("mdm.xref") else None
        prior_events = (
            store.read_table("mdm.golden_events")
            if store.table_exists("mdm.golden_events")
            else None
        )
        ops_store = ops.open()
        try:
            decisions = ops_store.decisions()
        finally:
            ops_store.dispose()
        now = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
        result = build_golden_records(
            records,
            clusters,
            config.survivorship,
            run_id=context.run_id,
            now=now,
            scored_pairs=pairs,
            prior_golden=prior_golden,
            prior_xref=prior_xref,
            preferred_golden_ids=steward_constraints(store, ops).preferred_golden_ids,
            placements=decision_placements(decisions, clusters),
        )
        # Decisions a quick apply (`mdm review apply`) has not applied are credited here.
        result.events = credit_events(
            result.events,
            pending_decisions(decisions, prior_events, prior_xref),
            xref=result.xref,
            prior_xref=prior_xref,
        )
        prior_history = (
            store.read_table("mdm.golden_history")
            if store.table_exists("mdm.golden_history")
            else None
        )
        history = update_history(
            prior_history, result.golden_records, now=now, run_id=context.run_id
        )
        events = result.events
        if prior_events is not None and len(prior_events):
            events = with_event_columns(
                pd.concat([prior_events, events], ignore_index=True)
                if len(events)
                else prior_events
            )
        # Every logged event not yet in the outbox (this run's, or all of them the first time
        # a warehouse has an outbox) is appended, numbered on from the last.
        prior_outbox = (
            store.read_table("mdm.change_outbox")
            if store.table_exists("mdm.change_outbox")
            else None
        )
        fresh = outbox_rows(
            events,
            last_seq=int(prior_outbox["seq"].max())
            if prior_outbox is not None and len(prior_outbox)
            else 0,
            published=prior_outbox["event_id"] if prior_outbox is not None else None,
        )
        outbox = (
            pd.concat([prior_outbox, fresh], ignore_index=True)
            if prior_outbox is not None and len(prior_outbox)
            else fresh
        )
        # One transaction: a failure leaves the previous golden records, xref and events intact,
        # and the outbox without an event for a change that was not committed.
        store.replace_tables(
            {
                "mdm.golden_records": result.golden_records,
                "mdm.xref": result.xref,
                "mdm.golden_lineage": result.lineage,
                "mdm.golden_events": events,
                "mdm.golden_history": history,
                "mdm.change_outbox": outbox,
            }
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
                "appended": dg.MetadataValue.int(len(fresh)),
                "last_seq": dg.MetadataValue.int(int(outbox["seq"].max()) if len(outbox) else 0),
            },
        )

    return golden


def _survive_region(
    context: dg.AssetExecutionContext,
    store: Warehouse,
    ops: OpsStoreResource,
    config: MdmConfig,
) -> Iterator[dg.MaterializeResult]:
    """An incremental run's golden step: only the clusters its match step re-clustered."""
    ops_store = ops.open()
    try:
        decisions = ops_store.decisions()
    finally:
        ops_store.dispose()
    prior_events = store.read_table("mdm.golden_events")
    prior_xref = store.read_table("mdm.xref", ["record_key", "match_rule"])
    result, history, region = survive_incrementally(
        store,
        survivorship=config.survivorship,
        constraints=steward_constraints(store, ops),
        decisions=decisions,
        credited=pending_decisions(decisions, prior_events, prior_xref),
        run_id=context.run_id,
        now=pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s"),
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
