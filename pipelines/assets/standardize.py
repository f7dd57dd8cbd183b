"""Standardize: every source's party table → canonical party records, and a quarantine."""

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from matching.standardize import IdentifierMapping, SourceMapping, standardize_source
from pipelines.assets.extract import raw_asset_key, raw_table_name
from pipelines.mdm_config import MdmConfig
from pipelines.resources import WarehouseResource

PARTY_RECORDS = dg.AssetKey(["mdm", "party_records"])
QUARANTINE = dg.AssetKey(["mdm", "quarantine"])


def source_mapping(system: str, config: MdmConfig) -> SourceMapping:
    source = config.sources[system]
    table = source.identifiers
    return SourceMapping(
        source_system=system,
        key_column=source.key_column,
        mapping=dict(source.mapping),
        trust_rank=source.trust_rank,
        id_type_codes=source.id_type_codes,
        default_id_type=source.default_id_type,
        gender_codes=source.gender_codes,
        identifiers=None
        if table is None
        else IdentifierMapping(
            table=table.table,
            key_column=table.key_column,
            number_column=table.number_column,
            type_column=table.type_column,
            type_codes=table.type_codes,
            default_type=table.default_type,
        ),
    )


def build_standardize_asset(config: MdmConfig) -> dg.AssetsDefinition:
    raw_tables = [raw_asset_key(s, c.party_table) for s, c in config.sources.items()] + [
        raw_asset_key(s, c.identifiers.table)
        for s, c in config.sources.items()
        if c.identifiers is not None
    ]

    @dg.multi_asset(
        name="standardize_party_records",
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
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.MaterializeResult]:
        store = warehouse.open()
        now = pd.Timestamp.now(tz="UTC").tz_localize(None)
        records, quarantined = [], []
        per_source: dict[str, dict[str, int]] = {}
        issues: dict[str, int] = {}
        for system, source in config.sources.items():
            raw = store.read_table(f"raw.{raw_table_name(system, source.party_table)}")
            identifiers = (
                store.read_table(f"raw.{raw_table_name(system, source.identifiers.table)}")
                if source.identifiers is not None
                else None
            )
            batch_id = str(raw["_batch_id"].iloc[0]) if len(raw) else "empty"
            result = standardize_source(
                raw,
                source_mapping(system, config),
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
        store.replace_tables({"mdm.party_records": party, "mdm.quarantine": quarantine})
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
