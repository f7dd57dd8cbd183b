"""The business date as a Dagster partition: which day a run is for.

The golden records, the cross-reference and the marts are cumulative tables, not one table per
day: a run for business date D brings them to their state as of D (what changed in the sources
up to D's day-end batch, the marts' "last 90 days", maturities and SLA cut-offs judged at D).
So the partitions are on the *job*, not on the assets: each run of `mdm_full_run` is tagged
with its business date (`dagster/partition`), and the date reaches every stage through the run
config (`run_config_for`): the quality checks judge against it, dbt gets it as `as_of_date`.
No asset is partitioned, so no asset claims to hold "the data of D" alone.

Because each run starts from the previous one's state, the dates of a backfill must run in
order, one at a time: the instance's run queue (pipelines/dagster.yaml, `max_concurrent_runs:
1`) starts queued runs oldest first, and a backfill submits its runs in date order.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import dagster as dg

from pipelines.assets.standardize import STANDARDIZE_OP
from pipelines.checks import BANK_TIMEZONE, quality_run_config
from pipelines.mdm_config import MdmConfig
from pipelines.runs import FULL_RUN_JOB

#: The first business date a run can be for (the partitions start here). Older dates are not
#: offered: the pipeline keeps no history of the sources from before it was installed.
FIRST_BUSINESS_DATE = date(2024, 1, 1)
#: The core banking day-end batch is over by then; the run is for the day that just ended.
DAILY_RUN_CRON = "0 2 * * *"
DAILY_RUN_SCHEDULE = "daily_incremental_run"
DBT_OP = "mdm_dbt_models"
PARTITION_TAG = "dagster/partition"


def today_in_china() -> date:
    return datetime.now(BANK_TIMEZONE).date()


def extract_ops(config: MdmConfig) -> list[str]:
    return [f"extract_{system}" for system in config.sources]


def run_config_for(
    config: MdmConfig, as_of: str, *, incremental: bool, dbt: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The run config of a run for business date `as_of` (YYYY-MM-DD): every quality check and
    dbt judge against it; `incremental` extracts only rows changed since each source's
    watermark. `dbt`: further settings of the dbt step (console output)."""
    ops: dict[str, Any] = dict(quality_run_config(config, as_of))
    ops[DBT_OP] = {"config": {**(dbt or {}), "as_of_date": as_of}}
    mode = "incremental" if incremental else "full"
    for op in extract_ops(config):
        ops[op] = {"config": {"mode": mode}}
    # Standardize only what the extract changed; match and golden follow (mdm.changed_records).
    ops[STANDARDIZE_OP] = {"config": {"mode": mode}}
    return {"ops": ops}


class BusinessDateError(ValueError):
    """A business date no run can be for; the message says which dates can."""


def check_business_date(text: str, *, today: date | None = None) -> str:
    """`text` as a business date a run can be for (YYYY-MM-DD, from FIRST_BUSINESS_DATE through
    today in China), or BusinessDateError."""
    last = today or today_in_china()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BusinessDateError(
            f"business date {text!r} is not a date in the form YYYY-MM-DD"
        ) from None
    if not FIRST_BUSINESS_DATE <= day <= last:
        raise BusinessDateError(
            f"business date {day} is outside the run's partitions: "
            f"{FIRST_BUSINESS_DATE} through today in China ({last})"
        )
    return day.isoformat()


def build_business_date_config(config: MdmConfig) -> dg.PartitionedConfig[Any]:
    """One partition per business date, Asia/Shanghai days; today's is offered too
    (`end_offset=1`) so a run can be launched for the day in progress. A partition's run is the
    incremental one: a full re-extract is the launchpad's `mode: full`, or `mdm run --as-of D`."""

    @dg.daily_partitioned_config(
        start_date=datetime.combine(FIRST_BUSINESS_DATE, datetime.min.time()),
        timezone=str(BANK_TIMEZONE),
        end_offset=1,
    )
    def business_date(start: datetime, _end: datetime) -> dict[str, Any]:
        return run_config_for(config, start.date().isoformat(), incremental=True)

    return business_date


def build_daily_schedule(config: MdmConfig) -> dg.ScheduleDefinition:
    """The daily incremental run of the full-run job (named, so no job type is spelled out)."""

    @dg.schedule(
        name=DAILY_RUN_SCHEDULE,
        job_name=FULL_RUN_JOB,
        cron_schedule=DAILY_RUN_CRON,
        execution_timezone=str(BANK_TIMEZONE),
        # Stopped until the data team starts it: a nightly extract from the bank's systems is
        # an operational decision (their load window, sources checked with `mdm check`), and a
        # developer's `make ui` must not start pulling at 02:00 on its own.
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="02:00 China time, after the core banking day-end batch: the incremental "
        "run (rows changed since each source's watermark; standardize, match, golden records, "
        "marts, publish) for the business date that just ended. Stopped by default: start it "
        "in the UI or with `dagster schedule start daily_incremental_run`.",
    )
    def daily_incremental_run(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        scheduled = context.scheduled_execution_time
        assert scheduled is not None  # a schedule's tick always has its time
        business_date = previous_business_date(scheduled)
        return dg.RunRequest(
            run_key=business_date,
            partition_key=business_date,
            run_config=run_config_for(config, business_date, incremental=True),
            tags={"mdm/trigger": "schedule"},
        )

    return daily_incremental_run


def previous_business_date(moment: datetime) -> str:
    """The business date that ended before `moment` (China time): the scheduled run's date."""
    local = moment.astimezone(BANK_TIMEZONE)
    return (local.date() - timedelta(days=1)).isoformat()


def last_business_date(instance: dg.DagsterInstance) -> str | None:
    """The business date of the last successful full run: the date the warehouse is at, which
    a run that re-clusters without extracting (steward decisions) keeps for its marts."""
    runs = instance.get_runs(
        dg.RunsFilter(job_name=FULL_RUN_JOB, statuses=[dg.DagsterRunStatus.SUCCESS]), limit=1
    )
    return runs[0].tags.get(PARTITION_TAG) if runs else None


def marts_run_config(as_of: str | None) -> dict[str, Any]:
    """The run config giving dbt the business date `as_of` (nothing when there is none)."""
    return {"ops": {DBT_OP: {"config": {"as_of_date": as_of}}}} if as_of else {}
