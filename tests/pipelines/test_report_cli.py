"""`mdm report …`: runs with kind and status, failing rows, sign-off and export, on a real
DuckDB warehouse, a real Dagster instance and the ops store on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

import dagster as dg
import openpyxl
import pytest

from connectors.settings import Settings
from pipelines import cli, report_cli
from pipelines.runs import FULL_RUN_JOB, dagster_instance
from tests.pii import find_unmasked
from tests.quality.conftest import ReportWarehouse, report_warehouse  # noqa: F401

RUN_IDS: dict[str, str] = {}


@dg.asset
def extract_core() -> int:
    return 1


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request, tmp_path, monkeypatch, report_warehouse: ReportWarehouse):  # type: ignore[no-untyped-def]  # noqa: F811
    ops_url = (
        f"sqlite:///{tmp_path / 'ops.sqlite'}"
        if request.param == "sqlite"
        else str(request.getfixturevalue("postgres_database"))
    )
    settings = Settings(
        home=tmp_path / "var",
        warehouse_url=f"duckdb:///{report_warehouse.store.path}",
        ops_url=ops_url,
    )
    monkeypatch.setattr(report_cli, "get_settings", lambda: settings)
    # Dagster's record of run-1 and run-2 (full, succeeded), under the UUIDs Dagster insists
    # on; run-0 and run-x are known only to dq.results.
    job = dg.Definitions(
        assets=[extract_core], jobs=[dg.define_asset_job(FULL_RUN_JOB)]
    ).resolve_job_def(FULL_RUN_JOB)
    instance = dagster_instance(settings)
    for name in ("run-1", "run-2"):
        run_id = job.execute_in_process(instance=instance).run_id
        RUN_IDS[name] = run_id
        with report_warehouse.store.connect() as connection:
            for table in ("dq.results", "dq.failing_rows"):
                connection.execute(
                    f"update {table} set run_id = ? where run_id = ?", [run_id, name]
                )
    instance.dispose()
    return settings


def test_runs_are_listed_with_kind_status_and_rule_counts(settings, capsys):
    assert cli.main(["report", "runs"]) == 0
    lines = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()}
    # run, started (2 fields), finished (2), kind, status, passed, failed, trend
    assert lines[RUN_IDS["run-2"]][5:] == ["full", "succeeded", "2", "2", "yes"]
    assert lines[RUN_IDS["run-1"]][5:] == ["full", "succeeded", "3", "0", "yes"]
    # run-0 has results but no Dagster record: listed, kind and status unknown, no trend.
    assert lines["run-0"][-4:] == ["unknown", "unknown", "0", "1"]


def test_failing_rows_of_a_rule_are_printed_masked(settings, capsys):
    assert (
        cli.main(["report", "rows", "--run", RUN_IDS["run-2"], "--rule", "std.mobile_format"]) == 0
    )
    out = capsys.readouterr().out
    assert "core:C1" in out and "mobile=138****8000" in out and "mobile=(missing)" in out
    assert find_unmasked(out) is None
    assert cli.main(["report", "rows", "--run", RUN_IDS["run-1"], "--rule", "raw.key_unique"]) == 1


def _signoff(run_id: str, verdict: str, *comment: str) -> int:
    arguments = ["report", "signoff", "--run", run_id, "--auditor", "au", "--verdict", verdict]
    return cli.main(arguments + (["--comment", *comment] if comment else []))


def test_sign_off_needs_a_known_finished_run_and_keeps_history(settings, capsys):
    assert _signoff("nosuch", "accepted") == 2
    assert "no run 'nosuch'" in capsys.readouterr().err
    assert _signoff(RUN_IDS["run-2"], "rejected") == 2
    assert "a rejection needs a comment" in capsys.readouterr().err
    assert _signoff(RUN_IDS["run-2"], "accepted", "ok") == 0
    assert _signoff(RUN_IDS["run-2"], "rejected", "crm keys duplicated") == 0
    capsys.readouterr()
    assert cli.main(["report", "signoffs", "--run", RUN_IDS["run-2"]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("au  accepted  (superseded by #2)")
    assert lines[1].endswith("au  rejected")


def _sign(settings: Settings) -> None:
    # A comment that would be a formula in Excel, and one quoting a customer's ID.
    comment = '=HYPERLINK("http://x") 130102198503071235'
    assert _signoff(RUN_IDS["run-2"], "rejected", comment) == 0


def test_export_to_csv_has_every_section_masked_and_defused(settings, tmp_path, capsys):
    _sign(settings)
    out = tmp_path / "exports" / "run.csv"
    assert (
        cli.main(
            ["report", "export", "--run", RUN_IDS["run-2"], "--format", "csv", "--out", str(out)]
        )
        == 0
    )
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # a BOM: Excel opens the Chinese text right
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    sections = [row["section"] for row in rows]
    # One run row, run-2's four rule results, four kept failing rows, one sign-off.
    assert sections == ["run"] + ["rules"] * 4 + ["failing_rows"] * 4 + ["signoffs"]
    run = rows[0]
    assert (run["run_id"], run["kind"], run["status"]) == (RUN_IDS["run-2"], "full", "succeeded")
    assert (run["rules_passed"], run["rules_failed"]) == ("2", "2")
    rules = {row["rule_id"]: row for row in rows if row["section"] == "rules"}
    assert rules["std.updated_recently"]["pass_mark"] == "≥ 40.0% passing"
    assert rules["std.updated_recently"]["passed"] == "True"
    assert rules["raw.key_unique"]["failed"] == "20"
    signoff = rows[-1]
    assert signoff["verdict"] == "rejected" and signoff["comment"].startswith("'=HYPERLINK")
    assert "130102********1235" in signoff["comment"]
    assert find_unmasked(data.decode("utf-8-sig")) is None


def test_export_to_xlsx_has_a_sheet_per_section(settings, tmp_path):
    _sign(settings)
    out = tmp_path / "run-2.xlsx"
    assert (
        cli.main(
            ["report", "export", "--run", RUN_IDS["run-2"], "--format", "xlsx", "--out", str(out)]
        )
        == 0
    )
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["run", "rules", "failing_rows", "signoffs"]
    rules = list(book["rules"].values)
    assert rules[0][:3] == ("stage", "rule_id", "source_system")
    assert len(rules) == 1 + 4
    failing = list(book["failing_rows"].values)
    assert ("std.mobile_format", "core", 1, "core:C1", "mobile", "138****8000", None) in [
        row[:7] for row in failing
    ]
    (header, signed) = list(book["signoffs"].values)
    assert signed[header.index("comment")].startswith("'=HYPERLINK")
    text = " ".join(str(v) for sheet in book for row in sheet.values for v in row)
    assert find_unmasked(text) is None


def test_export_of_an_unknown_run_is_refused(settings, tmp_path, capsys):
    out = tmp_path / "x.csv"
    assert (
        cli.main(["report", "export", "--run", "nosuch", "--format", "csv", "--out", str(out)]) == 2
    )
    assert not out.exists()
