"""Builds the Dagster definitions for a given set of settings (and so a given mdm.yaml)."""

from __future__ import annotations

import dagster as dg

from connectors.settings import Settings
from pipelines.assets.canonical import build_canonical_asset
from pipelines.assets.extract import build_extract_asset
from pipelines.assets.golden import build_golden_asset
from pipelines.assets.match import build_match_asset
from pipelines.assets.publish import build_publish_asset
from pipelines.assets.report import build_report_asset
from pipelines.assets.standardize import build_standardize_asset
from pipelines.assets.stewardship import (
    apply_decisions_job,
    build_decisions_sensor,
    build_review_questions_asset,
    build_review_queue_asset,
)
from pipelines.business_date import build_business_date_config, build_daily_schedule
from pipelines.checks import (
    build_activity_checks,
    build_golden_checks,
    build_raw_checks,
    build_standardized_checks,
)
from pipelines.dbt import build_dbt_assets
from pipelines.mdm_config import MdmConfig, load_config
from pipelines.resources import (
    DAGSTER_RUN_LOCK_WAIT_SECONDS,
    OpsStoreResource,
    SparkResource,
    StorePathsResource,
    WarehouseResource,
)
from pipelines.runs import FULL_RUN_JOB


def build_mdm_assets(config: MdmConfig) -> list[dg.AssetsDefinition]:
    """The Python stages: extract every source, standardize (party records and the canonical
    activity tables), match, golden records, review."""
    return [
        *(build_extract_asset(system, source) for system, source in config.sources.items()),
        build_canonical_asset(config),
        build_standardize_asset(config),
        build_match_asset(config),
        build_golden_asset(config),
        build_review_queue_asset(config.matching),
        build_review_questions_asset(),
    ]


def build_resources(
    settings: Settings, config: MdmConfig | None = None
) -> dict[str, dg.ConfigurableResource]:
    """The stores every stage writes to, located by the settings (dbt's resource aside), and
    the Spark session when `config` runs matching on Spark."""
    spark: dict[str, dg.ConfigurableResource] = {}
    if config is not None and config.spark.engine == "spark":
        spark["spark"] = SparkResource(master=config.spark.master, conf=config.spark.conf)
    return {
        **spark,
        "warehouse": WarehouseResource(
            url=settings.resolved_warehouse_url,
            home=str(settings.home),
            lock_wait_seconds=DAGSTER_RUN_LOCK_WAIT_SECONDS,
        ),
        "ops": OpsStoreResource(url=settings.resolved_ops_url),
        "stores": StorePathsResource(
            home=str(settings.home),
            serving_path=str(settings.resolved_serving_path),
            lock_wait_seconds=DAGSTER_RUN_LOCK_WAIT_SECONDS,
        ),
    }


def build_definitions(
    settings: Settings, *, config: MdmConfig | None = None, prepare_dbt: bool = False
) -> dg.Definitions:
    """Everything Dagster shows for one mdm.yaml (`config`, when the caller has loaded it
    already: the CLI validates it before taking the run lock); `prepare_dbt` re-parses the
    dbt project."""
    if config is None:
        config = load_config(settings.config_path)
    mdm_assets = build_mdm_assets(config)
    dbt_models, dbt_resource = build_dbt_assets(settings, prepare=prepare_dbt)
    # Golden records, the review queue and its questions: what the console reads, published.
    publish = build_publish_asset([*mdm_assets[-3:], dbt_models], settings.config_path)
    report = build_report_asset([*mdm_assets, dbt_models], config)
    # Partitioned by business date (pipelines/business_date.py): the UI launches a date's run
    # and backfills a range of dates, which the run queue starts one at a time, in order.
    full_run = dg.define_asset_job(
        FULL_RUN_JOB,
        selection=dg.AssetSelection.all(),
        config=build_business_date_config(config),
        description="Extract, standardize, match, golden records, marts, publish, for one "
        "business date (the partition).",
    )
    return dg.Definitions(
        assets=[*mdm_assets, dbt_models, publish, report],
        asset_checks=[
            *build_raw_checks(config),
            build_standardized_checks(config),
            build_activity_checks(config),
            build_golden_checks(config),
        ],
        jobs=[full_run, apply_decisions_job],
        sensors=[build_decisions_sensor()],
        schedules=[build_daily_schedule(config)],
        resources={**build_resources(settings, config), "dbt": dbt_resource},
        # DuckDB takes one writing process: every step runs in the run's own process, in order.
        executor=dg.in_process_executor,
    )
