"""`mdm report …`: the auditor's workspace on the command line.

mdm report runs                                   # runs with kind, status, rules passed/failed
mdm report rows --run RUN --rule RULE [--source S] # a rule's failing rows, masked
mdm report signoff --run RUN --auditor WHO --verdict accepted|rejected --comment TEXT
mdm report signoffs --run RUN                      # every sign-off, superseded ones too
mdm report export --run RUN --format csv|xlsx --out PATH
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from connectors.settings import Settings, get_settings


def _settings() -> Settings:
    return get_settings()


def _quality_config(settings: Settings):  # type: ignore[no-untyped-def]
    from pipelines.mdm_config import load_config

    return load_config(settings.config_path).quality


def cmd_runs(args: argparse.Namespace) -> int:
    from pipelines.runs import list_runs

    runs = list_runs(_settings(), limit=args.limit)
    if not runs:
        print("no runs yet: `mdm run` (or make demo) runs the pipeline")
        return 0
    header = ("run", "started", "finished", "kind", "status", "passed", "failed", "trend")
    rows = [header] + [
        (
            run.run_id,
            "" if run.started is None else f"{run.started:%Y-%m-%d %H:%M}",
            "" if run.finished is None else f"{run.finished:%Y-%m-%d %H:%M}",
            run.kind,
            run.status,
            str(run.rules_passed),
            str(run.rules_failed),
            "yes" if run.in_trend else "",
        )
        for run in runs
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_rows(args: argparse.Namespace) -> int:
    from connectors.warehouse import open_warehouse
    from quality.report import failing_rows

    settings = _settings()
    rows = failing_rows(
        open_warehouse(settings.resolved_warehouse_url).query,
        args.run,
        args.rule,
        args.source,
        limit=args.limit,
    )
    if rows.empty:
        print(f"no failing rows kept for {args.rule} in run {args.run}")
        return 1
    for row in rows.to_dict("records"):
        value = "(missing)" if row["value"] is None else row["value"]
        detail = f"  {row['detail']}" if row["detail"] else ""
        print(
            f"{row['source_system']:<8} {row['row_key']:<24} {row['column_name']}={value}{detail}"
        )
    return 0


def cmd_signoff(args: argparse.Namespace) -> int:
    from connectors.signoffs import SignOffConflictError, SignOffInvalidError
    from pipelines.runs import UnknownRunError, sign_off_run

    try:
        signed = sign_off_run(_settings(), args.run, args.auditor, args.verdict, args.comment)
    except (UnknownRunError, SignOffInvalidError, SignOffConflictError) as error:
        print(f"refused: {error.args[0]}", file=sys.stderr)
        return 2
    print(
        f"run {signed.run_id} {signed.verdict} by {signed.auditor} at "
        f"{signed.signed_at:%Y-%m-%d %H:%M:%S} UTC (sign-off #{signed.signoff_id})"
    )
    return 0


def cmd_signoffs(args: argparse.Namespace) -> int:
    from pipelines.runs import run_signoffs

    signed = run_signoffs(_settings(), args.run)
    if not signed:
        print(f"run {args.run} has no sign-off")
        return 0
    for s in signed:
        note = "" if s.status == "current" else f"  (superseded by #{s.superseded_by})"
        print(f"#{s.signoff_id}  {s.signed_at:%Y-%m-%d %H:%M}  {s.auditor}  {s.verdict}{note}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pipelines.runs import UnknownRunError, export_run_report

    settings = _settings()
    try:
        path = export_run_report(
            settings, args.run, args.format, Path(args.out), config=_quality_config(settings)
        )
    except UnknownRunError as error:
        print(f"refused: {error.args[0]}", file=sys.stderr)
        return 2
    print(f"run {args.run} exported to {path}")
    return 0


def add_report_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The `report` command group of `mdm`."""
    from connectors.reports import EXPORT_FORMATS
    from connectors.signoffs import VERDICTS

    report = commands.add_parser(
        "report", help="the auditor's quality reports: runs, failing rows, sign-off, export"
    )
    sub = report.add_subparsers(dest="report_command", required=True)
    runs = sub.add_parser("runs", help="runs, newest first, with kind, status and rule counts")
    runs.add_argument("--limit", type=int, default=30)
    runs.set_defaults(handler=cmd_runs)
    rows = sub.add_parser("rows", help="a rule's failing rows in a run, masked")
    rows.add_argument("--run", required=True)
    rows.add_argument("--rule", required=True, help="rule id, e.g. std.mobile_format")
    rows.add_argument("--source", default=None, help="one source (default: every source)")
    rows.add_argument("--limit", type=int, default=50)
    rows.set_defaults(handler=cmd_rows)
    signoff = sub.add_parser("signoff", help="sign a run's report off (accepted or rejected)")
    signoff.add_argument("--run", required=True)
    signoff.add_argument("--auditor", required=True, help="the auditor's subject")
    signoff.add_argument("--verdict", required=True, choices=VERDICTS)
    signoff.add_argument("--comment", default="", help="why (required for a rejection)")
    signoff.set_defaults(handler=cmd_signoff)
    signoffs = sub.add_parser("signoffs", help="a run's sign-offs, superseded ones too")
    signoffs.add_argument("--run", required=True)
    signoffs.set_defaults(handler=cmd_signoffs)
    export = sub.add_parser("export", help="a run's report (rules, results, sign-offs) to a file")
    export.add_argument("--run", required=True)
    export.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    export.add_argument("--out", required=True, help="the file to write")
    export.set_defaults(handler=cmd_export)
