"""Running the catalogue's rules as Great Expectations 1.x suites on a table.

Each call builds an ephemeral GX context, validates one DataFrame and returns one row per rule in
the shape of `dq.results`, with a few masked failing examples for the report.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from quality.catalogue import QualityConfig, QualityRule
from quality.masking import mask_value

logger = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class RuleOutcome:
    rule: QualityRule
    evaluated: int
    failed: int
    passed: bool
    examples: list[str]

    @property
    def score(self) -> float:
        return 1.0 if self.evaluated == 0 else 1.0 - self.failed / self.evaluated


def _fill(text: str, context: dict[str, str]) -> str:
    """Fill `{name}` placeholders from context, leaving regex braces such as `\\d{9}` alone."""
    for name, value in context.items():
        text = text.replace("{" + name + "}", value)
    return text


def _exception_message(info: dict[str, Any]) -> str | None:
    """GX reports errors either flat or keyed by metric; either way, find the message."""
    candidates = [info, *(value for value in info.values() if isinstance(value, dict))]
    for candidate in candidates:
        if candidate.get("raised_exception"):
            return str(candidate.get("exception_message") or "unknown error")
    return None


def _parameter(text: str) -> Any:
    """`date:YYYY-MM-DD` becomes a datetime: GX compares date columns only with datetimes."""
    if text.startswith("date:"):
        return datetime.fromisoformat(text.removeprefix("date:"))
    return text


def _expectation(
    rule: QualityRule, column: str | None, config: QualityConfig, context: dict[str, str]
) -> Any:
    import great_expectations as gx

    params: dict[str, Any] = {
        key: _parameter(_fill(value, context)) if isinstance(value, str) else value
        for key, value in rule.params.items()
    }
    if rule.threshold:
        threshold = float(getattr(config, rule.threshold))
        if rule.expectation == "ExpectColumnMaxToBeBetween":
            params["max_value"] = threshold
        elif rule.expectation == "ExpectColumnValuesToNotBeNull" and rule.threshold.startswith(
            "max_"
        ):
            params["mostly"] = 1.0 - threshold
        else:
            params["mostly"] = threshold
    if column is not None:
        params["column"] = column
    expectation_class = getattr(gx.expectations, rule.expectation)
    return expectation_class(**params, meta={"rule_id": rule.rule_id})


def validate(
    frame: pd.DataFrame,
    rules: Sequence[QualityRule],
    config: QualityConfig,
    *,
    context: dict[str, str] | None = None,
) -> list[RuleOutcome]:
    """Validate `frame` against `rules`; a rule whose column is missing fails, it is not skipped."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = context or {}
    gx_context = gx.get_context(mode="ephemeral")
    gx_context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        gx_context.data_sources.add_pandas("warehouse")
        .add_dataframe_asset("table")
        .add_batch_definition_whole_dataframe("whole")
    )
    suite = gx_context.suites.add(gx.ExpectationSuite(name="stage_suite"))
    outcomes: list[RuleOutcome] = []
    applicable: dict[str, QualityRule] = {}
    for rule in rules:
        column = _fill(rule.column, context) if rule.column else None
        if column is not None and column not in frame.columns:
            outcomes.append(
                RuleOutcome(rule, len(frame), len(frame), False, [f"missing column {column!r}"])
            )
            continue
        suite.add_expectation(_expectation(rule, column, config, context))
        applicable[rule.rule_id] = rule
    if applicable:
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        validation = batch.validate(suite)
        for result in validation.results:
            configuration = result.expectation_config
            if configuration is None or not configuration.meta:
                continue
            rule = applicable[configuration.meta["rule_id"]]
            detail = result.result or {}
            error = _exception_message(result.exception_info or {})
            if error is not None:
                # A rule that could not be evaluated has failed; it is never silently passed.
                outcomes.append(
                    RuleOutcome(rule, len(frame), len(frame), False, [f"error: {error}"])
                )
                continue
            if (
                rule.expectation == "ExpectTableRowCountToBeBetween"
                or rule.expectation == "ExpectColumnMaxToBeBetween"
            ):
                evaluated, failed = 1, 0 if result.success else 1
            else:
                evaluated = int(detail.get("element_count", len(frame)))
                failed = int(detail.get("unexpected_count") or 0)
            examples = [
                mask_value(rule.column or "", value)
                for value in (detail.get("partial_unexpected_list") or [])[:5]
            ]
            outcomes.append(RuleOutcome(rule, evaluated, failed, bool(result.success), examples))
    order = {rule.rule_id: i for i, rule in enumerate(rules)}
    return sorted(outcomes, key=lambda o: order[o.rule.rule_id])


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
