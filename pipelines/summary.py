"""What `mdm run` and `make demo` print: a line per stage as the run goes, then what each
stage did, measured; a failed run ends with one line per cause and the quality report's path.

The console never shows a stack trace (`mdm run --verbose` and the Dagster UI do): a cause is
the step, the blocking rule with its score, threshold and the config keys that set them, or
the error's first line, which names the file, table or column. An error raised outside this
project's code may quote a value, so its line goes through `mask_text` first.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from connectors import tables
from connectors.entities import ENTITY_COVERAGE
from connectors.reports import report_path
from connectors.settings import PROJECT_ROOT, Settings
from connectors.warehouse import Warehouse, open_warehouse
from quality.catalogue import RULES_BY_ID, SourceQualityConfig, for_source
from quality.masking import mask_text

if TYPE_CHECKING:
    from dagster import DagsterEvent, EventLogEntry

    from pipelines.mdm_config import MdmConfig

HEADLINE_SQL = PROJECT_ROOT / "dbt_project" / "analyses" / "demo_headline.sql"

#: What a person calls each step of the full run; `extract_<system>` and
#: `raw_quality_<system>` are named with their source.
STAGE_LABELS = {
    "canonicalize_activity": "canonical activity tables",
    "standardize_party_records": "standardize",
    "standardized_quality": "standardized checks",
    "activity_quality": "activity checks",
    "match_party_records": "match",
    "build_golden_records": "golden records",
    "golden_quality": "golden checks",
    "mdm__review_queue": "review queue",
    "mdm_dbt_models": "dbt models",
    "dq__report": "report",
    "serving__snapshot": "publish",
}
_PER_SOURCE_STEPS = (("extract_", "extract"), ("raw_quality_", "raw checks"))
# Errors whose message is written for people by this project (or by Dagster about a check):
# printed as they are. Any other error's first line is prefixed with its class and masked.
_OWN_ERRORS = {"SourceReadError", "RunLockBusy", "ConfigError"}
_CHECK_FAILED = "DagsterAssetCheckFailedError"
_NOT_EXECUTING = "Not executing."  # Dagster's message for a step whose inputs failed
_DBT_FAILED = "DagsterDbtCliRuntimeError"
_TABLE_LEVEL = {
    "ExpectTableColumnsToMatchSet",
    "ExpectTableRowCountToEqual",
    "ExpectTableRowCountToBeBetween",
}


def stage_label(step_key: str) -> str:
    for prefix, label in _PER_SOURCE_STEPS:
        if step_key.startswith(prefix):
            return f"{label} {step_key.removeprefix(prefix)}"
    return STAGE_LABELS.get(step_key, step_key)


class RunProgress:
    """One line per step as the run's events arrive (`DagsterInstance.add_event_listener`):
    the stage, its time, and whether it failed or a blocking check stopped it."""

    def __init__(self, write: Callable[[str], None] | None = None) -> None:
        self.write = write or (lambda line: print(line, flush=True))
        self.started: dict[str, float] = {}
        self.warnings = 0
        self.skipped = 0

    def __call__(self, entry: EventLogEntry) -> None:
        try:
            self._handle(entry)
        except Exception:  # a progress line is never worth failing the run for
            logging.getLogger(__name__).debug("progress line not printed", exc_info=True)

    def _handle(self, entry: EventLogEntry) -> None:
        event = entry.dagster_event
        if event is None:
            level = entry.level
            if isinstance(level, str):
                level = logging.getLevelName(level)
            if _NOT_EXECUTING in (entry.user_message or ""):
                self.skipped += 1  # logged at ERROR level, but only a consequence of a cause
            elif isinstance(level, int) and level >= logging.WARNING:
                self.warnings += 1
            return
        step = event.step_key
        if step is None:
            return
        if event.is_step_start:
            self.started[step] = entry.timestamp
        elif event.is_step_skipped:
            self.skipped += 1
        elif event.is_step_success or event.is_step_failure:
            elapsed = entry.timestamp - self.started.get(step, entry.timestamp)
            outcome = f"{elapsed:6.1f} s"
            if event.is_step_failure:
                error = event.step_failure_data.error
                stopped = error is not None and error.cls_name == _CHECK_FAILED
                outcome += "  blocked by a quality rule" if stopped else "  FAILED"
            self.write(f"  {stage_label(step):<30}{outcome}")

    def finish(self) -> None:
        """The steps a failure kept from running, in one line."""
        if self.skipped:
            self.write(f"  ({self.skipped} later step(s) not run)")


@dataclass(frozen=True)
class StepFailure:
    """A step that failed: its key, the cause in one line, and whether a blocking quality
    check was the cause (its rule is then read from dq.results)."""

    step_key: str
    message: str
    blocking_check: bool = False

    def line(self) -> str:
        return f"{self.step_key}: {self.message}"


def _cause(error: Any) -> tuple[str | None, str]:
    """The error people need from Dagster's wrappers: its class name and first line."""
    while error.cause is not None and (error.cls_name or "").startswith("Dagster"):
        if error.cls_name in {_CHECK_FAILED, _DBT_FAILED}:
            break
        error = error.cause
    cls_name = error.cls_name
    lines = [line.strip() for line in error.message.strip().splitlines() if line.strip()]
    if cls_name == _DBT_FAILED:
        marker = "Errors parsed from dbt logs:"
        parsed = lines[lines.index(marker) + 1 :] if marker in lines else []
        first = parsed[0] if parsed else "dbt failed"
        return cls_name, f"dbt: {mask_text(first)} (the dbt log is under <home>/dbt/runs/)"
    text = lines[0] if lines else (cls_name or "error")
    if cls_name:  # Dagster's message starts `module.Class: `
        text = re.sub(rf"^(?:[\w.]+\.)?{re.escape(cls_name)}:\s*", "", text)
    if cls_name == _CHECK_FAILED:
        return cls_name, "; ".join(lines[1:]) or text
    if cls_name in _OWN_ERRORS:
        return cls_name, text
    return cls_name, mask_text(f"{cls_name}: {text}" if cls_name else text)


def step_failures(events: Iterable[DagsterEvent]) -> list[StepFailure]:
    """The run's failed steps (and resources that would not start), each with its cause."""
    failures = []
    for event in events:
        data = event.event_specific_data
        error = getattr(data, "error", None)
        if error is None or not (event.is_step_failure or event.is_resource_init_failure):
            continue
        cls_name, message = _cause(error)
        failures.append(
            StepFailure(event.step_key or "run", message, blocking_check=cls_name == _CHECK_FAILED)
        )
    if not failures:
        for event in events:
            error = getattr(event.event_specific_data, "error", None)
            if event.is_run_failure and error is not None:
                failures.append(StepFailure("run", _cause(error)[1]))
    return failures


def _count(store: Warehouse, sql: str) -> int:
    frame = store.query(sql)
    return int(frame.iloc[0, 0]) if len(frame) else 0  # type: ignore[arg-type]


def _line(label: str, value: int, indent: int = 2) -> None:
    print(f"{' ' * indent}{label:<{42 - indent}} {value:>10,}")


def print_summary(
    settings: Settings,
    *,
    run_id: str,
    elapsed_seconds: float,
    success: bool,
    config: MdmConfig | None = None,
    failures: Sequence[StepFailure] = (),
    warnings: int = 0,
) -> None:
    """The run's figures; a failed run's last lines are its causes and the report's path.

    A failed run's stage figures are left out: the tables hold what the last good run wrote.
    """
    store = open_warehouse(settings.resolved_warehouse_url)
    print()
    print(f"run {run_id} {'succeeded' if success else 'FAILED'} in {elapsed_seconds:.1f} s")
    if success and store.table_exists(tables.PARTY_RECORDS):
        _print_stages(store, run_id)
    _print_quality(store, run_id)
    if warnings:
        print(f"\n{warnings} warning(s) in the run log: `mdm run --verbose` or the Dagster UI")
    report = report_path(settings.reports_dir, run_id)
    print("\nwhere to look next")
    print("  Dagster UI       make ui   → http://127.0.0.1:3000 (this run is in its history)")
    if success:
        print("  read API         make api  → http://127.0.0.1:8000/docs")
        print(
            "  web console      make api  → http://127.0.0.1:8000/console/ (sign in with a key:"
            " .venv/bin/mdm keys create --name you --role steward)"
        )
        print(f"  quality report   {report} (open in a browser)")
        print(f"  serving snapshot {settings.resolved_serving_path}")
        print(
            "  match quality    .venv/bin/mdm evaluate (misses by cause, recall per blocking rule)"
        )
    elif settings.resolved_serving_path.exists():
        print(
            f"  serving snapshot {settings.resolved_serving_path} "
            "(unchanged: this run published nothing)"
        )
    print(f"  warehouse        {settings.resolved_warehouse_url}")
    if not success:
        print("\nwhy the run stopped")
        for line in failure_lines(store, run_id, config, failures):
            print(f"  {line}")
        if report.exists():
            print(f"  quality report: {report}")


def _print_stages(store: Warehouse, run_id: str) -> None:
    raw = store.query(
        "select table_name from information_schema.tables "
        "where table_schema = 'raw' and table_name not like '\\_%' escape '\\' order by 1"
    )
    print("\nextract (raw rows)")
    for table in raw["table_name"]:
        _line(table, _count(store, f'select count(*) from raw."{table}"'))

    print("\nstandardize")
    _line("party records", _count(store, f"select count(*) from {tables.PARTY_RECORDS}"))
    quarantine = store.query(
        f"select source_system, rule, count(*) as n from {tables.QUARANTINE}"
        " group by 1, 2 order by 1, 2"
    )
    _line("quarantined rows", int(quarantine["n"].sum()) if len(quarantine) else 0)
    for system, rule, count in quarantine.itertuples(index=False, name=None):
        _line(f"{system}: {rule}", int(count), indent=4)

    if store.table_exists(tables.SCORED_PAIRS):
        print("\nmatch")
        _line("candidate pairs", _count(store, f"select count(*) from {tables.SCORED_PAIRS}"))
        zones = store.query(
            f"select zone, count(*) as n from {tables.SCORED_PAIRS} group by 1 order by 1"
        )
        for zone, count in zones.itertuples(index=False, name=None):
            _line(str(zone), int(count), indent=4)
        _line(
            "clusters", _count(store, f"select count(distinct cluster_id) from {tables.CLUSTERS}")
        )

    if store.table_exists(tables.GOLDEN_RECORDS):
        print("\ngolden records")
        active = f"select count(*) from {tables.GOLDEN_RECORDS} where status = 'active'"
        _line("active golden records", _count(store, active))
        events = store.query(
            f"select event_type, count(*) as n from {tables.GOLDEN_EVENTS}"
            " where run_id = ? group by 1",
            [run_id],
        )
        counts = dict(events.itertuples(index=False, name=None))
        print("    this run's golden-ID events (a rerun on unchanged data shows zeros):")
        for event_type in ("create", "update", "merge", "split", "retire"):
            _line(f"{event_type}", int(counts.get(event_type, 0)), indent=6)
        if store.table_exists(tables.REVIEW_QUEUE):
            _line(
                "review queue (undecided)",
                _count(store, f"select count(*) from {tables.REVIEW_QUEUE}"),
            )

    if store.table_exists(tables.STANDARDIZATION_ACCURACY):
        accuracy = store.read_table(tables.STANDARDIZATION_ACCURACY)
        print("\nstandardized values equal to the simulated truth (share of records)")
        for row in accuracy.to_dict("records"):
            print(
                f"    {row['field']:<14} {float(row['share_correct']):.4f}"
                f"   ({float(row['share_correct_of_filled']):.4f} of filled)"
            )

    if store.table_exists(tables.MATCH_EVALUATION):
        evaluation = store.query(f"select * from {tables.MATCH_EVALUATION}").iloc[0]
        print("\nmatching quality against the simulated ground truth (pairwise)")
        print(
            f"  precision {evaluation['precision']:.4f}   recall {evaluation['recall']:.4f}"
            f"   F1 {evaluation['f1']:.4f}"
        )

    if store.table_exists(tables.RM_TASKS):
        headline = store.query(HEADLINE_SQL.read_text(encoding="utf-8")).iloc[0]
        print(f"\ncustomer 360 and service KPIs (as of {headline['as_of_date']:%Y-%m-%d})")
        _line("customers", int(headline["customers"]))
        for label, value in (
            ("total assets under management (CNY)", headline["total_aum_cny"]),
            ("median first response (minutes)", headline["median_first_response_minutes"]),
        ):
            shown = "n/a" if pd.isna(value) else f"{float(value):,.2f}"
            print(f"  {label:<40} {shown:>14}")
        _line("open relationship-manager tasks", int(headline["open_tasks"]))
        for task in ("maturity_followup", "complaint_escalation", "vip_contact"):
            _line(task, int(headline[f"{task}_tasks"]), indent=4)
        for note in unmapped_entity_notes(store):
            print(f"  note: {note}")


def unmapped_entity_notes(store: Warehouse) -> list[str]:
    """One line per activity entity no source maps: its marts were built empty, not skipped."""
    if not store.table_exists(ENTITY_COVERAGE):
        return []
    coverage = store.query(f"select entity from {ENTITY_COVERAGE} where not mapped order by 1")
    return [
        f"no source maps {entity}: its figures show n/a "
        f"(map it under sources.<name>.entities.{entity})"
        for entity in coverage["entity"]
    ]


def _print_quality(store: Warehouse, run_id: str) -> None:
    if not store.table_exists(tables.DQ_RESULTS):
        return
    failed = store.query(
        "select stage, rule_id, severity, source_system, failed, evaluated"
        f" from {tables.DQ_RESULTS} "
        "where run_id = ? and not passed order by 1, 2, 4",
        [run_id],
    )
    evaluated = store.query(
        f"select count(*) as n from {tables.DQ_RESULTS} where run_id = ?", [run_id]
    )
    if not len(failed) and not int(evaluated["n"].iloc[0]):
        return  # the run stopped before any rule was evaluated
    print(f"\nquality: {len(failed)} rule(s) failed this run")
    for stage, rule_id, severity, source, failures, evaluated in failed.itertuples(
        index=False, name=None
    ):
        print(
            f"    {stage}/{rule_id} [{source}] {int(failures):,} of {int(evaluated):,}"
            f"{'  (blocking)' if severity == 'blocking' else ''}"
        )


def blocking_results(store: Warehouse, run_id: str) -> pd.DataFrame:
    """The run's failed blocking rules, one row per rule and source (dq.results)."""
    if not store.table_exists(tables.DQ_RESULTS):
        return pd.DataFrame(
            columns=["rule_id", "source_system", "evaluated", "failed", "score", "examples"]
        )
    return store.query(
        "select rule_id, source_system, evaluated, failed, score, examples"
        f" from {tables.DQ_RESULTS} "
        "where run_id = ? and severity = 'blocking' and not passed order by stage, rule_id, "
        "source_system",
        [run_id],
    )


def describe_blocking(row: Mapping[Any, Any], config: MdmConfig | None) -> str:
    """`blocked: <rule> on <source>: <score> vs <threshold> (<the config keys that set them>)`."""
    rule_id, source = str(row["rule_id"]), str(row["source_system"])
    rule = RULES_BY_ID.get(rule_id)
    evaluated, failed = int(row["evaluated"] or 0), int(row["failed"] or 0)
    per_source = config is not None and source in config.sources
    severity_key = f"sources.{source}.quality.severity" if per_source else "quality.severity"
    head = f"blocked: {rule_id} on {source}: "
    if rule is None or rule.threshold is None or config is None:
        detail = f"{failed:,} of {evaluated:,} failing"
        if rule is not None and rule.expectation in _TABLE_LEVEL and row.get("examples"):
            detail = f"{row['examples']}"
        return f"{head}{detail} (every one must pass; severity: {severity_key})"
    source_quality = config.sources[source].quality if per_source else None
    threshold = float(getattr(for_source(config.quality, source_quality)[0], rule.threshold))
    keys = f"quality.{rule.threshold}"
    if per_source and rule.threshold in SourceQualityConfig.model_fields:
        keys += f", or sources.{source}.quality.{rule.threshold}"
    keys += f" / {severity_key}"
    failing = failed / evaluated if evaluated else 0.0
    if rule.threshold.startswith("max_"):
        return f"{head}{failing:.1%} failing > {threshold:.1%} allowed ({keys})"
    return f"{head}{1 - failing:.1%} passing < {threshold:.1%} required ({keys})"


def failure_lines(
    store: Warehouse,
    run_id: str,
    config: MdmConfig | None,
    failures: Sequence[StepFailure],
) -> list[str]:
    """One line per cause of a failed run: each blocking rule that failed, each step that
    failed for another reason."""
    blocked = [
        describe_blocking(row, config) for row in blocking_results(store, run_id).to_dict("records")
    ]
    lines = list(blocked)
    for failure in failures:
        if failure.blocking_check and blocked:
            continue  # the rule's own line says more than the check step's
        lines.append(f"failed: {stage_label(failure.step_key)}: {failure.message}")
    return lines or [
        "the run failed before any step ran: see `mdm run --verbose` or the Dagster UI"
    ]
