"""The pipeline's runs as Dagster records them, for the auditor's run list and the report's trend.

Dagster's instance (`<home>/dagster`, SQLite by default, dagster-postgres in production) already
keeps every run of the UI, the schedule and `mdm run`: its job, selection, run config, status
and times. This module reads that record, so there is no second run log to keep in step; what
each run's quality rules did is `dq.results`' (`quality.runs` joins the two).

The auditor's workspace (CLI and web console) calls `list_runs`, `find_run`, `sign_off_run`,
`run_signoffs`, `run_report_tables` and `export_run_report`.

A run's kind:

- **full**: the `mdm_full_run` job, every asset, every source extracted in full;
- **incremental**: the same, with some source's extract in `incremental` mode;
- **partial**: anything less: another job (applying steward decisions), an asset subset
  (a stage re-run from the UI), a re-execution of some steps.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from connectors.reports import export_report
from connectors.settings import Settings
from connectors.signoffs import SignOff, SignOffs, sign_off
from connectors.warehouse import open_warehouse
from quality.catalogue import QualityConfig
from quality.export import report_tables
from quality.runs import RUN_COLUMNS, RunKind, RunStatus, RunSummary, result_counts, run_summaries

#: The job that runs every stage; launched whole, its runs are the full ones.
FULL_RUN_JOB = "mdm_full_run"
RUNS_LISTED = 200

_SUCCEEDED = {dg.DagsterRunStatus.SUCCESS}
_FAILED = {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def dagster_home(settings: Settings) -> Path:
    """The Dagster instance folder of a home, with its dagster.yaml (copied on first use)."""
    folder = settings.home / "dagster"
    folder.mkdir(parents=True, exist_ok=True)
    instance_config = folder / "dagster.yaml"
    if not instance_config.exists():
        shutil.copyfile(Path(__file__).with_name("dagster.yaml"), instance_config)
    return folder


def dagster_instance(settings: Settings) -> dg.DagsterInstance:
    """The instance `mdm run`, the UI and the schedule record their runs in."""
    return dg.DagsterInstance.from_config(str(dagster_home(settings)))


# Tags Dagster sets on a re-execution of some steps (from failure, or a chosen few).
_STEP_SUBSET_TAGS = ("dagster/is_resume_retry", "dagster/step_selection")


def run_kind(run: dg.DagsterRun) -> RunKind:
    # The whole job records an empty asset selection; a subset names its assets.
    if run.job_name != FULL_RUN_JOB or run.asset_selection:
        return "partial"
    if any(run.tags.get(tag) not in (None, "false") for tag in _STEP_SUBSET_TAGS):
        return "partial"
    config: Mapping[str, Any] = run.run_config or {}
    ops: Mapping[str, Any] = config.get("ops") or {}
    modes = {
        ((settings or {}).get("config") or {}).get("mode")
        for name, settings in ops.items()
        if name.startswith("extract_")
    }
    return "incremental" if "incremental" in modes else "full"


def run_status(status: dg.DagsterRunStatus) -> RunStatus:
    if status in _SUCCEEDED:
        return "succeeded"
    if status in _FAILED:
        return "failed"
    return "running"


def _utc(timestamp: float | None) -> datetime | None:
    # Naive UTC, like dq.results' checked_at.
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None)


def _records_frame(records: Sequence[dg.RunRecord]) -> pd.DataFrame:
    rows = []
    for record in records:
        run = record.dagster_run
        rows.append(
            {
                "run_id": run.run_id,
                "job": run.job_name,
                "started": _utc(record.start_time or record.create_timestamp.timestamp()),
                "finished": _utc(record.end_time),
                "kind": run_kind(run),
                "status": run_status(run.status),
            }
        )
    return pd.DataFrame(rows, columns=list(RUN_COLUMNS))


def run_records(instance: dg.DagsterInstance, *, limit: int = RUNS_LISTED) -> pd.DataFrame:
    """The newest `limit` runs of the instance as `quality.runs.RUN_COLUMNS` rows."""
    return _records_frame(list(instance.get_run_records(limit=limit)))


def list_runs(settings: Settings, *, limit: int = RUNS_LISTED) -> list[RunSummary]:
    """Every recent run, newest first: id, job, started, finished, kind (full / incremental /
    partial), status (succeeded / failed / running) and its rules passed and failed; a run
    `in_trend` is one the quality trend counts (full and succeeded)."""
    instance = dagster_instance(settings)
    try:
        runs = run_records(instance, limit=limit)
    finally:
        instance.dispose()
    store = open_warehouse(settings.resolved_warehouse_url)
    return run_summaries(runs, result_counts(store.query))[:limit]


class UnknownRunError(LookupError):
    """Neither Dagster nor dq.results knows the run."""


def find_run(settings: Settings, run_id: str) -> RunSummary:
    """One run's summary, however old; `UnknownRunError` when no record names it."""
    instance = dagster_instance(settings)
    try:
        record = instance.get_run_record_by_id(run_id)
    finally:
        instance.dispose()
    store = open_warehouse(settings.resolved_warehouse_url)
    counts = result_counts(store.query)
    counts = counts[counts["run_id"] == run_id]
    found = run_summaries(_records_frame([record] if record else []), counts)
    if not found:
        raise UnknownRunError(f"no run {run_id!r}: `mdm report runs` lists them")
    return found[0]


def sign_off_run(
    settings: Settings, run_id: str, auditor: str, verdict: str, comment: str = ""
) -> SignOff:
    """Record an auditor's sign-off of a run that exists (`connectors.signoffs`); the auditor
    is the signed-in subject. Raises `UnknownRunError`, `SignOffInvalidError`,
    `SignOffConflictError`."""
    run = find_run(settings, run_id.strip())
    return sign_off(settings.resolved_ops_url, run, auditor, verdict, comment)


def run_signoffs(settings: Settings, run_id: str) -> list[SignOff]:
    """Every sign-off of the run, superseded ones included, oldest first."""
    store = SignOffs(settings.resolved_ops_url)
    try:
        return store.history(run_id)
    finally:
        store.dispose()


def run_report_tables(
    settings: Settings, run_id: str, *, config: QualityConfig | None = None
) -> dict[str, pd.DataFrame]:
    """The run's report as tables (run, rules, failing rows, sign-offs), masked: what
    `export_run_report` writes and the console offers for download."""
    run = find_run(settings, run_id)
    store = open_warehouse(settings.resolved_warehouse_url)
    return report_tables(store.query, run, run_signoffs(settings, run.run_id), config=config)


def export_run_report(
    settings: Settings,
    run_id: str,
    fmt: str,
    out: Path,
    *,
    config: QualityConfig | None = None,
) -> Path:
    """Write the run's report tables to `out` as CSV or XLSX; the path written."""
    return export_report(run_report_tables(settings, run_id, config=config), fmt, out)
