"""`mdm`: the command line for what people do outside the Dagster UI.

mdm simulate --people 10000 --seed 42 --out var/sources
mdm check --config mdm.yaml         # preflight: every source read against its mapping
mdm run --config mdm.yaml           # the same Dagster job the UI runs; shows in its history
mdm evaluate                        # the last run against the simulator's ground truth
mdm review apply --decision 12       # a steward decision applied now, without a run
mdm audit verify                    # the read audit trail's hash chain, end to end
mdm audit list --golden-id G0000000001
mdm report runs                     # the auditor's workspace: runs, failing rows, sign-off,
mdm report export --run RUN --format xlsx --out run.xlsx   # and export (pipelines/report_cli.py)
mdm api --port 8000
mdm changes publish --follow        # the change feed to NATS JetStream, at least once
mdm keys create --name crm-sync --role app    # an API key for a service, printed once
mdm keys list | mdm keys revoke KEY_ID
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors import tables
from connectors.settings import Settings, get_settings

if TYPE_CHECKING:  # the CLI imports the pipeline lazily: `mdm --help` stays fast
    from pipelines.mdm_config import MdmConfig


def _settings(config: str | None) -> Settings:
    settings = get_settings()
    if config:
        settings = settings.model_copy(update={"config_path": Path(config).resolve()})
    return settings


def cmd_simulate(args: argparse.Namespace) -> int:
    from connectors.simulated import SHAPES, load_noise_profile, simulate
    from connectors.simulated.second_bank import parse_activity
    from pipelines.business_date import today_in_china

    try:
        if args.shape not in SHAPES:
            raise ValueError(f"unknown --shape {args.shape!r}; shapes: {', '.join(SHAPES)}")
        noise = load_noise_profile(args.profile).scaled(args.noise_multiplier)
        activity = parse_activity(args.activity)
        if activity and args.shape != "second_bank":
            raise ValueError("--activity is for --shape second_bank (the demo writes them all)")
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    manifest = simulate(
        Path(args.out),
        people=args.people,
        seed=args.seed,
        as_of=date.fromisoformat(args.as_of) if args.as_of else today_in_china(),
        noise=noise,
        profile=args.profile,
        shape=args.shape,
        activity=activity,
    )
    elapsed = time.perf_counter() - started
    counts = manifest.get("row_counts", {})
    scale = "" if args.noise_multiplier == 1 else f" x{args.noise_multiplier:g}"
    print(
        f"simulated {args.people:,} people (seed {args.seed}, noise profile {args.profile}"
        f"{scale}, {args.shape} shape) into {args.out} in {elapsed:.1f} s"
    )
    for system, table_rows in counts.items():
        for table, rows in table_rows.items():
            print(f"  {system + '.' + table:<40} {rows:>10,}")
    if args.core_url:
        from connectors.sql_copy import copy_tables

        core = "core" if args.shape == "demo" else "cbs"  # the SQLite core of either bank
        core_file = Path(args.out).resolve() / manifest["files"][core]
        copied = copy_tables(f"sqlite:///{core_file}", args.core_url, list(counts[core]))
        print(f"core banking loaded into {args.core_url}: {copied}")
        print(f"  point `sources.{core}.url` in your mdm.yaml at it to extract from the server")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from connectors.preflight import preflight
    from pipelines.mdm_config import ConfigError, load_config

    settings = _settings(args.config)
    try:
        config = load_config(settings.config_path)
    except ConfigError as error:
        print(f"error: {error}")
        return 2
    report = preflight(config.sources, config.quality, sample_rows=args.sample_rows)
    print("\n".join(report.lines()))
    if not report.ok:
        failing = len({problem.source for problem in report.problems})
        print(
            f"{len(report.problems)} problem(s) in {failing} of {len(config.sources)} source(s) "
            f"of {settings.config_path}: fix them, then run `mdm check` again"
        )
        return 2
    print(f"all {len(config.sources)} source(s) of {settings.config_path} ready to run")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import uuid

    from connectors import run_lock
    from pipelines.business_date import BusinessDateError, check_business_date, today_in_china
    from pipelines.mdm_config import ConfigError, load_config

    settings = _settings(args.config)
    try:
        config = load_config(settings.config_path)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        args.as_of = check_business_date(args.as_of or today_in_china().isoformat())
    except BusinessDateError as error:
        print(f"error: --as-of: {error}", file=sys.stderr)
        return 2
    run_id = str(uuid.uuid4())

    def waiting(holder: run_lock.RunHolder | None) -> None:
        running = holder.describe() if holder else "another run"
        print(f"waiting: {settings.home} is in use by {running}", flush=True)

    try:
        run_lock.acquire(
            settings.home,
            run_id=run_id,
            command=run_lock.this_command(),
            wait=args.wait,
            on_wait=waiting,
        )
    except run_lock.RunLockBusy as busy:
        print(f"refused: {busy}; let it finish, or `mdm run --wait`", file=sys.stderr)
        return 3
    try:
        return _run_holding_lock(args, settings, config, run_id)
    finally:
        run_lock.release(settings.home)


def _run_holding_lock(
    args: argparse.Namespace, settings: Settings, config: MdmConfig, run_id: str
) -> int:
    from connectors.preflight import preflight
    from connectors.reports import report_path
    from connectors.warehouse import open_warehouse
    from pipelines.assets.report import build_report, report_sensitive_columns
    from pipelines.build import FULL_RUN_JOB, build_definitions
    from pipelines.business_date import run_config_for
    from pipelines.mdm_config import ConfigError
    from pipelines.runs import dagster_instance, run_records
    from pipelines.summary import RunProgress, print_summary, step_failures

    if not args.no_check:
        report = preflight(config.sources, config.quality)
        for warning in report.warnings:
            print(f"warning: {warning.line()}")
        if not report.ok:
            for problem in report.problems:
                print(problem.line(), file=sys.stderr)
            print(
                f"not started: {len(report.problems)} problem(s) in the sources of "
                f"{settings.config_path} (`mdm check` lists them)",
                file=sys.stderr,
            )
            return 2
    try:
        definitions = build_definitions(settings, config=config, prepare_dbt=True)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    instance = dagster_instance(settings)
    # Without --verbose the console shows a line per stage (RunProgress) and the causes of a
    # failure (print_summary); Dagster's own lines, stack traces and dbt's output go to the
    # run log (the UI) and <home>/dbt/runs/<run id>/.
    log_level = "INFO" if args.verbose else "CRITICAL"
    run_config: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    # The run for one business date: the job's partition, as the UI and the schedule launch it.
    run_config.update(
        run_config_for(
            config,
            args.as_of,
            incremental=args.incremental,
            dbt={"console_output": bool(args.verbose)},
        )
    )
    progress = RunProgress()
    if not args.verbose:
        instance.add_event_listener(run_id, progress)
        print(f"run {run_id} on {settings.home}")
    started = time.perf_counter()
    result = definitions.resolve_job_def(FULL_RUN_JOB).execute_in_process(
        instance=instance,
        run_config=run_config,
        raise_on_error=False,
        run_id=run_id,
        partition_key=args.as_of,
    )
    elapsed = time.perf_counter() - started
    if not args.verbose:
        progress.finish()
    failures = step_failures(result.all_events)
    if not report_path(settings.reports_dir, result.run_id).exists():
        # A run stopped before the report asset (a blocking check, a failed step) still gets
        # a report: it is then what an auditor needs most.
        build_report(
            open_warehouse(settings.resolved_warehouse_url).query,
            result.run_id,
            settings.reports_dir,
            runs=run_records(instance),
            config=config.quality,
            run_errors=[failure.line() for failure in failures],
            sensitive=report_sensitive_columns(config),
        )
    print_summary(
        settings,
        run_id=result.run_id,
        elapsed_seconds=elapsed,
        success=result.success,
        config=config,
        failures=failures,
        warnings=progress.warnings,
    )
    return 0 if result.success else 1


def cmd_review_list(args: argparse.Namespace) -> int:
    from connectors.warehouse import open_warehouse
    from quality.masking import mask_value

    settings = _settings(None)
    store = open_warehouse(settings.resolved_warehouse_url)
    if not store.table_exists(tables.REVIEW_QUEUE):
        print("no review queue yet: run the pipeline first (make demo / mdm run)")
        return 1
    queue = store.query(
        f"select * from {tables.REVIEW_QUEUE} order by priority desc, record_key_l limit ?",
        [args.limit],
    )
    total = len(store.read_table(tables.REVIEW_QUEUE, ["record_key_l"]))
    print(f"{total} item(s) waiting for review; showing {len(queue)} by priority")
    for item in queue.to_dict("records"):
        print(
            f"\n[{item['priority']:.3f}] {item['item_type']}: {item['record_key_l']} "
            f"({item.get('golden_id_l')}) vs {item['record_key_r']} ({item.get('golden_id_r')})"
        )
        if item["item_type"] == "pair":
            probability, weight = item["match_probability"], item["match_weight"]
            print(f"    probability {probability:.3f}, weight {weight:.2f}")
            for field in ("name", "id_number", "birth_date", "gender", "mobile", "address"):
                left = mask_value(field, _shown(item.get(f"{field}_l")))
                right = mask_value(field, _shown(item.get(f"{field}_r")))
                print(f"    {field:<10} {left!s:<36} | {right}")
        print(f"    why: {item['explanation']}")
    return 0


def _shown(value: object) -> object:
    """A value as a steward reads it: a date without a midnight time, nothing for a null."""
    import math

    import pandas as pd

    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, datetime) and (value.hour, value.minute, value.second) == (0, 0, 0):
        return value.date().isoformat()  # pandas keeps DATE columns as midnight timestamps
    return value


def cmd_review_questions(args: argparse.Namespace) -> int:
    from connectors.warehouse import open_warehouse

    settings = _settings(None)
    store = open_warehouse(settings.resolved_warehouse_url)
    if not store.table_exists(tables.REVIEW_QUESTIONS):
        print("no review questions yet: run the pipeline first (make demo / mdm run)")
        return 1
    questions = store.query(
        f"select * from {tables.REVIEW_QUESTIONS} order by priority desc, question_id limit ?",
        [args.limit],
    )
    total = store.query(f"select count(*) as n from {tables.REVIEW_QUESTIONS}")["n"].iloc[0]
    print(f"{total} question(s) waiting for review; showing {len(questions)} by priority")
    for question in questions.to_dict("records"):
        age = question.get("age_days")
        print(
            f"\n[{question['priority']:.3f}] {question['question_id']} {question['question_type']}"
            f": {question['record_count']} records, {question['pair_count']} pair(s), sources "
            f"{question['source_systems']}, age {'-' if _shown(age) is None else age} days"
        )
        print(f"    records: {question['record_keys']}")
        if question["golden_ids"]:
            print(f"    golden:  {question['golden_ids']}")
    return 0


def _warehouse_context(settings: Settings, decision: Any = None) -> dict[str, Any]:
    """What a decision is checked against: the last run's xref and golden records, the party
    records of the golden records it involves (None when there has been no run), and the
    configured survivorship."""
    from connectors import tables
    from connectors.warehouse import open_warehouse, read_if_exists
    from matching.stewardship import involved_record_keys
    from pipelines.mdm_config import ConfigError, load_config

    store = open_warehouse(settings.resolved_warehouse_url)
    context: dict[str, Any] = {
        "golden": read_if_exists(
            store, tables.GOLDEN_RECORDS, ["golden_id", "survivor_id", "status"]
        ),
        "xref": read_if_exists(store, tables.XREF, ["record_key", "golden_id"]),
        "records": None,
    }
    if context["xref"] is not None:
        keys = (
            involved_record_keys(
                xref=context["xref"],
                golden=context["golden"],
                record_key_l=decision.record_key_l,
                record_key_r=decision.record_key_r,
                golden_id=decision.golden_id,
                related_golden_id=decision.related_golden_id,
            )
            if decision is not None
            else []
        )
        # One placeholder per key: portable to both warehouses, and a decision involves few.
        placeholders = ", ".join("?" for _ in keys) or "null"
        context["records"] = store.query(
            f"select * from {tables.PARTY_RECORDS} where record_key in ({placeholders})", keys
        )
    try:
        context["survivorship"] = load_config(settings.config_path).survivorship
    except (ConfigError, OSError):
        context["survivorship"] = None  # the defaults; the run itself would refuse this config
    return context


def _cli_steward(name: str) -> str | None:
    from matching.stewardship import cli_steward

    try:
        return cli_steward(name)
    except ValueError as error:
        print(f"refused: {error}", file=sys.stderr)
        return None


def cmd_review_decide(args: argparse.Namespace) -> int:
    from connectors.ops_store import (
        Decision,
        DecisionConflictError,
        DecisionContradictionError,
        DecisionInvalidError,
        OpsStore,
    )

    steward = _cli_steward(args.steward)
    if steward is None:
        return 2
    settings = _settings(None)
    given = vars(args)
    decision = Decision(
        decision_type=args.decision,
        steward=steward,
        reason=args.reason,
        record_key_l=given.get("record") or given.get("left"),
        record_key_r=given.get("right"),
        golden_id=given.get("survivor") or given.get("golden"),
        related_golden_id=given.get("merged"),
    )
    context = _warehouse_context(settings, decision)
    ops = OpsStore(settings.resolved_ops_url)
    try:
        decision_id = ops.record_decision(decision, **context)
        stored = ops.decision(decision_id)
    except (DecisionInvalidError, DecisionConflictError, DecisionContradictionError) as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2
    finally:
        ops.dispose()
    if stored.status == "pending":
        print(
            f"decision #{decision_id} recorded and waiting for a second steward: it "
            f"{stored.risk_reason}. Another steward approves it with "
            f"`mdm review approve {decision_id}` (or rejects it); until then it changes nothing"
        )
        return 0
    if args.apply:
        print(f"decision #{decision_id} recorded")
        return _apply_and_report(settings, decision_id)
    print(
        f"decision #{decision_id} recorded; it is applied by the next run "
        "(the steward_decisions_sensor starts one when the Dagster daemon runs, or `mdm run`), "
        f"or now by `mdm review apply --decision {decision_id}`"
    )
    return 0


def cmd_review_act(args: argparse.Namespace) -> int:
    """approve / reject / revoke one decision by its number."""
    from connectors.ops_store import (
        DecisionConflictError,
        DecisionContradictionError,
        DecisionInvalidError,
        DecisionNotFoundError,
        DecisionStateError,
        OpsStore,
    )

    steward = _cli_steward(args.steward)
    if steward is None:
        return 2
    settings = _settings(None)
    ops = OpsStore(settings.resolved_ops_url)
    try:
        if args.action == "approve":
            context = _warehouse_context(settings)
            stored = ops.approve(
                args.decision_id,
                steward,
                args.reason,
                xref=context["xref"],
                golden=context["golden"],
            )
        elif args.action == "reject":
            stored = ops.reject(args.decision_id, steward, args.reason)
        else:
            stored = ops.revoke(args.decision_id, steward, args.reason)
    except (
        DecisionInvalidError,
        DecisionStateError,
        DecisionConflictError,
        DecisionContradictionError,
        DecisionNotFoundError,
    ) as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2
    finally:
        ops.dispose()
    effect = {
        "active": "it is applied by the next run",
        "rejected": "it will never apply; its subject is free for a new decision",
        "revoked": "it no longer constrains matching from the next run; its subject is free "
        "for a new decision",
    }[stored.status]
    print(f"decision #{stored.decision_id} is now {stored.status}: {effect}")
    return 0


def cmd_review_history(args: argparse.Namespace) -> int:
    from connectors.ops_store import DecisionNotFoundError, OpsStore

    ops = OpsStore(_settings(None).resolved_ops_url)
    try:
        if args.decision_id is None:
            decisions = ops.decisions()
            if args.status:
                decisions = decisions[decisions["status"] == args.status]
            print(f"{len(decisions)} decision(s)" + (f" {args.status}" if args.status else ""))
            for row in decisions.tail(args.limit).to_dict("records"):
                risk = f" (risky: {row['risk_reason']})" if row["risk_reason"] else ""
                print(
                    f"#{row['decision_id']} {row['status']:<8} {row['decision_type']:<9} "
                    f"{row['subject_key']} by {row['steward']} at {row['decided_at']}{risk}"
                )
            return 0
        stored = ops.decision(args.decision_id)
        events = ops.history(args.decision_id)
    except DecisionNotFoundError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2
    finally:
        ops.dispose()
    print(
        f"decision #{stored.decision_id} {stored.decision_type} {stored.subject_key}: "
        f"{stored.status}" + (f" (risky: {stored.risk_reason})" if stored.risk_reason else "")
    )
    for event in events.to_dict("records"):
        print(
            f"  {event['occurred_at']} {event['action']:<8} by {event['steward']}: "
            f"{event['reason']}"
        )
    return 0


def _apply_and_report(settings: Settings, decision_id: int, *, wait_seconds: float = 0.0) -> int:
    """Apply one decision now and print what changed; the exit code says how it went.
    `wait_seconds`: how long to wait for a run holding the home before deferring."""
    from connectors.steward_apply import DecisionNotFoundError, apply_decision

    try:
        result = apply_decision(
            settings, decision_id, actor="cli:mdm review apply", wait_seconds=wait_seconds
        )
    except DecisionNotFoundError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2
    if result.outcome == "deferred":
        print(f"deferred: {result.message}", file=sys.stderr)
        return 3
    if result.outcome == "not_applicable":
        print(f"not applied: {result.message}", file=sys.stderr)
        return 2
    print(
        f"decision #{decision_id} applied in {result.seconds:.2f} s "
        f"({', '.join(f'{k} {v:.2f} s' for k, v in result.timings.items())}): "
        f"{result.records} records re-clustered, run {result.run_id}"
    )
    for change in result.changes:
        related = f" ({change.related_golden_id})" if change.related_golden_id else ""
        fields = f": {', '.join(change.changed_fields)}" if change.changed_fields else ""
        print(f"  {change.event_type:<7} {change.golden_id}{related}{fields}")
    if not result.changes:
        print("  no golden record changed")
    print("the serving snapshot is republished; marts refresh on the next run")
    return 0


def cmd_review_apply(args: argparse.Namespace) -> int:
    from connectors.steward_apply import unapplied_decision_ids

    settings = _settings(None)
    if args.decision is not None:
        return _apply_and_report(settings, args.decision, wait_seconds=args.wait)
    waiting = unapplied_decision_ids(settings)
    if not waiting:
        print("every active decision is applied")
        return 0
    worst = 0
    for decision_id in waiting:
        worst = max(worst, _apply_and_report(settings, decision_id, wait_seconds=args.wait))
        if worst == 3:  # a run holds the home: it, or the next, applies the rest
            break
    return worst


def cmd_evaluate(args: argparse.Namespace) -> int:
    from pipelines.evaluate import EvaluationUnavailable, evaluate_last_run
    from pipelines.mdm_config import ConfigError

    try:
        lines = evaluate_last_run(_settings(args.config), Path(args.json) if args.json else None)
    except (ConfigError, EvaluationUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from connectors.audit_log import ReadAuditLog

    settings = _settings(None)
    # Under MDM_AUDIT_KEY the keyed rows are checked as HMACs; see connectors/audit_log.py.
    log = ReadAuditLog(settings.resolved_ops_url, key=settings.audit_key_bytes)
    try:
        check = log.verify()
    finally:
        log.dispose()
    if not check.ok:
        print(
            f"read audit chain BROKEN at seq {check.first_broken_seq}: {check.reason}"
            f" ({check.rows} row(s) before it verified)",
            file=sys.stderr,
        )
        return 1
    scheme = "HMAC-SHA256 under MDM_AUDIT_KEY" if log.key else "sha256, unkeyed"
    print(
        f"read audit chain intact ({scheme}): {check.rows} row(s), head seq {check.head_seq},"
        f" head hash {check.head_hash}"
    )
    return 0


def _aware_time(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option} {text!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise ValueError(f"{option} needs a UTC offset, e.g. 2026-12-01T00:00:00+08:00")
    return value


def cmd_audit_list(args: argparse.Namespace) -> int:
    from connectors.audit_log import AuditFilter, ReadAuditLog

    try:
        where = AuditFilter(
            subject=args.subject,
            golden_id=args.golden_id,
            since=_aware_time(args.since, "--since"),
            until=_aware_time(args.until, "--until"),
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    log = ReadAuditLog(_settings(None).resolved_ops_url)
    try:
        total, rows = log.list(where, after_seq=args.after_seq, limit=args.limit)
    finally:
        log.dispose()
    print(f"{total} audited read(s) match; showing {len(rows)} from seq {args.after_seq + 1}")
    for stored in rows:
        row = stored.row
        print(
            f"#{stored.seq} {row.occurred_at.isoformat()} {row.subject} ({row.principal_kind},"
            f" {row.role}) {row.endpoint} -> {row.status_code}"
            f" golden={','.join(row.golden_ids) or '-'} clear={','.join(row.clear_fields) or '-'}"
            f" purpose={row.purpose or '-'}"
        )
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    # Each worker process imports the app and so opens its own SnapshotStore: the snapshot
    # and point store are read-only files, so processes share nothing but the page cache.
    workers = args.workers or get_settings().api_workers
    if workers < 1:
        print("mdm api: --workers must be at least 1", file=sys.stderr)
        return 2
    uvicorn.run(
        "golden_record_api.main:server_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=workers,
        log_level="info",
    )
    return 0


def cmd_changes_publish(args: argparse.Namespace) -> int:
    import asyncio

    from nats.errors import Error as NatsError
    from nats.errors import NoServersError

    from connectors.change_feed import PublishReport, publish_changes

    settings = get_settings()
    stream = args.stream or settings.changes_stream
    subject = args.subject or settings.changes_subject
    server = args.server or settings.changes_nats_url

    def progress(report: PublishReport) -> None:
        # Counts and seqs only: an event's golden ID is not needed to follow progress.
        print(
            f"acknowledged through seq {report.cursor}: {report.published} published"
            f" ({report.duplicates} the stream already held)",
            flush=True,
        )

    try:
        report = asyncio.run(
            publish_changes(
                serving_path=settings.resolved_serving_path,
                ops_url=settings.resolved_ops_url,
                nats_url=server,
                stream=stream,
                subject=subject,
                follow=args.follow,
                batch=args.batch,
                max_rate=args.max_rate,
                on_batch=progress,
            )
        )
    except KeyboardInterrupt:
        return 130
    except NoServersError:
        print(f"mdm changes publish: no NATS server answered at {server}", file=sys.stderr)
        return 1
    except (OSError, TimeoutError, NatsError) as error:
        print(f"mdm changes publish: the NATS server failed: {error!r}", file=sys.stderr)
        return 1
    print(f"stream {stream}: cursor at seq {report.cursor}, {report.published} published")
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    from connectors.api_keys import ApiKeyError, ApiKeyStore
    from golden_record_api.policy import load_policy
    from golden_record_api.principal import ROLES, SCOPE_ALL_BRANCHES

    if args.role not in ROLES:
        print(f"refused: unknown role {args.role!r}; one of {', '.join(ROLES)}", file=sys.stderr)
        return 2
    settings = _settings(None)
    policy = load_policy(settings.access_policy_path)
    store = ApiKeyStore(settings.resolved_ops_url)
    try:
        key, info = store.create(args.name, args.role, branch_id=args.branch, rm_id=args.rm)
    except ApiKeyError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2
    finally:
        store.dispose()
    print(f"API key {info.key_id} for {info.name!r} (role {info.role}) created.")
    if not args.branch and SCOPE_ALL_BRANCHES not in policy.scopes(args.role):
        print(
            f"note: role {args.role} sees only its branch's customers, and this key has no"
            " --branch: it will find no one"
        )
    print("Hand this key over now; it is not stored and cannot be shown again:")
    print(key)
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    from connectors.api_keys import ApiKeyError, ApiKeyStore

    store = ApiKeyStore(_settings(None).resolved_ops_url)
    try:
        info = store.revoke(args.key_id)
    except ApiKeyError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2
    finally:
        store.dispose()
    print(
        f"API key {info.key_id} ({info.name!r}) revoked; running APIs stop accepting it within"
        " MDM_API_KEY_CACHE_TTL_SECONDS"
    )
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    from connectors.api_keys import ApiKeyStore

    store = ApiKeyStore(_settings(None).resolved_ops_url)
    try:
        keys = store.list()
    finally:
        store.dispose()
    if not keys:
        print("no API keys yet: `mdm keys create --name NAME --role ROLE`")
        return 0
    header = ("key_id", "name", "role", "branch", "rm", "created", "revoked")
    rows = [header] + [
        tuple(
            str(value or "")
            for value in (
                k.key_id,
                k.name,
                k.role,
                k.branch_id,
                k.rm_id,
                k.created_at,
                k.revoked_at,
            )
        )
        for k in keys
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mdm", description="Customer master-data pipeline")
    commands = parser.add_subparsers(dest="command", required=True)

    simulate = commands.add_parser("simulate", help="write the simulated bank source systems")
    simulate.add_argument("--people", type=int, default=10_000)
    simulate.add_argument("--seed", type=int, default=42)
    simulate.add_argument(
        "--as-of", default=None, help="the systems' business date, YYYY-MM-DD (default: today)"
    )
    simulate.add_argument("--out", default="var/sources")
    simulate.add_argument(
        "--profile",
        default="default",
        help="noise profile: a shipped name (default, legacy_hebei) or a YAML file; "
        "see docs/SIMULATOR_PROFILES.md",
    )
    simulate.add_argument(
        "--noise-multiplier",
        type=float,
        default=1.0,
        help="every rate of the profile times this, capped at 1 (default 1)",
    )
    simulate.add_argument(
        "--core-url",
        default=None,
        help="also load the core banking system into this database (mysql://… or postgresql://…)",
    )
    simulate.add_argument(
        "--shape",
        default="demo",
        help="demo: the demo bank's three systems; second_bank: four systems shaped unlike "
        "them, customer tables only (docs/CONTRACTS.md §1)",
    )
    simulate.add_argument(
        "--activity",
        default=None,
        help="second_bank only: comma list of activity tables to add (accounts, "
        "loan_applications, loans, tickets, relationship_managers)",
    )
    simulate.set_defaults(handler=cmd_simulate)

    check = commands.add_parser(
        "check",
        help="preflight: read every source's headers and a sample, and say what in mdm.yaml "
        "does not fit (writes nothing; exit 2 on a problem)",
    )
    check.add_argument("--config", default=None, help="an mdm.yaml (default: the shipped one)")
    check.add_argument(
        "--sample-rows", type=int, default=1000, help="rows read from each table (default 1000)"
    )
    check.set_defaults(handler=cmd_check)

    run = commands.add_parser(
        "run",
        help="run the whole pipeline (the mdm_full_run job): `mdm check` first, then the job; "
        "exit 2 when the check finds a problem, 3 when another run holds the home",
    )
    run.add_argument("--config", default=None, help="an mdm.yaml (default: the shipped one)")
    run.add_argument(
        "--as-of",
        default=None,
        help="the business date the run is for (the job's partition), YYYY-MM-DD; default: "
        "today in China",
    )
    run.add_argument(
        "--verbose",
        action="store_true",
        help="show every step's log, stack traces and dbt's output (otherwise a line per stage)",
    )
    run.add_argument(
        "--incremental",
        action="store_true",
        help="extract only rows changed since the last run (sources with a watermark)",
    )
    run.add_argument(
        "--wait",
        action="store_true",
        help="when another run holds the home (MDM_HOME), wait for it instead of refusing",
    )
    run.add_argument(
        "--no-check", action="store_true", help="skip the preflight (`mdm check`) before the run"
    )
    run.set_defaults(handler=cmd_run)

    review = commands.add_parser("review", help="the stewards' review queue and decisions")
    review_commands = review.add_subparsers(dest="review_command", required=True)
    listing = review_commands.add_parser("list", help="undecided items by priority")
    listing.add_argument("--limit", type=int, default=10)
    listing.set_defaults(handler=cmd_review_list)
    questions = review_commands.add_parser(
        "questions", help="undecided questions (connected pairs, oversized clusters) by priority"
    )
    questions.add_argument("--limit", type=int, default=10)
    questions.set_defaults(handler=cmd_review_questions)
    steward_help = "who decides: a login name (letters, digits, . _ @ -), recorded as cli:NAME"
    for name, help_text in (
        ("same", "two source records are the same person"),
        ("different", "two source records are different people"),
        ("split", "take a source record out of its golden record"),
        ("merge", "merge one golden record into another"),
    ):
        decide = review_commands.add_parser(name, help=help_text)
        decide.set_defaults(handler=cmd_review_decide, decision=name)
        decide.add_argument("--steward", required=True, help=steward_help)
        decide.add_argument("--reason", required=True, help="why (kept for the auditors)")
        if name in {"same", "different"}:
            decide.add_argument("--left", required=True, help="record key, e.g. core:C100000001")
            decide.add_argument("--right", required=True, help="record key")
        if name == "split":
            decide.add_argument("--record", required=True, help="the record key to take out")
            decide.add_argument("--golden", required=True, help="the golden ID it leaves")
        if name == "merge":
            decide.add_argument("--survivor", required=True, help="golden ID that stays")
            decide.add_argument("--merged", required=True, help="golden ID that is retired")
        decide.add_argument(
            "--apply",
            action="store_true",
            help="apply it now to the golden records it touches (as `mdm review apply`)",
        )
    for name, help_text in (
        ("approve", "a second steward approves a risky decision waiting for approval"),
        ("reject", "a second steward rejects a risky decision waiting for approval"),
        ("revoke", "withdraw a pending or active decision (it stays in the history)"),
    ):
        act = review_commands.add_parser(name, help=help_text)
        act.set_defaults(handler=cmd_review_act, action=name)
        act.add_argument("decision_id", type=int, help="the decision's number (#N)")
        act.add_argument("--steward", required=True, help=steward_help)
        act.add_argument("--reason", required=True, help="why (kept for the auditors)")
    history = review_commands.add_parser(
        "history", help="one decision's history, or the decisions (--status pending: waiting)"
    )
    history.add_argument("decision_id", type=int, nargs="?", default=None)
    history.add_argument("--status", choices=["pending", "active", "rejected", "revoked"])
    history.add_argument("--limit", type=int, default=50)
    history.set_defaults(handler=cmd_review_history)
    apply = review_commands.add_parser(
        "apply",
        help="apply steward decisions now, re-clustering only the records they touch; exit 3 "
        "when a run holds the home (it, or the next run, applies them)",
    )
    apply.add_argument(
        "--decision", type=int, default=None, help="this decision (default: every unapplied one)"
    )
    apply.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="when a run holds the home, wait up to this long for it before deferring (exit 3)",
    )
    apply.set_defaults(handler=cmd_review_apply)

    evaluate = commands.add_parser(
        "evaluate",
        help="the last run's matching against the ground truth: scores, misses by cause, "
        "false merges by kind, recall per blocking rule",
    )
    evaluate.add_argument("--config", default=None, help="mdm.yaml (default: the shipped one)")
    evaluate.add_argument("--json", default=None, help="also write the figures to this file")
    evaluate.set_defaults(handler=cmd_evaluate)

    audit = commands.add_parser("audit", help="the audit trail of API reads of personal data")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser(
        "verify", help="walk the hash chain; exit 1 naming the first broken row"
    )
    verify.set_defaults(handler=cmd_audit_verify)
    audit_list = audit_commands.add_parser("list", help="audited reads, oldest first")
    audit_list.add_argument("--subject", default=None, help="who read")
    audit_list.add_argument("--golden-id", default=None, help="a golden ID the read returned")
    audit_list.add_argument("--since", default=None, help="from this time (ISO 8601 with offset)")
    audit_list.add_argument("--until", default=None, help="before this time (ISO 8601, offset)")
    audit_list.add_argument("--after-seq", type=int, default=0, help="rows after this seq")
    audit_list.add_argument("--limit", type=int, default=50)
    audit_list.set_defaults(handler=cmd_audit_list)

    from pipelines.report_cli import add_report_commands

    add_report_commands(commands)

    api = commands.add_parser("api", help="serve the read API")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument(
        "--workers", type=int, help="uvicorn worker processes (default: MDM_API_WORKERS, 1)"
    )
    api.set_defaults(handler=cmd_api)

    changes = commands.add_parser("changes", help="the change feed of golden events")
    change_commands = changes.add_subparsers(dest="changes_command", required=True)
    publish = change_commands.add_parser(
        "publish", help="publish outbox events to NATS JetStream, at least once"
    )
    mode = publish.add_mutually_exclusive_group()
    mode.add_argument("--once", dest="follow", action="store_false", help="until caught up")
    mode.add_argument("--follow", dest="follow", action="store_true", help="keep publishing")
    publish.set_defaults(follow=False)
    publish.add_argument("--server", help="NATS URL (default: MDM_CHANGES_NATS_URL)")
    publish.add_argument("--stream", help="JetStream stream (default: MDM_CHANGES_STREAM)")
    publish.add_argument("--subject", help="subject prefix (default: MDM_CHANGES_SUBJECT)")
    publish.add_argument(
        "--batch", type=_positive, default=100, help="events per cursor commit (default 100)"
    )
    publish.add_argument("--max-rate", type=float, help="events per second at most")
    publish.set_defaults(handler=cmd_changes_publish)

    keys = commands.add_parser("keys", help="API keys of service accounts (stored hashed)")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="a new key, printed once")
    create.add_argument("--name", required=True, help="which service holds it, e.g. crm-sync")
    create.add_argument("--role", required=True, help="app, relationship_manager, steward, …")
    create.add_argument("--branch", default=None, help="the branch a branch-limited role sees")
    create.add_argument("--rm", default=None, help="the relationship manager it acts as")
    create.set_defaults(handler=cmd_keys_create)
    revoke = key_commands.add_parser(
        "revoke", help="stop a key from working (rotate: create, then revoke)"
    )
    revoke.add_argument("key_id", help="the id `mdm keys list` shows (not the key itself)")
    revoke.set_defaults(handler=cmd_keys_revoke)
    key_commands.add_parser("list", help="every key: id, name, role; never a secret").set_defaults(
        handler=cmd_keys_list
    )

    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
