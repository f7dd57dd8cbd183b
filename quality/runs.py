"""Pipeline runs as an auditor lists them: kind, status and how their quality rules fared.

The runs themselves are the orchestrator's record (`pipelines/runs.py` reads them from the
Dagster instance into `RUN_COLUMNS`); the rule counts are `dq.results`'. This module joins the
two and decides which runs a trend may use: full runs that succeeded. An incremental run judges
only what changed, a partial run only the stages it ran, and a failed run stopped part-way, so
their scores are not comparable with a full run's and would bend the trend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pandas as pd

from quality.suites import RESULTS_TABLE

RunKind = Literal["full", "incremental", "partial", "unknown"]
RunStatus = Literal["succeeded", "failed", "running", "unknown"]

#: What the orchestrator tells of each run (one row per run).
RUN_COLUMNS = ("run_id", "job", "started", "finished", "kind", "status")
#: The orchestrator's runs (`RUN_COLUMNS`) as the publish saw them, published in the serving
#: snapshot beside `dq.results` and `dq.failing_rows`: the console reads the runs from there,
#: never from the orchestrator (the API process does not import it).
RUNS_TABLE = "dq.runs"

WarehouseQuery = Callable[[str], pd.DataFrame]


@dataclass(frozen=True)
class RunSummary:
    """One run in the auditor's list."""

    run_id: str
    job: str
    started: datetime | None
    finished: datetime | None
    kind: RunKind
    status: RunStatus
    rules: int  # rule results recorded (one per rule and source)
    rules_passed: int
    rules_failed: int
    blocking_failures: int
    mean_score: float | None

    @property
    def in_trend(self) -> bool:
        """Whether the quality trend counts this run: a full run that succeeded."""
        return self.kind == "full" and self.status == "succeeded"


def sql_literal(text: str) -> str:
    """`text` as a SQL string literal (run and rule ids come from the warehouse and the URL)."""
    return "'" + text.replace("'", "''") + "'"


def warehouse_tables(query: WarehouseQuery) -> set[str]:
    """`schema.table` of every table the warehouse holds (DuckDB and PostgreSQL alike)."""
    frame = query("select table_schema, table_name from information_schema.tables")
    return {f"{schema}.{name}" for schema, name in frame.itertuples(index=False, name=None)}


def result_counts(query: WarehouseQuery) -> pd.DataFrame:
    """Per run in `dq.results`: first check time, rule results, passed, failed, blocking
    failures and mean score; empty when no check has run yet."""
    if RESULTS_TABLE not in warehouse_tables(query):
        return pd.DataFrame(
            columns=["run_id", "checked", "rules", "passed", "failed", "blocking", "mean_score"]
        )
    return query(
        "select run_id, min(checked_at) as checked, count(*) as rules, "
        "sum(case when passed then 1 else 0 end) as passed, "
        "sum(case when passed then 0 else 1 end) as failed, "
        "sum(case when not passed and severity = 'blocking' then 1 else 0 end) as blocking, "
        f"avg(score) as mean_score from {RESULTS_TABLE} group by run_id"
    )


def as_published(runs: pd.DataFrame, publishing_run_id: str) -> pd.DataFrame:
    """The runs as the publishing run writes them into the snapshot: itself as succeeded.

    The publish is the run's last step on the serving path, after every asset it depends on
    succeeded, and a failed publish swaps no snapshot in: any snapshot that lists the run
    exists only because the run got that far. The orchestrator still says "running" at that
    moment; published as such, the newest run could never be signed off nor trended. The next
    publish lists it again with the orchestrator's final word."""
    published = runs.reindex(columns=list(RUN_COLUMNS)).copy()
    published["status"] = published["status"].astype(object)
    # Timestamps typed even when every run is unfinished (all None), so the warehouse table
    # gets timestamp columns, not text or an untyped column.
    for column in ("started", "finished"):
        published[column] = pd.to_datetime(published[column])
    published.loc[published["run_id"] == publishing_run_id, "status"] = "succeeded"
    return published


def published_runs(query: WarehouseQuery) -> pd.DataFrame | None:
    """`RUNS_TABLE` of a published snapshot; None when the snapshot predates it (every run
    `dq.results` knows is then listed with kind and status unknown)."""
    if RUNS_TABLE not in warehouse_tables(query):
        return None
    return query(f"select {', '.join(RUN_COLUMNS)} from {RUNS_TABLE}")


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return None if pd.isna(stamp) else stamp.to_pydatetime()


def run_summaries(runs: pd.DataFrame | None, counts: pd.DataFrame) -> list[RunSummary]:
    """Every run, newest first: the orchestrator's runs (`RUN_COLUMNS`) with their rule counts,
    then any run `dq.results` knows that the orchestrator does not (kind and status unknown:
    its record was removed, or the results came from elsewhere)."""
    by_run = {str(row["run_id"]): row for row in counts.to_dict("records")}
    summaries = []
    known = set()
    records = runs.to_dict("records") if runs is not None else []
    for record in records:
        run_id = str(record["run_id"])
        known.add(run_id)
        summaries.append(_summary(record, by_run.get(run_id)))
    for run_id, row in by_run.items():
        if run_id not in known:
            record = {
                "run_id": run_id,
                "job": "",
                "started": row["checked"],
                "finished": None,
                "kind": "unknown",
                "status": "unknown",
            }
            summaries.append(_summary(record, row))
    return sorted(summaries, key=lambda s: (s.started or datetime.min, s.run_id), reverse=True)


def _summary(record: Mapping[Any, Any], counts: Mapping[Any, Any] | None) -> RunSummary:
    def number(name: str) -> int:
        value = counts.get(name) if counts else None
        return 0 if value is None or pd.isna(value) else int(value)

    mean: Any = counts.get("mean_score") if counts else None
    return RunSummary(
        run_id=str(record["run_id"]),
        job=str(record.get("job") or ""),
        started=_time(record.get("started")),
        finished=_time(record.get("finished")),
        kind=record.get("kind") or "unknown",
        status=record.get("status") or "unknown",
        rules=number("rules"),
        rules_passed=number("passed"),
        rules_failed=number("failed"),
        blocking_failures=number("blocking"),
        mean_score=None if mean is None or pd.isna(mean) else float(mean),
    )


def summaries_frame(summaries: list[RunSummary]) -> pd.DataFrame:
    """The run list as a table (CLI, export)."""
    columns = [
        "run_id",
        "job",
        "started",
        "finished",
        "kind",
        "status",
        "rules",
        "rules_passed",
        "rules_failed",
        "blocking_failures",
        "mean_score",
        "in_trend",
    ]
    return pd.DataFrame(
        [
            {**{c: getattr(s, c) for c in columns if c != "in_trend"}, "in_trend": s.in_trend}
            for s in summaries
        ],
        columns=columns,
    )
