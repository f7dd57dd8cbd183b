"""Runs as Dagster records them, with the kind and status the auditor's list shows."""

from typing import Literal

import dagster as dg
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
