"""The quality rule catalogue: every rule's id, stage, dimension, severity, threshold and reason.

Rules are data: the suites are built from this list, the report prints it, and the thresholds
come from the `quality:` section of mdm.yaml. A blocking rule that fails stops the run before bad
data reaches the golden records (or, at the golden stage, before the marts and the serving
snapshot change); a warning is reported and the run goes on.

Each rule runs on one *target*, a table the stage prepares (`quality/stages.py`):

| stage        | target         | one row per                                         |
|--------------|----------------|-----------------------------------------------------|
| raw          | party_table    | row of a source's customer table, as extracted      |
| raw          | every_table    | extracted table (row count against the source)     |
| standardized | party_records  | party record of one source                          |
| standardized | source_rows    | raw customer row of one source: kept or quarantined |
| standardized | activity_rows  | activity row of one source's canonical entity       |
| golden       | golden_records | active golden record                                |
| golden       | xref           | cross-reference row                                 |
| golden       | linkage        | party record, with the golden record it points to   |
| golden       | match_pairs    | pair of records merged into one golden record       |
| golden       | owned_rows     | row of a table owned by a customer (loan, account)  |
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from matching.standardize.phones import MOBILE_PATTERN
from matching.standardize.rules import Dimension

Stage = Literal["raw", "standardized", "golden"]
Severity = Literal["blocking", "warning"]
Target = Literal[
    "party_table",
    "every_table",
    "party_records",
    "source_rows",
    "activity_rows",
    "golden_records",
    "xref",
    "linkage",
    "match_pairs",
    "owned_rows",
]

STAGES: tuple[Stage, ...] = ("raw", "standardized", "golden")


class CrossSystemLink(BaseModel):
    """A table whose rows belong to a customer of a source: each owner must be a known
    customer of that source and resolve to a golden record (e.g. credit LOAN.BORROWER_ID)."""

    model_config = ConfigDict(extra="forbid")

    system: str = Field(description="the source in `sources:` holding the table")
    table: str = Field(description="one of that source's `tables`")
    column: str = Field(description="the column holding the owner's key in the party table")


class QualityConfig(BaseModel):
    """The `quality:` section of mdm.yaml: thresholds the rules read."""

    model_config = ConfigDict(extra="forbid")

    max_quarantine_rate: float = Field(default=0.05, ge=0, le=1)
    max_duplicate_key_rate: float = Field(default=0.01, ge=0, le=1)
    max_garbled_text_rate: float = Field(default=0.001, ge=0, le=1)
    min_valid_id_rate: float = Field(default=0.80, ge=0, le=1)
    min_name_completeness: float = Field(default=0.99, ge=0, le=1)
    min_mobile_validity: float = Field(default=0.90, ge=0, le=1)
    min_id_consistency: float = Field(default=0.95, ge=0, le=1)
    timeliness_days: int = Field(
        default=1095,
        ge=1,
        description="a record updated this many days before the as-of "
        "date or more recently counts as timely",
    )
    min_timely_share: float = Field(default=0.40, ge=0, le=1)
    min_key_attribute_completeness: float = Field(default=0.95, ge=0, le=1)
    min_cross_system_link_rate: float = Field(default=0.99, ge=0, le=1)
    min_match_precision: float = Field(default=0.95, ge=0, le=1)
    min_activity_parse_rate: float = Field(
        default=0.99, ge=0, le=1, description="activity rows whose every mapped value parses"
    )
    min_activity_code_coverage: float = Field(
        default=0.99, ge=0, le=1, description="activity rows whose codes are all in the lists"
    )
    cross_system_links: list[CrossSystemLink] = Field(
        default_factory=list,
        description="further owned tables beyond the mapped entities (whose owners are checked "
        "without being listed here)",
    )
    severity: dict[str, Severity] = Field(
        default_factory=dict,
        description="rule id -> blocking or warning, overriding the catalogue for every source",
    )
    evaluate_in: Literal["warehouse", "pandas"] = Field(
        default="warehouse",
        description="where the rules are evaluated: `warehouse` counts them by SQL "
        "(quality/sql_suites.py): the standardized and golden rules over the warehouse tables, "
        "the raw rules over the columns they read and the values derived from them, row counts "
        "from the count alone; `pandas` reads the tables into DataFrames and runs the GX "
        "suites on them",
    )

    @field_validator("severity")
    @classmethod
    def _known_rules(cls, value: dict[str, Severity]) -> dict[str, Severity]:
        return _check_rule_ids(value)


class SourceQualityConfig(BaseModel):
    """A source's own thresholds and severities (`sources.<name>.quality`), over `quality:`:
    a legacy system may be migrated with fewer valid IDs than the core is held to."""

    model_config = ConfigDict(extra="forbid")

    max_quarantine_rate: float | None = Field(default=None, ge=0, le=1)
    max_duplicate_key_rate: float | None = Field(default=None, ge=0, le=1)
    max_garbled_text_rate: float | None = Field(default=None, ge=0, le=1)
    min_valid_id_rate: float | None = Field(default=None, ge=0, le=1)
    min_name_completeness: float | None = Field(default=None, ge=0, le=1)
    min_mobile_validity: float | None = Field(default=None, ge=0, le=1)
    min_id_consistency: float | None = Field(default=None, ge=0, le=1)
    min_timely_share: float | None = Field(default=None, ge=0, le=1)
    min_activity_parse_rate: float | None = Field(default=None, ge=0, le=1)
    min_activity_code_coverage: float | None = Field(default=None, ge=0, le=1)
    severity: dict[str, Severity] = Field(
        default_factory=dict,
        description="rule id -> blocking or warning for this source's results, e.g. "
        "{std.valid_resident_id_share: blocking}",
    )

    @field_validator("severity")
    @classmethod
    def _known_rules(cls, value: dict[str, Severity]) -> dict[str, Severity]:
        return _check_rule_ids(value)


def _check_rule_ids(value: dict[str, Severity]) -> dict[str, Severity]:
    unknown = sorted(set(value) - {rule.rule_id for rule in RULES})
    if unknown:
        raise ValueError(f"unknown rule ids {unknown}; see `mdm check` or docs/CONFIG_REFERENCE.md")
    return value


def for_source(
    config: QualityConfig, source: SourceQualityConfig | None
) -> tuple[QualityConfig, dict[str, Severity]]:
    """The thresholds a source is held to, and the severity of each rule overridden for it."""
    severity = dict(config.severity)
    if source is None:
        return config, severity
    overrides = source.model_dump(exclude={"severity"}, exclude_none=True)
    severity.update(source.severity)
    return config.model_copy(update=overrides), severity


def with_severity(
    rules: Sequence[QualityRule], severity: Mapping[str, Severity]
) -> list[QualityRule]:
    """The rules, each with its severity as configured (the catalogue's where none is)."""
    return [
        replace(rule, severity=severity[rule.rule_id]) if rule.rule_id in severity else rule
        for rule in rules
    ]


@dataclass(frozen=True)
class QualityRule:
    rule_id: str
    stage: Stage
    target: Target
    dimension: Dimension
    severity: Severity
    description: str
    reason: str  # the regulation, standard or plain reason the rule exists
    expectation: str  # the Great Expectations expectation class name
    column: str | None = None  # may hold `{placeholders}` the stage fills in
    params: dict[str, Any] = field(default_factory=dict)
    threshold: str | None = None  # QualityConfig field: `min_*` is mostly, `max_*` 1 - mostly
    row_condition: str | None = None  # pandas query: the rows the rule is evaluated on
    show: tuple[str, ...] = ()  # further columns printed (masked) beside a failing row's key


CBIRC = "CBIRC 2018 data-governance guideline for banking institutions (数据治理指引): data quality"
EAST = (
    "EAST supervisory reporting checks (监管数据标准化规范): customer, loan and account tables link"
)
JRT0171 = "JR/T 0171-2020 personal financial information: C2 data kept correct and shown masked"
GB11643 = "GB 11643-1999 citizen identity number: check digit, embedded birth date and gender"
CDD = "Customer due diligence (PBoC/CBIRC/CSRC order 2022 No. 1): identity data kept up to date"
MIIT = "MIIT numbering plan: mainland mobiles are 11 digits starting 13-19"
INTEGRITY = "pipeline integrity: an extract that differs from its source is not the source"

_ID_SHOW = ("id_number", "id_issue")

RULES: tuple[QualityRule, ...] = (
    # --- raw: each source's extract --------------------------------------------------------
    QualityRule(
        "raw.row_count_matches_source",
        "raw",
        "every_table",
        "completeness",
        "blocking",
        "every extracted table holds exactly as many rows as the source reported",
        INTEGRITY,
        "ExpectTableRowCountToEqual",
        params={"value": "{source_rows}"},
    ),
    QualityRule(
        "raw.not_empty",
        "raw",
        "party_table",
        "completeness",
        "blocking",
        "the customer extract has at least one row",
        "an empty customer extract means a broken source feed",
        "ExpectTableRowCountToBeBetween",
        params={"min_value": 1},
    ),
    QualityRule(
        "raw.mapped_columns_present",
        "raw",
        "party_table",
        "validity",
        "blocking",
        "the key and every column mdm.yaml maps exist in the extract",
        "schema drift in a source would silently empty a canonical field; " + CBIRC,
        "ExpectTableColumnsToMatchSet",
        params={"column_set": "{mapped_columns}", "exact_match": False},
    ),
    QualityRule(
        "raw.key_not_null",
        "raw",
        "party_table",
        "completeness",
        "blocking",
        "every row has its source key",
        CBIRC,
        "ExpectColumnValuesToNotBeNull",
        column="{key_column}",
        threshold="max_quarantine_rate",
    ),
    QualityRule(
        "raw.key_unique",
        "raw",
        "party_table",
        "uniqueness",
        "blocking",
        "each source key occurs once in the extract (duplicates are quarantined, a few are "
        "tolerated)",
        "a duplicated source key means two versions of one customer; " + EAST,
        "ExpectColumnValuesToBeUnique",
        column="{key_column}",
        threshold="max_duplicate_key_rate",
    ),
    QualityRule(
        "raw.name_not_null",
        "raw",
        "party_table",
        "completeness",
        "warning",
        "the customer name is filled",
        CBIRC,
        "ExpectColumnValuesToNotBeNull",
        column="{name_column}",
        threshold="min_name_completeness",
    ),
    QualityRule(
        "raw.text_decoded",
        "raw",
        "party_table",
        "validity",
        "blocking",
        "mapped text decodes cleanly: no U+FFFD, no 锟斤拷, no UTF-8 read as GBK or Latin-1",
        "a wrongly decoded export garbles names and addresses beyond matching; " + CBIRC,
        "ExpectColumnValuesToBeNull",
        column="_dq_garbled_text",
        threshold="max_garbled_text_rate",
    ),
    QualityRule(
        "raw.birth_date_in_range",
        "raw",
        "party_table",
        "validity",
        "warning",
        "stated birth dates lie between 1900-01-01 and the run's as-of date",
        CBIRC,
        "ExpectColumnValuesToBeBetween",
        column="_dq_birth_date",
        params={"min_value": "date:1900-01-01", "max_value": "date:{as_of}"},
        show=("_dq_birth_date_text",),
    ),
    QualityRule(
        "raw.birth_date_matches_id",
        "raw",
        "party_table",
        "consistency",
        "warning",
        "the stated birth date equals the one in the record's valid resident ID",
        GB11643,
        "ExpectColumnValuesToBeNull",
        column="_dq_birth_date_conflict",
        threshold="min_id_consistency",
        row_condition="_dq_birth_date_comparable == True",
    ),
    QualityRule(
        "raw.gender_matches_id",
        "raw",
        "party_table",
        "consistency",
        "warning",
        "the stated gender equals the one in the record's valid resident ID (17th digit)",
        GB11643,
        "ExpectColumnValuesToBeNull",
        column="_dq_gender_conflict",
        threshold="min_id_consistency",
        row_condition="_dq_gender_comparable == True",
    ),
    # --- standardized: each source's party records -----------------------------------------
    QualityRule(
        "std.record_key_unique",
        "standardized",
        "party_records",
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
        "party_records",
        "validity",
        # A legacy source with many bad IDs is migrated with them flagged (id_valid false,
        # id_issue): a bank that would rather stop sets this rule's severity to blocking.
        "warning",
        "share of records with a resident ID whose check digit and birth date are right",
        GB11643 + "; " + EAST,
        "ExpectColumnValuesToBeInSet",
        column="id_valid",
        params={"value_set": [True]},
        threshold="min_valid_id_rate",
        show=_ID_SHOW,
    ),
    QualityRule(
        "std.mobile_format",
        "standardized",
        "party_records",
        "validity",
        "warning",
        "mobiles are 11-digit mainland numbers, or Hong Kong / Macao mobiles in E.164 form",
        MIIT + "; " + JRT0171,
        "ExpectColumnValuesToMatchRegex",
        column="mobile",
        params={"regex": MOBILE_PATTERN},
        threshold="min_mobile_validity",
    ),
    QualityRule(
        "std.birth_date_in_range",
        "standardized",
        "party_records",
        "validity",
        "warning",
        "standardized birth dates lie between 1900-01-01 and the run's as-of date",
        CBIRC,
        "ExpectColumnValuesToBeBetween",
        column="birth_date",
        params={"min_value": "date:1900-01-01", "max_value": "date:{as_of}"},
    ),
    QualityRule(
        "std.updated_recently",
        "standardized",
        "party_records",
        "timeliness",
        "warning",
        "share of records the source updated within `timeliness_days` of the as-of date",
        CDD,
        "ExpectColumnValuesToBeBetween",
        column="source_updated_at",
        params={"min_value": "date:{timely_since}"},
        threshold="min_timely_share",
    ),
    QualityRule(
        "std.quarantine_rate",
        "standardized",
        "source_rows",
        "validity",
        "blocking",
        "share of a source's customer rows quarantined by standardization",
        CBIRC,
        "ExpectColumnValuesToBeInSet",
        column="_dq_quarantined",
        params={"value_set": [False]},
        threshold="max_quarantine_rate",
        show=("rule",),
    ),
    QualityRule(
        "std.activity_values_parse",
        "standardized",
        "activity_rows",
        "validity",
        "warning",
        "activity rows (accounts, loans, tickets ...) whose every mapped value parses: a date, "
        "amount or time that does not is stored as NULL and counted here, never silently",
        CBIRC,
        "ExpectColumnValuesToBeInSet",
        column="_dq_values_parse",
        params={"value_set": [True]},
        threshold="min_activity_parse_rate",
        show=("entity",),
    ),
    QualityRule(
        "std.activity_codes_known",
        "standardized",
        "activity_rows",
        "validity",
        "warning",
        "activity rows whose codes (account type, ticket category ...) are all in the source's "
        "code lists (`entities.<entity>.codes`): an unlisted code is stored as `other`",
        CBIRC,
        "ExpectColumnValuesToBeInSet",
        column="_dq_codes_known",
        params={"value_set": [True]},
        threshold="min_activity_code_coverage",
        show=("entity",),
    ),
    # --- golden: golden records, cross-reference, cross-system ------------------------------
    QualityRule(
        "golden.one_golden_per_record",
        "golden",
        "xref",
        "uniqueness",
        "blocking",
        "every source record points to exactly one golden record",
        "the cross-reference is the contract downstream systems rely on",
        "ExpectColumnValuesToBeUnique",
        column="record_key",
    ),
    QualityRule(
        "golden.every_record_linked",
        "golden",
        "linkage",
        "completeness",
        "blocking",
        "every party record has a cross-reference to an active golden record",
        "a record without a golden ID disappears from the customer 360; " + EAST,
        "ExpectColumnValuesToNotBeNull",
        column="_dq_golden_id",
    ),
    QualityRule(
        "golden.no_orphan_golden",
        "golden",
        "golden_records",
        "consistency",
        "blocking",
        "every active golden record is backed by at least one source record",
        "a golden record without a source cannot be audited back to the bank's systems",
        "ExpectColumnValuesToBeBetween",
        column="_dq_source_records",
        params={"min_value": 1},
    ),
    QualityRule(
        "golden.resident_id_unique_among_active",
        "golden",
        "golden_records",
        "uniqueness",
        "warning",
        "no two active golden records share a resident ID (a missed merge or a shared ID)",
        CBIRC + "; " + EAST,
        "ExpectColumnValuesToBeUnique",
        column="id_number",
        row_condition="id_type == 'resident_id'",
        show=("name",),
    ),
    QualityRule(
        "golden.name_complete",
        "golden",
        "golden_records",
        "completeness",
        "warning",
        "every active golden record has a name",
        CBIRC,
        "ExpectColumnValuesToNotBeNull",
        column="name",
        threshold="min_name_completeness",
    ),
    QualityRule(
        "golden.id_number_complete",
        "golden",
        "golden_records",
        "completeness",
        "warning",
        "active golden records carry an identity document number",
        EAST,
        "ExpectColumnValuesToNotBeNull",
        column="id_number",
        threshold="min_key_attribute_completeness",
    ),
    QualityRule(
        "golden.birth_date_complete",
        "golden",
        "golden_records",
        "completeness",
        "warning",
        "active golden records carry a birth date",
        EAST,
        "ExpectColumnValuesToNotBeNull",
        column="birth_date",
        threshold="min_key_attribute_completeness",
    ),
    QualityRule(
        "golden.gender_complete",
        "golden",
        "golden_records",
        "completeness",
        "warning",
        "active golden records carry a gender",
        EAST,
        "ExpectColumnValuesToNotBeNull",
        column="gender",
        threshold="min_key_attribute_completeness",
    ),
    QualityRule(
        "golden.mobile_complete",
        "golden",
        "golden_records",
        "completeness",
        "warning",
        "active golden records carry a mobile",
        CDD,
        "ExpectColumnValuesToNotBeNull",
        column="mobile",
        threshold="min_key_attribute_completeness",
    ),
    QualityRule(
        "golden.match_precision",
        "golden",
        "match_pairs",
        "accuracy",
        "warning",
        "pairs of records merged into one golden record are the same person in the reference "
        "(ground truth) set; evaluated only when mdm.yaml names one",
        "a false merge mixes two customers' accounts and personal data; " + JRT0171,
        "ExpectColumnValuesToBeInSet",
        column="_dq_same_person",
        params={"value_set": [True]},
        threshold="min_match_precision",
    ),
    QualityRule(
        "golden.owner_in_source",
        "golden",
        "owned_rows",
        "consistency",
        "blocking",
        "every loan / account row's owner exists in its source's customer table",
        EAST,
        "ExpectColumnValuesToBeInSet",
        column="_dq_owner_in_source",
        params={"value_set": [True]},
        threshold="min_cross_system_link_rate",
    ),
    QualityRule(
        "golden.owner_has_golden",
        "golden",
        "owned_rows",
        "consistency",
        "blocking",
        "every loan / account row's owner resolves through mdm.xref to an active golden record",
        EAST,
        "ExpectColumnValuesToNotBeNull",
        column="_dq_owner_golden_id",
        threshold="min_cross_system_link_rate",
    ),
)

RULES_BY_ID: dict[str, QualityRule] = {rule.rule_id: rule for rule in RULES}


def rules_for(stage: Stage, target: Target | None = None) -> list[QualityRule]:
    return [
        rule for rule in RULES if rule.stage == stage and (target is None or rule.target == target)
    ]


def threshold_value(rule: QualityRule, config: QualityConfig) -> float | None:
    return None if rule.threshold is None else float(getattr(config, rule.threshold))


def pass_mark(rule: QualityRule, config: QualityConfig) -> str:
    """The rule's pass condition as a person reads it: `≥ 80% valid`, `≤ 5% failing`, `all`."""
    value = threshold_value(rule, config)
    if rule.expectation in {"ExpectTableRowCountToEqual", "ExpectTableColumnsToMatchSet"}:
        return "exact"
    if rule.expectation == "ExpectTableRowCountToBeBetween":
        return "≥ 1 row"
    if value is None:
        return "every row"
    if rule.threshold and rule.threshold.startswith("max_"):
        return f"≤ {value:.1%} failing"
    return f"≥ {value:.1%} passing"


def catalogue_frame(config: QualityConfig | None = None) -> pd.DataFrame:
    """The catalogue as a table, for the report and for auditors."""
    config = config or QualityConfig()
    return pd.DataFrame(
        [
            {
                "rule_id": r.rule_id,
                "stage": r.stage,
                "target": r.target,
                "dimension": r.dimension,
                "severity": r.severity,
                "description": r.description,
                "reason": r.reason,
                "expectation": r.expectation,
                "threshold": r.threshold,
                "threshold_value": threshold_value(r, config),
                "pass_mark": pass_mark(r, config),
            }
            for r in RULES
        ]
    )
