"""A run's quality report as tables an auditor files away: the run, its rule results, the
failing rows kept (masked) and the sign-offs.

`report_tables` builds them from the warehouse (through a query function), the run's summary
(`quality.runs.RunSummary`) and its sign-offs; writing them as CSV or XLSX is
`connectors.reports.export_report`'s (this package does no I/O). Every value is masked as in
the HTML report: failing rows were stored masked, and free text (examples, comments) is masked
again on the way out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, Protocol

import pandas as pd

from quality.catalogue import QualityConfig, catalogue_frame
from quality.masking import mask_text
from quality.report import DRILLDOWN_COLUMNS, WarehouseQuery, failing_rows
from quality.runs import RunSummary, sql_literal, warehouse_tables
from quality.suites import RESULTS_TABLE

#: Sheet (XLSX) or section (CSV) names, in the order written.
SECTIONS = ("run", "rules", "failing_rows", "signoffs")


class SignOffLike(Protocol):
    """What the export needs of a sign-off (`connectors.signoffs.SignOff` is one)."""

    @property
    def signoff_id(self) -> int: ...

    @property
    def run_id(self) -> str: ...

    @property
    def auditor(self) -> str: ...

    @property
    def verdict(self) -> str: ...

    @property
    def comment(self) -> str: ...

    @property
    def signed_at(self) -> datetime: ...

    @property
    def status(self) -> str: ...

    @property
    def superseded_by(self) -> int | None: ...


def report_tables(
    warehouse_query: WarehouseQuery,
    run: RunSummary,
    signoffs: Sequence[SignOffLike],
    *,
    config: QualityConfig | None = None,
    exported_at: datetime | None = None,
) -> dict[str, pd.DataFrame]:
    """The run's report as one table per `SECTIONS` entry."""
    exported_at = exported_at or datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    summary = {**asdict(run), "in_trend": run.in_trend, "exported_at": exported_at}
    results = pd.DataFrame()
    if RESULTS_TABLE in warehouse_tables(warehouse_query):
        results = warehouse_query(
            "select stage, rule_id, source_system, dimension, severity, evaluated, failed, "
            f"score, passed, examples from {RESULTS_TABLE} "
            f"where run_id = {sql_literal(run.run_id)} order by stage, rule_id, source_system"
        )
    catalogue = catalogue_frame(config).set_index("rule_id")
    rules = results.assign(
        pass_mark=results["rule_id"].map(catalogue["pass_mark"]) if len(results) else [],
        description=results["rule_id"].map(catalogue["description"]) if len(results) else [],
        examples=results["examples"].fillna("").map(mask_text) if len(results) else [],
    )
    rules = rules.reindex(
        columns=[
            "stage",
            "rule_id",
            "source_system",
            "dimension",
            "severity",
            "description",
            "pass_mark",
            "evaluated",
            "failed",
            "score",
            "passed",
            "examples",
        ]
    )
    failing = pd.concat(
        [
            failing_rows(warehouse_query, run.run_id, str(rule_id)).assign(rule_id=rule_id)
            for rule_id in rules.loc[rules["failed"] > 0, "rule_id"].unique()
        ]
        or [pd.DataFrame()],
        ignore_index=True,
    ).reindex(columns=["rule_id", *DRILLDOWN_COLUMNS])
    signed: list[dict[str, Any]] = [
        {
            "signoff_id": s.signoff_id,
            "auditor": s.auditor,
            "verdict": s.verdict,
            "signed_at": s.signed_at,
            "status": s.status,
            "superseded_by": s.superseded_by,
            "comment": mask_text(s.comment),
        }
        for s in signoffs
    ]
    return {
        "run": pd.DataFrame([summary]),
        "rules": rules,
        "failing_rows": failing,
        "signoffs": pd.DataFrame(
            signed,
            columns=[
                "signoff_id",
                "auditor",
                "verdict",
                "signed_at",
                "status",
                "superseded_by",
                "comment",
            ],
        ),
    }
