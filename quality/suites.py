"""Running the catalogue's rules as Great Expectations 1.x suites on a table.

Each call builds an ephemeral GX context, validates one DataFrame and returns one outcome per rule
(the shape of a `dq.results` row) with a few masked failing rows for the report. The GX
validation result itself is kept, masked, so it can be published as Data Docs
(`connectors/reports.py`).

Up to `FAILING_ROWS_KEPT` failing rows per rule are kept as well, masked (the row's key, the
value that failed and the columns the rule shows): the auditor's drill-down reads them from
`dq.failing_rows` (`failing_rows_frame`), so nobody needs the Data Docs pages for them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from quality.catalogue import QualityConfig, QualityRule, Stage
from quality.masking import REPORT_SENSITIVE_COLUMNS, Sensitive, mask_value

logger = logging.getLogger(__name__)

#: Where the pipeline keeps every rule result, and the failing rows (masked) behind them.
RESULTS_TABLE = "dq.results"
FAILING_ROWS_TABLE = "dq.failing_rows"
RESULT_COLUMNS = (
    "run_id",
    "checked_at",
    "stage",
    "rule_id",
    "dimension",
    "severity",
    "source_system",
    "evaluated",
    "failed",
    "score",
    "passed",
    "examples",
)
MAX_EXAMPLES = 5
# Failing rows kept per rule and table, masked: enough for an auditor to see the pattern,
# bounded so a rule failing on a million rows costs no more than one failing on fifty.
FAILING_ROWS_KEPT = 50
FAILING_ROW_COLUMNS = (
    "run_id",
    "checked_at",
    "stage",
    "rule_id",
    "source_system",
    "row_number",
    "row_key",
    "column_name",
    "value",
    "detail",
)
_DERIVED_PREFIX = "_dq_"
_TABLE_LEVEL = {
    "ExpectTableRowCountToBeBetween",
    "ExpectTableRowCountToEqual",
    "ExpectTableColumnsToMatchSet",
}


@dataclass(frozen=True)
class FailingRow:
    """One row a rule failed on, every value masked."""

    key: str  # the row's key (record key, source key) or `row <n>` without one
    column: str  # the column the rule judged (a derived check shows its label)
    value: str | None  # None when the value was missing (a completeness rule)
    detail: str  # the further columns the rule shows, `name=value, …`


@dataclass(frozen=True)
class RuleOutcome:
    rule: QualityRule
    evaluated: int
    failed: int
    passed: bool
    examples: list[str]
    failing: tuple[FailingRow, ...] = ()

    @property
    def score(self) -> float:
        if self.evaluated == 0:
            return 1.0
        return max(0.0, 1.0 - self.failed / self.evaluated)

    @property
    def failing_share(self) -> float:
        return 1.0 - self.score


@dataclass
class SuiteRun:
    """One GX validation: the rules of one stage on one table of one source."""

    suite: str  # e.g. `raw.core`, `standardized.crm`, `golden.all`
    batch: str  # the table validated, e.g. `cif_customer`, `party_records`
    source_system: str  # a source name or `all`
    outcomes: list[RuleOutcome]
    gx_result: Any = field(default=None, repr=False)  # masked ExpectationSuiteValidationResult

    @property
    def stage(self) -> Stage | None:
        return self.outcomes[0].rule.stage if self.outcomes else None


def _fill(value: Any, context: Mapping[str, Any]) -> Any:
    """Fill `{name}` placeholders from context, leaving regex braces such as `\\d{9}` alone.

    A parameter that is exactly one placeholder takes the context value as it is (a list of
    columns, a row count); inside longer text the value is written as text.
    """
    if not isinstance(value, str):
        return value
    for name, replacement in context.items():
        if value == "{" + name + "}":
            return replacement
    for name, replacement in context.items():
        value = value.replace("{" + name + "}", str(replacement))
    return value


def _exception_message(info: dict[str, Any]) -> str | None:
    """GX reports errors either flat or keyed by metric; either way, find the message."""
    candidates = [info, *(value for value in info.values() if isinstance(value, dict))]
    for candidate in candidates:
        if candidate.get("raised_exception"):
            return str(candidate.get("exception_message") or "unknown error")
    return None


def _parameter(value: Any) -> Any:
    """`date:YYYY-MM-DD` becomes a datetime: GX compares date columns only with datetimes."""
    if isinstance(value, str) and value.startswith("date:"):
        return datetime.fromisoformat(value.removeprefix("date:"))
    return value


def _label(column: str) -> str:
    return column.removeprefix(_DERIVED_PREFIX)


def _index_columns(rule: QualityRule, column: str | None, key: str | None) -> list[str]:
    """Columns GX reports for each failing row: the key, then what the rule shows."""
    columns = [c for c in (key, *rule.show) if c]
    return list(dict.fromkeys(c for c in columns if c != column))


def _expectation(
    rule: QualityRule, column: str | None, config: QualityConfig, context: Mapping[str, Any]
) -> Any:
    import great_expectations as gx

    params: dict[str, Any] = {
        key: _parameter(_fill(value, context)) for key, value in rule.params.items()
    }
    if rule.threshold:
        threshold = float(getattr(config, rule.threshold))
        params["mostly"] = 1.0 - threshold if rule.threshold.startswith("max_") else threshold
    if column is not None:
        params["column"] = column
    if rule.row_condition:
        params["row_condition"] = rule.row_condition
        params["condition_parser"] = "pandas"
    expectation_class = getattr(gx.expectations, rule.expectation)
    return expectation_class(
        **params,
        meta={"rule_id": rule.rule_id, "dimension": rule.dimension, "reason": rule.reason},
        description=f"[{rule.rule_id}, {rule.dimension}, {rule.severity}] {rule.description}",
        severity="critical" if rule.severity == "blocking" else "warning",
    )


def _row_example(
    row: Mapping[str, Any],
    rule: QualityRule,
    column: str | None,
    key: str | None,
    sensitive: Mapping[str, Sensitive],
) -> str:
    """`key: column=value, shown=value`, every value masked; a flag column is not repeated."""
    head = mask_value(key, row.get(key), sensitive) if key and key in row else "row"
    parts = _shown(row, rule, column, key, sensitive, with_column=True)
    return head + (": " + ", ".join(parts) if parts else "")


def _shown(
    row: Mapping[str, Any],
    rule: QualityRule,
    column: str | None,
    key: str | None,
    sensitive: Mapping[str, Sensitive],
    *,
    with_column: bool,
) -> list[str]:
    """`name=value` of the row's judged column (when `with_column`) and the rule's shown ones."""
    parts = []
    for name in (column if with_column else None, *rule.show):
        if not name or name == key or name not in row:
            continue
        value = row[name]
        if name == column and isinstance(value, bool | np.bool_):
            continue
        if value is None or (not isinstance(value, str | list | dict) and pd.isna(value)):
            parts.append(f"{_label(name)}=empty")
        else:
            parts.append(f"{_label(name)}={mask_value(name, value, sensitive)}")
    return parts


def _masked(column: str, value: Any, sensitive: Mapping[str, Sensitive]) -> str | None:
    """A failing value masked; a missing one stays None (GX renders "" as `EMPTY`, which is
    what the Data Docs showed for every completeness rule once masked)."""
    if value is None or (not isinstance(value, str | list | dict) and pd.isna(value)):
        return None
    return mask_value(column, value, sensitive)


def _failing_rows(
    detail: Mapping[str, Any],
    rule: QualityRule,
    column: str | None,
    key: str | None,
    sensitive: Mapping[str, Sensitive],
) -> tuple[FailingRow, ...]:
    """The failing rows GX sampled (`partial_unexpected_*`), masked."""
    rows = detail.get("partial_unexpected_index_list") or []
    values = detail.get("partial_unexpected_list") or []
    label = _label(column or "")
    failing = []
    for number, row in enumerate(rows):
        if isinstance(row, dict):
            row_key = mask_value(key, row.get(key), sensitive) if key and key in row else ""
            value = (
                row.get(column)
                if column in row
                else (values[number] if number < len(values) else None)
            )
            shown = _shown(row, rule, column, key, sensitive, with_column=False)
        else:
            row_key, shown = f"row {row}", []
            value = values[number] if number < len(values) else None
        failing.append(
            FailingRow(
                row_key or f"row {number + 1}",
                label,
                _masked(column or "", value, sensitive),
                ", ".join(shown),
            )
        )
    if not rows:
        failing = [
            FailingRow(f"row {number + 1}", label, _masked(column or "", value, sensitive), "")
            for number, value in enumerate(values)
        ]
    return tuple(failing[:FAILING_ROWS_KEPT])


def _table_outcome(
    rule: QualityRule,
    success: bool,
    detail: Mapping[str, Any],
    params: Mapping[str, Any],
    batch: str,
) -> tuple[int, int, list[str]]:
    """(evaluated, failed, examples) of a rule on the whole table rather than its rows."""
    observed = detail.get("observed_value")
    if rule.expectation == "ExpectTableRowCountToEqual":
        expected, extracted = int(params["value"]), int(observed or 0)
        examples = [f"{batch}: {extracted:,} rows extracted, the source holds {expected:,}"]
        return max(expected, extracted), abs(expected - extracted), [] if success else examples
    if rule.expectation == "ExpectTableColumnsToMatchSet":
        reported = ((detail.get("details") or {}).get("mismatched") or {}).get("missing", [])
        columns = list(params.get("column_set") or [])
        missing = [c for c in columns if c in set(reported)]  # in the mapping's order
        expected_columns = len(columns) or len(missing)
        return expected_columns, len(missing), [f"missing column {c!r}" for c in missing]
    return 1, 0 if success else 1, [] if success else [f"{batch}: {observed} rows"]


def _mask_gx_result(result: Any, sensitive: Mapping[str, Sensitive]) -> None:
    """Mask the failing values GX keeps, so Data Docs never show C2 data."""
    configuration = result.expectation_config
    column = (configuration.kwargs or {}).get("column", "") if configuration else ""
    detail = result.result or {}
    for name in ("partial_unexpected_list", "unexpected_list"):
        if name in detail:
            detail[name] = [_masked(column, v, sensitive) for v in detail[name]]
    if "partial_unexpected_counts" in detail:
        detail["partial_unexpected_counts"] = [
            {"value": _masked(column, item.get("value"), sensitive), "count": item["count"]}
            for item in detail["partial_unexpected_counts"]
        ]
    for name in ("partial_unexpected_index_list", "unexpected_index_list"):
        if isinstance(detail.get(name), list):
            detail[name] = [
                {k: _masked(k, v, sensitive) for k, v in row.items()}
                if isinstance(row, dict)
                else _masked("", row, sensitive)
                for row in detail[name]
            ]


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYWORDS = {"True", "False", "None", "and", "or", "not", "in", "isnull", "notnull"}


def _missing(frame: pd.DataFrame, rule: QualityRule, column: str | None) -> list[str]:
    """Columns the rule needs (its column, those its row condition names) that are absent."""
    needed = [column] if column else []
    if rule.row_condition:
        condition = _QUOTED.sub("", rule.row_condition)
        needed += [name for name in _NAME.findall(condition) if name not in _KEYWORDS]
    return [c for c in dict.fromkeys(needed) if c not in frame.columns]


def run_suite(
    frame: pd.DataFrame,
    rules: Sequence[QualityRule],
    config: QualityConfig,
    *,
    suite: str = "stage_suite",
    batch: str = "table",
    source_system: str = "all",
    context: Mapping[str, Any] | None = None,
    key_column: str | None = None,
    sensitive: Mapping[str, Sensitive] | None = None,
) -> SuiteRun:
    """Validate `frame` against `rules`; a rule whose column is missing fails, it is not skipped.

    `key_column` names the column printed for each failing row; `sensitive` names the further
    columns holding C2 data (mask as `id` or `phone`) beyond the canonical ones.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = dict(context or {})
    sensitive = {**REPORT_SENSITIVE_COLUMNS, **(sensitive or {})}
    key = key_column if key_column in frame.columns else None
    gx_context = gx.get_context(mode="ephemeral")
    gx_context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        gx_context.data_sources.add_pandas("warehouse")
        .add_dataframe_asset(batch)
        .add_batch_definition_whole_dataframe("whole")
    )
    expectations = []
    outcomes: list[RuleOutcome] = []
    applicable: dict[str, tuple[QualityRule, str | None]] = {}
    index_columns: list[str] = []
    for rule in rules:
        column = _fill(rule.column, context) if rule.column else None
        missing = _missing(frame, rule, column)
        if missing:
            outcomes.append(
                RuleOutcome(
                    rule, len(frame), len(frame), False, [f"missing column {c!r}" for c in missing]
                )
            )
            continue
        index_columns += [c for c in _index_columns(rule, column, key) if c in frame.columns]
        expectations.append(_expectation(rule, column, config, context))
        applicable[rule.rule_id] = (rule, column)
    validation = None
    if applicable:
        # Built whole, then added once: adding expectations one by one saves the suite each time.
        gx_suite = gx_context.suites.add(gx.ExpectationSuite(name=suite, expectations=expectations))
        gx_batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        # The columns printed for a failing row are asked of every rule (GX takes them per
        # validation); each rule's examples then keep only its own.
        result_format = {
            "result_format": "SUMMARY",
            "partial_unexpected_count": FAILING_ROWS_KEPT,
            "unexpected_index_column_names": list(dict.fromkeys(index_columns)),
        }
        validation = gx_batch.validate(gx_suite, result_format=result_format)
        for result in validation.results:
            configuration = result.expectation_config
            if configuration is None or not configuration.meta:
                continue
            rule, column = applicable[configuration.meta["rule_id"]]
            outcomes.append(_outcome(result, rule, column, key, batch, context, sensitive))
            _mask_gx_result(result, sensitive)
    order = {rule.rule_id: i for i, rule in enumerate(rules)}
    outcomes.sort(key=lambda o: order[o.rule.rule_id])
    return SuiteRun(suite, batch, source_system, outcomes, validation)


def _outcome(
    result: Any,
    rule: QualityRule,
    column: str | None,
    key: str | None,
    batch: str,
    context: Mapping[str, Any],
    sensitive: Mapping[str, Sensitive],
) -> RuleOutcome:
    detail = dict(result.result or {})
    error = _exception_message(result.exception_info or {})
    if error is not None:
        # A rule that could not be evaluated has failed; it is never silently passed.
        count = int(detail.get("element_count") or 0)
        return RuleOutcome(rule, count, count, False, [f"error: {error}"])
    success = bool(result.success)
    if rule.expectation in _TABLE_LEVEL:
        params = {k: _fill(v, context) for k, v in rule.params.items()}
        evaluated, failed, examples = _table_outcome(rule, success, detail, params, batch)
        return RuleOutcome(rule, evaluated, failed, success, examples[:MAX_EXAMPLES])
    element_count = int(detail.get("element_count") or 0)
    if rule.expectation in {"ExpectColumnValuesToNotBeNull", "ExpectColumnValuesToBeNull"}:
        evaluated = element_count
    else:  # GX ignores NULLs for the other column rules, and so does the score
        evaluated = element_count - int(detail.get("missing_count") or 0)
    failed = int(detail.get("unexpected_count") or 0)
    rows = detail.get("partial_unexpected_index_list") or []
    if rows and isinstance(rows[0], dict):
        examples = [_row_example(row, rule, column, key, sensitive) for row in rows]
    else:
        examples = [
            mask_value(column or "", value, sensitive)
            for value in detail.get("partial_unexpected_list") or []
        ]
    return RuleOutcome(
        rule,
        evaluated,
        failed,
        success,
        _unique(examples)[:MAX_EXAMPLES],
        _failing_rows(detail, rule, column, key, sensitive),
    )


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def validate(
    frame: pd.DataFrame,
    rules: Sequence[QualityRule],
    config: QualityConfig,
    *,
    context: Mapping[str, Any] | None = None,
    key_column: str | None = None,
    sensitive: Mapping[str, Sensitive] | None = None,
) -> list[RuleOutcome]:
    """The outcomes of `run_suite`, for callers that do not publish Data Docs."""
    return run_suite(
        frame, rules, config, context=context, key_column=key_column, sensitive=sensitive
    ).outcomes


def combine(outcomes: Sequence[RuleOutcome]) -> RuleOutcome:
    """One outcome of a rule evaluated on several tables or sources: counts add up, the rule
    passes only where every part passed, examples come from the failing parts first."""
    if not outcomes:
        raise ValueError("nothing to combine")
    failing_first = sorted(outcomes, key=lambda o: o.passed)
    examples = _unique(e for o in failing_first for e in o.examples)
    return RuleOutcome(
        outcomes[0].rule,
        sum(o.evaluated for o in outcomes),
        sum(o.failed for o in outcomes),
        all(o.passed for o in outcomes),
        examples[:MAX_EXAMPLES],
        tuple(row for o in failing_first for row in o.failing)[:FAILING_ROWS_KEPT],
    )


def results_frame(
    outcomes: Sequence[RuleOutcome],
    *,
    run_id: str,
    checked_at: pd.Timestamp,
    source_system: str | None,
) -> pd.DataFrame:
    """Outcomes as `dq.results` rows."""
    return pd.DataFrame(
        [
            {
                "run_id": run_id,
                "checked_at": checked_at,
                "stage": o.rule.stage,
                "rule_id": o.rule.rule_id,
                "dimension": o.rule.dimension,
                "severity": o.rule.severity,
                "source_system": source_system or "all",
                "evaluated": o.evaluated,
                "failed": o.failed,
                "score": round(o.score, 6),
                "passed": o.passed,
                "examples": "; ".join(o.examples),
            }
            for o in outcomes
        ],
        columns=list(RESULT_COLUMNS),
    )


def suite_results_frame(
    runs: Sequence[SuiteRun], *, run_id: str, checked_at: pd.Timestamp
) -> pd.DataFrame:
    """`dq.results` rows of several validations: one row per rule and source, a rule run on
    several tables of one source (row counts, owned tables) combined into one row."""
    grouped: dict[tuple[str, str], list[RuleOutcome]] = {}
    for run in runs:
        for outcome in run.outcomes:
            grouped.setdefault((outcome.rule.rule_id, run.source_system), []).append(outcome)
    frames = [
        results_frame([combine(parts)], run_id=run_id, checked_at=checked_at, source_system=source)
        for (_, source), parts in grouped.items()
    ]
    if not frames:
        return results_frame([], run_id=run_id, checked_at=checked_at, source_system=None)
    return pd.concat(frames, ignore_index=True)


def failing_rows_frame(
    runs: Sequence[SuiteRun], *, run_id: str, checked_at: pd.Timestamp
) -> pd.DataFrame:
    """`dq.failing_rows` rows of several validations: the kept rows (masked) of every rule
    that failed on some rows, passed or not (a 45 % share passing a 40 % mark still has rows
    an auditor may ask about), one group per rule and source as in `suite_results_frame`."""
    grouped: dict[tuple[str, str], list[RuleOutcome]] = {}
    for run in runs:
        for outcome in run.outcomes:
            grouped.setdefault((outcome.rule.rule_id, run.source_system), []).append(outcome)
    rows = [
        {
            "run_id": run_id,
            "checked_at": checked_at,
            "stage": combined.rule.stage,
            "rule_id": rule_id,
            "source_system": source,
            "row_number": number,
            "row_key": row.key,
            "column_name": row.column,
            "value": row.value,
            "detail": row.detail,
        }
        for (rule_id, source), parts in grouped.items()
        if (combined := combine(parts)).failing
        for number, row in enumerate(combined.failing, start=1)
    ]
    # Typed text even when every value is missing, so the table created from a first append
    # gets a text column rather than an untyped one.
    return pd.DataFrame(rows, columns=list(FAILING_ROW_COLUMNS)).astype(
        {"row_key": "string", "column_name": "string", "value": "string", "detail": "string"}
    )
