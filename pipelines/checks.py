"""Quality rules (quality/) run as Dagster asset checks at three points: raw, standardized, golden.

Each rule is one check; blocking rules are blocking checks, so a failure stops the assets
downstream before bad data reaches the golden records (at the golden stage: before the marts,
the report and the serving snapshot). Every result is also appended to `dq.results`, so quality
is trended by dbt (`marts.dq_scorecard`) and read in the auditor's report, and every GX
validation is kept for the Data Docs under `<home>/reports/gx/`.
"""

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq

from connectors.entities import ENTITIES, ENTITY_COVERAGE, ROW_CHECKS
from connectors.reports import DataDocs
from connectors.source_counts import SOURCE_ROW_COUNT, count_source_rows
from connectors.tables import GOLDEN_RECORDS as GOLDEN_RECORDS_TABLE
from connectors.tables import PARTY_RECORDS as PARTY_RECORDS_TABLE
from connectors.tables import QUARANTINE, raw_table
from connectors.tables import XREF as XREF_TABLE
from connectors.warehouse import Warehouse
from pipelines.assets.canonical import canonical_asset_key
from pipelines.assets.extract import raw_asset_key
from pipelines.assets.golden import GOLDEN_RECORDS, XREF
from pipelines.assets.standardize import PARTY_RECORDS
from pipelines.mdm_config import MdmConfig
from pipelines.resources import StorePathsResource, WarehouseResource
from quality.catalogue import CrossSystemLink, QualityRule, for_source, pass_mark, rules_for
from quality.sql_suites import Dialect
from quality.stages import (
    check_activity,
    check_activity_in_warehouse,
    check_golden,
    check_golden_in_warehouse,
    check_owned_rows,
    check_raw,
    check_raw_in_sql,
    check_standardized,
    check_standardized_in_warehouse,
    raw_party_columns,
)
from quality.suites import (
    FAILING_ROWS_TABLE,
    RESULTS_TABLE,
    RuleOutcome,
    SuiteRun,
    combine,
    failing_rows_frame,
    suite_results_frame,
)

BANK_TIMEZONE = ZoneInfo("Asia/Shanghai")


class QualityRunConfig(dg.Config):
    """The business date the rules judge against (empty: today in China)."""

    as_of_date: str = ""

    def as_of(self) -> date:
        if self.as_of_date:
            return date.fromisoformat(self.as_of_date)
        return datetime.now(BANK_TIMEZONE).date()


def check_name(rule: QualityRule) -> str:
    return rule.rule_id.replace(".", "__")


def quality_check_ops(config: MdmConfig) -> list[str]:
    """The op names of the quality checks that judge against the as-of date (`QualityRunConfig`):
    birth dates in range, timeliness. The golden checks need no date."""
    return [*(f"raw_quality_{system}" for system in config.sources), "standardized_quality"]


def quality_run_config(config: MdmConfig, as_of_date: str) -> dict[str, dict[str, object]]:
    """`run_config["ops"]` entries giving every quality check the run's as-of date."""
    return {op: {"config": {"as_of_date": as_of_date}} for op in quality_check_ops(config)}


def _spec(
    rule: QualityRule,
    asset: dg.AssetKey,
    additional_deps: Sequence[dg.AssetKey] = (),
    config: MdmConfig | None = None,
    systems: Sequence[str] | None = None,
) -> dg.AssetCheckSpec:
    """The rule's check; blocking where the rule blocks for any of the sources (every source
    unless `systems` names some): `quality.severity` and `sources.<name>.quality.severity`
    override the catalogue."""
    severities = {rule.severity}
    if config is not None:
        severities = {
            for_source(config.quality, config.sources[system].quality)[1].get(
                rule.rule_id, rule.severity
            )
            for system in (systems if systems is not None else list(config.sources))
        }
    return dg.AssetCheckSpec(
        name=check_name(rule),
        asset=asset,
        description=f"[{rule.dimension}, {'/'.join(sorted(severities))}] {rule.description}. "
        f"{rule.reason}",
        blocking="blocking" in severities,
        additional_deps=list(additional_deps),
    )


def _result(
    parts: Mapping[str, RuleOutcome], asset: dg.AssetKey, config: MdmConfig
) -> dg.AssetCheckResult:
    """One check result from a rule's outcome on one or several sources (or tables)."""
    outcome = combine(list(parts.values()))
    rule = outcome.rule
    # Each part carries its source's severity: the check blocks only where a part that
    # blocks failed; a failure of a part held to a warning is reported, and the run goes on.
    blocked = any(not part.passed and part.rule.severity == "blocking" for part in parts.values())
    metadata: dict[str, dg.RawMetadataValue] = {
        "dimension": rule.dimension,
        "severity": "blocking" if blocked else "warning",
        "pass_mark": pass_mark(rule, config.quality),
        "evaluated": dg.MetadataValue.int(outcome.evaluated),
        "failed": dg.MetadataValue.int(outcome.failed),
        "failing_share": dg.MetadataValue.float(round(outcome.failing_share, 6)),
        "masked_examples": dg.MetadataValue.json(outcome.examples),
        "reason": rule.reason,
    }
    if len(parts) > 1:
        metadata["by_source"] = dg.MetadataValue.json(
            {
                name: {
                    "evaluated": part.evaluated,
                    "failed": part.failed,
                    "failing_share": round(part.failing_share, 6),
                    "passed": part.passed,
                }
                for name, part in parts.items()
            }
        )
    return dg.AssetCheckResult(
        check_name=check_name(rule),
        asset_key=asset,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR if blocked else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
    )


def _not_evaluated(rule: QualityRule, asset: dg.AssetKey, why: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=check_name(rule),
        asset_key=asset,
        passed=True,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"not_evaluated": why, "dimension": rule.dimension},
    )


def _record(
    context: dg.AssetCheckExecutionContext,
    warehouse: WarehouseResource,
    stores: StorePathsResource,
    runs: Sequence[SuiteRun],
) -> None:
    """Append the runs' results to dq.results, their failing rows (masked) to
    dq.failing_rows, and keep their validations for the Data Docs."""
    now = datetime.now(UTC).replace(microsecond=0)
    checked_at = pd.Timestamp(now).tz_localize(None)
    frame = suite_results_frame(runs, run_id=context.run.run_id, checked_at=checked_at)
    store = warehouse.open()
    store.append_rows(RESULTS_TABLE, frame)
    store.append_rows(
        FAILING_ROWS_TABLE,
        failing_rows_frame(runs, run_id=context.run.run_id, checked_at=checked_at),
    )
    try:
        DataDocs(stores.reports_dir).store(runs, run_id=context.run.run_id, run_time=now)
    except Exception as error:  # the Data Docs are detail: a failure there fails no check
        context.log.warning(f"great expectations data docs not stored: {error}")


def _extract_counts(
    context: dg.AssetCheckExecutionContext,
    config: MdmConfig,
    system: str,
    table: str,
    raw_rows: pd.DataFrame,
) -> tuple[pd.DataFrame, int | str]:
    """(the rows extracted, the source's count of them).

    When the extract of this run recorded the source's count (`source_row_count` metadata, see
    `connectors.source_counts`), its landing batch is what is counted: exactly the rows read,
    full or incremental. Otherwise the source is counted now and compared with the raw table
    (right for full extracts; a source that deleted rows shows as a difference).
    """
    event = context.instance.get_latest_materialization_event(raw_asset_key(system, table))
    materialization = event.asset_materialization if event is not None else None
    if event is not None and event.run_id == context.run.run_id and materialization:
        recorded = materialization.metadata.get(SOURCE_ROW_COUNT)
        landed = materialization.metadata.get("landing_file")
        if recorded is not None and landed is not None:
            batch = pd.read_parquet(str(landed.value), columns=["_batch_id"])
            return batch, int(recorded.value)  # type: ignore[arg-type]
    try:
        return raw_rows, count_source_rows(config.sources[system], table)
    except Exception as error:
        return raw_rows, f"source row count unavailable: {error}"


def _extract_row_count(
    context: dg.AssetCheckExecutionContext,
    config: MdmConfig,
    system: str,
    table: str,
    store: Warehouse,
) -> tuple[int, int | str]:
    """`_extract_counts` as numbers: (rows extracted, the source's count of them), read from the
    landing file's footer or counted by the warehouse; no rows are read."""
    event = context.instance.get_latest_materialization_event(raw_asset_key(system, table))
    materialization = event.asset_materialization if event is not None else None
    if event is not None and event.run_id == context.run.run_id and materialization:
        recorded = materialization.metadata.get(SOURCE_ROW_COUNT)
        landed = materialization.metadata.get("landing_file")
        if recorded is not None and landed is not None:
            landed_rows = pq.read_metadata(str(landed.value)).num_rows
            return landed_rows, int(recorded.value)  # type: ignore[arg-type]
    found = store.query(f"select count(*) as n from {raw_table(system, table)}")
    extracted = int(found.to_numpy()[0, 0] or 0)
    try:
        return extracted, count_source_rows(config.sources[system], table)
    except Exception as error:
        return extracted, f"source row count unavailable: {error}"


def _dialect(store: Warehouse) -> Dialect:
    return "duckdb" if store.dialect == "duckdb" else "postgres"


def _parts(runs: Sequence[SuiteRun], rule: QualityRule) -> dict[str, RuleOutcome]:
    """The rule's outcome in each run that evaluated it, by source (and table if several)."""
    found = [(run, o) for run in runs for o in run.outcomes if o.rule.rule_id == rule.rule_id]
    per_source: dict[str, int] = {}
    for run, _ in found:
        per_source[run.source_system] = per_source.get(run.source_system, 0) + 1
    return {
        run.source_system
        if per_source[run.source_system] == 1
        else f"{run.source_system}.{run.batch}": o
        for run, o in found
    }


def build_raw_checks(config: MdmConfig) -> list[dg.AssetChecksDefinition]:
    """One multi-check per source: its customer table's rules and every table's row count."""
    mdm_config = config
    party_rules = rules_for("raw", "party_table")
    count_rules = rules_for("raw", "every_table")

    def make(system: str) -> dg.AssetChecksDefinition:
        source = mdm_config.sources[system]
        party_asset = raw_asset_key(system, source.party_table)
        table_assets = {table: raw_asset_key(system, table) for table in source.tables}
        specs = [
            _spec(rule, party_asset, config=mdm_config, systems=[system]) for rule in party_rules
        ] + [
            _spec(rule, asset, config=mdm_config, systems=[system])
            for asset in table_assets.values()
            for rule in count_rules
        ]

        @dg.multi_asset_check(
            specs=specs,
            name=f"raw_quality_{system}",
            description=f"Raw-extract rules on the {system} source: schema, keys, encoding, "
            "row counts, stated birth date and gender against the resident ID.",
        )
        def raw_quality(
            context: dg.AssetCheckExecutionContext,
            config: QualityRunConfig,
            warehouse: WarehouseResource,
            stores: StorePathsResource,
        ) -> Iterator[dg.AssetCheckResult]:
            store = warehouse.open()
            if mdm_config.quality.evaluate_in == "warehouse":
                runs = _raw_runs_in_sql(context, store, system, config.as_of())
            else:
                runs = _raw_runs_in_pandas(context, store, system, config.as_of())
            _record(context, warehouse, stores, runs)
            for run in runs:
                for outcome in run.outcomes:
                    every_table = outcome.rule.target == "every_table"
                    asset = table_assets[run.batch] if every_table else party_asset
                    yield _result({system: outcome}, asset, mdm_config)

        return raw_quality

    def _raw_runs_in_sql(
        context: dg.AssetCheckExecutionContext, store: Warehouse, system: str, as_of: date
    ) -> list[SuiteRun]:
        """Only the columns the rules read, and each table's row count (not its rows)."""
        source = mdm_config.sources[system]
        party_table = raw_table(system, source.party_table)
        present = set(store.query(f"select * from {party_table} limit 0").columns)
        party = store.read_table(
            party_table, columns=[c for c in raw_party_columns(source) if c in present]
        )
        extracted, counts = {}, {}
        for table in source.tables:
            extracted[table], counts[table] = _extract_row_count(
                context, mdm_config, system, table, store
            )
        return check_raw_in_sql(system, source, party, extracted, counts, mdm_config.quality, as_of)

    def _raw_runs_in_pandas(
        context: dg.AssetCheckExecutionContext, store: Warehouse, system: str, as_of: date
    ) -> list[SuiteRun]:
        """The customer table read whole and each table's batch IDs, validated by GX."""
        source = mdm_config.sources[system]
        party = store.read_table(raw_table(system, source.party_table))
        tables = {
            table: party
            if table == source.party_table
            else store.read_table(raw_table(system, table), columns=["_batch_id"])
            for table in source.tables
        }
        extracted, counts = {}, {}
        for table, rows in tables.items():
            extracted[table], counts[table] = _extract_counts(
                context, mdm_config, system, table, rows
            )
        return check_raw(system, source, party, extracted, counts, mdm_config.quality, as_of)

    return [make(system) for system in mdm_config.sources]


def build_standardized_checks(config: MdmConfig) -> dg.AssetChecksDefinition:
    """Standardized rules per source; each check passes only if it passes for every source."""
    mdm_config = config
    rules = [rule for rule in rules_for("standardized") if rule.target != "activity_rows"]

    @dg.multi_asset_check(
        specs=[_spec(rule, PARTY_RECORDS, config=mdm_config) for rule in rules],
        name="standardized_quality",
        description="Standardized party-record rules, per source: keys, valid IDs, mobiles, "
        "birth dates, timeliness and the quarantine rate.",
    )
    def standardized_quality(
        context: dg.AssetCheckExecutionContext,
        config: QualityRunConfig,
        warehouse: WarehouseResource,
        stores: StorePathsResource,
    ) -> Iterator[dg.AssetCheckResult]:
        store = warehouse.open()
        source_quality = {system: source.quality for system, source in mdm_config.sources.items()}
        if mdm_config.quality.evaluate_in == "warehouse":
            runs = check_standardized_in_warehouse(
                store.query,
                _dialect(store),
                list(mdm_config.sources),
                mdm_config.quality,
                config.as_of(),
                source_quality,
            )
        else:
            runs = check_standardized(
                store.read_table(PARTY_RECORDS_TABLE),
                store.read_table(QUARANTINE),
                list(mdm_config.sources),
                mdm_config.quality,
                config.as_of(),
                source_quality,
            )
        _record(context, warehouse, stores, runs)
        for rule in rules:
            yield _result(_parts(runs, rule), PARTY_RECORDS, mdm_config)

    return standardized_quality


def build_activity_checks(config: MdmConfig) -> dg.AssetChecksDefinition:
    """Activity rules per source and entity: values that parse, codes in the lists."""
    mdm_config = config
    rules = rules_for("standardized", "activity_rows")
    coverage = canonical_asset_key(ENTITY_COVERAGE)

    @dg.multi_asset_check(
        specs=[_spec(rule, coverage, config=mdm_config) for rule in rules],
        name="activity_quality",
        description="Canonical activity rows: every mapped value parses, every code is listed.",
    )
    def activity_quality(
        context: dg.AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        stores: StorePathsResource,
    ) -> Iterator[dg.AssetCheckResult]:
        store = warehouse.open()
        source_quality = {system: source.quality for system, source in mdm_config.sources.items()}
        if mdm_config.quality.evaluate_in == "warehouse":
            runs = check_activity_in_warehouse(
                store.query, _dialect(store), ROW_CHECKS, mdm_config.quality, source_quality
            )
        else:
            runs = check_activity(store.read_table(ROW_CHECKS), mdm_config.quality, source_quality)
        _record(context, warehouse, stores, runs)
        for rule in rules:
            parts = _parts(runs, rule)
            if parts:
                yield _result(parts, coverage, mdm_config)
            else:
                yield _not_evaluated(rule, coverage, "no source maps an activity entity")

    return activity_quality


def owned_tables(config: MdmConfig) -> list[CrossSystemLink]:
    """Tables whose rows belong to a source's customer: every mapped entity with an owner,
    and the further ones `quality.cross_system_links` lists."""
    links = [
        CrossSystemLink(system=system, table=mapping.table, column=mapping.mapping[owner.name])
        for system, source in config.sources.items()
        for name, mapping in source.entities.items()
        if (owner := ENTITIES[name].owner) is not None
    ]
    return [*links, *(link for link in config.quality.cross_system_links if link not in links)]


def _golden_asset(rule: QualityRule) -> dg.AssetKey:
    return XREF if rule.target in {"xref", "linkage", "owned_rows"} else GOLDEN_RECORDS


def build_golden_checks(config: MdmConfig) -> dg.AssetChecksDefinition:
    """Golden records, cross-reference, cross-system links and (with a reference set) accuracy."""
    mdm_config = config
    links = owned_tables(mdm_config)
    owned_assets = [raw_asset_key(link.system, link.table) for link in links]
    rules = [rule for rule in rules_for("golden") if rule.target != "owned_rows" or links]
    specs = [
        _spec(
            rule,
            _golden_asset(rule),
            owned_assets if rule.target == "owned_rows" else (),
            config=mdm_config,
        )
        for rule in rules
    ]

    @dg.multi_asset_check(
        specs=specs,
        name="golden_quality",
        description="Golden-record rules: one golden ID per source record, no orphans, unique "
        "resident IDs, key attributes, loans and accounts resolving to golden records.",
    )
    def golden_quality(
        context: dg.AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        stores: StorePathsResource,
    ) -> Iterator[dg.AssetCheckResult]:
        store = warehouse.open()
        truth_path = mdm_config.evaluation.ground_truth
        truth = (
            pd.read_parquet(truth_path, columns=["record_key", "person_id"])
            if truth_path is not None and truth_path.exists()
            else None
        )
        in_sql = mdm_config.quality.evaluate_in == "warehouse"
        if in_sql:
            # The golden records, xref and linkage are counted where they are; the xref's
            # link columns are read (once) only for the merged pairs and the owned rows.
            xref = (
                store.read_table(
                    XREF_TABLE,
                    columns=["record_key", "source_system", "source_record_id", "golden_id"],
                )
                if links or truth is not None
                else pd.DataFrame()
            )
            runs = check_golden_in_warehouse(
                store.query, _dialect(store), mdm_config.quality, xref_links=xref, truth=truth
            )
            active = set(
                store.query(
                    f"select golden_id from {GOLDEN_RECORDS_TABLE} where status = 'active'"
                )["golden_id"]
            )
        else:
            golden = store.read_table(GOLDEN_RECORDS_TABLE)
            xref = store.read_table(XREF_TABLE)
            runs = check_golden(
                golden,
                xref,
                store.read_table(PARTY_RECORDS_TABLE, columns=["record_key"]),
                mdm_config.quality,
                truth=truth,
            )
            active = set(golden.loc[golden["status"] == "active", "golden_id"])
        for link in links:
            source = mdm_config.sources[link.system]
            owned = store.read_table(raw_table(link.system, link.table), columns=[link.column])
            owners = store.read_table(
                raw_table(link.system, source.party_table),
                columns=[source.key_column],
            )[source.key_column]
            runs.append(
                check_owned_rows(
                    link, owned, owners, xref, active, mdm_config.quality, in_sql=in_sql
                )
            )
        _record(context, warehouse, stores, runs)
        for rule in rules:
            parts = _parts(runs, rule)
            if parts:
                yield _result(parts, _golden_asset(rule), mdm_config)
            else:
                yield _not_evaluated(
                    rule, _golden_asset(rule), "no reference set (evaluation.ground_truth)"
                )

    return golden_quality
