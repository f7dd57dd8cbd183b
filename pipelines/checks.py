"""Quality rules (quality/) run as Dagster asset checks at three points: raw, standardized, golden.

Each rule is one check; blocking rules are blocking checks, so a failure stops the assets
downstream before bad data reaches the golden records. Every result is also appended to
`dq.results`, so quality can be trended by dbt and read in the auditor's report.
"""

from collections.abc import Iterator, Sequence

import dagster as dg
import pandas as pd

from pipelines.assets.extract import raw_asset_key, raw_table_name
from pipelines.assets.golden import GOLDEN_RECORDS, XREF
from pipelines.assets.standardize import PARTY_RECORDS
from pipelines.mdm_config import MdmConfig
from pipelines.resources import WarehouseResource
from quality.catalogue import QualityRule, rules_for
from quality.suites import RuleOutcome, results_frame, validate

DQ_RESULTS = "dq.results"


def check_name(rule: QualityRule) -> str:
    return rule.rule_id.replace(".", "__")


def _specs(rules: Sequence[QualityRule], asset: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            name=check_name(rule),
            asset=asset,
            description=f"[{rule.dimension}, {rule.severity}] {rule.description}",
            blocking=rule.severity == "blocking",
        )
        for rule in rules
    ]


def _results(outcomes: Sequence[RuleOutcome], asset: dg.AssetKey) -> Iterator[dg.AssetCheckResult]:
    for outcome in outcomes:
        rule = outcome.rule
        yield dg.AssetCheckResult(
            check_name=check_name(rule),
            asset_key=asset,
            passed=outcome.passed,
            severity=(
                dg.AssetCheckSeverity.ERROR
                if rule.severity == "blocking"
                else dg.AssetCheckSeverity.WARN
            ),
            metadata={
                "dimension": rule.dimension,
                "evaluated": dg.MetadataValue.int(outcome.evaluated),
                "failed": dg.MetadataValue.int(outcome.failed),
                "failing_share": dg.MetadataValue.float(
                    0.0 if outcome.evaluated == 0 else outcome.failed / outcome.evaluated
                ),
                "masked_examples": dg.MetadataValue.json(outcome.examples),
                "reason": rule.reason,
            },
        )


def _record(
    warehouse: WarehouseResource, outcomes: Sequence[RuleOutcome], run_id: str, source: str | None
) -> None:
    now = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    warehouse.open().append_rows(
        DQ_RESULTS, results_frame(outcomes, run_id=run_id, checked_at=now, source_system=source)
    )


def build_raw_checks(config: MdmConfig) -> list[dg.AssetChecksDefinition]:
    checks = []
    for system, source in config.sources.items():
        asset = raw_asset_key(system, source.party_table)

        def make(system: str = system, asset: dg.AssetKey = asset) -> dg.AssetChecksDefinition:
            source_config = config.sources[system]
            rules = rules_for("raw")

            @dg.multi_asset_check(specs=_specs(rules, asset), name=f"raw_quality_{system}")
            def raw_quality(
                context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
            ) -> Iterator[dg.AssetCheckResult]:
                frame = warehouse.open().read_table(
                    f"raw.{raw_table_name(system, source_config.party_table)}"
                )
                outcomes = validate(
                    frame,
                    rules,
                    config.quality,
                    context={
                        "key_column": source_config.key_column,
                        "name_column": source_config.mapping["name"],
                    },
                )
                _record(warehouse, outcomes, context.run.run_id, system)
                yield from _results(outcomes, asset)

            return raw_quality

        checks.append(make())
    return checks


def build_standardized_checks(config: MdmConfig) -> dg.AssetChecksDefinition:
    rules = rules_for("standardized")
    table_rules = [r for r in rules if r.rule_id != "std.quarantine_rate"]
    rate_rules = [r for r in rules if r.rule_id == "std.quarantine_rate"]

    @dg.multi_asset_check(specs=_specs(rules, PARTY_RECORDS), name="standardized_quality")
    def standardized_quality(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.AssetCheckResult]:
        store = warehouse.open()
        records = store.read_table("mdm.party_records")
        as_of = pd.Timestamp.now().strftime("%Y-%m-%d")
        frame = records.assign(birth_date=pd.to_datetime(records["birth_date"]))
        outcomes = validate(frame, table_rules, config.quality, context={"as_of": as_of})
        # The quarantine rate is judged per source: the worst source decides.
        quarantine = store.query(
            "select source_system, count(*) as n from mdm.quarantine group by source_system"
        )
        kept = records.groupby("source_system").size()
        rates = (
            pd.DataFrame({"quarantined": quarantine.set_index("source_system")["n"]})
            .reindex(kept.index.union(pd.Index(quarantine["source_system"])))
            .fillna(0)
        )
        rates["kept"] = kept.reindex(rates.index).fillna(0)
        rates["quarantine_rate"] = rates["quarantined"] / (rates["quarantined"] + rates["kept"])
        outcomes += validate(rates.reset_index(), rate_rules, config.quality)
        _record(warehouse, outcomes, context.run.run_id, None)
        yield from _results(outcomes, PARTY_RECORDS)

    return standardized_quality


def build_golden_checks(config: MdmConfig) -> dg.AssetChecksDefinition:
    rules = rules_for("golden")
    xref_rules = [r for r in rules if r.rule_id == "golden.one_golden_per_record"]
    golden_rules = [r for r in rules if r not in xref_rules]
    specs = _specs(golden_rules, GOLDEN_RECORDS) + _specs(xref_rules, XREF)

    @dg.multi_asset_check(specs=specs, name="golden_quality")
    def golden_quality(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.AssetCheckResult]:
        store = warehouse.open()
        golden = store.query("select * from mdm.golden_records where status = 'active'")
        xref = store.read_table("mdm.xref")
        golden_outcomes = validate(golden, golden_rules, config.quality)
        xref_outcomes = validate(xref, xref_rules, config.quality)
        _record(warehouse, [*golden_outcomes, *xref_outcomes], context.run.run_id, None)
        yield from _results(golden_outcomes, GOLDEN_RECORDS)
        yield from _results(xref_outcomes, XREF)

    return golden_quality
