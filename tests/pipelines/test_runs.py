"""Runs as Dagster records them, with the kind and status the auditor's list shows."""

from pathlib import Path
from typing import Literal

import dagster as dg
import pandas as pd
import pytest

from pipelines.runs import FULL_RUN_JOB, run_records


class _Mode(dg.Config):
    mode: Literal["full", "incremental"] = "full"
    fail: bool = False


@dg.asset
def extract_core(config: _Mode) -> int:
    if config.fail:
        raise RuntimeError("source unreachable")
    return 1


@dg.asset
def standardized(extract_core: int) -> int:
    return extract_core + 1


@pytest.fixture
def instance():  # type: ignore[no-untyped-def]
    with dg.instance_for_test() as instance:
        yield instance


def test_runs_are_listed_with_kind_and_status(instance: dg.DagsterInstance):
    # A job of the same name and shape as the pipeline's: its `extract_*` op's config
    # says whether a run is incremental.
    definitions = dg.Definitions(
        assets=[extract_core, standardized],
        jobs=[dg.define_asset_job(FULL_RUN_JOB, selection=dg.AssetSelection.all())],
    )
    job = definitions.resolve_job_def(FULL_RUN_JOB)
    full = job.execute_in_process(instance=instance).run_id
    incremental = job.execute_in_process(
        instance=instance,
        run_config={"ops": {"extract_core": {"config": {"mode": "incremental"}}}},
    ).run_id
    failed = job.execute_in_process(
        instance=instance,
        run_config={"ops": {"extract_core": {"config": {"fail": True}}}},
        raise_on_error=False,
    ).run_id
    subset = job.execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey("extract_core")]
    ).run_id

    records = run_records(instance).set_index("run_id")
    assert records.loc[full, ["kind", "status"]].tolist() == ["full", "succeeded"]
    assert records.loc[failed, ["kind", "status"]].tolist() == ["full", "failed"]
    assert records.loc[subset, ["kind", "status"]].tolist() == ["partial", "succeeded"]
    assert records.loc[incremental, ["kind", "status"]].tolist() == ["incremental", "succeeded"]
    assert (records["finished"] >= records["started"]).all()
    assert set(records["job"]) == {FULL_RUN_JOB}


@pytest.mark.parametrize("warehouse_kind", ["duckdb", "postgres"])
def test_the_publish_puts_the_runs_and_quality_results_in_the_snapshot(
    instance: dg.DagsterInstance,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    warehouse_kind: str,
) -> None:
    # The console reads runs from the snapshot only: the publishing run must be listed there,
    # as succeeded (the orchestrator still says "running" while it publishes).
    import duckdb

    from connectors.settings import Settings
    from connectors.warehouse import open_warehouse
    from pipelines.assets.publish import build_publish_asset
    from pipelines.build import build_resources
    from quality.runs import RUNS_TABLE
    from quality.suites import FAILING_ROWS_TABLE, RESULTS_TABLE

    earlier = dg.materialize([extract_core], instance=instance).run_id
    url = request.getfixturevalue("postgres_database") if warehouse_kind == "postgres" else None
    settings = Settings(home=tmp_path / "var", warehouse_url=url)
    warehouse = open_warehouse(settings.resolved_warehouse_url)
    warehouse.replace_tables(
        {
            RESULTS_TABLE: pd.DataFrame({"run_id": [earlier], "rule_id": ["R1"], "passed": [True]}),
            FAILING_ROWS_TABLE: pd.DataFrame(
                {"run_id": [earlier], "value": ["1301**********003X"]}
            ),
            "mdm.quarantine": pd.DataFrame({"raw_payload": ["not served"]}),
        }
    )
    publish = build_publish_asset([dg.AssetKey("upstream")])
    result = dg.materialize([publish], instance=instance, resources=build_resources(settings))

    with duckdb.connect(str(settings.resolved_serving_path), read_only=True) as snapshot:
        runs = snapshot.execute(f"select * from {RUNS_TABLE}").df().set_index("run_id")
        copied = {
            table: snapshot.execute(f"select count(*) from {table}").fetchone()
            for table in (RESULTS_TABLE, FAILING_ROWS_TABLE)
        }
        tables = {
            row[0]
            for row in snapshot.execute(
                "select table_schema || '.' || table_name from information_schema.tables"
            ).fetchall()
        }
    assert runs.loc[result.run_id, ["kind", "status"]].tolist() == ["partial", "succeeded"]
    assert runs.loc[earlier, "status"] == "succeeded"
    assert copied == {RESULTS_TABLE: (1,), FAILING_ROWS_TABLE: (1,)}
    assert "mdm.quarantine" not in tables
