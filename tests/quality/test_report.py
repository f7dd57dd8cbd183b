"""The auditor's report: one static HTML page per run, everything in it masked."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from connectors.reports import report_path
from pipelines.assets.report import build_report
from quality.catalogue import RULES, QualityConfig
from quality.report import failing_rows, rule_drilldown
from quality.runs import result_counts, run_summaries
from tests.pii import find_unmasked
from tests.quality.conftest import MOBILE, RESIDENT_ID, ReportWarehouse


class _Links(HTMLParser):
    """Every href and src of a page, to prove it needs nothing from outside."""

    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        self.references += [v or "" for k, v in attrs if k in {"href", "src"}]


def test_report_has_scores_runs_trend_failing_rows_quarantine_and_catalogue(
    report_warehouse: ReportWarehouse,
):
    w = report_warehouse
    path = build_report(
        w.store.query, w.current, w.reports_dir, runs=w.runs, config=QualityConfig()
    )

    assert path == report_path(w.reports_dir, "run-2") == w.reports_dir / "dq-run-2.html"
    html = path.read_text(encoding="utf-8")
    assert (w.reports_dir / "latest.html").read_text(encoding="utf-8") == html
    # A blocking rule failed: the run is marked blocked, the failure listed first.
    assert "BLOCKED" in html
    assert html.index('id="fail-raw.key_unique-crm"') < html.index(
        'id="fail-std.mobile_format-core"'
    )
    # Scores: crm uniqueness 0.9 (20 of 200 failing), core validity 0.9, all completeness 1.0.
    scorecard = html[
        html.index('id="scorecard"') : html.index("</table>", html.index('id="scorecard"'))
    ]
    assert "90.0%" in scorecard and "100.0%" in scorecard
    # The run list names every run, the current one marked, with a sparkline per dimension
    # that has rules in the trended runs (uniqueness, validity, completeness, timeliness).
    history = html[html.index('id="history"') :]
    assert "run-1" in history and "run-2" in history and "(this run)" in history
    assert html.count("<polyline") == 4
    # Quarantine by source and rule, with the standardization catalogue's description.
    assert "junk_name" in html and "Test or placeholder name" in html
    assert "C100000003" in html  # keys stay readable
    # The full catalogue, each rule with its reason.
    for rule in RULES:
        assert f"<code>{rule.rule_id}</code>" in html
    # Each failing rule's kept rows, masked; a missing value says so.
    failing = html[html.index('id="fail-std.mobile_format-core"') :]
    failing = failing[: failing.index('<h2 id="quarantine"')]
    assert "<code>core:C1</code>" in failing and "138****8000" in failing
    assert "missing" in failing
    # The GX Data Docs pages load Bootstrap, jQuery and Vega from CDNs: not linked any more.
    links = _Links()
    links.feed(html)
    assert not [ref for ref in links.references if ref.startswith("gx/")]
    # Nothing unmasked.
    assert RESIDENT_ID not in html and MOBILE not in html
    assert find_unmasked(html) is None
    assert "130102********1235" in html and "138****8000" in html
    # Static: no script, every reference inside the page.
    assert links.scripts == 0
    assert all(not re.match(r"[a-z]+://", ref) for ref in links.references)


def test_report_of_a_run_that_stopped_before_any_check_shows_its_errors(
    report_warehouse: ReportWarehouse,
):
    w = report_warehouse
    path = build_report(
        w.store.query,
        "run-3",
        w.reports_dir,
        run_errors=[f"extract_crm: crm_customers.csv cannot be decoded as gbk ({RESIDENT_ID})"],
    )
    html = path.read_text(encoding="utf-8")
    assert "BLOCKED" in html and "The run stopped before any quality rule ran" in html
    assert "crm_customers.csv cannot be decoded as gbk" in html
    assert find_unmasked(html) is None
    assert "No quality rule ran in this run" in html


def test_report_on_an_empty_warehouse(tmp_path):
    from connectors.warehouse import open_warehouse

    store = open_warehouse(f"duckdb:///{tmp_path / 'empty.duckdb'}")
    store.ensure_schemas()
    html = build_report(store.query, "first", tmp_path / "reports").read_text(encoding="utf-8")
    assert "No quality results were recorded for this run" in html
    assert "No row is in quarantine" in html


def _section(html: str, start: str, end: str) -> str:
    section = html[html.index(start) :]
    return section[: section.index(end)]


def _result_cell(html: str, rule_id: str, source: str) -> str:
    """The score cell's class in the all-results table row of a rule and source."""
    table = _section(html, 'id="results-table"', "</table>")
    row = next(
        r for r in table.split("<tr>") if f"<code>{rule_id}</code></td><td>{source}</td>" in r
    )
    found = re.search(r'<td class="num (\w+)" title="pass mark ([^"]+)"', row)
    assert found, row
    return found.group(1)


def test_colours_follow_pass_and_fail_not_the_score(report_warehouse: ReportWarehouse):
    # Regression (issue 15): the report said "PASSED — Every rule passed" above red cells, the
    # colour following the score rather than the rule's pass mark.
    w = report_warehouse
    html = build_report(
        w.store.query, w.current, w.reports_dir, runs=w.runs, config=QualityConfig()
    ).read_text(encoding="utf-8")
    # 45 % of records updated recently passes the 40 % pass mark: green, with the mark shown.
    assert _result_cell(html, "std.updated_recently", "crm") == "good"
    assert 'title="pass mark ≥ 40.0% passing">45.00%' in html
    # The failed warning rule is amber, the failed blocking rule red, whatever their scores.
    assert _result_cell(html, "std.mobile_format", "core") == "fair"
    assert _result_cell(html, "raw.key_unique", "crm") == "poor"
    # The scorecard cell of crm timeliness (45 %, passed) is green too.
    scorecard = _section(html, 'id="scorecard"', "</table>")
    crm = next(r for r in scorecard.split("<tr>") if r.startswith("<th>crm</th>"))
    assert '<td class="num good"><span class="score">45.0%</span>' in crm

    # A run whose every rule passed is PASSED and shows no amber or red anywhere, although
    # its scores are below the old 95 % band.
    passed = build_report(
        w.store.query, "run-1", w.reports_dir, runs=w.runs, config=QualityConfig()
    ).read_text(encoding="utf-8")
    assert "PASSED — Every rule passed" in passed
    results = _section(passed, 'id="results-table"', "</table>")
    assert "num poor" not in results and "num fair" not in results
    scores = _section(passed, 'id="scorecard"', "</table>")
    assert "num poor" not in scores and "num fair" not in scores


def test_runs_list_kind_and_status_and_the_trend_uses_full_successful_runs_only(
    report_warehouse: ReportWarehouse,
):
    w = report_warehouse
    html = build_report(
        w.store.query, w.current, w.reports_dir, runs=w.runs, config=QualityConfig()
    ).read_text(encoding="utf-8")
    history = _section(html, 'id="history"', "</table>")
    rows = {
        run: re.findall(r"<td[^>]*>([^<]*)</td>", row)
        for row in history.split("<tr")
        if (found := re.search(r'data-run="([^"]+)"', row)) and (run := found.group(1))
    }
    # started, finished, kind, status, in trend
    assert rows["run-0"][1:5] == ["2026-11-26 02:05", "incremental", "succeeded", "no"]
    assert rows["run-x"][1:5] == ["2026-11-27 12:01", "full", "failed", "no"]
    assert rows["run-1"][1:5] == ["2026-11-27 02:10", "full", "succeeded", "yes"]
    # The run being reported is still running (the report asset runs inside it): a full run.
    assert rows["run-2"][2:5] == ["full", "running", "yes"]
    # uniqueness over run-1 (100 %) and run-2 (90 %) only: run-0's and run-x's 50 % left out.
    assert "<title>uniqueness: 100.0%, 90.0%</title>" in html
    assert "cover full runs that succeeded (2 here)" in " ".join(html.split())


def test_run_summaries_count_rules_and_keep_runs_the_orchestrator_lost(
    report_warehouse: ReportWarehouse,
):
    w = report_warehouse
    known = w.runs[w.runs["run_id"] != "run-0"]
    summaries = run_summaries(known, result_counts(w.store.query))
    by_id = {s.run_id: s for s in summaries}
    assert [s.run_id for s in summaries] == ["run-2", "run-x", "run-1", "run-0"]  # newest first
    assert (by_id["run-2"].rules, by_id["run-2"].rules_passed, by_id["run-2"].rules_failed) == (
        4,
        2,
        2,
    )
    assert by_id["run-2"].blocking_failures == 1
    # run-0 has results but no orchestrator record: listed, kind and status unknown.
    assert (by_id["run-0"].kind, by_id["run-0"].status) == ("unknown", "unknown")
    assert [s.run_id for s in summaries if s.in_trend] == ["run-1"]


def test_drilldown_gives_a_rules_masked_failing_rows_threshold_and_observed_value(
    report_warehouse: ReportWarehouse,
):
    w = report_warehouse
    rows = failing_rows(w.store.query, "run-2", "std.mobile_format")
    assert rows.to_dict("records") == [
        {
            "source_system": "core",
            "row_number": 1,
            "row_key": "core:C1",
            "column_name": "mobile",
            "value": "138****8000",
            "detail": "",
        },
        {
            "source_system": "core",
            "row_number": 2,
            "row_key": "core:C2",
            "column_name": "mobile",
            "value": None,
            "detail": "",
        },
    ]
    drill = rule_drilldown(w.store.query, "run-2", "raw.key_unique", "crm", config=QualityConfig())
    assert drill is not None
    assert (drill.dimension, drill.severity, drill.passed) == ("uniqueness", "blocking", False)
    assert drill.pass_mark == "≤ 1.0% failing"
    assert (drill.evaluated, drill.failed, drill.score) == (200, 20, 0.9)
    assert list(drill.rows["row_key"]) == ["CRM1000001", "CRM1000001"]
    assert find_unmasked(drill.rows.to_string() + " ".join(drill.examples)) is None
    assert rule_drilldown(w.store.query, "run-2", "raw.key_unique", "core") is None
    assert failing_rows(w.store.query, "run-1", "raw.key_unique").empty
