"""What every console page shares: the signed-in user, the form check, rendering, headers.

Pages are server-rendered Jinja2 with HTMX for partial updates; every script, stylesheet and
chart library is served from `static/` by the app itself (a bank's network has no CDN), and the
Content-Security-Policy says so to the browser: nothing but this origin, no inline script.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from golden_record_api.access import Reader, reader_for
from golden_record_api.console.i18n import LANGUAGES, translator
from golden_record_api.console.session import SESSION_COOKIE, ConsoleSession, SessionSigner
from golden_record_api.policy import AccessPolicy
from golden_record_api.principal import (
    SCOPE_AUDIT_READ,
    SCOPE_DECISIONS_WRITE,
    SCOPE_KPIS_READ,
    SCOPE_RECORDS_READ,
    SCOPE_RM_TASKS_READ,
    Principal,
)
from golden_record_api.read_audit import ReadAuditor

PREFIX = "/console"
LANG_COOKIE = "mdm_lang"
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


StoreT = TypeVar("StoreT")


def show(value: Any) -> str:
    """A value as a page shows it: dates as dates (never `00:00:00`), times to the minute."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        if value.tzinfo is None and value.time() == datetime.min.time():
            return value.date().isoformat()  # a date the warehouse stored as a timestamp
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(show(item) for item in value)
    return str(value)


TEMPLATES.env.filters["show"] = show

# Pages show personal data: never cached, never framed, nothing loaded from anywhere else.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self';"
    " img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none';"
    " base-uri 'none'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on its own
    # forms, and the form check needs the real origin.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class NavItem:
    label: str  # an i18n key
    path: str
    scope: str


# The console's workspaces, in menu order; a user sees those its role has the scope for.
NAVIGATION = (
    NavItem("nav.steward", f"{PREFIX}/steward", SCOPE_DECISIONS_WRITE),
    NavItem("nav.customers", f"{PREFIX}/customers", SCOPE_RECORDS_READ),
    NavItem("nav.tasks", f"{PREFIX}/tasks", SCOPE_RM_TASKS_READ),
    NavItem("nav.dashboard", f"{PREFIX}/dashboard", SCOPE_KPIS_READ),
    NavItem("nav.audit", f"{PREFIX}/audit", SCOPE_AUDIT_READ),
    NavItem("nav.runs", f"{PREFIX}/runs", SCOPE_AUDIT_READ),
)


class SignInRequired(Exception):
    """No valid session: the page answers with the sign-in form, then comes back here."""

    def __init__(self, back_to: str) -> None:
        self.back_to = back_to


@dataclass(frozen=True)
class ConsoleUser:
    session: ConsoleSession
    principal: Principal

    @property
    def navigation(self) -> list[NavItem]:
        return [item for item in NAVIGATION if self.principal.has(item.scope)]


def language(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    return chosen if chosen in LANGUAGES else LANGUAGES[0]


def safe_next(value: str | None) -> str:
    """Only a console path: a sign-in must never redirect to another site."""
    if not value:
        return f"{PREFIX}/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith(f"{PREFIX}/"):
        return f"{PREFIX}/"
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def console_user(request: Request) -> ConsoleUser:
    signer: SessionSigner = request.app.state.console_signer.get()
    session = signer.read(request.cookies.get(SESSION_COOKIE))
    if session is None:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(back if request.method == "GET" else f"{PREFIX}/")
    policy: AccessPolicy = request.app.state.access_policy
    principal = session.principal(policy.scopes(session.role))
    request.state.principal = principal
    return ConsoleUser(session, principal)


ConsoleUserDep = Annotated[ConsoleUser, Depends(console_user)]


def require(*scopes: str) -> Callable[[ConsoleUser], Awaitable[ConsoleUser]]:
    """The signed-in user, or a 403 page naming the first scope its role lacks."""

    async def dependency(user: ConsoleUserDep) -> ConsoleUser:
        for scope in scopes:
            if not user.principal.has(scope):
                raise HTTPException(
                    status_code=status.HTTP_403_FORBIDDEN,
                    detail=f"this page needs the scope {scope!r}, which role"
                    f" {user.principal.role!r} does not have",
                )
        return user

    return dependency


async def checked_form(request: Request, user: ConsoleUserDep) -> FormData:
    """The posted form, once its token matches the session's (a forged cross-site post has
    no way to read it) and its Origin, when the browser sends one, is this site."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="a form from another site")
    form = await request.form()
    token = form.get("csrf")
    if not isinstance(token, str) or not hmac.compare_digest(token, user.session.csrf):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="the form has expired or did not come from this console: reload the page",
        )
    return form


CheckedFormDep = Annotated[FormData, Depends(checked_form)]


class PageReader(Reader):
    """A reader for a whole page: what the page's parts read is recorded as one audit event."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._golden_ids: dict[str, None] = {}

    def record(self, golden_ids: Iterable[str], status_code: int = status.HTTP_200_OK) -> None:
        self._golden_ids.update(dict.fromkeys(golden_ids))

    def flush(self) -> None:
        if self._golden_ids:
            Reader.record(self, list(self._golden_ids))
            self._golden_ids.clear()


def ops_backed(request: Request, name: str, open_store: Callable[[str], StoreT]) -> StoreT:
    """The app's store `name` on the ops store, opened on first use (an import must not
    create var/ files) and kept on the app for every later request."""
    store: StoreT | None = getattr(request.app.state, name, None)
    if store is None:
        store = open_store(request.app.state.settings.resolved_ops_url)
        setattr(request.app.state, name, store)
    return store


def page_reader(request: Request, user: ConsoleUser, purpose: str | None = None) -> PageReader:
    auditor: ReadAuditor = request.app.state.read_auditor
    base = reader_for(request, user.principal, request.app.state.access_policy, auditor)
    return PageReader(user.principal, base.policy, auditor, base.endpoint, purpose)


def render(
    request: Request,
    template: str,
    user: ConsoleUser | None,
    *,
    status_code: int = status.HTTP_200_OK,
    **context: Any,
) -> HTMLResponse:
    lang = language(request)
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "t": translator(lang),
            "lang": lang,
            "languages": LANGUAGES,
            "user": user,
            "here": request.url.path,
            "prefix": PREFIX,
            **context,
        },
        status_code=status_code,
    )


def sign_in_redirect(request: Request, back_to: str) -> Response:
    target = f"{PREFIX}/sign-in?next={quote(safe_next(back_to), safe='/')}"
    if request.headers.get("hx-request"):
        return Response(status_code=status.HTTP_204_NO_CONTENT, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


def error_page(request: Request, status_code: int, detail: str) -> HTMLResponse:
    return render(
        request,
        "error.html",
        None,
        status_code=status_code,
        status=status_code,
        detail=detail,
    )
