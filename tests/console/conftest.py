"""The console on a small published snapshot, served by uvicorn on a free port, with the test
identity provider of the API tests; and Debian's chromium driven by Playwright."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from connectors.settings import Settings
from golden_record_api.read_audit import InMemoryReadAuditor
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


@pytest.fixture(scope="session")
def console_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return publish_snapshot(
        tmp_path_factory.mktemp("console") / "serving.duckdb", kpi_marts=CONSOLE_MARTS
    )


@pytest.fixture(scope="session")
def console(console_snapshot: Path) -> Iterator[Console]:
    auditor = InMemoryReadAuditor()
    with serve(app_on(console_snapshot, read_auditor=auditor)) as client:
        running = Console(str(client.base_url), auditor, identity_provider())
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
