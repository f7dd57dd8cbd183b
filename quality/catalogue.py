"""The quality rule catalogue: every rule's id, stage, dimension, severity and reason.

Rules are data: the suites are built from this list, the report prints it, and the thresholds
come from the `quality:` section of mdm.yaml. A blocking rule that fails stops the run before bad
data reaches the golden records; a warning is reported and the run goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

Stage = Literal["raw", "standardized", "golden"]
Dimension = Literal[
    "completeness", "validity", "uniqueness", "consistency", "timeliness", "accuracy"
]
Severity = Literal["blocking", "warning"]


class QualityConfig(BaseModel):
    """The `quality:` section of mdm.yaml: thresholds the rules read."""

    model_config = ConfigDict(extra="forbid")

    max_quarantine_rate: float = Field(default=0.05, ge=0, le=1)
    min_valid_id_rate: float = Field(default=0.80, ge=0, le=1)
    min_name_completeness: float = Field(default=0.99, ge=0, le=1)
    min_mobile_validity: float = Field(default=0.90, ge=0, le=1)


@dataclass(frozen=True)
class QualityRule:
    rule_id: str
    stage: Stage
    dimension: Dimension
    severity: Severity
    description: str
    reason: str
    expectation: str  # the Great Expectations expectation class name
    column: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    threshold: str | None = None  # QualityConfig field giving `mostly` (or a max rate)


CBIRC = "CBIRC data-governance guideline for banking institutions (2018)"
JRT0171 = "JR/T 0171-2020 personal financial information protection"

RULES: tuple[QualityRule, ...] = (
    QualityRule(
        "raw.not_empty",
        "raw",
        "completeness",
        "blocking",
        "the extract has at least one row",
        "an empty extract means a broken source feed",
        "ExpectTableRowCountToBeBetween",
        params={"min_value": 1},
    ),
    QualityRule(
        "raw.key_not_null",
        "raw",
        "completeness",
        "blocking",
        "every row has its source key",
        CBIRC,
        "ExpectColumnValuesToNotBeNull",
        column="{key_column}",
        threshold="max_quarantine_rate",
    ),
    QualityRule(
        "raw.name_not_null",
        "raw",
        "completeness",
        "warning",
        "the customer name is filled",
        CBIRC,
        "ExpectColumnValuesToNotBeNull",
        column="{name_column}",
        threshold="min_name_completeness",
    ),
    QualityRule(
        "std.record_key_unique",
        "standardized",
        "uniqueness",
        "blocking",
        "one party record per source record",
        "a duplicated key would double-count a customer",
        "ExpectColumnValuesToBeUnique",
        column="record_key",
    ),
    QualityRule(
        "std.valid_resident_id_share",
        "standardized",
        "validity",
        "blocking",
        "share of records with a resident ID whose check digit and birth date are right",
        CBIRC,
        "ExpectColumnValuesToBeInSet",
        column="id_valid",
        params={"value_set": [True]},
        threshold="min_valid_id_rate",
    ),
    QualityRule(
        "std.mobile_format",
        "standardized",
        "validity",
        "warning",
        "mobiles are 11-digit mainland numbers",
        JRT0171,
        "ExpectColumnValuesToMatchRegex",
        column="mobile",
        params={"regex": r"^1[3-9]\d{9}$"},
        threshold="min_mobile_validity",
    ),
    QualityRule(
        "std.birth_date_in_range",
        "standardized",
        "validity",
        "warning",
        "birth dates between 1900-01-01 and the run date",
        CBIRC,
        "ExpectColumnValuesToBeBetween",
        column="birth_date",
        params={"min_value": "date:1900-01-01", "max_value": "date:{as_of}"},
    ),
    QualityRule(
        "std.quarantine_rate",
        "standardized",
        "validity",
        "blocking",
        "share of a source's rows quarantined by standardization",
        CBIRC,
        "ExpectColumnMaxToBeBetween",
        column="quarantine_rate",
        params={"min_value": 0},
        threshold="max_quarantine_rate",
    ),
    QualityRule(
        "golden.one_golden_per_record",
        "golden",
        "uniqueness",
        "blocking",
        "every source record points to exactly one golden record",
        "the cross-reference is the contract downstream systems rely on",
        "ExpectColumnValuesToBeUnique",
        column="record_key",
    ),
    QualityRule(
        "golden.resident_id_unique_among_active",
        "golden",
        "uniqueness",
        "warning",
        "no two active golden records share a resident ID (a missed merge)",
        CBIRC,
        "ExpectColumnValuesToBeUnique",
        column="id_number",
    ),
    QualityRule(
        "golden.name_complete",
        "golden",
        "completeness",
        "warning",
        "every active golden record has a name",
        CBIRC,
        "ExpectColumnValuesToNotBeNull",
        column="name",
    ),
)


def rules_for(stage: Stage) -> list[QualityRule]:
    return [rule for rule in RULES if rule.stage == stage]


def catalogue_frame() -> pd.DataFrame:
    """The catalogue as a table, for the report and for auditors."""
    return pd.DataFrame(
        [
            {
                "rule_id": r.rule_id,
                "stage": r.stage,
                "dimension": r.dimension,
                "severity": r.severity,
                "description": r.description,
                "reason": r.reason,
                "expectation": r.expectation,
                "threshold": r.threshold,
            }
            for r in RULES
        ]
    )
