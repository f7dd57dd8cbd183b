"""Builds the Dagster definitions for a given set of settings (and so a given mdm.yaml)."""

from __future__ import annotations

import dagster as dg

from connectors.settings import Settings
from pipelines.assets.extract import build_extract_asset
from pipelines.assets.golden import build_golden_asset
from pipelines.assets.match import build_match_asset
from pipelines.assets.publish import build_publish_asset
from pipelines.assets.standardize import build_standardize_asset
from pipelines.checks import build_golden_checks, build_raw_checks, build_standardized_checks
from pipelines.dbt import build_dbt_assets
from pipelines.mdm_config import load_config
from pipelines.resources import MdmConfigResource, StorePathsResource, WarehouseResource

FULL_RUN_JOB = "mdm_full_run"


def build_definitions(settings: Settings) -> dg.Definitions:
    config = load_config(settings.config_path)
    extract = [build_extract_asset(system, source) for system, source in config.sources.items()]
    golden = build_golden_asset(config)
    dbt_models, dbt_resource = build_dbt_assets(settings)
    publish = build_publish_asset([golden, dbt_models])
    full_run = dg.define_asset_job(
        FULL_RUN_JOB,
        selection=dg.AssetSelection.all(),
        description="Extract, standardize, match, golden records, marts, publish.",
    )
    return dg.Definitions(
        assets=[
            *extract,
            build_standardize_asset(config),
            build_match_asset(config),
            golden,
            dbt_models,
            publish,
        ],
        asset_checks=[
            *build_raw_checks(config),
            build_standardized_checks(config),
            build_golden_checks(config),
        ],
        jobs=[full_run],
        schedules=[
            dg.ScheduleDefinition(
                name="daily_full_run",
                job=full_run,
                cron_schedule="0 2 * * *",
                execution_timezone="Asia/Shanghai",
                description="Nightly incremental refresh after the core banking day-end batch.",
            )
        ],
        resources={
            "warehouse": WarehouseResource(url=settings.resolved_warehouse_url),
            "mdm_config": MdmConfigResource(path=str(settings.config_path)),
            "stores": StorePathsResource(
                home=str(settings.home), serving_path=str(settings.resolved_serving_path)
            ),
            "dbt": dbt_resource,
        },
        # DuckDB takes one writing process: every step runs in the run's own process, in order.
        executor=dg.in_process_executor,
    )
