"""The auditor's report: one static HTML page per run, everything in it masked."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from connectors.reports import report_path
from pipelines.assets.report import build_report
from quality.catalogue import RULES, QualityConfig
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


def test_report_has_scores_trend_failures_quarantine_catalogue_and_docs(
    report_warehouse: ReportWarehouse,
):
    w = report_warehouse
    path = build_report(w.store.query, w.current, w.reports_dir, config=QualityConfig())

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
    # The trend lists both runs, the current one marked, with a sparkline per dimension.
    history = html[html.index('id="history"') :]
    assert "run-1" in history and "run-2" in history and "(this run)" in history
    assert html.count("<polyline") == 3  # three dimensions have rules in these runs
    # Quarantine by source and rule, with the standardization catalogue's description.
    assert "junk_name" in html and "Test or placeholder name" in html
    assert "C100000003" in html  # keys stay readable
    # The full catalogue, each rule with its reason.
    for rule in RULES:
        assert f"<code>{rule.rule_id}</code>" in html
    # The GX Data Docs of the run: a link per validation, to a page that exists.
    links = _Links()
    links.feed(html)
    docs = [ref for ref in links.references if ref.startswith("gx/")]
    assert "gx/index.html" in docs
    page = next(ref for ref in docs if "crm_customers" in ref)
    assert (w.reports_dir / page).exists()
    # Nothing unmasked, in the report or in the Data Docs page behind it.
    assert RESIDENT_ID not in html and MOBILE not in html
    assert find_unmasked(html) is None
    assert "130102********1235" in html and "138****8000" in html
    assert find_unmasked((w.reports_dir / page).read_text(encoding="utf-8")) is None
    # Static: no script, every reference inside the page or beside it.
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
