"""Standardize: every source's party table → canonical party records, and a quarantine."""

from collections.abc import Iterator
from typing import Literal

import dagster as dg
import pandas as pd

from connectors import tables
from connectors.incremental import (
    CHANGED_RECORDS,
    PARTY_ROW_HASHES,
    changed_record_keys,
    changed_records_table,
    merge_standardized,
    record_row_hashes,
    source_record_keys,
)
from connectors.tables import raw_table
from matching.standardize import SourceMapping, standardize_source
from pipelines.assets.extract import raw_asset_key
from pipelines.mdm_config import MdmConfig
from pipelines.resources import WarehouseResource

PARTY_RECORDS = dg.AssetKey(["mdm", "party_records"])
QUARANTINE = dg.AssetKey(["mdm", "quarantine"])
# The op that standardizes: its run config takes `mode` (full / incremental).
STANDARDIZE_OP = "standardize_party_records"


def source_mapping(system: str, config: MdmConfig) -> SourceMapping:
    """The validated `sources:` entry as the standardizer's mapping (the one constructor the
    benchmarks, the preflight and the tests use too)."""
    return SourceMapping.from_config(system, config.sources[system].model_dump())


class StandardizeConfig(dg.Config):
    """`incremental` standardizes again only the records whose raw rows changed since the
    last standardization (new, changed, gone: by their rows' hash) and merges them in; the
    match and golden steps then work on those records only. `full` (and the first run)
    standardizes every row."""

    mode: Literal["full", "incremental"] = "full"


def _quarantine_keys(quarantine: pd.DataFrame) -> pd.Series:
    return (
        quarantine["source_system"].astype(str) + ":" + quarantine["source_record_id"].astype(str)
    )


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
        store = warehouse.open()
        now = pd.Timestamp.now(tz="UTC").tz_localize(None)
        incremental = (
            config.mode == "incremental"
            and store.table_exists(PARTY_ROW_HASHES)
            and store.table_exists(tables.PARTY_RECORDS)
        )
        raws: dict[str, tuple[pd.DataFrame, pd.DataFrame | None]] = {}
        hashes = []
        for system, source in mdm_config.sources.items():
            raw = store.read_table(raw_table(system, source.party_table))
            identifiers = (
                store.read_table(raw_table(system, source.identifiers.table))
                if source.identifiers is not None
                else None
            )
            raws[system] = (raw, identifiers)
            hashes.append(
                record_row_hashes(
                    raw,
                    system=system,
                    key_column=source.key_column,
                    identifiers=identifiers,
                    identifiers_key_column=(
                        source.identifiers.key_column if source.identifiers else None
                    ),
                )
            )
        row_hashes = pd.concat(hashes, ignore_index=True)
        changed = (
            changed_record_keys(row_hashes, store.read_table(PARTY_ROW_HASHES))
            if incremental
            else None
        )
        records, quarantined = [], []
        per_source: dict[str, dict[str, int]] = {}
        issues: dict[str, int] = {}
        for system, source in mdm_config.sources.items():
            raw, identifiers = raws[system]
            if changed is not None:
                mine = source_record_keys(raw, system=system, key_column=source.key_column)
                raw = raw[mine.isin(changed).to_numpy(dtype=bool)]
                if identifiers is not None and source.identifiers is not None:
                    owners = source_record_keys(
                        identifiers, system=system, key_column=source.identifiers.key_column
                    )
                    identifiers = identifiers[owners.isin(changed).to_numpy(dtype=bool)]
            batch_id = str(raw["_batch_id"].iloc[0]) if len(raw) else "empty"
            result = standardize_source(
                raw,
                source_mapping(system, mdm_config),
                batch_id=batch_id,
                now=now,
                identifiers=identifiers,
            )
            records.append(result.records)
            quarantined.append(result.quarantine)
            per_source[system] = {
                "raw": len(raw),
                "records": len(result.records),
                "quarantined": len(result.quarantine),
            }
            if identifiers is not None:
                per_source[system]["identifier_rows"] = len(identifiers)
            for rule, count in result.issue_counts.items():
                issues[f"{system}:{rule}"] = int(count)
        party = pd.concat(records, ignore_index=True)
        quarantine = pd.concat(quarantined, ignore_index=True)
        if changed is not None:
            # The match and golden steps of this run read CHANGED_RECORDS back: only these.
            merge_standardized(store, changed, party, quarantine, row_hashes, context.run_id)
            context.log.info(f"incremental: {len(changed)} records new, changed or gone")
            party = store.read_table(tables.PARTY_RECORDS, ["record_key"])
            quarantine = store.read_table(tables.QUARANTINE)
        else:
            store.replace_tables(
                {
                    tables.PARTY_RECORDS: party,
                    tables.QUARANTINE: quarantine,
                    PARTY_ROW_HASHES: row_hashes,
                    CHANGED_RECORDS: changed_records_table(pd.Index([]), ""),
                }
            )
        by_rule = (
            quarantine.groupby(["source_system", "rule"]).size().rename("rows").reset_index()
            if len(quarantine)
            else pd.DataFrame(columns=["source_system", "rule", "rows"])
        )
        context.log.info(f"party records {len(party)}, quarantined {len(quarantine)}")
        yield dg.MaterializeResult(
            asset_key=PARTY_RECORDS,
            metadata={
                "dagster/row_count": dg.MetadataValue.int(len(party)),
                "mode": "incremental" if changed is not None else "full",
                "records_standardized_again": dg.MetadataValue.int(
                    len(changed) if changed is not None else len(party)
                ),
                "rows_per_source": dg.MetadataValue.json(per_source),
                "field_issues": dg.MetadataValue.json(issues),
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
