"""The console on a small published snapshot, served by uvicorn on a free port, with the test
identity provider of the API tests; and Debian's chromium driven by Playwright."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import httpx
import pandas as pd
import pytest

from connectors.settings import Settings
from golden_record_api.read_audit import InMemoryReadAuditor
from quality.masking import mask_value
from quality.runs import RUN_COLUMNS, RUNS_TABLE
from quality.suites import FAILING_ROW_COLUMNS, FAILING_ROWS_TABLE, RESULT_COLUMNS, RESULTS_TABLE
from tests.api.conftest import (
    KPI_MARTS,
    IdentityProvider,
    app_on,
    identity_provider,
    publish_snapshot,
    rm_task,
    serve,
)

# The relationship manager of the API tests works at B0001 as RM0001; G0000000001 is a
# customer there, G0000000003 one of branch B0002.
CONSOLE_TASKS = [
    rm_task("TASK-1", "maturity_followup", "RM0001", "B0001", "G0000000001", "2026-11-28", "high"),
    rm_task("TASK-2", "vip_contact", "RM0002", "B0001", "G0000000001", "2026-11-30", "low"),
    rm_task("TASK-3", "vip_contact", "RM0009", "B0002", "G0000000003", "2026-11-29", "medium"),
]
CONSOLE_MARTS = {**KPI_MARTS, "marts.rm_tasks": (KPI_MARTS["marts.rm_tasks"][0], CONSOLE_TASKS)}


class Console:
    """The running console: its address, what it audited, and signed-in clients."""

    def __init__(
        self,
        base_url: str,
        auditor: InMemoryReadAuditor | None,
        idp: IdentityProvider,
        settings: Settings | None = None,
    ) -> None:
        self.base_url, self.auditor, self.idp = base_url, auditor, idp
        self.settings = settings  # the app's, when a test needs its stores
        self._stack = ExitStack()

    def client(self) -> httpx.Client:
        return self._stack.enter_context(
            httpx.Client(base_url=self.base_url, timeout=10, trust_env=False)
        )

    def signed_in(self, role: str, **claims: Any) -> httpx.Client:
        client = self.client()
        response = client.post(
            "/console/sign-in", data={"credential": self.idp.token(role, **claims)}
        )
        assert response.status_code == 303, response.text
        return client

    def close(self) -> None:
        self._stack.close()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form token"
    return found.group(1)


# The runs the publish put in the snapshot (`dq.runs`), newest last, with their quality results.
# G0000000001's resident ID and mobile appear only masked, as the checks store failing rows.
CLEAR_ID = "13010219850307003X"
CLEAR_MOBILE = "13800138000"
RUN_FAILED = "run-failed-1"
RUN_FULL_OLD = "run-full-1"
RUN_PARTIAL = "run-partial-1"
RUN_FULL = "run-full-2"  # the newest: the one the published snapshot came from
RUN_RUNNING = "run-running-1"
CONSOLE_RUNS = [
    (RUN_FAILED, "mdm_full_run", "2026-11-28 02:00", "2026-11-28 02:05", "full", "failed"),
    (RUN_FULL_OLD, "mdm_full_run", "2026-11-29 02:00", "2026-11-29 02:20", "full", "succeeded"),
    (RUN_PARTIAL, "__ASSET_JOB", "2026-11-30 10:00", "2026-11-30 10:03", "partial", "succeeded"),
    (RUN_RUNNING, "apply_decisions", "2026-12-01 01:00", None, "partial", "running"),
    (RUN_FULL, "mdm_full_run", "2026-12-01 02:00", None, "full", "succeeded"),
]
# (run, rule, source, evaluated, failed, score, passed): a 45 % share that meets its 40 %
# mark passes (green) however low; a mobile format warning fails (amber); a blocking rule
# fails in the partial run (red), which the full-runs trend must not count.
CONSOLE_RESULTS = [
    (RUN_FAILED, "raw.key_not_null", "core", 100, 60, 0.40, False),
    (RUN_FULL_OLD, "raw.key_not_null", "core", 100, 0, 1.0, True),
    (RUN_FULL_OLD, "std.valid_resident_id_share", "core", 100, 50, 0.50, True),
    (RUN_PARTIAL, "raw.key_not_null", "crm", 80, 8, 0.90, False),
    (RUN_FULL, "raw.key_not_null", "core", 100, 0, 1.0, True),
    (RUN_FULL, "std.valid_resident_id_share", "core", 100, 55, 0.45, True),
    (RUN_FULL, "std.mobile_format", "crm", 80, 4, 0.95, False),
]


def add_quality_results(snapshot: Path) -> None:
    """Write `dq.runs`, `dq.results` and `dq.failing_rows` as the publish copies them."""
    from quality.catalogue import RULES_BY_ID

    runs = pd.DataFrame(CONSOLE_RUNS, columns=list(RUN_COLUMNS)).astype(
        {"started": "datetime64[us]", "finished": "datetime64[us]"}
    )
    results = pd.DataFrame(
        [
            {
                "run_id": run_id,
                "checked_at": pd.Timestamp("2026-12-01 02:10"),
                "stage": RULES_BY_ID[rule].stage,
                "rule_id": rule,
                "dimension": RULES_BY_ID[rule].dimension,
                "severity": RULES_BY_ID[rule].severity,
                "source_system": source,
                "evaluated": evaluated,
                "failed": failed,
                "score": score,
                "passed": passed,
                "examples": "",
            }
            for run_id, rule, source, evaluated, failed, score, passed in CONSOLE_RESULTS
        ],
        columns=list(RESULT_COLUMNS),
    )
    failing = pd.DataFrame(
        [
            (
                RUN_FULL,
                "2026-12-01 02:10",
                "standardized",
                "std.valid_resident_id_share",
                "core",
                1,
                "core:C0001",
                "id_number",
                mask_value("id_number", CLEAR_ID),
                "not a valid ID",
            ),
            (
                RUN_FULL,
                "2026-12-01 02:10",
                "standardized",
                "std.mobile_format",
                "crm",
                1,
                "crm:R0001",
                "mobile",
                mask_value("mobile", CLEAR_MOBILE),
                "=1+2 formula",
            ),
        ],
        columns=list(FAILING_ROW_COLUMNS),
    )
    with duckdb.connect(str(snapshot)) as connection:
        connection.execute("create schema dq")
        for table, frame in (
            (RUNS_TABLE, runs),
            (RESULTS_TABLE, results),
            (FAILING_ROWS_TABLE, failing),
        ):
            connection.register("incoming", frame)
            connection.execute(f"create table {table} as select * from incoming")
            connection.unregister("incoming")


@pytest.fixture(scope="session")
def console_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    snapshot = publish_snapshot(
        tmp_path_factory.mktemp("console") / "serving.duckdb", kpi_marts=CONSOLE_MARTS
    )
    add_quality_results(snapshot)
    return snapshot


@pytest.fixture(scope="session")
def console(console_snapshot: Path) -> Iterator[Console]:
    auditor = InMemoryReadAuditor()
    with serve(app_on(console_snapshot, read_auditor=auditor)) as client:
        idp = identity_provider()
        running = Console(str(client.base_url), auditor, idp, idp.settings(console_snapshot))
        yield running
        running.close()


@pytest.fixture(scope="session")
def browser(chromium: Path) -> Iterator[Any]:
    """Debian's chromium under Playwright (never a browser Playwright downloads)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@contextmanager
def offline_pages(browser: Any, base_url: str) -> Iterator[Callable[[], Any]]:
    """`new_page()`: a fresh 1366×768 page on `base_url`; afterwards every request the pages
    made must have stayed on this machine."""
    requested: list[str] = []
    contexts: list[Any] = []

    def new_page() -> Any:
        context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=base_url)
        contexts.append(context)
        page = context.new_page()
        page.on("request", lambda request: requested.append(request.url))
        page.set_default_timeout(15_000)
        return page

    yield new_page
    for context in contexts:
        context.close()
    outside = [url for url in requested if urlsplit(url).hostname not in {"127.0.0.1"}]
    assert not outside, f"requests left the machine: {outside}"
    assert requested, "the page made no request at all"


@pytest.fixture
def page_at(browser: Any, console: Console) -> Iterator[Callable[[], Any]]:
    """`page_at()`: a fresh page on the shared console (see `offline_pages`)."""
    with offline_pages(browser, console.base_url) as new_page:
        yield new_page
