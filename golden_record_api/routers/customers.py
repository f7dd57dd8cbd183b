"""`/customers/{golden_id}/360`: the customer 360 view (`marts.customer_360`)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from golden_record_api.access import PURPOSE_PROBLEMS, ReaderDep
from golden_record_api.deps import GoldenIdDep, SnapshotDep
from golden_record_api.problems import problem_responses
from golden_record_api.schemas import Customer360Out

router = APIRouter(prefix="/customers", tags=["customers"], responses=PURPOSE_PROBLEMS)


@router.get(
    "/{golden_id}/360",
    summary="The 360° view of a customer",
    description="One row of `marts.customer_360` (active golden customers only): profile,"
    " balances, loans, relationship manager, service history, value tier. 404 for an unknown"
    " or retired golden ID (the message names the survivor), and for a customer of another"
    " branch when the caller is limited to its own. Fields as the access policy gives them"
    " to the caller's role; mart columns the policy does not list are not served.",
    response_model_exclude_unset=True,
    responses=problem_responses(
        {
            status.HTTP_404_NOT_FOUND: "No 360 row",
            status.HTTP_503_SERVICE_UNAVAILABLE: "No snapshot",
        }
    ),
)
async def get_customer_360(
    golden_id: GoldenIdDep, reader: ReaderDep, snapshot: SnapshotDep
) -> Customer360Out:
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
    out = Customer360Out.model_validate(reader.view("customer_360", row))
    reader.record([golden_id])
    return out
