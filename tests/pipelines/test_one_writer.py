"""One writer at a time on a home: the run queue in the instance `make ui` uses, and two real
processes writing the same DuckDB warehouse through Dagster runs at once.

Without the home's run lock the second process would fail on DuckDB's own file lock (one
writing process) in the middle of its step; with it, the second run waits for the first and
both writes land whole.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import yaml

from connectors import run_lock
from connectors.settings import PROJECT_ROOT, Settings
from pipelines.runs import dagster_home

#: One process's Dagster run: an asset keeping the warehouse open for writing inside its step.
WRITER = textwrap.dedent(
    """
    import os, sys, time
    import dagster as dg
    from pipelines.resources import WarehouseResource

    home, url, name, hold, wait = sys.argv[1:6]

    @dg.asset
    def ledger(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> None:
        store = warehouse.open()
        # The warehouse file stays open for writing the whole step, as a long stage keeps it.
        with store.connect() as connection:
            started = time.time()
            # `hold`: seconds, or a file the test creates when this write may end.
            if hold.replace(".", "").isdigit():
                time.sleep(float(hold))
            else:
                while not os.path.exists(hold) and time.time() < started + 60:
                    time.sleep(0.05)
            connection.execute("create table if not exists mdm.ledger (writer varchar,"
                               " run_id varchar, started double, ended double)")
            connection.execute("insert into mdm.ledger values (?, ?, ?, ?)",
                               [name, context.run_id, started, time.time()])

    resource = WarehouseResource(url=url, home=home, lock_wait_seconds=float(wait))
    result = dg.materialize([ledger], resources={"warehouse": resource}, raise_on_error=False)
    print("success" if result.success else "failed", result.run_id, flush=True)
    """
)


def start_writer(
    home: Path, url: str, name: str, *, hold: float | Path, wait: float
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(home), url, name, str(hold), str(wait)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_holder(home: Path, timeout: float = 60) -> run_lock.RunHolder:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holder = run_lock.current_holder(home)
        if holder is not None:
            return holder
        time.sleep(0.1)
    raise AssertionError("the first writer never took the home's run lock")


def test_a_second_writer_waits_for_the_first_and_both_writes_land(tmp_path: Path) -> None:
    home = tmp_path / "var"
    url = f"duckdb:///{home / 'warehouse.duckdb'}"
    release = tmp_path / "release"
    first = start_writer(home, url, "first", hold=release, wait=0)
    holder = wait_for_holder(home)
    second = start_writer(home, url, "second", hold=0, wait=60)
    # The first write ends only once the second run is waiting for it: the two overlap.
    assert second.stderr is not None
    seen: list[str] = []
    for line in second.stderr:
        seen.append(line)
        if "waiting up to 60 s for" in line:
            break
    release.touch()
    first_out, _ = first.communicate(timeout=120)
    second_out, rest = second.communicate(timeout=120)
    second_err = "".join(seen) + rest

    assert first_out.split()[0] == "success"
    assert second_out.split()[0] == "success", second_err[-2000:]
    assert first_out.split()[1] == holder.run_id
    # The second run said whom it waited for (run ID, pid, command; nothing from the data).
    assert f"waiting up to 60 s for run {holder.run_id} (pid {holder.pid}," in second_err

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as connection:
        rows = connection.execute(
            "select writer, started, ended from mdm.ledger order by started"
        ).fetchall()
    assert [row[0] for row in rows] == ["first", "second"]
    assert rows[1][1] >= rows[0][2]  # the second write began after the first had ended
    assert run_lock.current_holder(home) is None


def test_a_writer_that_waits_too_long_is_refused_naming_the_holder(tmp_path: Path) -> None:
    home = tmp_path / "var"
    url = f"duckdb:///{home / 'warehouse.duckdb'}"
    release = tmp_path / "release"
    first = start_writer(home, url, "first", hold=release, wait=0)
    holder = wait_for_holder(home)
    second = start_writer(home, url, "second", hold=0, wait=1)
    second_out, second_err = second.communicate(timeout=120)
    release.touch()  # the first write ends only after the second has given up
    first.communicate(timeout=120)

    assert second_out.split()[0] == "failed"
    assert f"is in use by run {holder.run_id} (pid {holder.pid}, started " in second_err
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as connection:
        assert connection.execute("select writer from mdm.ledger").fetchall() == [("first",)]


def test_the_instance_queues_runs_and_starts_one_at_a_time(tmp_path: Path) -> None:
    """`make ui` and `mdm run` use this instance config (pipelines/dagster.yaml, copied to the
    home's dagster folder): UI, schedule, sensor and backfill runs wait in its queue."""
    import dagster as dg

    folder = dagster_home(Settings(home=tmp_path / "var"))
    document = yaml.safe_load((folder / "dagster.yaml").read_text(encoding="utf-8"))
    assert document["concurrency"]["runs"]["max_concurrent_runs"] == 1
    instance = dg.DagsterInstance.from_config(str(folder))
    try:
        assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1
    finally:
        instance.dispose()


def test_a_quick_apply_waits_its_timeout_then_defers_naming_the_run(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """The online writer of today (`mdm review apply`, the console's quick apply) during a
    batch run: it waits `--wait` seconds for the run, then defers (exit 3), naming the run; the
    decision stays recorded, for that run or the next to apply, and nothing is written."""
    from pipelines import cli
    from tests.pipelines.test_cli_messages import held_elsewhere

    settings = Settings(home=tmp_path / "var", config_path=tmp_path / "unused.yaml")
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    decide = ["review", "different", "--left", "core:C1", "--right", "crm:C2"]
    assert cli.main([*decide, "--steward", "wang.min", "--reason", "two people"]) == 0
    capsys.readouterr()

    with held_elsewhere(settings.home, "run-0007") as pid:
        started = time.monotonic()
        code = cli.main(["review", "apply", "--decision", "1", "--wait", "1.5"])
        waited = time.monotonic() - started
    assert code == 3
    assert waited >= 1.5
    err = capsys.readouterr().err
    assert err.startswith(f"deferred: a run is in progress (run run-0007 (pid {pid}, started "), err
    assert "decision #1 is applied when it ends" in err
    assert not (settings.home / "warehouse.duckdb").exists()
