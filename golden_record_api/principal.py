"""Who is calling: the principal every protected endpoint depends on, and the scopes it holds.

This module is the seam between authentication (bearer JWTs and API keys, `auth`), the
field policy (which fields a scope sees clear, masked or not at all) and the read audit: each of
them takes a `Principal` and nothing else about the caller.

The app holds one `Authenticator` in `app.state.authenticator`; `get_principal` asks it for
the request's principal and it raises 401 when there is none. `require_scopes` turns a set of
scopes into a dependency that answers 403 when the principal lacks one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Literal, Protocol

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool

Role = Literal["app", "relationship_manager", "steward", "auditor", "admin"]
ROLES: tuple[Role, ...] = ("app", "relationship_manager", "steward", "auditor", "admin")
PrincipalKind = Literal["user", "service"]

# The scopes an endpoint may require. A role's scopes come from the access policy in config.
SCOPE_RECORDS_READ = "records:read"  # golden records, their sources, history, the 360 view
SCOPE_LOOKUP_EXACT = "lookup:exact"  # find a customer by resident ID or mobile (rate limited)
SCOPE_KPIS_READ = "kpis:read"  # service, loan and MDM KPIs
SCOPE_RM_TASKS_READ = "rm_tasks:read"  # relationship managers' task lists
SCOPE_AUDIT_READ = "audit:read"  # the read audit trail
SCOPE_ALL_BRANCHES = "branches:all"  # without it a principal sees only its own branch's rows
SCOPE_DECISIONS_WRITE = "decisions:write"  # steward decisions: same, different, split, merge
SCOPE_QUALITY_SIGNOFF = "quality:signoff"  # an auditor's sign-off of a run's quality report
SCOPE_CHANGES_READ = "changes:read"  # the change feed of golden events (no personal values)
SCOPE_MATCH_READ = "match:read"  # is this prospect already a customer? (POST /match, rate limited)
SCOPE_RECORDS_WRITE = "records:write"  # a source system upserts one of its records (POST /records)
SCOPES: tuple[str, ...] = (
    SCOPE_RECORDS_READ,
    SCOPE_LOOKUP_EXACT,
    SCOPE_KPIS_READ,
    SCOPE_RM_TASKS_READ,
    SCOPE_AUDIT_READ,
    SCOPE_ALL_BRANCHES,
    SCOPE_DECISIONS_WRITE,
    SCOPE_QUALITY_SIGNOFF,
    SCOPE_CHANGES_READ,
    SCOPE_MATCH_READ,
    SCOPE_RECORDS_WRITE,
)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a person (JWT) or a service account (API key)."""

    subject: str  # the JWT's `sub`, or the API key's id (never the key itself)
    kind: PrincipalKind
    role: Role
    scopes: frozenset[str] = field(default_factory=frozenset)
    branch_id: str | None = None  # the branch whose customers a relationship manager sees
    rm_id: str | None = None  # the relationship manager this principal is, for /rm-tasks

    def has(self, scope: str) -> bool:
        return scope in self.scopes


class Authenticator(Protocol):
    """Finds the request's principal; raises HTTPException(401) when it cannot."""

    def authenticate(self, request: Request) -> Principal: ...


async def get_principal(request: Request) -> Principal:
    """The caller of this request (401 through the authenticator when unauthenticated).

    Async on purpose: a sync dependency costs every request a thread hop, about as much as the
    point read behind it. Only credentials whose check must read a file, the network or the ops
    store (`needs_io`) are checked in the threadpool. Identified once per request: the other
    dependencies call this function rather than depend on it, since every dependency FastAPI
    resolves costs a request tens of microseconds of bookkeeping.
    """
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    authenticator: Authenticator = request.app.state.authenticator
    needs_io = getattr(authenticator, "needs_io", None)
    if needs_io is None or needs_io(request.headers):
        principal = await run_in_threadpool(authenticator.authenticate, request)
    else:
        principal = authenticator.authenticate(request)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def check_scopes(principal: Principal, scopes: tuple[str, ...]) -> Principal:
    """The principal, or 403 naming the first of `scopes` it lacks."""
    for scope in scopes:
        if not principal.has(scope):
            raise HTTPException(
                status_code=status.HTTP_403_FORBIDDEN,
                detail=f"this endpoint needs the scope {scope!r}, which role"
                f" {principal.role!r} does not have",
            )
    return principal


def require_scopes(*scopes: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency giving the principal, or 403 naming the first scope it lacks."""
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(unknown)}")

    async def dependency(request: Request) -> Principal:
        return check_scopes(await get_principal(request), scopes)

    return dependency


# The branch of a principal that is limited to one but has none: matches no branch number, so
# such a principal finds no customer.
NO_BRANCH = "\x00no-branch"


def branch_limit(principal: Principal) -> str | None:
    """The branch a principal is limited to (`NO_BRANCH` when it has none), None for all."""
    if principal.has(SCOPE_ALL_BRANCHES):
        return None
    return principal.branch_id or NO_BRANCH


def visible_branch(principal: Principal) -> str | None:
    """The one branch whose rows the principal may see, or None for every branch.

    A principal without `branches:all` and without a branch sees nothing: 403, rather than
    an empty page that looks like "no data".
    """
    branch = branch_limit(principal)
    if branch == NO_BRANCH:
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail=f"role {principal.role!r} sees one branch's rows, and this principal has no"
            " branch",
        )
    return branch
