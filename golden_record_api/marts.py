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

from golden_record_api.report_schemas import (
    KpiLoanOut,
    KpiMdmOut,
    KpiMdmSourceOut,
    KpiServiceOut,
    RmTaskOut,
)
from golden_record_api.snapshot import Snapshot

KPI_SERVICE_TABLE = "marts.kpi_service_daily"
KPI_LOAN_TABLE = "marts.kpi_loan_cycle"
KPI_MDM_TABLE = "marts.kpi_mdm"
KPI_MDM_SOURCES_TABLE = "marts.kpi_mdm_sources"
RM_TASKS_TABLE = "marts.rm_tasks"

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
