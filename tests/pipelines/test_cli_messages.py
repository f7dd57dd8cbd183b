"""What `mdm check` and `mdm run` tell a person: one line per cause, never a stack trace.

Small real sources (tests/connectors/test_preflight.py writes them) for the preflight lines; a
second process holding the run lock for the refusals; one whole run on a 200-person simulation
whose crm source is held to a blocking valid-ID rule it cannot meet, for a failed run's last
lines.
"""

import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from connectors import run_lock
from connectors.reports import report_path
from connectors.settings import PROJECT_ROOT, Settings
from pipelines import cli
from pipelines.dbt import logged_output
from pipelines.resources import StorePathsResource
from pipelines.runs import dagster_instance
from pipelines.summary import step_failures
from tests.conftest import write_pipeline_config
from tests.connectors.test_preflight import base_document, write_sources


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`mdm` commands run in this process on a home of their own."""
    folder = tmp_path / "var"
    settings = Settings(home=folder)
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    return folder


@pytest.fixture
def small_config(tmp_path: Path) -> Path:
    sources = tmp_path / "sources"
    sources.mkdir()
    write_sources(sources)
    path = tmp_path / "mdm.yaml"
    path.write_text(yaml.safe_dump(base_document(sources), allow_unicode=True), encoding="utf-8")
    return path


def edit_config(path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(document)
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


@contextmanager
def held_elsewhere(home: Path, run_id: str, *, seconds: float = 60) -> Iterator[int]:
    """Another process holding `home`'s run lock (for `seconds`, or until the block ends)."""
    script = textwrap.dedent(
        f"""
        import sys, time
        from connectors import run_lock
        run_lock.acquire({str(home)!r}, run_id={run_id!r}, command="mdm run --config bank.yaml")
        print("held", flush=True)
        time.sleep({seconds})
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "held"
        yield process.pid
    finally:
        process.kill()
        process.wait()


# ------------------------------------------------------------------------------ mdm check


def test_check_prints_one_line_per_problem_and_exits_2(home, small_config, capsys) -> None:
    def edit(document: dict[str, Any]) -> None:
        document["sources"]["crm"]["mapping"]["mobile"] = "手机号"
        document["sources"]["wealth"]["sheet"] = "客户"

    assert cli.main(["check", "--config", str(edit_config(small_config, edit))]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("crm: mapping.mobile: column '手机号' not in crm_customers")
    assert lines[1].startswith("wealth: sheet: ") and lines[1].endswith("(sheets: 说明, 数据)")
    assert lines[2].startswith("core: OK: rows sampled: customers 6, accounts 6;")
    assert lines[-1] == (
        f"2 problem(s) in 2 of 3 source(s) of {small_config}: fix them, then run `mdm check` again"
    )
    assert not home.exists()  # the preflight writes nothing


def test_check_passes_clean_sources(home, small_config, capsys) -> None:
    assert cli.main(["check", "--config", str(small_config)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"all 3 source(s) of {small_config} ready to run"


def test_run_stops_before_anything_on_a_preflight_problem(home, small_config, capsys) -> None:
    missing = small_config.parent / "sources" / "core_banking.sqlite"

    def edit(document: dict[str, Any]) -> None:
        document["sources"]["core"]["url"] = f"sqlite:///{missing}"

    assert cli.main(["run", "--config", str(edit_config(small_config, edit))]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"core: url: SQLite file {missing} does not exist",
        f"not started: 1 problem(s) in the sources of {small_config} (`mdm check` lists them)",
    ]
    assert not missing.exists()
    assert not (home / "warehouse.duckdb").exists()


# ------------------------------------------------------------------------------ run lock


def test_a_second_run_on_the_same_home_is_refused_naming_the_first(
    home, small_config, capsys
) -> None:
    with held_elsewhere(home, "run-0001") as pid:
        assert cli.main(["run", "--config", str(small_config)]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"refused: {home.resolve()} is in use by run run-0001 (pid {pid}, ")
    assert err.endswith(", `mdm run --config bank.yaml`); let it finish, or `mdm run --wait`")
    assert "started 20" in err
    assert not (home / "warehouse.duckdb").exists()


def test_wait_takes_the_lock_when_the_first_run_ends(tmp_path: Path) -> None:
    home = tmp_path / "var"
    seen: list[run_lock.RunHolder | None] = []
    with held_elsewhere(home, "run-0002", seconds=1.5):
        holder = run_lock.acquire(home, run_id="run-0003", wait=True, on_wait=seen.append)
    try:
        assert holder.run_id == "run-0003"
        assert [h.run_id if h else None for h in seen] == ["run-0002"]
        assert run_lock.current_holder(home) == holder
    finally:
        run_lock.release(home)
    assert run_lock.current_holder(home) is None


def test_every_dagster_run_holds_the_lock_and_a_second_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "var"
    held_by: list[str | None] = []

    @dg.asset
    def touches_the_home(context: dg.AssetExecutionContext, stores: StorePathsResource) -> None:
        holder = run_lock.current_holder(Path(stores.home))
        held_by.append(holder.run_id if holder else None)
        assert holder is not None and holder.run_id == context.run_id

    resources = {"stores": StorePathsResource(home=str(home), serving_path=str(home / "s.db"))}
    result = dg.materialize([touches_the_home], resources=resources)
    assert result.success and held_by == [result.run_id]
    assert run_lock.current_holder(home) is None  # released at the run's end

    with held_elsewhere(home, "run-0004") as pid:
        refused = dg.materialize([touches_the_home], resources=resources, raise_on_error=False)
    assert not refused.success
    assert [failure.message for failure in step_failures(refused.all_events)] == [
        f"{home.resolve()} is in use by run run-0004 (pid {pid}, started "
        + failure_started(refused)
        + ", `mdm run --config bank.yaml`)"
    ]


def failure_started(result: dg.ExecuteInProcessResult) -> str:
    message = step_failures(result.all_events)[0].message
    return message.split("started ", 1)[1].split(",", 1)[0]


# ------------------------------------------------------------------------------ output


def test_dbt_output_goes_to_the_log_and_to_the_console_only_when_asked(tmp_path, capsys) -> None:
    def noisy() -> Iterator[int]:
        for number in range(3):
            print(f"dbt line {number}")
            yield number

    log = tmp_path / "runs" / "r1" / "console.log"
    assert list(logged_output(noisy(), log, echo=False)) == [0, 1, 2]
    assert capsys.readouterr().out == ""
    assert log.read_text(encoding="utf-8").splitlines() == [f"dbt line {n}" for n in range(3)]

    def consumer() -> None:
        for _ in logged_output(noisy(), log, echo=True):
            print("between events")  # the consumer's own output is not the log's

    consumer()
    assert capsys.readouterr().out.count("dbt line") == 3
    assert "between events" not in log.read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_failed_run_ends_with_the_blocking_rule_and_the_report(home, tmp_path, capsys) -> None:
    from connectors.simulated import simulate

    sources = tmp_path / "sim"
    simulate(sources, people=200, seed=5, as_of=date(2026, 11, 28))
    config = write_pipeline_config(sources, tmp_path / "sim.yaml")

    def edit(document: dict[str, Any]) -> None:
        document["sources"]["crm"]["quality"] = {
            "min_valid_id_rate": 0.999,
            "severity": {"std.valid_resident_id_share": "blocking"},
        }

    edited = str(edit_config(config, edit))
    assert cli.main(["run", "--config", edited, "--as-of", "2026-11-28"]) == 1
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert "Traceback" not in captured.out + captured.err
    assert "Stack Trace" not in captured.out + captured.err
    assert out[0].startswith("warning: crm: quality.min_valid_id_rate: ")
    assert "  extract crm" in "\n".join(out)
    run_id = next(line for line in out if line.startswith("run ")).split()[1]
    report = report_path(home / "reports", run_id)
    assert report.exists()
    # The run is the job's partition for its business date, in the instance the UI shows.
    instance = dagster_instance(Settings(home=home))
    run = instance.get_run_by_id(run_id)
    instance.dispose()
    assert run is not None and run.tags["dagster/partition"] == "2026-11-28"
    ops = run.run_config["ops"]
    assert ops["mdm_dbt_models"]["config"]["as_of_date"] == "2026-11-28"
    assert ops["standardized_quality"]["config"] == {"as_of_date": "2026-11-28"}
    assert ops["extract_crm"]["config"] == {"mode": "full"}
    blocked = out[-2]
    assert blocked.startswith("  blocked: std.valid_resident_id_share on crm: ")
    assert blocked.endswith(
        "passing < 99.9% required (quality.min_valid_id_rate, or "
        "sources.crm.quality.min_valid_id_rate / sources.crm.quality.severity)"
    )
    assert out[-1] == f"  quality report: {report}"
    assert not any("serving snapshot" in line for line in out)  # none was ever published
    assert not any(line.startswith("Running with dbt") for line in out)
