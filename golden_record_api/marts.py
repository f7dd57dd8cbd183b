"""Reads of the KPI and task marts on one request's snapshot, with the caller's row limits.

The columns read are the response schema's fields (`report_schemas`), so a mart column the
API does not serve is never selected. Row limits arrive as plain values: the branch a
principal is confined to (`principal.visible_branch`) and, for a relationship manager, their
own manager ID.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel

from connectors import tables
from golden_record_api.report_schemas import (
    KpiLoanOut,
    KpiMdmOut,
    KpiMdmSourceOut,
    KpiServiceOut,
    RmTaskOut,
)
from golden_record_api.snapshot import Snapshot

KPI_SERVICE_TABLE = tables.KPI_SERVICE_DAILY
KPI_LOAN_TABLE = tables.KPI_LOAN_CYCLE
KPI_MDM_TABLE = tables.KPI_MDM
KPI_MDM_SOURCES_TABLE = tables.KPI_MDM_SOURCES
RM_TASKS_TABLE = tables.RM_TASKS

PRIORITY_ORDER = "case priority when 'high' then 0 when 'medium' then 1 else 2 end"


@dataclass(frozen=True)
class Page:
    total: int
    rows: list[dict[str, Any]]


class _Where:
    """Conditions and their parameters, built together so they cannot drift apart."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: list[Any] = []

    def add(self, sql: str, value: Any) -> None:
        if value is not None:
            self.parts.append(sql)
            self.params.append(value)

    def sql(self) -> str:
        return f" where {' and '.join(self.parts)}" if self.parts else ""


def _columns(model: type[BaseModel], *, leave_out: tuple[str, ...] = ()) -> str:
    return ", ".join(name for name in model.model_fields if name not in leave_out)


def _page(
    snapshot: Snapshot,
    table: str,
    model: type[BaseModel],
    where: _Where,
    order_by: str,
    limit: int,
    offset: int,
) -> Page:
    (count,) = snapshot.query(f"select count(*) as n from {table}{where.sql()}", where.params)
    rows = snapshot.query(
        f"select {_columns(model)} from {table}{where.sql()} order by {order_by} limit ? offset ?",
        [*where.params, limit, offset],
    )
    return Page(int(count["n"]), rows)


def kpi_service(
    snapshot: Snapshot,
    *,
    branch: str | None,
    since: date | None,
    until: date | None,
    channel: str | None,
    category: str | None,
    limit: int,
    offset: int,
) -> Page:
    where = _Where()
    where.add("branch_no = ?", branch)
    where.add("ticket_date >= ?", since)
    where.add("ticket_date <= ?", until)
    where.add("channel = ?", channel)
    where.add("category = ?", category)
    return _page(snapshot, KPI_SERVICE_TABLE, KpiServiceOut, where, "kpi_key", limit, offset)


def kpi_loans(
    snapshot: Snapshot,
    *,
    branch: str | None,
    since: date | None,
    until: date | None,
    product: str | None,
    limit: int,
    offset: int,
) -> Page:
    where = _Where()
    where.add("branch_no = ?", branch)
    where.add("application_month >= ?", since)
    where.add("application_month <= ?", until)
    where.add("product = ?", product)
    return _page(snapshot, KPI_LOAN_TABLE, KpiLoanOut, where, "kpi_key", limit, offset)


def kpi_mdm(snapshot: Snapshot) -> dict[str, Any] | None:
    """The latest run's MDM KPIs with its per-source rows; None before the first run."""
    rows = snapshot.query(
        f"select {_columns(KpiMdmOut, leave_out=('sources',))} from {KPI_MDM_TABLE}"
        " order by as_of_date desc limit 1"
    )
    if not rows:
        return None
    sources = snapshot.query(
        f"select {_columns(KpiMdmSourceOut)} from {KPI_MDM_SOURCES_TABLE}"
        " where as_of_date = ? order by source_system",
        [rows[0]["as_of_date"]],
    )
    return {**rows[0], "sources": sources}


def rm_tasks(
    snapshot: Snapshot,
    *,
    branch: str | None,
    manager: str | None,
    task_type: str | None,
    priority: str | None,
    due_by: date | None,
    limit: int,
    offset: int,
) -> Page:
    where = _Where()
    where.add("branch_no = ?", branch)
    where.add("relationship_manager_id = ?", manager)
    where.add("task_type = ?", task_type)
    where.add("priority = ?", priority)
    where.add("due_date <= ?", due_by)
    return _page(
        snapshot,
        RM_TASKS_TABLE,
        RmTaskOut,
        where,
        f"due_date, {PRIORITY_ORDER}, task_id",
        limit,
        offset,
    )


# --- the managers' dashboard: the daily and monthly marts rolled up by month ------------------


def _weighted(value: str, weight: str) -> str:
    """The mean of daily means, weighted by how many rows each day's mean is over."""
    return (
        f"sum({value} * {weight}) / nullif(sum(case when {value} is not null then {weight} end), 0)"
    )


def service_by_month(snapshot: Snapshot, *, branch: str | None) -> list[dict[str, Any]]:
    """Per month (and branch, or every visible branch together): first response and resolution
    in hours, CSAT, complaint closure and SLA share, weighted by the tickets behind each."""
    where = _Where()
    where.add("branch_no = ?", branch)
    return snapshot.query(
        "select cast(date_trunc('month', ticket_date) as date) as month,"
        " sum(tickets) as tickets,"
        f" {_weighted('first_response_minutes_mean', 'responded_tickets')} / 60"
        " as first_response_hours,"
        f" {_weighted('resolution_minutes_mean', 'resolved_tickets')} / 60 as resolution_hours,"
        f" {_weighted('avg_csat', 'resolved_tickets')} as avg_csat,"
        f" {_weighted('complaint_closure_rate', 'complaints')} as complaint_closure_rate,"
        f" {_weighted('resolved_within_sla_share', 'sla_evaluated_tickets')} as sla_share"
        f" from {KPI_SERVICE_TABLE}{where.sql()} group by 1 order by 1",
        where.params,
    )


def service_by_branch(snapshot: Snapshot, *, branch: str | None) -> list[dict[str, Any]]:
    """The same measures per branch over the whole period."""
    where = _Where()
    where.add("branch_no = ?", branch)
    return snapshot.query(
        "select branch_no, sum(tickets) as tickets,"
        f" {_weighted('first_response_minutes_mean', 'responded_tickets')} / 60"
        " as first_response_hours,"
        f" {_weighted('resolution_minutes_mean', 'resolved_tickets')} / 60 as resolution_hours,"
        f" {_weighted('avg_csat', 'resolved_tickets')} as avg_csat,"
        f" {_weighted('complaint_closure_rate', 'complaints')} as complaint_closure_rate"
        f" from {KPI_SERVICE_TABLE}{where.sql()} group by 1 order by 1",
        where.params,
    )


def loans_by_month(snapshot: Snapshot, *, branch: str | None) -> list[dict[str, Any]]:
    """Per application month: applications, approval rate, and the loan cycle (application to
    disbursement) in days, weighted by the disbursed applications."""
    where = _Where()
    where.add("branch_no = ?", branch)
    return snapshot.query(
        "select application_month as month, sum(applications) as applications,"
        f" {_weighted('approval_rate', 'decided_applications')} as approval_rate,"
        f" {_weighted('hours_to_disbursement_mean', 'disbursed_applications')} / 24"
        " as loan_cycle_days"
        f" from {KPI_LOAN_TABLE}{where.sql()} group by 1 order by 1",
        where.params,
    )


def open_tasks_by_branch(snapshot: Snapshot, *, branch: str | None) -> list[dict[str, Any]]:
    """Relationship managers' open follow-ups per branch and task type."""
    where = _Where()
    where.add("branch_no = ?", branch)
    return snapshot.query(
        f"select branch_no, task_type, count(*) as tasks from {RM_TASKS_TABLE}{where.sql()}"
        " group by 1, 2 order by 1, 2",
        where.params,
    )
