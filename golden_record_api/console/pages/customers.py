"""Customer view (relationship managers, stewards): find a customer, open the full view.

The page calls the API's own route functions with a page-wide reader, so a field is shown
exactly as the API would give it to the same role (clear, masked or not at all), a customer of
another branch is "not found" exactly as in the API, and one page view is one audit event.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from golden_record_api.console.web import (
    PREFIX,
    CheckedFormDep,
    ConsoleUser,
    page_reader,
    render,
    require,
)
from golden_record_api.deps import GoldenIdDep, SnapshotDep
from golden_record_api.policy import AccessPolicy, Dataset
from golden_record_api.principal import SCOPE_LOOKUP_EXACT, SCOPE_RECORDS_READ
from golden_record_api.rate_limit import rate_limited_lookup
from golden_record_api.routers import customers, golden_records
from golden_record_api.schemas import MAX_OFFSET, GoldenRecordQuery

RecordsUser = Annotated[ConsoleUser, Depends(require(SCOPE_RECORDS_READ))]
router = APIRouter(prefix=f"{PREFIX}/customers")

PROFILE_FIELDS = (
    "golden_id",
    "status",
    "survivor_id",
    "name",
    "name_pinyin",
    "id_type",
    "id_number",
    "birth_date",
    "gender",
    "mobile",
    "email",
    "address",
    "province",
    "city",
    "district",
    "source_systems",
    "updated_at",
)
C360_FIELDS = (
    "total_aum",
    "demand_balance",
    "time_deposit_balance",
    "wealth_balance",
    "account_count",
    "nearest_maturity_date",
    "loan_count",
    "loan_outstanding",
    "worst_loan_class",
    "relationship_manager_id",
    "branch_no",
    "tickets_last_90d",
    "open_complaints",
    "last_contact_at",
    "avg_csat",
    "value_tier",
)
# The 360's detail: section → (the API dataset, the columns a page lists, in order). A column
# the caller's role may not see is not listed at all; a masked one carries the `*` mark.
DETAIL_FIELDS: dict[str, tuple[Dataset, tuple[str, ...]]] = {
    "accounts": (
        "customer_account",
        (
            "account_no",
            "account_type",
            "product_code",
            "currency",
            "balance",
            "balance_cny",
            "opened_on",
            "maturity_date",
            "account_status",
            "branch_no",
        ),
    ),
    "loans": (
        "customer_loan",
        (
            "loan_id",
            "five_tier_class",
            "principal",
            "outstanding",
            "interest_rate",
            "start_date",
            "end_date",
            "loan_status",
            "branch_no",
        ),
    ),
    "tickets": (
        "customer_ticket",
        (
            "ticket_id",
            "channel",
            "category",
            "ticket_status",
            "created_at",
            "first_response_at",
            "resolved_at",
            "sla_outcome",
            "csat",
        ),
    ),
    "household": ("household_member", ("member_golden_id", "link_reason")),
}
LINK_REASONS = ("address_and_mobile", "address", "mobile", "indirect")
# Rows a section lists; the page says how many there are in all.
DETAIL_ROWS = 50


def search_keys(user: ConsoleUser) -> list[str]:
    """Name for everyone who reads records; the exact keys only with `lookup:exact`."""
    exact = ["resident_id", "mobile"] if user.principal.has(SCOPE_LOOKUP_EXACT) else []
    return ["name", *exact]


def masked_fields(policy: AccessPolicy, dataset: Dataset, role: Any) -> set[str]:
    fields = policy.datasets[dataset]
    return {field for field in fields if policy.access(dataset, field, role) == "masked"}


@router.get("", response_class=HTMLResponse)
async def search_form(request: Request, user: RecordsUser) -> HTMLResponse:
    return render(request, "customers/search.html", user, keys=search_keys(user), by="name")


@router.post("", response_class=HTMLResponse)
async def search(
    request: Request,
    snapshot: SnapshotDep,
    form: CheckedFormDep,
    user: RecordsUser,
) -> HTMLResponse:
    by, value = str(form.get("by") or "name"), str(form.get("value") or "").strip()
    keys = search_keys(user)
    context: dict[str, Any] = {"keys": keys, "by": by if by in keys else "name"}
    if by not in keys:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"this role cannot search by {by}")
    try:
        query = GoldenRecordQuery.model_validate({by: value, "limit": 50})
        found = await golden_records.lookup(query)
        await rate_limited_lookup(request)  # the console user is the request's principal
    except ValidationError:
        return render(
            request,
            "customers/search.html",
            user,
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            error=f"the {by} given is not usable",
            **context,
        )
    except HTTPException as error:
        # The API's own messages: they never repeat the value (it may be an ID or a mobile).
        return render(
            request,
            "customers/search.html",
            user,
            status_code=error.status_code,
            error=str(error.detail),
            **context,
        )
    reader = page_reader(request, user)
    page = await golden_records.find_golden_records(found, reader, None, snapshot, request)
    reader.flush()
    policy: AccessPolicy = request.app.state.access_policy
    return render(
        request,
        "customers/search.html",
        user,
        results=page,
        masked=masked_fields(policy, "golden_record", user.principal.role),
        **context,
    )


# A detail section's page is chosen by `<section>_offset` in the address (a link per page).
DetailOffset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


@router.get("/{golden_id}", response_class=HTMLResponse)
async def customer_view(
    golden_id: GoldenIdDep,
    request: Request,
    snapshot: SnapshotDep,
    user: RecordsUser,
    accounts_offset: DetailOffset = 0,
    loans_offset: DetailOffset = 0,
    tickets_offset: DetailOffset = 0,
    household_offset: DetailOffset = 0,
) -> HTMLResponse:
    reader = page_reader(request, user)
    record = await golden_records.get_golden_record(
        golden_id, reader, snapshot, request, Response()
    )
    lineage = await run_in_threadpool(golden_records.get_lineage, golden_id, reader, snapshot)
    history = await run_in_threadpool(golden_records.get_history, golden_id, reader, snapshot, None)
    events = await run_in_threadpool(golden_records.get_events, golden_id, reader, snapshot)
    try:
        view_360 = await customers.get_customer_360(golden_id, reader, snapshot)
    except HTTPException as error:
        if error.status_code != status.HTTP_404_NOT_FOUND:
            raise
        view_360 = None
    # Without a 360 row the detail routes answer 404 too: the sections say "none yet" instead.
    details = {}
    if view_360 is not None:
        for section, list_rows, offset in (
            ("accounts", customers.list_customer_accounts, accounts_offset),
            ("loans", customers.list_customer_loans, loans_offset),
            ("tickets", customers.list_customer_tickets, tickets_offset),
            ("household", customers.list_household_members, household_offset),
        ):
            page = await list_rows(golden_id, reader, snapshot, DETAIL_ROWS, offset)
            details[section] = page.model_dump(exclude_unset=True)
    reader.flush()
    policy: AccessPolicy = request.app.state.access_policy
    role = user.principal.role
    shown = record.model_dump(exclude_unset=True)
    return render(
        request,
        "customers/view.html",
        user,
        record=shown,
        profile_fields=[f for f in PROFILE_FIELDS if f in shown],
        sources=[s.model_dump(exclude_unset=True) for s in record.sources],
        lineage=lineage,
        history=[v.model_dump(exclude_unset=True) for v in history],
        events=events,
        view_360=view_360.model_dump(exclude_unset=True) if view_360 else None,
        c360_fields=C360_FIELDS,
        masked=masked_fields(policy, "golden_record", role),
        masked_360=masked_fields(policy, "customer_360", role),
        masked_sources=masked_fields(policy, "source_record", role),
        details=details,
        detail_rows=DETAIL_ROWS,
        detail_columns={
            section: [f for f in fields if policy.access(dataset, f, role) != "absent"]
            for section, (dataset, fields) in DETAIL_FIELDS.items()
        },
        masked_detail={
            section: masked_fields(policy, dataset, role)
            for section, (dataset, _fields) in DETAIL_FIELDS.items()
        },
    )
