"""The steward workspace on a small simulated bank run through the pipeline: the queue of
questions, the records side by side with the waterfall, and decisions checked, held for a
second steward when risky, applied at once, and revoked — over HTTP and in Debian's chromium."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from connectors.settings import Settings
from connectors.simulated import simulate
from connectors.warehouse import open_warehouse
from golden_record_api.main import create_app
from golden_record_api.snapshot import SnapshotStore
from pipelines.build import build_mdm_assets, build_resources
from pipelines.mdm_config import load_config
from tests.api.conftest import identity_provider, serve
from tests.conftest import TEST_AS_OF, write_pipeline_config
from tests.console.conftest import Console, csrf_of, offline_pages

PEOPLE = 400


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A 400-person bank after one run (Python stages, published snapshot)."""
    folder = tmp_path_factory.mktemp("steward_bank")
    simulate(folder / "sources", people=PEOPLE, seed=11, as_of=TEST_AS_OF)
    settings = identity_provider().settings(folder / "var" / "serving.duckdb")
    settings = settings.model_copy(
        update={
            "home": folder / "var",
            "config_path": write_pipeline_config(folder / "sources", folder / "mdm.yaml"),
        }
    )
    # A wide review band, so a bank this small has questions for its stewards.
    document = yaml.safe_load(settings.config_path.read_text(encoding="utf-8"))
    document["matching"]["thresholds"]["review"] = 0.0001
    settings.config_path.write_text(yaml.safe_dump(document, allow_unicode=True), "utf-8")
    config = load_config(settings.config_path)
    assert dg.materialize(build_mdm_assets(config), resources=build_resources(settings)).success
    open_warehouse(settings.resolved_warehouse_url).publish(settings.resolved_serving_path)
    return settings


@pytest.fixture
def steward_console(bank: Settings, tmp_path: Path) -> Iterator[Console]:
    """The console on a private copy of the bank, so each test's decisions start afresh."""
    home = tmp_path / "var"
    shutil.copytree(bank.home, home, ignore=shutil.ignore_patterns("run.lock", "dagster"))
    settings = bank.model_copy(update={"home": home, "serving_path": home / "serving.duckdb"})
    with serve(create_app(settings)) as client:
        console = Console(str(client.base_url), None, identity_provider(), settings)
        yield console
        console.close()


def golden_of(settings: Settings, record_key: str) -> str:
    store = open_warehouse(settings.resolved_warehouse_url)
    rows = store.query("select golden_id from mdm.xref where record_key = ?", [record_key])
    return str(rows.iloc[0, 0])


def served_golden_of(settings: Settings, record_key: str) -> str:
    store = SnapshotStore(settings.resolved_serving_path)
    try:
        with store.open() as snapshot:
            link = snapshot.xref(record_key)
    finally:
        store.close()
    assert link is not None
    return str(link["golden_id"])


def first_question(client: Any) -> str:
    page = client.get("/console/steward").text
    found = re.search(r'data-question="(Q[0-9a-f]{16})"', page)
    assert found, "the queue shows no question"
    return found.group(1)


def test_a_question_shows_records_side_by_side_and_a_waterfall_that_sums_to_the_weight(
    steward_console: Console,
) -> None:
    client = steward_console.signed_in("steward")
    queue = client.get("/console/steward")
    assert queue.status_code == 200
    question = first_question(client)
    page = client.get(f"/console/steward/questions/{question}")
    assert page.status_code == 200
    assert re.search(r'<tr class="(agree|disagree)" data-field="name">', page.text)
    data = json.loads(re.search(r'id="waterfall-data">(.*?)</script>', page.text, re.S).group(1))
    assert data, "a pair question draws at least one waterfall"
    for pair in data:
        assert pair["steps"][0]["step"] == "prior"
        assert abs(sum(s["bits"] for s in pair["steps"]) - pair["weight"]) < 0.01
    # Another role has no steward workspace.
    assert (
        steward_console.signed_in("relationship_manager").get("/console/steward").status_code == 403
    )


def test_a_decision_naming_the_wrong_golden_id_is_refused_with_the_right_one(
    steward_console: Console,
) -> None:
    client = steward_console.signed_in("steward")
    question = first_question(client)
    page = client.get(f"/console/steward/questions/{question}").text
    record = re.search(r'<option value="([^"]+)">', page).group(1)
    actual = golden_of(steward_console.settings, record)
    wrong = "G0000009999" if actual != "G0000009999" else "G0000009998"
    refused = client.post(
        "/console/steward/decisions",
        data={
            "csrf": csrf_of(page),
            "question_id": question,
            "decision_type": "split",
            "record_key_l": record,
            "golden_id": wrong,
            "reason": "wrong golden ID on purpose",
        },
    )
    assert refused.status_code == 422
    message = re.search(r'role="alert">(.*?)</p>', refused.text, re.S).group(1)
    assert actual in message and record in message


def test_a_same_decision_is_applied_at_once_and_a_revoke_restores_the_records(
    steward_console: Console,
) -> None:
    client = steward_console.signed_in("steward", sub="steward-one")
    question = first_question(client)
    page = client.get(f"/console/steward/questions/{question}").text
    left, right = re.search(
        r'name="record_key_l" value="([^"]+)">\s*<input type="hidden" name="record_key_r"'
        r' value="([^"]+)">',
        page,
    ).groups()
    settings = steward_console.settings
    assert golden_of(settings, left) != golden_of(settings, right)
    decided = client.post(
        "/console/steward/decisions",
        data={
            "csrf": csrf_of(page),
            "question_id": question,
            "decision_type": "same",
            "record_key_l": left,
            "record_key_r": right,
            "reason": "same person: same mobile and birth date",
        },
    )
    assert decided.status_code == 303, decided.text
    location = decided.headers["location"]
    decision_id = int(re.search(r"/decisions/(\d+)", location).group(1))
    if "outcome=pending" in location:
        # Risky: a second steward approves it.
        other = steward_console.signed_in("steward", sub="steward-two")
        detail = other.get(f"/console/steward/decisions/{decision_id}").text
        approved = other.post(
            f"/console/steward/decisions/{decision_id}/approve",
            data={"csrf": csrf_of(detail), "reason": "documents checked"},
        )
        location = approved.headers["location"]
    assert "outcome=applied" in location
    after = golden_of(settings, left), golden_of(settings, right)
    assert after[0] == after[1]
    shown = client.get(location).text
    assert "steward-one" in shown
    assert f"/console/customers/{after[0]}" in shown  # the page links what changed
    # The served snapshot has it at once (no run): what the API and the console read.
    assert served_golden_of(settings, left) == served_golden_of(settings, right) == after[0]
    # Revoked: the records go back to where they were.
    revoked = client.post(
        f"/console/steward/decisions/{decision_id}/revoke",
        data={"csrf": csrf_of(shown), "reason": "entered on the wrong question"},
    )
    assert "outcome=applied" in revoked.headers["location"]
    assert golden_of(settings, left) != golden_of(settings, right)
    history = client.get(f"/console/steward/decisions/{decision_id}").text
    assert "revoke" in history and "entered on the wrong question" in history


def test_a_risky_merge_waits_for_a_second_steward_and_the_maker_cannot_approve_it(
    steward_console: Console,
) -> None:
    settings = steward_console.settings
    survivor, merged = two_single_record_customers(settings)
    record = _a_record_of(settings, merged)
    maker = steward_console.signed_in("steward", sub="maker")
    question = first_question(maker)
    page = maker.get(f"/console/steward/questions/{question}").text
    decided = maker.post(
        "/console/steward/decisions",
        data={
            "csrf": csrf_of(page),
            "question_id": question,
            "decision_type": "merge",
            "golden_id": survivor,
            "related_golden_id": merged,
            "reason": "customer says both are theirs",
        },
    )
    location = decided.headers["location"]
    assert "outcome=pending" in location
    decision_id = int(re.search(r"/decisions/(\d+)", location).group(1))
    own = maker.get(location).text
    assert 'id="approve"' not in own  # no approve button for the maker
    refused = maker.post(
        f"/console/steward/decisions/{decision_id}/approve",
        data={"csrf": csrf_of(own), "reason": "approving my own"},
    )
    assert refused.status_code == 422
    assert "a different steward" in refused.text
    assert golden_of(settings, record) == merged  # nothing applied yet
    checker = steward_console.signed_in("steward", sub="checker")
    detail = checker.get(location).text
    assert 'id="approve"' in detail
    approved = checker.post(
        f"/console/steward/decisions/{decision_id}/approve",
        data={"csrf": csrf_of(detail), "reason": "documents checked at the branch"},
    )
    assert "outcome=applied" in approved.headers["location"], approved.headers["location"]
    assert golden_of(settings, record) == survivor, approved.headers["location"]


def two_single_record_customers(settings: Settings) -> list[str]:
    """Two active golden records of one record each, with two different valid resident IDs:
    merging them is risky."""
    store = open_warehouse(settings.resolved_warehouse_url)
    return list(
        store.query(
            "select x.golden_id from mdm.xref x join mdm.party_records p using (record_key)"
            " join mdm.golden_records g on g.golden_id = x.golden_id and g.status = 'active'"
            " group by x.golden_id having count(*) = 1 and bool_and(p.id_valid)"
            " order by x.golden_id limit 2"
        )["golden_id"]
    )


def _a_record_of(settings: Settings, golden_id: str) -> str:
    store = open_warehouse(settings.resolved_warehouse_url)
    rows = store.query(
        "select record_key from mdm.xref where golden_id = ? order by record_key", [golden_id]
    )
    return str(rows.iloc[0, 0])


def sign_in(page: Any, console: Console, role: str, path: str, **claims: Any) -> None:
    page.goto(path)
    page.fill("#credential", console.idp.token(role, **claims))
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.mark.browser
def test_in_the_browser_a_steward_resolves_a_question_and_a_revoke_restores_it(
    browser: Any, steward_console: Console
) -> None:
    settings = steward_console.settings
    assert settings is not None
    with offline_pages(browser, steward_console.base_url) as new_page:
        page = new_page()
        sign_in(page, steward_console, "steward", "/console/", sub="wang.min")
        page.wait_for_url("**/console/steward")  # a steward's first workspace
        page.click("#questions tbody tr:first-child a")
        page.wait_for_selector("canvas[data-waterfall][data-drawn='true']")
        form = page.locator("form.decide").first
        left = form.locator("input[name=record_key_l]").get_attribute("value")
        right = form.locator("input[name=record_key_r]").get_attribute("value")
        assert left and right and golden_of(settings, left) != golden_of(settings, right)
        form.locator("input[name=reason]").fill("same person: mobile and birth date agree")
        form.locator("button[value=same]").click()
        page.wait_for_url("**/console/steward/decisions/*")
        if page.locator("#approve").count() == 0 and "outcome=pending" in page.url:
            checker = new_page()
            sign_in(checker, steward_console, "steward", page.url, sub="li.hua")
            checker.fill("form:has(#approve) input[name=reason]", "documents checked")
            checker.click("#approve")
            checker.wait_for_url("**outcome=applied**")
            page.reload()
        assert golden_of(settings, left) == golden_of(settings, right)
        page.fill("form:has(#revoke) input[name=reason]", "decided on the wrong pair")
        page.click("#revoke")
        page.wait_for_url("**outcome=applied**")
        assert page.inner_text("#decision-status") == "已撤销"
        assert golden_of(settings, left) != golden_of(settings, right)
        assert "decided on the wrong pair" in page.inner_text("#history")


@pytest.mark.browser
def test_in_the_browser_a_risky_merge_waits_for_a_second_steward_then_applies(
    browser: Any, steward_console: Console
) -> None:
    settings = steward_console.settings
    assert settings is not None
    survivor, merged = two_single_record_customers(settings)
    record = _a_record_of(settings, merged)
    with offline_pages(browser, steward_console.base_url) as new_page:
        maker = new_page()
        sign_in(maker, steward_console, "steward", "/console/steward", sub="wang.min")
        maker.click("#questions tbody tr:first-child a")
        maker.fill("#merge-survivor", survivor)
        maker.fill("#merge-merged", merged)
        maker.fill("#merge-form input[name=reason]", "the customer showed both cards")
        maker.click("#merge-form button[type=submit]")
        maker.wait_for_url("**outcome=pending**")
        assert maker.locator("#approve").count() == 0
        assert golden_of(settings, record) == merged
        checker = new_page()
        sign_in(checker, steward_console, "steward", maker.url, sub="li.hua")
        checker.fill("form:has(#approve) input[name=reason]", "documents checked")
        checker.click("#approve")
        checker.wait_for_url("**outcome=applied**")
        assert golden_of(settings, record) == survivor
        assert checker.locator(f"#changes a:has-text('{survivor}')").count() >= 1
