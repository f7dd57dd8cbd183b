"""The web console: stewards, relationship managers, auditors and managers, in one app.

Mounted into the API app under `/console` (`install`), so it shares the API's identities
(`auth`), access policy (`policy`), published snapshot and read audit: a page shows a field
exactly as the API would give it to the same role, and every page with personal data is
recorded in the same audit trail. Sign-in turns the API's credentials into a signed session
cookie (`session`); every asset is served from `static/` (no CDN).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors.settings import Settings
from golden_record_api import problems
from golden_record_api.console.pages import (
    audit,
    customers,
    dashboard,
    runs,
    sign_in,
    steward,
    tasks,
)
from golden_record_api.console.session import LazySigner
from golden_record_api.console.stewarding import WaterfallSource
from golden_record_api.console.web import (
    PREFIX,
    SECURITY_HEADERS,
    SignInRequired,
    error_page,
    sign_in_redirect,
)
from golden_record_api.snapshot import SnapshotUnavailable

STATIC = Path(__file__).parent / "static"


def _is_console_path(path: str) -> bool:
    return path == PREFIX or path.startswith(f"{PREFIX}/")


def _is_console(request: Request) -> bool:
    return _is_console_path(request.url.path)


class ConsoleHeaders:
    """The console's security headers on its own responses.

    Plain ASGI, not Starlette's `BaseHTTPMiddleware`: that one runs every request in a task
    group it then cancels, leaving ~80 objects in reference cycles per request (API requests
    included), and the collections that reclaim them were the read API's p99 tail.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_console_path(scope.get("path", "")):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the console's pages, assets and error pages to the API app."""
    # The signing key is read (or made, under var/) at the first sign-in, not at import.
    app.state.console_signer = LazySigner(settings)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")
    app.state.console_waterfalls = WaterfallSource()
    for page in (sign_in, steward, customers, tasks, dashboard, audit, runs):
        app.include_router(page.router, include_in_schema=False)
    app.add_middleware(ConsoleHeaders)

    async def signed_out(request: Request, error: Exception) -> Response:
        assert isinstance(error, SignInRequired)
        return sign_in_redirect(request, error.back_to)

    # Errors on console paths are pages, everywhere else the API's problem details.
    async def http_error(request: Request, error: Exception) -> Response:
        if _is_console(request) and isinstance(error, StarletteHTTPException):
            return error_page(request, error.status_code, str(error.detail))
        return await problems.http_exception(request, error)

    async def invalid_request(request: Request, error: Exception) -> Response:
        if _is_console(request):
            return error_page(request, 422, "the request is not valid: check the address")
        return await problems.request_validation(request, error)

    async def no_snapshot(request: Request, error: Exception) -> Response:
        if _is_console(request):
            return error_page(request, 503, str(error))
        return await problems.snapshot_unavailable(request, error)

    app.add_exception_handler(SignInRequired, signed_out)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(SnapshotUnavailable, no_snapshot)
