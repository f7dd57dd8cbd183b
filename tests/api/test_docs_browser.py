"""Swagger UI and ReDoc render offline: headless chromium (Debian's) opens `/docs` and `/redoc`
with every host but the API's own unresolvable, so a script or stylesheet from a CDN would
leave the page blank, as it did before (issue 14)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import headless

pytestmark = pytest.mark.browser

# Any name but 127.0.0.1 fails to resolve: the network is off as far as the page can tell.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"


def rendered(chromium: Path, profile: Path, url: str) -> str:
    return headless(
        chromium, profile, OFFLINE, "--virtual-time-budget=15000", "--dump-dom", url
    ).stdout


def test_docs_pages_load_nothing_from_outside(api: httpx.Client) -> None:
    for page in ("/docs", "/redoc"):
        html = api.get(page).text
        assert not re.search(r"""(src|href)=["']https?://""", html), page
        for asset in re.findall(r"""(?:src|href)=["'](/[^"']+)["']""", html):
            assert api.get(asset).status_code == 200, asset


def test_swagger_ui_renders_every_operation_offline(
    chromium: Path, api: httpx.Client, tmp_path: Path
) -> None:
    dom = rendered(chromium, tmp_path / "profile", str(api.base_url.join("/docs")))

    paths = set(re.findall(r'data-path="([^"]+)"', dom))
    # Every operation of the document, as the app publishes it, is on the page.
    assert paths == set(api.get("/openapi.json").json()["paths"])
    assert "Customer MDM golden-record API" in dom


def test_redoc_renders_the_operations_offline(
    chromium: Path, api: httpx.Client, tmp_path: Path
) -> None:
    dom = rendered(chromium, tmp_path / "profile", str(api.base_url.join("/redoc")))

    for summary in ("The 360° view of a customer", "Earlier versions of a golden record"):
        assert summary in dom
    # The error responses are documented too, not only the happy paths.
    assert "Unknown golden ID" in dom
