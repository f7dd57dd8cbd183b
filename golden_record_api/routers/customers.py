"""`/customers/{golden_id}/…`: the customer 360 view (`marts.customer_360`) and the detail
behind it: accounts, loans, service tickets and household members (`marts.customer_*`).

Every route answers 404 for a customer the 360 does not list (unknown, retired) or, for a
caller held to a branch, one of another branch, before reading any detail; the detail rows go
through the field policy and each response is one read-audit event.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from golden_record_api.access import PURPOSE_PROBLEMS, Reader, ReaderDep
from golden_record_api.deps import GoldenIdDep, SnapshotDep
from golden_record_api.policy import Dataset
from golden_record_api.problems import problem_responses
from golden_record_api.routers.kpis import Limit, Offset
from golden_record_api.schemas import (
    Customer360Out,
    CustomerAccountPage,
    CustomerLoanPage,
    CustomerTicketPage,
    HouseholdPage,
)
from golden_record_api.snapshot import CustomerDetail, Snapshot

router = APIRouter(prefix="/customers", tags=["customers"], responses=PURPOSE_PROBLEMS)

RESPONSES = problem_responses(
    {
        status.HTTP_404_NOT_FOUND: "No 360 row",
        status.HTTP_503_SERVICE_UNAVAILABLE: "No snapshot",
    }
)


def visible_360(golden_id: str, reader: Reader, snapshot: Snapshot) -> dict[str, Any]:
    """The customer's 360 row, or 404 when it has none or lies outside the caller's branch."""
    row = snapshot.customer_360(golden_id)
    if row is not None and reader.branch is not None and row.get("branch_no") != reader.branch:
        row = None  # another branch's customer: answered exactly like an unknown one
    if row is None:
        detail = f"customer 360 for {golden_id} not found"
        golden = snapshot.golden_record(golden_id)
        if (
            reader.branch is None
            and golden is not None
            and golden["status"] == "retired"
            and golden["survivor_id"]
        ):
            detail += f": golden record {golden_id} is retired, merged into {golden['survivor_id']}"
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=detail)
    return row


@router.get(
    "/{golden_id}/360",
    summary="The 360° view of a customer",
    description="One row of `marts.customer_360` (active golden customers only): profile,"
    " balances, loans, relationship manager, service history, value tier. 404 for an unknown"
    " or retired golden ID (the message names the survivor), and for a customer of another"
    " branch when the caller is limited to its own. Fields as the access policy gives them"
    " to the caller's role; mart columns the policy does not list are not served.",
    response_model_exclude_unset=True,
    responses=RESPONSES,
)
async def get_customer_360(
    golden_id: GoldenIdDep, reader: ReaderDep, snapshot: SnapshotDep
) -> Customer360Out:
    row = visible_360(golden_id, reader, snapshot)
    out = Customer360Out.model_validate(reader.view("customer_360", row))
    reader.record([golden_id])
    return out


def _detail_page(
    table: CustomerDetail,
    dataset: Dataset,
    golden_id: str,
    reader: Reader,
    snapshot: Snapshot,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """One page of a visible customer's detail rows, as the caller's role may see them.

    The read audit names the customer and, for a household, the members shown in clear: their
    being this customer's household is personal data about them too.
    """
    visible_360(golden_id, reader, snapshot)
    member_branch = reader.branch if table == "customer_households" else None
    total, rows = snapshot.customer_detail(
        table, golden_id, limit=limit, offset=offset, member_branch_id=member_branch
    )
    items = [reader.view(dataset, row) for row in rows]
    members = [str(item["member_golden_id"]) for item in items if item.get("member_golden_id")]
    reader.record([golden_id, *members])
    return {"total": total, "limit": limit, "offset": offset, "items": items}


@router.get(
    "/{golden_id}/accounts",
    summary="A customer's deposit and wealth accounts",
    description="Rows of `marts.customer_accounts` (closed accounts included), open ones first,"
    " then the latest opened. Account numbers and balances as the access policy gives them to"
    " the caller's role (a masked account number keeps its first 6 and last 4 digits). 404 as"
    " for the 360.",
    response_model_exclude_unset=True,
    responses=RESPONSES,
)
async def list_customer_accounts(
    golden_id: GoldenIdDep,
    reader: ReaderDep,
    snapshot: SnapshotDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> CustomerAccountPage:
    page = _detail_page(
        "customer_accounts", "customer_account", golden_id, reader, snapshot, limit, offset
    )
    return CustomerAccountPage.model_validate(page)


@router.get(
    "/{golden_id}/loans",
    summary="A customer's loans",
    description="Rows of `marts.customer_loans`, the latest disbursed first, with the five-tier"
    " class and a status read from the balance and end date (repaid, overdue, current)."
    " Amounts as the access policy gives them to the caller's role. 404 as for the 360.",
    response_model_exclude_unset=True,
    responses=RESPONSES,
)
async def list_customer_loans(
    golden_id: GoldenIdDep,
    reader: ReaderDep,
    snapshot: SnapshotDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> CustomerLoanPage:
    page = _detail_page(
        "customer_loans", "customer_loan", golden_id, reader, snapshot, limit, offset
    )
    return CustomerLoanPage.model_validate(page)


@router.get(
    "/{golden_id}/tickets",
    summary="A customer's service tickets",
    description="Rows of `marts.customer_tickets` created up to the run's business date, the"
    " latest first, with minutes to first response and resolution, SLA outcome and CSAT."
    " 404 as for the 360.",
    response_model_exclude_unset=True,
    responses=RESPONSES,
)
async def list_customer_tickets(
    golden_id: GoldenIdDep,
    reader: ReaderDep,
    snapshot: SnapshotDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> CustomerTicketPage:
    page = _detail_page(
        "customer_tickets", "customer_ticket", golden_id, reader, snapshot, limit, offset
    )
    return CustomerTicketPage.model_validate(page)


@router.get(
    "/{golden_id}/household",
    summary="The other members of a customer's household",
    description="Rows of `marts.customer_households`: each other active customer of the"
    " household and what the two share directly (address_and_mobile, address, mobile, or"
    " indirect). A caller held to a branch sees only members of that branch. Member IDs and"
    " link reasons as the access policy gives them to the caller's role. 404 as for the 360.",
    response_model_exclude_unset=True,
    responses=RESPONSES,
)
async def list_household_members(
    golden_id: GoldenIdDep,
    reader: ReaderDep,
    snapshot: SnapshotDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> HouseholdPage:
    page = _detail_page(
        "customer_households", "household_member", golden_id, reader, snapshot, limit, offset
    )
    return HouseholdPage.model_validate(page)
