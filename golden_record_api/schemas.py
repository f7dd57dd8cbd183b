"""Request and response schemas of the API (requests first, then responses).

Response fields follow the contract tables (CONTRACTS.md §3, §5) with two changes a client
wants: `source_systems` is a list instead of comma-separated text, and C2 fields
(`id_number`, `mobile`, `phone_other`) arrive masked (see `masking`).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

GOLDEN_ID_PATTERN = re.compile(r"G\d{10}")
GOLDEN_ID_EXAMPLE = "G0000000001"


def _split_systems(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


# --- requests ------------------------------------------------------------------------------


class GoldenRecordQuery(BaseModel):
    """Find golden records by exactly one key; values are normalized before the lookup."""

    model_config = ConfigDict(extra="forbid")

    resident_id: str | None = Field(
        default=None,
        description="Resident ID; spaces, dashes, a lower-case x and 15 digits are accepted",
        examples=["130102 19850307 123x"],
    )
    mobile: str | None = Field(
        default=None,
        description="Mainland mobile (`+86`, spaces and dashes accepted) or a Hong Kong / Macao"
        " mobile written with its country code (`+852 9123 4567`, `+853 6612 3456`)",
        examples=["+86 138-0013-8000"],
    )
    name: str | None = Field(
        default=None,
        description="Exact name (`张伟`) or its pinyin (`zhang wei`)",
        examples=["张伟"],
    )
    include_retired: bool = Field(
        default=False, description="Also return retired golden records (merged away)"
    )
    limit: int = Field(default=20, ge=1, le=100, description="Page size")
    offset: int = Field(default=0, ge=0, description="Rows to skip")


# --- responses -----------------------------------------------------------------------------


class ErrorOut(BaseModel):
    detail: str = Field(examples=["golden record G0000000099 not found"])


class HealthOut(BaseModel):
    """Anonymous, so it says no more than whether the API can answer and from what data:
    nothing about the server's files (the reason for a 503 goes to the server's log)."""

    status: Literal["ok", "unavailable"]
    published_at: datetime | None = Field(
        default=None, description="When the snapshot was published (the file's mtime, UTC)"
    )
    golden_record_count: int | None = None
    active_golden_record_count: int | None = None


class GoldenRecordSummary(BaseModel):
    """A golden record as it appears in lookup results."""

    golden_id: str = Field(examples=[GOLDEN_ID_EXAMPLE])
    status: str = Field(description="`active` or `retired`", examples=["active"])
    survivor_id: str | None = Field(
        default=None, description="For a retired record: the golden record it was merged into"
    )
    survivor_url: str | None = Field(
        default=None, description="For a retired record: where the survivor is (like `Location`)"
    )
    name: str | None = None
    name_pinyin: str | None = None
    id_type: str | None = None
    id_number: str | None = Field(
        default=None, description="Masked", examples=["130102********123X"]
    )
    birth_date: date | None = None
    gender: str | None = None
    mobile: str | None = Field(default=None, description="Masked", examples=["138****8000"])
    email: str | None = None
    address: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    adcode: str | None = None
    source_count: int | None = None
    source_systems: list[str] = Field(default_factory=list, examples=[["core", "crm"]])
    created_at: datetime | None = None
    updated_at: datetime | None = None

    split_source_systems = field_validator("source_systems", mode="before")(_split_systems)


class SourceRecordOut(BaseModel):
    """A source system's party record linked to the golden record (xref + party record)."""

    record_key: str = Field(examples=["core:C000000001"])
    source_system: str
    source_record_id: str
    match_rule: str | None = None
    match_weight: float | None = None
    linked_at: datetime | None = None
    source_updated_at: datetime | None = None
    batch_id: str | None = None
    name_raw: str | None = None
    name: str | None = None
    name_pinyin: str | None = None
    name_script: str | None = None
    id_type: str | None = None
    id_number: str | None = Field(default=None, description="Masked")
    id_valid: bool | None = None
    id_issue: str | None = None
    birth_date: date | None = None
    gender: str | None = None
    mobile: str | None = Field(default=None, description="Masked")
    phone_other: str | None = Field(default=None, description="Masked")
    email: str | None = None
    address_raw: str | None = None
    address: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    adcode: str | None = None
    source_trust: int | None = None


class GoldenRecordOut(GoldenRecordSummary):
    """A golden record with its source records."""

    current_golden_id: str | None = Field(
        default=None,
        description="The active record this ID now stands for: itself when active, the end of"
        " the survivor chain when retired, null if that chain is broken",
    )
    sources: list[SourceRecordOut] = Field(default_factory=list)


class GoldenRecordPage(BaseModel):
    total: int = Field(description="Matches in all pages")
    limit: int
    offset: int
    items: list[GoldenRecordSummary]


class Customer360Out(BaseModel):
    """One row of `marts.customer_360`. Typed where the column is known; columns added to the
    mart later are passed through as they are."""

    model_config = ConfigDict(extra="allow")

    golden_id: str = Field(examples=[GOLDEN_ID_EXAMPLE])
    name: str | None = None
    gender: str | None = None
    birth_date: date | None = None
    id_number: str | None = Field(default=None, description="Masked")
    mobile: str | None = Field(default=None, description="Masked")
    address: str | None = None
    city: str | None = None
    district: str | None = None
    source_count: int | None = None
    source_systems: list[str] | None = None
    demand_balance: float | None = None
    time_deposit_balance: float | None = None
    wealth_balance: float | None = None
    total_aum: float | None = None
    nearest_maturity_date: date | None = None
    account_count: int | None = None
    loan_count: int | None = None
    loan_outstanding: float | None = None
    worst_loan_class: str | None = None
    relationship_manager_id: str | None = None
    branch_no: str | None = None
    tickets_last_90d: int | None = None
    open_complaints: int | None = None
    last_contact_at: datetime | None = None
    avg_csat: float | None = None
    value_tier: str | None = None

    split_source_systems = field_validator("source_systems", mode="before")(_split_systems)


class LineageOut(BaseModel):
    """Where one golden attribute came from: the winning source record and the rule."""

    attribute: str
    record_key: str
    source_system: str | None = None
    rule: str = Field(examples=["source_priority", "valid_over_invalid", "most_recent"])


class GoldenVersionOut(BaseModel):
    """One version of a golden record; `valid_to` is null for the current one."""

    model_config = ConfigDict(extra="allow")

    golden_id: str
    valid_from: datetime
    valid_to: datetime | None = None
    run_id: str | None = None
    status: str | None = None
    name: str | None = None
    id_number: str | None = Field(default=None, description="Masked")
    mobile: str | None = Field(default=None, description="Masked")
    address: str | None = None
    source_systems: list[str] = Field(default_factory=list)

    split_source_systems = field_validator("source_systems", mode="before")(_split_systems)


class GoldenEventOut(BaseModel):
    event_id: str
    run_id: str
    event_type: Literal["create", "update", "merge", "split", "retire"]
    golden_id: str
    related_golden_id: str | None = None
    detail: str | None = None
    occurred_at: datetime


class SourceRecordLinkOut(BaseModel):
    """A source record's golden ID: the one it was linked to, and where merges lead now."""

    record_key: str
    source_system: str
    source_record_id: str
    golden_id: str
    current_golden_id: str | None
    match_rule: str | None = None
    match_weight: float | None = None
    linked_at: datetime | None = None
