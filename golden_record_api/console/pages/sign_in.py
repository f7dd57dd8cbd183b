"""Signing in and out, and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from golden_record_api.auth import (
    API_KEY_HEADER,
    IdentityProviderUnavailable,
    RequestAuthenticator,
    Unauthenticated,
    UnknownRole,
)
from golden_record_api.console.i18n import LANGUAGES
from golden_record_api.console.session import SESSION_COOKIE, SessionSigner
from golden_record_api.console.web import (
    LANG_COOKIE,
    PREFIX,
    CheckedFormDep,
    ConsoleUserDep,
    render,
    safe_next,
)

router = APIRouter(prefix=PREFIX)
MAX_CREDENTIAL_LENGTH = 8192


def _headers_for(credential: str) -> dict[str, str]:
    """An API key (`mdm_…`) or a bearer token, as request headers (lower-case names, as the
    API's authenticator reads them)."""
    if credential.startswith("mdm_"):
        return {API_KEY_HEADER.lower(): credential}
    return {"authorization": f"Bearer {credential}"}


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "sign_in.html", None, next=safe_next(next))


@router.post("/sign-in", response_model=None)
async def sign_in(
    request: Request,
    credential: Annotated[str, Form(max_length=MAX_CREDENTIAL_LENGTH)],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    authenticator: RequestAuthenticator = request.app.state.authenticator
    back_to = safe_next(next)
    try:
        # The key store or the identity provider may be read: not on the event loop.
        principal = await run_in_threadpool(
            authenticator.identify, _headers_for(credential.strip())
        )
    except (Unauthenticated, UnknownRole, IdentityProviderUnavailable) as error:
        code = (
            status.HTTP_503_SERVICE_UNAVAILABLE
            if isinstance(error, IdentityProviderUnavailable)
            else status.HTTP_401_UNAUTHORIZED
        )
        # The message never repeats the credential (auth.py's rule).
        return render(
            request, "sign_in.html", None, status_code=code, next=back_to, error=str(error)
        )
    signer: SessionSigner = request.app.state.console_signer.get()
    cookie, _ = signer.issue(principal)
    response = RedirectResponse(back_to, status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(signer.lifetime.total_seconds()),
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/sign-out")
async def sign_out(_user: ConsoleUserDep, _form: CheckedFormDep) -> RedirectResponse:
    response = RedirectResponse(f"{PREFIX}/sign-in", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


@router.get("/lang/{code}")
async def switch_language(code: str, next: str | None = None) -> RedirectResponse:
    response = RedirectResponse(safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, path=PREFIX, samesite="lax")
    return response


@router.get("/")
async def home(user: ConsoleUserDep) -> RedirectResponse:
    """The first workspace the user's role has."""
    pages = user.navigation
    if not pages:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail=f"role {user.principal.role!r} has no workspace here"
        )
    return RedirectResponse(pages[0].path, status_code=status.HTTP_303_SEE_OTHER)
