"""Standardize: every source's party table → canonical party records, and a quarantine.

Wiring over `connectors.pipeline_stages.standardize_sources`."""

from collections.abc import Iterator
from typing import Literal

import dagster as dg
import pandas as pd

from connectors.pipeline_stages import standardize_sources
from pipelines.assets.extract import raw_asset_key
from pipelines.mdm_config import MdmConfig
from pipelines.resources import WarehouseResource

PARTY_RECORDS = dg.AssetKey(["mdm", "party_records"])
QUARANTINE = dg.AssetKey(["mdm", "quarantine"])
# The op that standardizes: its run config takes `mode` (full / incremental).
STANDARDIZE_OP = "standardize_party_records"


class StandardizeConfig(dg.Config):
    """`incremental` standardizes again only the records whose raw rows changed since the
    last standardization (new, changed, gone: by their rows' hash) and merges them in; the
    match and golden steps then work on those records only. `full` (and the first run)
    standardizes every row."""

    mode: Literal["full", "incremental"] = "full"


def build_standardize_asset(config: MdmConfig) -> dg.AssetsDefinition:
    mdm_config = config  # inside the asset, `config` is the run's StandardizeConfig
    raw_tables = [raw_asset_key(s, c.party_table) for s, c in config.sources.items()] + [
        raw_asset_key(s, c.identifiers.table)
        for s, c in config.sources.items()
        if c.identifiers is not None
    ]

    @dg.multi_asset(
        name=STANDARDIZE_OP,
        specs=[
            dg.AssetSpec(
                PARTY_RECORDS,
                description="One canonical party record per usable source customer row.",
                group_name="standardize",
                kinds={"duckdb", "pandas"},
                owners=["team:data-engineering"],
                deps=raw_tables,
            ),
            dg.AssetSpec(
                QUARANTINE,
                description="Every rejected source row, with its rule and raw payload.",
                group_name="standardize",
                kinds={"duckdb"},
                owners=["team:data-stewards"],
                deps=raw_tables,
            ),
        ],
        pool="warehouse",
    )
    def standardize(
        context: dg.AssetExecutionContext, config: StandardizeConfig, warehouse: WarehouseResource
    ) -> Iterator[dg.MaterializeResult]:
        outcome = standardize_sources(
            warehouse.open(),
            mdm_config.sources,
            incremental=config.mode == "incremental",
            run_id=context.run_id,
            now=pd.Timestamp.now(tz="UTC").tz_localize(None),
        )
        changed, quarantine = outcome.changed, outcome.quarantine
        if changed is not None:
            context.log.info(f"incremental: {len(changed)} records new, changed or gone")
        by_rule = (
            quarantine.groupby(["source_system", "rule"]).size().rename("rows").reset_index()
            if len(quarantine)
            else pd.DataFrame(columns=["source_system", "rule", "rows"])
        )
        context.log.info(f"party records {outcome.party_records}, quarantined {len(quarantine)}")
        yield dg.MaterializeResult(
            asset_key=PARTY_RECORDS,
            metadata={
                "dagster/row_count": dg.MetadataValue.int(outcome.party_records),
                "mode": "incremental" if changed is not None else "full",
                "records_standardized_again": dg.MetadataValue.int(
                    len(changed) if changed is not None else outcome.party_records
                ),
                "rows_per_source": dg.MetadataValue.json(outcome.per_source),
                "field_issues": dg.MetadataValue.json(outcome.issues),
            },
        )
        yield dg.MaterializeResult(
            asset_key=QUARANTINE,
            metadata={
                "dagster/row_count": dg.MetadataValue.int(len(quarantine)),
                "by_rule": dg.MetadataValue.md(
                    by_rule.to_markdown(index=False) if len(by_rule) else "none"
                ),
            },
        )

    return standardize
