"""The console in a real browser: Debian's chromium, headless, driven by Playwright, at
1366×768. Every test also checks (in `page_at`) that no request left the machine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.console.conftest import Console

pytestmark = pytest.mark.browser


def sign_in(page: Any, console: Console, role: str, path: str = "/console/") -> None:
    page.goto(path)
    assert "/console/sign-in" in page.url
    page.fill("#credential", console.idp.token(role))
    page.click("button[type=submit]")
    page.wait_for_load_state()


def fits_the_screen(page: Any) -> bool:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width <= 1366


def test_a_relationship_manager_opens_a_task_and_lands_on_the_customer(
    page_at: Callable[[], Any], console: Console
) -> None:
    page = page_at()
    sign_in(page, console, "relationship_manager")
    page.click("nav >> text=我的任务")
    page.wait_for_url("**/console/tasks")
    assert fits_the_screen(page)
    page.click("tr[data-task='TASK-1'] a")
    page.wait_for_url("**/console/customers/G0000000001")
    assert page.inner_text("#golden-id") == "G0000000001"
    # Masked for a relationship manager: the ID's middle digits never reach the page.
    shown_id = page.inner_text("#profile dd[data-field='id_number']")
    assert shown_id.startswith("130102") and "19850307" not in shown_id
    assert page.locator("#sources tbody tr").count() >= 1
    assert fits_the_screen(page)


def test_the_managers_dashboard_draws_its_charts_from_the_vendored_library(
    page_at: Callable[[], Any], console: Console
) -> None:
    page = page_at()
    sign_in(page, console, "admin", "/console/dashboard")
    page.wait_for_selector("canvas[data-drawn='true']")
    drawn = page.locator("canvas[data-drawn='true']").count()
    assert drawn == page.locator("canvas[data-chart]").count() >= 5
    assert page.evaluate("typeof Chart") == "function"
    assert fits_the_screen(page)


def test_a_steward_searches_by_resident_id_and_switches_to_english(
    page_at: Callable[[], Any], console: Console
) -> None:
    page = page_at()
    sign_in(page, console, "steward", "/console/customers")
    page.select_option("#by", "resident_id")
    page.fill("#value", "130102 19850307 003x")
    page.click("form.row button[type=submit]")
    page.wait_for_load_state()
    page.wait_for_selector("#results")
    page.click("#results a >> text=G0000000001")
    page.wait_for_url("**/console/customers/G0000000001")
    page.click("a.lang")
    page.wait_for_selector("text=Customer 360° view")
    assert "Golden record" in page.inner_text("#profile h2")


def test_a_steward_follows_a_household_member_to_their_own_view(
    page_at: Callable[[], Any], console: Console
) -> None:
    page = page_at()
    sign_in(page, console, "steward", "/console/customers/G0000000001")
    page.wait_for_url("**/console/customers/G0000000001")
    # Masked for a steward: only the first 6 and last 4 digits of an account number.
    numbers = page.locator("#accounts td[data-field='account_no']").all_inner_texts()
    assert numbers and all("********" in number for number in numbers)
    assert page.locator("#accounts td[data-field='balance']").count() == 0
    assert page.locator("#tickets tbody tr").count() == 2
    assert fits_the_screen(page)
    page.click("#household a >> text=G0000000003")
    page.wait_for_url("**/console/customers/G0000000003")
    assert page.inner_text("#golden-id") == "G0000000003"
    assert page.locator("#loans tbody tr").count() == 2
    assert fits_the_screen(page)


def test_an_auditor_signs_off_a_run_and_exports_it(
    page_at: Callable[[], Any], console: Console
) -> None:
    from tests.console.conftest import CLEAR_ID, RUN_PARTIAL

    page = page_at()
    sign_in(page, console, "auditor")
    page.click("nav >> text=质量报告")
    page.wait_for_url("**/console/runs")
    assert fits_the_screen(page)
    page.click(f"tr[data-run='{RUN_PARTIAL}'] a")
    page.wait_for_url(f"**/console/runs/{RUN_PARTIAL}")
    assert page.inner_text("#run-id") == RUN_PARTIAL
    assert page.get_attribute("#verdict", "class") == "band-poor"  # a blocking rule failed
    page.check("#sign-off input[value='rejected']")
    page.fill("#comment", "raw.key_not_null failed on crm: rerun before release")
    page.click("#sign-off button[type=submit]")
    page.wait_for_url(f"**/console/runs/{RUN_PARTIAL}#signoffs")
    standing = page.locator("#signoffs tr[data-status='current']")
    assert standing.count() == 1 and "拒绝" in standing.inner_text()
    assert fits_the_screen(page)

    with page.expect_download() as downloading:
        page.click("#export a >> text=CSV")
    download = downloading.value
    assert download.suggested_filename == f"dq-{RUN_PARTIAL}.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    assert text.startswith("section,")
    assert "rerun before release" in text and "raw.key_not_null" in text
    assert CLEAR_ID not in text
