"""What the routers use to serve personal data: the caller's view of a row (field policy),
the branch a caller may see (row level), and the read audit of what went out.

A router asks for a `ReaderDep`, passes every row through `reader.view(dataset, row)`, and
calls `reader.record(golden_ids)` once the response is built. Rows of another branch answer
404 exactly like unknown golden IDs, so a caller cannot learn that a customer exists elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status

from golden_record_api.policy import AccessPolicy, Dataset
from golden_record_api.principal import (
    SCOPE_RECORDS_READ,
    Principal,
    branch_limit,
    check_scopes,
    get_principal,
    require_scopes,
)
from golden_record_api.problems import problem_responses
from golden_record_api.read_audit import PURPOSE_HEADER, ReadAuditor, ReadEvent
from golden_record_api.snapshot import Snapshot

MAX_PURPOSE_LENGTH = 200


async def get_policy(request: Request) -> AccessPolicy:
    policy: AccessPolicy = request.app.state.access_policy
    return policy


PolicyDep = Annotated[AccessPolicy, Depends(get_policy)]
RecordsReaderDep = Annotated[Principal, Depends(require_scopes(SCOPE_RECORDS_READ))]


class Reader:
    """One request's principal, the policy, and the clear fields handed out so far."""

    def __init__(
        self,
        principal: Principal,
        policy: AccessPolicy,
        auditor: ReadAuditor,
        endpoint: str,
        purpose: str | None,
    ) -> None:
        self.principal, self.policy, self.auditor = principal, policy, auditor
        self.endpoint, self.purpose = endpoint, purpose
        self.clear_fields: set[str] = set()

    @property
    def branch(self) -> str | None:
        return branch_limit(self.principal)

    def view(self, dataset: Dataset, row: Mapping[str, Any]) -> dict[str, Any]:
        shown, clear = self.policy.apply(dataset, row, self.principal.role)
        self.clear_fields |= clear
        return shown

    def ensure_visible(self, snapshot: Snapshot, golden_id: str, not_found: str) -> None:
        """404 (`not_found`) when the golden ID lies outside the principal's branch.

        A retired ID belongs where its survivor does: it is the same customer, merged.
        """
        if self.branch is None:
            return
        current = snapshot.current_golden_id(golden_id) or golden_id
        if snapshot.branch_of(current) != self.branch:
            raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=not_found)

    def record(self, golden_ids: Iterable[str], status_code: int = status.HTTP_200_OK) -> None:
        self.auditor.record(
            ReadEvent(
                occurred_at=datetime.now(UTC),
                principal=self.principal,
                endpoint=self.endpoint,
                golden_ids=tuple(dict.fromkeys(golden_ids)),
                clear_fields=tuple(sorted(self.clear_fields)),
                purpose=self.purpose,
                status_code=status_code,
            )
        )


def purpose_of(request: Request, principal: Principal, policy: AccessPolicy) -> str | None:
    """The purpose code the caller gave in `X-Purpose`, or None when it gave none.

    400 for a value the policy does not list (the detail names the codes, never the value
    sent), and for none at all when the principal's role must give one. A policy that lists
    no purposes takes any text, as the header was before purposes were listed.
    """
    given = request.headers.get(PURPOSE_HEADER)
    purpose = given.strip()[:MAX_PURPOSE_LENGTH] if given is not None else ""
    allowed = policy.purposes
    codes = ", ".join(allowed)
    if not purpose:
        if policy.purpose_required(principal.role):
            raise HTTPException(
                status_code=status.HTTP_400_BAD_REQUEST,
                detail=f"role {principal.role!r} must say why it reads personal data: send"
                f" {PURPOSE_HEADER} with one of {codes}",
            )
        return None
    if allowed and purpose not in allowed:
        raise HTTPException(
            status_code=status.HTTP_400_BAD_REQUEST,
            detail=f"{PURPOSE_HEADER} is not a purpose of use this API knows; give one of {codes}",
        )
    return purpose


def reader_for(
    request: Request, principal: Principal, policy: AccessPolicy, auditor: ReadAuditor
) -> Reader:
    """The request's reader for a principal whose scope the route has already checked."""
    route = request.scope.get("route")
    template = getattr(route, "path", request.url.path)
    purpose = purpose_of(request, principal, policy)
    return Reader(principal, policy, auditor, f"{request.method} {template}", purpose)


# What a route serving personal data can answer about its `X-Purpose` (see `purpose_of`).
PURPOSE_PROBLEMS = problem_responses(
    {status.HTTP_400_BAD_REQUEST: "Unknown X-Purpose, or none where the role must give one"}
)


async def get_reader(request: Request) -> Reader:
    """The reader of a `records:read` route: one dependency that calls the others' functions
    (see `get_principal` for why)."""
    principal = check_scopes(await get_principal(request), (SCOPE_RECORDS_READ,))
    state = request.app.state
    return reader_for(request, principal, state.access_policy, state.read_auditor)


ReaderDep = Annotated[Reader, Depends(get_reader)]
