"""The report opened in a real browser (Debian's headless chromium): it renders, shows the
scores, and its DOM holds no unmasked resident ID or mobile."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.assets.report import build_report
from quality.catalogue import QualityConfig
from tests.conftest import headless
from tests.quality.conftest import ReportWarehouse

pytestmark = pytest.mark.browser

RESIDENT_ID = re.compile(r"(?<!\d)\d{17}[\dX](?!\d)")
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_report_renders_in_chromium_with_scores_and_nothing_unmasked(
    chromium: Path, report_warehouse: ReportWarehouse, tmp_path: Path
):
    w = report_warehouse
    report = build_report(
        w.store.query, w.current, w.reports_dir, runs=w.runs, config=QualityConfig()
    )
    url = report.resolve().as_uri()

    dom = headless(chromium, tmp_path / "profile", "--dump-dom", url).stdout

    # The browser parsed the whole page: header, scorecard, failing rules, catalogue, footer.
    assert "<h1>Data-quality report</h1>" in dom
    assert 'id="scorecard"' in dom and 'id="catalogue-table"' in dom and "</footer>" in dom
    # The scores: crm uniqueness 90.0 %, the run's mean score (0.9, 0.9, 1.0 and 0.45) in red
    # because a blocking rule failed, and the failing rule with its masked rows.
    assert re.search(r'class="value score poor" id="overall-score"[^>]*>\s*81\.\d%', dom)
    assert "90.0%" in dom
    assert 'id="fail-raw.key_unique-crm"' in dom
    # The 45 % timeliness share passed its 40 % pass mark: green in the browser's DOM too.
    assert '<td class="num good"><span class="score">45.0%</span>' in dom
    # No unmasked C2 data anywhere in the DOM; the masked forms are there.
    assert not RESIDENT_ID.search(dom), RESIDENT_ID.search(dom)
    assert not MOBILE.search(dom), MOBILE.search(dom)
    assert "130102********1235" in dom and "138****8000" in dom

    screenshot = tmp_path / "report.png"
    headless(
        chromium,
        tmp_path / "profile",
        f"--screenshot={screenshot}",
        "--window-size=1280,1600",
        "--hide-scrollbars",
        url,
    )
    image = screenshot.read_bytes()
    assert image.startswith(PNG_SIGNATURE)
    # Width and height from the PNG header: the size asked for, and not a blank page.
    assert int.from_bytes(image[16:20], "big") == 1280
    assert int.from_bytes(image[20:24], "big") == 1600
    assert len(image) > 50_000
