"""The auditor's report: one static HTML file per run, readable without any tool.

`report_html` reads the warehouse (`dq.results`, `dq.failing_rows`, `mdm.quarantine`) through
a query function and renders the page: the scores per dimension and source, the recent runs
with their kind and status and a trend over full, successful runs only, every failing rule
with its masked failing rows, the quarantine by source and rule and the full rule catalogue.
Inline CSS and inline SVG only: no script, no external file, so it opens from a mail
attachment or an archive as it is. Writing it is the caller's
(`connectors.reports.write_report`): this package does no I/O.

Colours follow pass and fail, never the score alone: a rule that met its pass mark is green
however low its score (a 45 % timeliness share passes a 40 % mark), a failed warning rule is
amber, a failed blocking rule red; a cell or a run is as bad as its worst rule. The Great
Expectations Data Docs pages are not linked: they load Bootstrap, jQuery and Vega from CDNs.
`failing_rows` gives the same drill-down, masked, to the report and the web console.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from matching.standardize.rules import DIMENSIONS
from quality.catalogue import RULES_BY_ID, STAGES, QualityConfig, catalogue_frame
from quality.masking import Sensitive, mask_payload, mask_text
from quality.runs import RunSummary, result_counts, run_summaries, sql_literal, warehouse_tables
from quality.suites import FAILING_ROW_COLUMNS, FAILING_ROWS_TABLE, RESULT_COLUMNS, RESULTS_TABLE

logger = logging.getLogger(__name__)

WarehouseQuery = Callable[[str], pd.DataFrame]

TEMPLATE = "report_template.html"
HISTORY_RUNS = 20
FAILING_ROWS_SHOWN = 10  # per failing rule in the page; `failing_rows` gives all that were kept
#: What the drill-down shows of each failing row: where it came from, which row, what failed.
DRILLDOWN_COLUMNS = FAILING_ROW_COLUMNS[FAILING_ROW_COLUMNS.index("source_system") :]


def verdict_band(rules: int, failed: int, blocking: int) -> str:
    """The colour of rule results taken together: red when a blocking rule failed, amber when
    only warning rules failed, green when every rule met its pass mark, grey with no rule."""
    if not rules:
        return "none"
    return "poor" if blocking else "fair" if failed else "good"


@dataclass
class ScoreCell:
    score: float | None
    rules: int = 0
    failed: int = 0
    blocking: int = 0

    @property
    def band(self) -> str:
        return verdict_band(self.rules, self.failed, self.blocking)


@dataclass
class Sparkline:
    dimension: str
    points: str  # SVG polyline points
    last: float | None
    low: float
    values: list[float] = field(default_factory=list)
    band: str = "none"  # the last run's verdict on this dimension's rules

    @property
    def end(self) -> tuple[str, str]:
        """The last point, marked so a single run still shows."""
        x, y = self.points.split()[-1].split(",")
        return x, y


@dataclass
class ReportData:
    run_id: str
    generated_at: str
    status: str  # passed / warnings / blocked / no results
    status_text: str
    run_errors: list[str]
    totals: dict[str, Any]
    sources: list[str]
    dimensions: tuple[str, ...]
    scorecard: dict[str, dict[str, ScoreCell]]
    dimension_totals: dict[str, ScoreCell]
    failing: list[dict[str, Any]]
    results: list[dict[str, Any]]
    history: list[dict[str, Any]]
    trend_runs: int
    sparklines: list[Sparkline]
    quarantine: list[dict[str, Any]]
    quarantine_total: int
    quarantine_as_of: str | None
    catalogue: list[dict[str, Any]]


def _cell(rows: pd.DataFrame) -> ScoreCell:
    if rows.empty:
        return ScoreCell(None)
    failed = rows[~rows["passed"].astype(bool)]
    return ScoreCell(
        float(rows["score"].mean()),
        len(rows),
        len(failed),
        int((failed["severity"] == "blocking").sum()),
    )


def _sparkline(dimension: str, values: list[float], band: str) -> Sparkline:
    """A 120 x 28 polyline; the vertical axis spans [low, 1] so small drops stay visible."""
    if not values:
        return Sparkline(dimension, "", None, 1.0)
    low = min(0.9, min(values))
    span = 1.0 - low or 1.0
    step = 120 / max(len(values) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{2 + (1.0 - v) / span * 24:.1f}" for i, v in enumerate(values)
    )
    return Sparkline(dimension, points, values[-1], low, values, band)


def _trended(summary: RunSummary, run_id: str) -> bool:
    """A full run that succeeded; the run being reported too while it is still going (the
    report asset runs inside it, after every check passed) if it is a full run."""
    if summary.run_id == run_id and summary.status in {"running", "succeeded"}:
        return summary.kind == "full"
    return summary.in_trend


def _history(
    query: WarehouseQuery, run_id: str, runs: pd.DataFrame | None
) -> tuple[list[dict[str, Any]], list[Sparkline], int]:
    """The recent runs with kind and status (the reported one always among them), and the
    per-dimension trend over the full, successful ones; how many runs the trend covers."""
    summaries = run_summaries(runs, result_counts(query))
    listed = summaries[:HISTORY_RUNS]
    if run_id not in {s.run_id for s in listed}:
        listed += [s for s in summaries if s.run_id == run_id]
    trended = [s for s in summaries if _trended(s, run_id) and s.rules][:HISTORY_RUNS][::-1]
    trended_ids = {s.run_id for s in trended}
    history = [
        {
            "run_id": s.run_id,
            "short_id": s.run_id[:8],
            "started": "" if s.started is None else f"{s.started:%Y-%m-%d %H:%M}",
            "finished": "" if s.finished is None else f"{s.finished:%Y-%m-%d %H:%M}",
            "kind": s.kind,
            "status": s.status,
            "in_trend": s.run_id in trended_ids,
            "mean_score": s.mean_score,
            "band": verdict_band(s.rules, s.rules_failed, s.blocking_failures),
            "rules": s.rules,
            "rules_passed": s.rules_passed,
            "rules_failed": s.rules_failed,
            "blocking_failures": s.blocking_failures,
            "current": s.run_id == run_id,
        }
        for s in listed[::-1]  # oldest first, as the sparklines read
    ]
    if not trended:
        return history, [], 0
    chosen = ", ".join(sql_literal(s.run_id) for s in trended)
    by_dimension = query(
        "select run_id, dimension, avg(score) as mean_score, count(*) as rules, "
        "sum(case when passed then 0 else 1 end) as failed, "
        "sum(case when not passed and severity = 'blocking' then 1 else 0 end) as blocking "
        f"from {RESULTS_TABLE} where run_id in ({chosen}) group by run_id, dimension"
    )
    order = {s.run_id: i for i, s in enumerate(trended)}
    sparklines = []
    for dimension in DIMENSIONS:
        rows = by_dimension[by_dimension["dimension"] == dimension].copy()
        rows["order"] = rows["run_id"].astype(str).map(order)
        rows = rows.sort_values("order")
        values = [float(v) for v in rows["mean_score"]]
        band = "none"
        if len(rows):
            last = rows.iloc[-1]
            band = verdict_band(int(last["rules"]), int(last["failed"]), int(last["blocking"]))
        sparklines.append(_sparkline(dimension, values, band))
    return history, sparklines, len(trended)


def _quarantine(
    query: WarehouseQuery, sensitive: Mapping[str, Sensitive] | None
) -> tuple[list[dict[str, Any]], int, str | None]:
    from matching.standardize.rules import rule_catalogue

    counts = query(
        "select source_system, rule, count(*) as n, min(raw_payload) as sample, "
        "max(quarantined_at) as latest from mdm.quarantine "
        "group by source_system, rule order by source_system, count(*) desc"
    )
    if counts.empty:
        return [], 0, None
    catalogue = rule_catalogue().set_index("id")
    rows = []
    for row in counts.to_dict("records"):
        described = catalogue.loc[row["rule"]] if row["rule"] in catalogue.index else None
        rows.append(
            {
                "source_system": row["source_system"],
                "rule": row["rule"],
                "count": int(row["n"]),
                "checks": "" if described is None else described["checks"],
                "dimension": "" if described is None else described["dimension"],
                "example": mask_payload(str(row["sample"]), sensitive)[:400],
            }
        )
    latest = pd.Timestamp(counts["latest"].max())
    return rows, int(counts["n"].sum()), None if pd.isna(latest) else f"{latest:%Y-%m-%d %H:%M}"


def _status(results: pd.DataFrame, run_errors: Sequence[str]) -> tuple[str, str]:
    if results.empty:
        if run_errors:
            return "blocked", "The run stopped before any quality rule ran."
        return "none", "No quality results were recorded for this run."
    failed = results[~results["passed"].astype(bool)]
    blocking = failed[failed["severity"] == "blocking"]
    if len(blocking):
        stages = set(blocking["stage"])
        where = (
            "the golden records were not changed by this run"
            if stages & {"raw", "standardized"}
            else "the marts, this report's asset and the serving snapshot were not refreshed"
        )
        return "blocked", f"{len(blocking)} blocking rule result(s) failed: {where}."
    if run_errors:
        return "blocked", "The run failed; see the errors below."
    if len(failed):
        return "warnings", f"No blocking rule failed; {len(failed)} warning(s) to review."
    return "passed", "Every rule passed."


def _nulls_as_none(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing values as None (not NaN or pd.NA), so a template or JSON tells them apart."""
    return frame.astype(object).where(frame.notna(), None)  # type: ignore[call-overload]


def failing_rows(
    warehouse_query: WarehouseQuery,
    run_id: str,
    rule_id: str,
    source_system: str | None = None,
    *,
    limit: int | None = None,
) -> pd.DataFrame:
    """The masked rows a rule failed on in a run (every source, or one), as the checks kept
    them (`dq.failing_rows`): source, row number, the row's key, the column judged, its masked
    value (None when missing) and the further columns the rule shows. Empty when none."""
    columns = list(DRILLDOWN_COLUMNS)
    if FAILING_ROWS_TABLE not in warehouse_tables(warehouse_query):
        return pd.DataFrame(columns=columns)
    where = f"run_id = {sql_literal(run_id)} and rule_id = {sql_literal(rule_id)}"
    if source_system is not None:
        where += f" and source_system = {sql_literal(source_system)}"
    rows = warehouse_query(
        f"select {', '.join(columns)} from {FAILING_ROWS_TABLE} where {where} "
        "order by source_system, row_number" + (f" limit {int(limit)}" if limit else "")
    )
    return _nulls_as_none(rows)


@dataclass(frozen=True)
class RuleDrilldown:
    """One rule's result in one run, for one source (or `all`), with its failing rows."""

    run_id: str
    rule_id: str
    source_system: str
    stage: str
    dimension: str
    severity: str
    description: str
    pass_mark: str  # the threshold as a person reads it: `≥ 80.0% passing`
    evaluated: int
    failed: int
    score: float  # the observed value: 1 - failed / evaluated
    passed: bool
    examples: list[str]  # masked, as dq.results keeps them (all a table-level rule has)
    rows: pd.DataFrame  # `failing_rows`


def rule_drilldown(
    warehouse_query: WarehouseQuery,
    run_id: str,
    rule_id: str,
    source_system: str,
    *,
    config: QualityConfig | None = None,
) -> RuleDrilldown | None:
    """The rule's result in the run for that source, with its masked failing rows; None when
    the run has no such result."""
    if RESULTS_TABLE not in warehouse_tables(warehouse_query):
        return None
    found = warehouse_query(
        f"select * from {RESULTS_TABLE} where run_id = {sql_literal(run_id)} "
        f"and rule_id = {sql_literal(rule_id)} and source_system = {sql_literal(source_system)}"
    )
    if found.empty:
        return None
    row = found.iloc[0]
    rule = RULES_BY_ID.get(rule_id)
    marks = catalogue_frame(config).set_index("rule_id")["pass_mark"]
    return RuleDrilldown(
        run_id=run_id,
        rule_id=rule_id,
        source_system=source_system,
        stage=str(row["stage"]),
        dimension=str(row["dimension"]),
        severity=str(row["severity"]),
        description=rule.description if rule else "",
        pass_mark=str(marks.get(rule_id, "")),
        evaluated=int(row["evaluated"]),
        failed=int(row["failed"]),
        score=float(row["score"]),
        passed=bool(row["passed"]),
        examples=[mask_text(e) for e in str(row["examples"] or "").split("; ") if e],
        rows=failing_rows(warehouse_query, run_id, rule_id, source_system),
    )


def collect(
    warehouse_query: WarehouseQuery,
    run_id: str,
    *,
    runs: pd.DataFrame | None = None,
    config: QualityConfig | None = None,
    run_errors: Sequence[str] = (),
    sensitive: Mapping[str, Sensitive] | None = None,
) -> ReportData:
    """Everything the report shows, read from the warehouse; `runs` is the orchestrator's
    record of runs (`quality.runs.RUN_COLUMNS`), which gives each run its kind and status."""
    config = config or QualityConfig()
    tables = warehouse_tables(warehouse_query)
    trend_runs = 0
    if RESULTS_TABLE in tables:
        results = warehouse_query(
            f"select * from {RESULTS_TABLE} where run_id = {sql_literal(run_id)}"
        )
        history, sparklines, trend_runs = _history(warehouse_query, run_id, runs)
    else:
        results, history, sparklines = pd.DataFrame(), [], []
    if results.empty:
        results = pd.DataFrame(columns=list(RESULT_COLUMNS))
    results = results.assign(passed=results["passed"].astype(bool))
    sources = sorted(set(results["source_system"]) - {"all"}) + (
        ["all"] if "all" in set(results["source_system"]) else []
    )
    scorecard: dict[str, dict[str, ScoreCell]] = {
        source: {
            d: _cell(results[(results["source_system"] == source) & (results["dimension"] == d)])
            for d in DIMENSIONS
        }
        for source in sources
    }
    dimension_totals: dict[str, ScoreCell] = {
        d: _cell(results[results["dimension"] == d]) for d in DIMENSIONS
    }
    catalogue = catalogue_frame(config)
    threshold_text = dict(zip(catalogue["rule_id"], catalogue["pass_mark"], strict=True))
    stage_order = {stage: i for i, stage in enumerate(STAGES)}

    kept = (
        warehouse_query(
            f"select rule_id, {', '.join(DRILLDOWN_COLUMNS)} from {FAILING_ROWS_TABLE} "
            f"where run_id = {sql_literal(run_id)} "
            f"and row_number <= {FAILING_ROWS_SHOWN} order by row_number"
        )
        if FAILING_ROWS_TABLE in tables
        else pd.DataFrame(columns=["rule_id", "source_system"])
    )
    rows_by_rule: dict[tuple[str, str], list[dict[Any, Any]]] = {}
    for kept_row in _nulls_as_none(kept).to_dict("records"):
        key = (str(kept_row["rule_id"]), str(kept_row["source_system"]))
        rows_by_rule.setdefault(key, []).append(kept_row)

    def described(row: Any) -> dict[str, Any]:
        rule = RULES_BY_ID.get(str(row.rule_id))
        passed = bool(row.passed)
        return {
            "stage": row.stage,
            "rule_id": row.rule_id,
            "dimension": row.dimension,
            "severity": row.severity,
            "source_system": row.source_system,
            "evaluated": int(row.evaluated),
            "failed": int(row.failed),
            "score": float(row.score),
            "band": verdict_band(
                1, int(not passed), int(not passed and row.severity == "blocking")
            ),
            "passed": passed,
            "failing_share": 0.0 if not row.evaluated else int(row.failed) / int(row.evaluated),
            "pass_mark": threshold_text.get(str(row.rule_id), ""),
            "description": rule.description if rule else "",
            "reason": rule.reason if rule else "",
            "examples": [mask_text(e) for e in str(row.examples or "").split("; ") if e],
            "rows": rows_by_rule.get((str(row.rule_id), str(row.source_system)), []),
        }

    ordered = results.assign(
        _stage=results["stage"].map(stage_order), _blocking=results["severity"] != "blocking"
    ).sort_values(["_stage", "rule_id", "source_system"])
    all_results = [described(row) for row in ordered.itertuples(index=False)]
    failing = sorted(
        (r for r in all_results if not r["passed"]),
        key=lambda r: (r["severity"] != "blocking", stage_order.get(r["stage"], 9), r["rule_id"]),
    )
    failed_total = int((~results["passed"]).sum())
    blocking_total = int(((~results["passed"]) & (results["severity"] == "blocking")).sum())
    quarantine, quarantine_total, quarantine_as_of = (
        _quarantine(warehouse_query, sensitive) if "mdm.quarantine" in tables else ([], 0, None)
    )
    status, status_text = _status(results, run_errors)
    return ReportData(
        run_id=run_id,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        status=status,
        status_text=status_text,
        run_errors=[mask_text(e) for e in run_errors],
        totals={
            "rules": len(results),
            "failed": failed_total,
            "blocking": blocking_total,
            "score": None if results.empty else float(results["score"].mean()),
            "band": verdict_band(len(results), failed_total, blocking_total),
        },
        sources=sources,
        dimensions=DIMENSIONS,
        scorecard=scorecard,
        dimension_totals=dimension_totals,
        failing=failing,
        results=all_results,
        history=history,
        trend_runs=trend_runs,
        sparklines=sparklines,
        quarantine=quarantine,
        quarantine_total=quarantine_total,
        quarantine_as_of=quarantine_as_of,
        catalogue=[{str(k): v for k, v in r.items()} for r in catalogue.to_dict("records")],
    )


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["pct"] = lambda v, digits=1: "—" if v is None else f"{v:.{digits}%}"
    environment.filters["thousands"] = lambda v: f"{int(v):,}"
    return environment


def render(data: ReportData) -> str:
    return _environment().get_template(TEMPLATE).render(report=data)


def report_html(
    warehouse_query: WarehouseQuery,
    run_id: str,
    *,
    runs: pd.DataFrame | None = None,
    config: QualityConfig | None = None,
    run_errors: Sequence[str] = (),
    sensitive: Mapping[str, Sensitive] | None = None,
) -> str:
    """The run's report page.

    `warehouse_query` runs one SQL statement on the warehouse; `runs` is the orchestrator's
    record of runs (kind and status, `quality.runs.RUN_COLUMNS`); `config` gives the thresholds
    the catalogue prints; `run_errors` (masked) are step failures of a run that stopped
    before its checks; `sensitive` names source columns holding IDs or phones, masked whole
    in the quarantine's payloads.
    """
    return render(
        collect(
            warehouse_query,
            run_id,
            runs=runs,
            config=config,
            run_errors=run_errors,
            sensitive=sensitive,
        )
    )
