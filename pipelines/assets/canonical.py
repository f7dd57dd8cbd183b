"""Canonicalize: every source's mapped activity tables → the canonical entity tables dbt reads.

Each entity's table is written on every run, empty when no source maps it, so the dbt
project builds the same models for any bank; `canonical.entity_coverage` says what was mapped.
"""

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from connectors.canonical import (
    REJECTED_COLUMNS,
    canonicalize,
    coverage_row,
    empty_table,
)
from connectors.entities import (
    CANONICAL_REJECTED,
    ENTITIES,
    ENTITY_COVERAGE,
    ROW_CHECKS,
)
from connectors.tables import raw_table
from pipelines.assets.extract import raw_asset_key
from pipelines.mdm_config import MdmConfig
from pipelines.resources import WarehouseResource


def canonical_asset_key(qualified: str) -> dg.AssetKey:
    return dg.AssetKey(qualified.split("."))


def build_canonical_asset(config: MdmConfig) -> dg.AssetsDefinition:
    mapped_by_entity: dict[str, list[str]] = {name: [] for name in ENTITIES}
    for system, source in config.sources.items():
        for entity_name in source.entities:
            mapped_by_entity[entity_name].append(system)
    upstream = [
        raw_asset_key(system, mapping.table)
        for system, source in config.sources.items()
        for mapping in source.entities.values()
    ]
    specs = [
        dg.AssetSpec(
            canonical_asset_key(entity.table),
            description=f"{entity.description} Canonical columns (connectors/entities.py); "
            f"mapped by: {', '.join(mapped_by_entity[name]) or 'no source (empty)'}.",
            group_name="standardize",
            kinds={"duckdb", "pandas"},
            owners=["team:data-engineering"],
            deps=[
                raw_asset_key(system, config.sources[system].entities[name].table)  # type: ignore[index]
                for system in mapped_by_entity[name]
            ],
        )
        for name, entity in ENTITIES.items()
    ]
    specs.append(
        dg.AssetSpec(
            canonical_asset_key(ENTITY_COVERAGE),
            description="Which canonical entities the sources map, and their row counts.",
            group_name="standardize",
            kinds={"duckdb"},
            deps=upstream,
        )
    )

    @dg.multi_asset(
        name="canonicalize_activity",
        specs=specs,
        pool="warehouse",
        description="Map every source's activity tables onto the canonical entities.",
    )
    def canonicalize_activity(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.MaterializeResult]:
        store = warehouse.open()
        now = pd.Timestamp.now(tz="UTC").tz_localize(None)
        tables: dict[str, pd.DataFrame] = {}
        rejected, checks, coverage = [], [], []
        metadata: dict[str, dict[str, object]] = {}
        for name, entity in ENTITIES.items():
            parts = [empty_table(entity)]
            per_source: dict[str, object] = {}
            for system in mapped_by_entity[name]:
                mapping = config.sources[system].entities[name]  # type: ignore[index]
                raw = store.read_table(raw_table(system, mapping.table))
                batch_id = str(raw["_batch_id"].iloc[0]) if len(raw) else "empty"
                result = canonicalize(
                    raw,
                    system=system,
                    entity_name=name,
                    mapping=mapping,
                    batch_id=batch_id,
                    now=now,
                )
                parts.append(result.rows)
                rejected.append(result.rejected)
                checks.append(result.row_checks.assign(source_system=system, entity=name))
                per_source[system] = {
                    "raw": len(raw),
                    "rows": len(result.rows),
                    "rejected": len(result.rejected),
                    "parse_failures": result.parse_failures,
                    "unmapped_codes": {
                        field: len(codes) for field, codes in result.unmapped_codes.items()
                    },
                }
                for field, lost in result.parse_failures.items():
                    context.log.warning(
                        f"{system}.{mapping.table}: {lost} value(s) of {field} "
                        f"({mapping.mapping[field]}) did not parse; stored as NULL and counted"
                    )
                for field, codes in result.unmapped_codes.items():
                    context.log.warning(
                        f"{system}.{mapping.table}: {sum(codes.values())} row(s) with "
                        f"{len(codes)} code(s) of {field} not in entities.{name}.codes: "
                        f"stored as 'other'"
                    )
            frame = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
            tables[entity.table] = frame.astype(
                {c: t for c, t in empty_table(entity).dtypes.astype(str).items()}
            )
            coverage.append(coverage_row(name, mapped_by_entity[name], len(frame)))
            metadata[entity.table] = per_source
        tables[ENTITY_COVERAGE] = pd.DataFrame(coverage).astype(
            {"mapped": bool, "row_count": "int64"}
        )
        tables[CANONICAL_REJECTED] = (
            pd.concat(rejected, ignore_index=True)
            if rejected
            else pd.DataFrame({c: pd.Series(dtype=t) for c, t in REJECTED_COLUMNS.items()})
        )
        tables[ROW_CHECKS] = (
            pd.concat(checks, ignore_index=True)
            if checks
            else pd.DataFrame(
                {
                    "record_key": pd.Series(dtype=object),
                    "_dq_values_parse": pd.Series(dtype=bool),
                    "_dq_codes_known": pd.Series(dtype=bool),
                    "source_system": pd.Series(dtype=object),
                    "entity": pd.Series(dtype=object),
                }
            )
        )
        store.replace_tables(tables)
        for name, entity in ENTITIES.items():
            if not mapped_by_entity[name]:
                context.log.info(f"{entity.table}: no source maps `{name}`; written empty")
            yield dg.MaterializeResult(
                asset_key=canonical_asset_key(entity.table),
                metadata={
                    "dagster/row_count": dg.MetadataValue.int(len(tables[entity.table])),
                    "per_source": dg.MetadataValue.json(metadata[entity.table]),
                },
            )
        yield dg.MaterializeResult(
            asset_key=canonical_asset_key(ENTITY_COVERAGE),
            metadata={"coverage": dg.MetadataValue.json(coverage)},
        )

    return canonicalize_activity
