"""The business date as the full run's partition: the job, the schedule, `mdm run --as-of`, and
a backfill from the instance the UI uses, whose runs wait in the run queue in date order."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from connectors.settings import PROJECT_ROOT, Settings
from pipelines import cli
from pipelines.build import FULL_RUN_JOB, build_definitions
from pipelines.business_date import (
    DAILY_RUN_SCHEDULE,
    FIRST_BUSINESS_DATE,
    BusinessDateError,
    check_business_date,
    today_in_china,
)
from pipelines.mdm_config import load_config
from pipelines.runs import dagster_home, dagster_instance

CHINA = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def definitions(pipeline_settings: Settings) -> dg.Definitions:
    return build_definitions(pipeline_settings)


def expected_ops(settings: Settings, as_of: str, mode: str) -> dict[str, object]:
    """What a run for `as_of` must carry: the date for every quality check that judges against
    it and for dbt, and the mode for every source's extract and for standardization."""
    config = load_config(settings.config_path)
    return {
        "raw_quality_core": {"config": {"as_of_date": as_of}},
        "raw_quality_credit": {"config": {"as_of_date": as_of}},
        "raw_quality_crm": {"config": {"as_of_date": as_of}},
        "standardized_quality": {"config": {"as_of_date": as_of}},
        "mdm_dbt_models": {"config": {"as_of_date": as_of}},
        **{f"extract_{system}": {"config": {"mode": mode}} for system in config.sources},
        # An incremental run standardizes (and so matches and survives) only what changed.
        "standardize_party_records": {"config": {"mode": mode}},
    }


def test_the_full_run_is_partitioned_by_business_date_in_china(
    definitions: dg.Definitions, pipeline_settings: Settings
) -> None:
    job = definitions.resolve_job_def(FULL_RUN_JOB)
    partitions = job.partitions_def
    assert isinstance(partitions, dg.DailyPartitionsDefinition)
    assert partitions.timezone == "Asia/Shanghai"
    keys = partitions.get_partition_keys()
    # From the first business date through today in China (today's run can be launched too).
    assert keys[0] == FIRST_BUSINESS_DATE.isoformat()
    assert keys[-1] == today_in_china().isoformat()
    assert "2026-11-28" in keys
    # A partition's run is the incremental run for that date: nothing else picks the date.
    config = job.partitioned_config
    assert config is not None
    run_config = config.get_run_config_for_partition_key("2026-11-28")
    assert run_config == {"ops": expected_ops(pipeline_settings, "2026-11-28", "incremental")}
    # The assets are cumulative tables, not one table per day: none is partitioned.
    graph = definitions.resolve_asset_graph()
    assert not any(graph.get(key).is_partitioned for key in graph.materializable_asset_keys)


def test_the_schedule_launches_the_incremental_run_of_the_day_that_ended(
    definitions: dg.Definitions, pipeline_settings: Settings
) -> None:
    schedule = definitions.resolve_schedule_def(DAILY_RUN_SCHEDULE)
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Asia/Shanghai"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED  # declared, documented
    assert schedule.description is not None and "incremental" in schedule.description
    assert schedule.job_name == FULL_RUN_JOB

    # 02:00 on 29 November in China is 18:00 UTC on the 28th: the run is for the 28th.
    tick = datetime(2026, 11, 28, 18, 0, tzinfo=ZoneInfo("UTC"))
    context = dg.build_schedule_context(
        scheduled_execution_time=tick, repository_def=definitions.get_repository_def()
    )
    result = schedule.evaluate_tick(context)
    assert result.run_requests is not None
    [request] = result.run_requests
    assert request.partition_key == "2026-11-28"
    assert request.run_key == "2026-11-28"
    assert request.run_config == {
        "ops": expected_ops(pipeline_settings, "2026-11-28", "incremental")
    }


def test_a_business_date_outside_the_partitions_is_refused_by_name() -> None:
    today = date(2026, 12, 5)
    assert check_business_date("2026-11-28", today=today) == "2026-11-28"
    assert check_business_date("2026-12-05", today=today) == "2026-12-05"
    with pytest.raises(BusinessDateError, match=r"2026-12-06 is outside .* through today"):
        check_business_date("2026-12-06", today=today)
    with pytest.raises(BusinessDateError, match=r"2023-12-31 is outside .*: 2024-01-01 through"):
        check_business_date("2023-12-31", today=today)
    with pytest.raises(BusinessDateError, match="not a date in the form YYYY-MM-DD"):
        check_business_date("28/11/2026", today=today)


def test_mdm_run_refuses_a_future_business_date_before_taking_the_home(
    tmp_path: Path, pipeline_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr(cli, "get_settings", lambda: pipeline_settings)
    code = cli.main(
        ["run", "--config", str(pipeline_settings.config_path), "--as-of", "2999-01-01"]
    )
    assert code == 2
    assert capsys.readouterr().err.startswith(
        "error: --as-of: business date 2999-01-01 is outside the run's partitions"
    )
    assert not (pipeline_settings.home / "run.lock").exists()


def test_a_backfill_queues_one_run_per_date_in_date_order(pipeline_settings: Settings) -> None:
    """`dagster job backfill` makes the runs the UI's backfill makes (one per partition, from the
    job's partition set); the instance `make ui` uses queues them, to start one at a time."""
    home = dagster_home(pipeline_settings)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "MDM_HOME": str(pipeline_settings.home),
        "MDM_CONFIG_PATH": str(pipeline_settings.config_path),
    }
    command = [
        str(Path(sys.executable).with_name("dagster")),
        "job",
        "backfill",
        "-w",
        str(PROJECT_ROOT / "workspace.yaml"),
        "-j",
        FULL_RUN_JOB,
        "--from",
        "2026-11-26",
        "--to",
        "2026-11-28",
        "--noprompt",
    ]
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]

    instance = dagster_instance(pipeline_settings)
    try:
        runs = instance.get_runs(dg.RunsFilter(job_name=FULL_RUN_JOB), ascending=True)
        # Queued, not started: the queue's coordinator starts them oldest first, one at a time.
        assert [run.status for run in runs] == [dg.DagsterRunStatus.QUEUED] * 3
        assert [run.tags["dagster/partition"] for run in runs] == [
            "2026-11-26",
            "2026-11-27",
            "2026-11-28",
        ]
        for run in runs:
            as_of = run.tags["dagster/partition"]
            assert run.run_config == {"ops": expected_ops(pipeline_settings, as_of, "incremental")}
    finally:
        instance.dispose()
