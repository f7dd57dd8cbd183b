"""Fixed principals for the API tests, until the real authenticator (JWT / API keys) lands.

A test names its caller in the `X-Test-Principal` header; no header or an unknown name is a
401, as the real authenticator answers. Install with `use_fixed_principals(app)` after
`create_app`.
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request, status

from golden_record_api.principal import (
    SCOPE_ALL_BRANCHES,
    SCOPE_AUDIT_READ,
    SCOPE_KPIS_READ,
    SCOPE_RECORDS_READ,
    SCOPE_RM_TASKS_READ,
    SCOPES,
    Principal,
)

PRINCIPAL_HEADER = "X-Test-Principal"

PRINCIPALS: dict[str, Principal] = {
    "admin": Principal("admin-1", "user", "admin", frozenset(SCOPES)),
    "auditor": Principal(
        "auditor-1", "user", "auditor", frozenset({SCOPE_AUDIT_READ, SCOPE_ALL_BRANCHES})
    ),
    # 刘强, relationship manager RM0001 at branch B0101.
    "rm": Principal(
        "rm-liu",
        "user",
        "relationship_manager",
        frozenset({SCOPE_RECORDS_READ, SCOPE_KPIS_READ, SCOPE_RM_TASKS_READ}),
        branch_id="B0101",
        rm_id="RM0001",
    ),
    "rm_without_id": Principal(
        "rm-new",
        "user",
        "relationship_manager",
        frozenset({SCOPE_RM_TASKS_READ}),
        branch_id="B0101",
    ),
    # A branch's own service (its task board), bound to branch B0202.
    "branch_app": Principal(
        "svc-b0202",
        "service",
        "app",
        frozenset({SCOPE_KPIS_READ, SCOPE_RM_TASKS_READ}),
        branch_id="B0202",
    ),
    # Bound to no branch and not to all of them: sees no branch's rows.
    "unplaced_steward": Principal("steward-1", "user", "steward", frozenset({SCOPE_KPIS_READ})),
    "app": Principal("svc-crm", "service", "app", frozenset({SCOPE_RECORDS_READ})),
}


class FixedPrincipals:
    def authenticate(self, request: Request) -> Principal:
        name = request.headers.get(PRINCIPAL_HEADER)
        principal = PRINCIPALS.get(name or "")
        if principal is None:
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="not authenticated",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return principal


def use_fixed_principals(app: FastAPI) -> FastAPI:
    app.state.authenticator = FixedPrincipals()
    return app


def as_(name: str, **headers: str) -> dict[str, str]:
    """Request headers that make the caller `name`."""
    return {PRINCIPAL_HEADER: name, **headers}
