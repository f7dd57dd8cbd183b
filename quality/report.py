"""The auditor's report: one static HTML file per run, readable without any tool.

`report_html` reads the warehouse (`dq.results`, `mdm.quarantine`) through a query function
and renders the page: the scores per dimension and source, the trend over the last runs,
every failing rule with masked examples, the quarantine by source and rule, the full rule
catalogue and links to the Great Expectations Data Docs of the run (the caller passes them:
`connectors.reports.docs_links`). Inline CSS and inline SVG only: no script, no external file,
so it opens from a mail attachment or an archive as it is. Writing it is the caller's
(`connectors.reports.write_report`): this package does no I/O.
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

from quality.catalogue import DIMENSIONS, RULES_BY_ID, STAGES, QualityConfig, catalogue_frame
from quality.masking import Sensitive, mask_payload, mask_text
from quality.suites import RESULT_COLUMNS

logger = logging.getLogger(__name__)

WarehouseQuery = Callable[[str], pd.DataFrame]
# The run's Data Docs pages by suite ({batch, href} each) and the site index, relative hrefs.
DocsLinks = tuple[dict[str, list[dict[str, str]]], str | None]

TEMPLATE = "report_template.html"
HISTORY_RUNS = 20
GOOD, FAIR = 0.99, 0.95  # score bands: ≥ GOOD green, ≥ FAIR amber, below red


@dataclass
class ScoreCell:
    score: float | None
    rules: int = 0
    failed: int = 0
    blocking: int = 0

    @property
    def band(self) -> str:
        if self.score is None:
            return "none"
        if self.blocking:
            return "poor"
        return "good" if self.score >= GOOD else "fair" if self.score >= FAIR else "poor"


@dataclass
class Sparkline:
    dimension: str
    points: str  # SVG polyline points
    last: float | None
    low: float
    values: list[float] = field(default_factory=list)

    @property
    def end(self) -> tuple[str, str]:
        """The last point, marked so a single run still shows."""
        x, y = self.points.split()[-1].split(",")
        return x, y

    @property
    def band(self) -> str:
        return _band(self.last)


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
    sparklines: list[Sparkline]
    quarantine: list[dict[str, Any]]
    quarantine_total: int
    quarantine_as_of: str | None
    catalogue: list[dict[str, Any]]
    docs_pages: dict[str, list[dict[str, str]]]
    docs_index: str | None


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _tables(query: WarehouseQuery) -> set[str]:
    frame = query("select table_schema, table_name from information_schema.tables")
    return {f"{schema}.{name}" for schema, name in frame.itertuples(index=False, name=None)}


def _band(score: float | None) -> str:
    return ScoreCell(score).band


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


def _sparkline(dimension: str, values: list[float]) -> Sparkline:
    """A 120 x 28 polyline; the vertical axis spans [low, 1] so small drops stay visible."""
    if not values:
        return Sparkline(dimension, "", None, 1.0)
    low = min(0.9, min(values))
    span = 1.0 - low or 1.0
    step = 120 / max(len(values) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{2 + (1.0 - v) / span * 24:.1f}" for i, v in enumerate(values)
    )
    return Sparkline(dimension, points, values[-1], low, values)


def _history(query: WarehouseQuery, run_id: str) -> tuple[list[dict[str, Any]], list[Sparkline]]:
    runs = query(
        "select run_id, min(checked_at) as started, avg(score) as mean_score, "
        "sum(case when passed then 0 else 1 end) as rules_failed, "
        "sum(case when not passed and severity = 'blocking' then 1 else 0 end) "
        "as blocking_failures, count(*) as rules "
        "from dq.results group by run_id order by min(checked_at) desc"
    ).head(HISTORY_RUNS)
    runs = runs.iloc[::-1].reset_index(drop=True)
    if runs.empty:
        return [], []
    listed = ", ".join(_literal(str(r)) for r in runs["run_id"])
    by_dimension = query(
        "select run_id, dimension, avg(score) as mean_score from dq.results "
        f"where run_id in ({listed}) group by run_id, dimension"
    )
    history = [
        {
            "run_id": str(row["run_id"]),
            "short_id": str(row["run_id"])[:8],
            "started": pd.Timestamp(row["started"]).strftime("%Y-%m-%d %H:%M"),
            "mean_score": float(row["mean_score"]),
            "band": _band(float(row["mean_score"])),
            "rules": int(row["rules"]),
            "rules_failed": int(row["rules_failed"]),
            "blocking_failures": int(row["blocking_failures"]),
            "current": str(row["run_id"]) == run_id,
        }
        for row in runs.to_dict("records")
    ]
    order = {str(r): i for i, r in enumerate(runs["run_id"])}
    sparklines = []
    for dimension in DIMENSIONS:
        rows = by_dimension[by_dimension["dimension"] == dimension].copy()
        rows["order"] = rows["run_id"].astype(str).map(order)
        values = [float(v) for v in rows.sort_values("order")["mean_score"]]
        sparklines.append(_sparkline(dimension, values))
    return history, sparklines


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


def collect(
    warehouse_query: WarehouseQuery,
    run_id: str,
    *,
    docs: DocsLinks = ({}, None),
    config: QualityConfig | None = None,
    run_errors: Sequence[str] = (),
    sensitive: Mapping[str, Sensitive] | None = None,
) -> ReportData:
    """Everything the report shows, read from the warehouse; `docs` are the run's Data Docs
    pages by suite and the site index, as links relative to the report."""
    config = config or QualityConfig()
    tables = _tables(warehouse_query)
    if "dq.results" in tables:
        results = warehouse_query(f"select * from dq.results where run_id = {_literal(run_id)}")
        history, sparklines = _history(warehouse_query, run_id)
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
    docs_pages, docs_index = docs
    catalogue = catalogue_frame(config)
    threshold_text = dict(zip(catalogue["rule_id"], catalogue["pass_mark"], strict=True))
    stage_order = {stage: i for i, stage in enumerate(STAGES)}

    def described(row: Any) -> dict[str, Any]:
        rule = RULES_BY_ID.get(str(row.rule_id))
        suite = f"{row.stage}.{row.source_system}"
        return {
            "stage": row.stage,
            "rule_id": row.rule_id,
            "dimension": row.dimension,
            "severity": row.severity,
            "source_system": row.source_system,
            "evaluated": int(row.evaluated),
            "failed": int(row.failed),
            "score": float(row.score),
            "band": _band(float(row.score)) if row.passed else "poor",
            "passed": bool(row.passed),
            "failing_share": 0.0 if not row.evaluated else int(row.failed) / int(row.evaluated),
            "pass_mark": threshold_text.get(str(row.rule_id), ""),
            "description": rule.description if rule else "",
            "reason": rule.reason if rule else "",
            "examples": [mask_text(e) for e in str(row.examples or "").split("; ") if e],
            "docs": docs_pages.get(suite, []),
        }

    ordered = results.assign(
        _stage=results["stage"].map(stage_order), _blocking=results["severity"] != "blocking"
    ).sort_values(["_stage", "rule_id", "source_system"])
    all_results = [described(row) for row in ordered.itertuples(index=False)]
    failing = sorted(
        (r for r in all_results if not r["passed"]),
        key=lambda r: (r["severity"] != "blocking", stage_order.get(r["stage"], 9), r["rule_id"]),
    )
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
            "failed": int((~results["passed"]).sum()),
            "blocking": int(((~results["passed"]) & (results["severity"] == "blocking")).sum()),
            "score": None if results.empty else float(results["score"].mean()),
            "band": _band(None if results.empty else float(results["score"].mean())),
        },
        sources=sources,
        dimensions=DIMENSIONS,
        scorecard=scorecard,
        dimension_totals=dimension_totals,
        failing=failing,
        results=all_results,
        history=history,
        sparklines=sparklines,
        quarantine=quarantine,
        quarantine_total=quarantine_total,
        quarantine_as_of=quarantine_as_of,
        catalogue=[{str(k): v for k, v in r.items()} for r in catalogue.to_dict("records")],
        docs_pages=docs_pages,
        docs_index=docs_index,
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
    docs: DocsLinks = ({}, None),
    config: QualityConfig | None = None,
    run_errors: Sequence[str] = (),
    sensitive: Mapping[str, Sensitive] | None = None,
) -> str:
    """The run's report page.

    `warehouse_query` runs one SQL statement on the warehouse; `config` gives the thresholds
    the catalogue prints; `run_errors` (masked) are step failures of a run that stopped
    before its checks; `sensitive` names source columns holding IDs or phones, masked whole
    in the quarantine's payloads.
    """
    return render(
        collect(
            warehouse_query,
            run_id,
            docs=docs,
            config=config,
            run_errors=run_errors,
            sensitive=sensitive,
        )
    )
