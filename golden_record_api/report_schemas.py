"""Response schemas of the KPI, relationship-manager task and read-audit endpoints.

The KPI and task schemas follow the marts' enforced contracts (`dbt_project/models/marts/*.yml`):
each schema's fields are the columns the API selects, so a column is named in one place here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal, get_args

from pydantic import BaseModel, Field

from golden_record_api.schemas import SourceTimestamp

# --- KPIs ----------------------------------------------------------------------------------


class KpiServiceOut(BaseModel):
    """One row of `marts.kpi_service_daily`: a day's tickets at a branch, channel, category."""

    kpi_key: str = Field(description="`ticket_date|branch_no|channel|category`")
    ticket_date: date
    branch_no: str | None = None
    channel: str | None = None
    category: str | None = None
    tickets: int
    responded_tickets: int | None = None
    first_response_minutes_mean: float | None = None
    first_response_minutes_median: float | None = None
    first_response_minutes_p90: float | None = None
    resolved_tickets: int | None = None
    resolution_minutes_mean: float | None = None
    sla_evaluated_tickets: int | None = None
    resolved_within_sla_share: float | None = None
    complaints: int | None = None
    complaint_closure_rate: float | None = None
    avg_csat: float | None = None


class KpiLoanOut(BaseModel):
    """One row of `marts.kpi_loan_cycle`: a month's loan applications per product and branch."""

    kpi_key: str = Field(description="`application_month|product|branch_no`")
    application_month: date
    product: str | None = None
    branch_no: str | None = None
    applications: int
    decided_applications: int | None = None
    approved_applications: int | None = None
    rejected_applications: int | None = None
    disbursed_applications: int | None = None
    approval_rate: float | None = None
    requested_amount: float | None = None
    hours_to_pre_review_mean: float | None = None
    hours_to_pre_review_median: float | None = None
    hours_to_credit_review_mean: float | None = None
    hours_to_credit_review_median: float | None = None
    hours_to_approval_mean: float | None = None
    hours_to_approval_median: float | None = None
    hours_to_disbursement_mean: float | None = None
    hours_to_disbursement_median: float | None = None
    as_of_date: date | None = None


class KpiMdmSourceOut(BaseModel):
    """One row of `marts.kpi_mdm_sources`: what one source system brought to the run."""

    as_of_date: date
    source_system: str
    source_trust: int | None = None
    source_records: int | None = None
    quarantined_records: int | None = None
    golden_records: int | None = None
    exclusive_golden_records: int | None = None
    accounts: int | None = None
    loans: int | None = None
    loan_applications: int | None = None
    service_tickets: int | None = None
    relationship_managers: int | None = None
    unlinked_activity_rows: int | None = None


class KpiMdmOut(BaseModel):
    """`marts.kpi_mdm` for the run's as-of date, with `marts.kpi_mdm_sources` beside it."""

    as_of_date: date
    run_id: str | None = None
    source_records: int | None = None
    quarantined_records: int | None = None
    golden_records: int | None = None
    retired_golden_records: int | None = None
    cross_system_golden_records: int | None = None
    duplicates_removed: int | None = None
    records_per_golden_record: float | None = None
    scored_pairs: int | None = None
    auto_match_pairs: int | None = None
    non_match_pairs: int | None = None
    review_backlog: int | None = None
    golden_events: int | None = None
    golden_events_create: int | None = None
    golden_events_update: int | None = None
    golden_events_merge: int | None = None
    golden_events_split: int | None = None
    golden_events_retire: int | None = None
    sources: list[KpiMdmSourceOut] = Field(default_factory=list)


TaskType = Literal["maturity_followup", "complaint_escalation", "vip_contact"]
TASK_TYPES: tuple[str, ...] = get_args(TaskType)


class RmTaskOut(BaseModel):
    """One open task of `marts.rm_tasks`."""

    task_id: str = Field(description="Stable across runs (md5 of the task's natural key)")
    task_type: str = Field(description="maturity_followup, complaint_escalation or vip_contact")
    relationship_manager_id: str | None = None
    relationship_manager_name: str | None = None
    branch_no: str | None = None
    escalate_to: str | None = None
    golden_id: str | None = None
    account_no: str | None = None
    product_code: str | None = None
    maturity_date: date | None = None
    amount_cny: float | None = None
    ticket_id: str | None = None
    ticket_created_at: SourceTimestamp | None = None
    last_contact_at: SourceTimestamp | None = None
    due_date: date
    priority: str = Field(description="high, medium or low")
    reason: str | None = Field(default=None, description="Absent for roles the policy denies")
    as_of_date: date | None = None


class KpiServicePage(BaseModel):
    total: int = Field(description="Matches in all pages")
    items: list[KpiServiceOut]


class KpiLoanPage(BaseModel):
    total: int = Field(description="Matches in all pages")
    items: list[KpiLoanOut]


class RmTaskPage(BaseModel):
    total: int = Field(description="Matches in all pages")
    items: list[RmTaskOut]


# --- read audit ----------------------------------------------------------------------------


class ReadAuditOut(BaseModel):
    """One audited read: who read which golden records through which endpoint, and why."""

    seq: int = Field(description="Position in the hash chain, from 1, without gaps")
    occurred_at: datetime = Field(description="When (UTC)")
    subject: str
    principal_kind: str = Field(description="`user` (JWT) or `service` (API key)")
    role: str
    endpoint: str
    golden_ids: list[str]
    clear_fields: list[str] = Field(description="Served fields that went out unmasked")
    purpose: str | None = Field(default=None, description="The caller's `X-Purpose` header")
    status_code: int
    prev_hash: str
    row_hash: str


class ReadAuditPage(BaseModel):
    total: int = Field(description="Matches in all pages")
    items: list[ReadAuditOut]
    next_after_seq: int | None = Field(
        default=None, description="Pass as `after_seq` for the next page; null on the last"
    )


class AuditWriterOut(BaseModel):
    submitted: int
    written: int
    dropped: int = Field(description="Refused because the queue was full")
    failed: int = Field(description="Lost because the ops store refused them after retries")
    queued: int
