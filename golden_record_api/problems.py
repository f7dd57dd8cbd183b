"""One error model for the whole API: RFC 9457 problem details (`application/problem+json`).

Every error the app answers — an `HTTPException` from a route, a request that fails validation,
an unknown path, a missing snapshot, and any exception nothing else handled — has the same body:
`type`, `title`, `status`, `detail`, `instance`, plus `errors` (where and why) for a 422.

What a problem never carries: the rejected input (a resident ID or mobile typed into a query is
personal data, so pydantic's `input` is dropped), a stack trace, a file path or an exception's
text from the 500 handler. The 500 is logged with the exception's type and the route template
only: the message of a database error can quote the parameters, which can be personal data.

`install(app)` wires the handlers; `PROBLEM_RESPONSES` (every operation: 422, 500) and
`problem_responses({404: "…"})` document them in the OpenAPI document with the problem schema.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from golden_record_api.schemas import Problem, ValidationIssue
from golden_record_api.snapshot import SnapshotUnavailable

PROBLEM_MEDIA_TYPE = "application/problem+json"
logger = logging.getLogger(__name__)

_PROBLEM_SCHEMA_REF = {"$ref": f"#/components/schemas/{Problem.__name__}"}

# Why a status is answered, when an operation does not say more.
DEFAULT_DESCRIPTIONS: dict[int, str] = {
    status.HTTP_401_UNAUTHORIZED: "No valid credentials",
    status.HTTP_403_FORBIDDEN: "The caller's scopes do not allow this",
    status.HTTP_404_NOT_FOUND: "Not found",
    status.HTTP_409_CONFLICT: "Conflicts with the current state",
    status.HTTP_422_UNPROCESSABLE_CONTENT: "A parameter is malformed (`errors` says which)",
    status.HTTP_429_TOO_MANY_REQUESTS: "Rate limit reached (`Retry-After` says when to retry)",
    status.HTTP_500_INTERNAL_SERVER_ERROR: "Unexpected error (nothing about it is disclosed)",
    status.HTTP_503_SERVICE_UNAVAILABLE: "No published snapshot can be read",
}


def problem_responses(statuses: Mapping[int, str | None]) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries documenting each status with the problem schema.

    `statuses` maps a status to its description (None: the default one for that status).
    """
    return {
        code: {
            "description": description or DEFAULT_DESCRIPTIONS.get(code, HTTPStatus(code).phrase),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_SCHEMA_REF}},
        }
        for code, description in statuses.items()
    }


# Every operation can answer these; passed to `FastAPI(responses=...)`. Declaring the 422
# also stops FastAPI from documenting its own (`HTTPValidationError`), which is not the body.
PROBLEM_RESPONSES = problem_responses(
    {status.HTTP_422_UNPROCESSABLE_CONTENT: None, status.HTTP_500_INTERNAL_SERVER_ERROR: None}
)


def problem(
    request_path: str,
    status_code: int,
    detail: str | None,
    *,
    errors: Sequence[ValidationIssue] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A problem-details response (`type` stays `about:blank`: the status says it all)."""
    body = Problem(
        title=HTTPStatus(status_code).phrase,
        status=status_code,
        detail=detail,
        instance=request_path,
        errors=list(errors) if errors is not None else None,
    )
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=status_code,
        headers=dict(headers) if headers else None,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def _location(loc: Sequence[str | int]) -> str:
    # ("query", "as_of") → "query parameter as_of"; a body's path → "body field a.b".
    if not loc:
        return "request"
    where, *rest = loc
    name = ".".join(str(part) for part in rest)
    if where in {"query", "path", "header", "cookie"}:
        return f"{where} parameter {name}" if name else f"{where} parameters"
    return f"{where} field {name}" if name else str(where)


def validation_issues(errors: Sequence[Any]) -> list[ValidationIssue]:
    """pydantic's errors without their `input` and `ctx` (they can echo personal data)."""
    return [
        ValidationIssue(
            loc=[part for part in error.get("loc", ()) if isinstance(part, str | int)],
            msg=str(error.get("msg", "invalid")),
            type=str(error.get("type", "value_error")),
        )
        for error in errors
    ]


async def http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem(request.url.path, exc.status_code, detail, headers=exc.headers)


async def request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    issues = validation_issues(exc.errors())
    detail = "; ".join(f"{_location(issue.loc)}: {issue.msg}" for issue in issues)
    return problem(
        request.url.path, status.HTTP_422_UNPROCESSABLE_CONTENT, detail or None, errors=issues
    )


async def snapshot_unavailable(request: Request, exc: Exception) -> JSONResponse:
    detail = exc.detail if isinstance(exc, SnapshotUnavailable) else None
    return problem(request.url.path, status.HTTP_503_SERVICE_UNAVAILABLE, detail)


class ProblemOnError:
    """ASGI middleware: any exception a route lets through becomes a bare 500 problem.

    Not `app.add_exception_handler(Exception, …)`: Starlette re-raises after that handler, and
    the server then logs the traceback with the exception's text. Here the exception stops.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched route")
            # Type and route template only: an exception's text can quote personal data.
            logger.error("unhandled %s in %s %s", type(exc).__name__, scope["method"], template)
            if started:
                return
            response = problem(
                scope.get("path", ""),
                status.HTTP_500_INTERNAL_SERVER_ERROR,
                "the server could not answer this request; it has been logged",
            )
            await response(scope, receive, send)


def _add_problem_schema(document: dict[str, Any]) -> None:
    """Put the problem schemas the `responses=` entries refer to into the document."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem_schema.pop("$defs", {}))
    schemas[Problem.__name__] = problem_schema
    # FastAPI adds these for its own 422 body, which this app never sends.
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def install(app: FastAPI) -> None:
    """Answer every error of `app` as a problem and document the problem schema."""
    app.add_exception_handler(StarletteHTTPException, http_exception)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(SnapshotUnavailable, snapshot_unavailable)
    app.add_middleware(ProblemOnError)
    generate = app.openapi  # FastAPI's own (or whatever was installed before): caches the document

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = generate()
        _add_problem_schema(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
