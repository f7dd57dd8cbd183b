"""The auditor's data-quality report of the run, as an asset (the page is quality/report.py)."""

from collections.abc import Mapping, Sequence
from pathlib import Path

import dagster as dg
import pandas as pd

from connectors import tables
from connectors.reports import write_report
from pipelines.mdm_config import MdmConfig
from pipelines.resources import StorePathsResource, WarehouseResource
from pipelines.runs import run_records
from quality.catalogue import QualityConfig
from quality.masking import Sensitive
from quality.report import WarehouseQuery, report_html
from quality.stages import raw_sensitive

REPORT = dg.AssetKey(["dq", "report"])


def build_report(
    warehouse_query: WarehouseQuery,
    run_id: str,
    reports_dir: Path,
    *,
    runs: pd.DataFrame | None = None,
    config: QualityConfig | None = None,
    run_errors: Sequence[str] = (),
    sensitive: Mapping[str, Sensitive] | None = None,
) -> Path:
    """Render the run's report and write it; its path. `runs` (`pipelines.runs.run_records`)
    gives the listed runs their kind and status and keeps all but full, successful runs out
    of the trend."""
    html = report_html(
        warehouse_query,
        run_id,
        runs=runs,
        config=config,
        run_errors=run_errors,
        sensitive=sensitive,
    )
    return write_report(reports_dir, run_id, html)


def report_sensitive_columns(config: MdmConfig | None) -> dict[str, Sensitive]:
    """Every source's own columns holding IDs or phones, masked whole in quarantine payloads."""
    columns: dict[str, Sensitive] = {}
    for source in (config.sources if config else {}).values():
        columns.update(raw_sensitive(source))
    return columns


def build_report_asset(
    upstream: Sequence[dg.AssetsDefinition | dg.AssetKey], config: MdmConfig | None = None
) -> dg.AssetsDefinition:
    """`dq/report`, built after `upstream` (the golden records and the dbt models, so the
    scorecard and every stage's results are in)."""

    @dg.asset(
        key=REPORT,
        deps=list(upstream),
        group_name="quality",
        kinds={"html"},
        owners=["team:data-stewards"],
        pool="warehouse",
        description="The auditor's data-quality report of the run: one static HTML page with "
        "scores by dimension and source, trend, failing rules, quarantine and the catalogue.",
    )
    def dq_report(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, stores: StorePathsResource
    ) -> dg.MaterializeResult:
        store = warehouse.open()
        path = build_report(
            store.query,
            context.run_id,
            stores.reports_dir,
            runs=run_records(context.instance),
            config=config.quality if config else None,
            sensitive=report_sensitive_columns(config),
        )
        results = store.query(
            "select count(*) as rules, "
            "coalesce(sum(case when passed then 0 else 1 end), 0) as failed, "
            f"avg(score) as mean_score from {tables.DQ_RESULTS} where run_id = ?",
            [context.run_id],
        ).iloc[0]
        context.log.info(f"data-quality report: {path}")
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(path)),
                "latest": dg.MetadataValue.path(str(path.with_name("latest.html"))),
                "rule_results": dg.MetadataValue.int(int(results["rules"])),
                "rules_failed": dg.MetadataValue.int(int(results["failed"])),
                "mean_score": dg.MetadataValue.float(float(results["mean_score"] or 0.0)),
            }
        )

    return dq_report
