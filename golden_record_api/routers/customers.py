"""`/customers/{golden_id}/360`: the customer 360 view (`marts.customer_360`)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from golden_record_api.deps import GoldenIdDep, SnapshotDep
from golden_record_api.masking import mask_row
from golden_record_api.schemas import Customer360Out, ErrorOut

router = APIRouter(prefix="/customers", tags=["customers"])


@router.get(
    "/{golden_id}/360",
    summary="The 360° view of a customer",
    description="One row of `marts.customer_360` (active golden customers only): profile,"
    " balances, loans, relationship manager, service history, value tier. 404 for an unknown"
    " or retired golden ID (the message names the survivor).",
    responses={
        status.HTTP_404_NOT_FOUND: {"model": ErrorOut, "description": "No 360 row"},
        status.HTTP_503_SERVICE_UNAVAILABLE: {"model": ErrorOut, "description": "No snapshot"},
    },
)
async def get_customer_360(golden_id: GoldenIdDep, snapshot: SnapshotDep) -> Customer360Out:
    row = snapshot.customer_360(golden_id)
    if row is None:
        detail = f"customer 360 for {golden_id} not found"
        golden = snapshot.golden_record(golden_id)
        if golden is not None and golden["status"] == "retired" and golden["survivor_id"]:
            detail += f": golden record {golden_id} is retired, merged into {golden['survivor_id']}"
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=detail)
    return Customer360Out.model_validate(mask_row(row))
