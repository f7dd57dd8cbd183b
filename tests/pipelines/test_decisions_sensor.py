"""The sensor that applies new steward decisions without re-extracting."""

from __future__ import annotations

import dagster as dg

from connectors.ops_store import Decision, OpsStore
from pipelines.assets.stewardship import (
    APPLY_DECISIONS_JOB,
    build_decisions_sensor,
)
from pipelines.build import build_definitions
from pipelines.resources import OpsStoreResource
from pipelines.runs import FULL_RUN_JOB


def evaluate(
    sensor: dg.SensorDefinition,
    url: str,
    cursor: str | None,
    instance: dg.DagsterInstance | None = None,
) -> list:  # type: ignore[type-arg]
    context = dg.build_sensor_context(
        cursor=cursor,
        resources={"ops": OpsStoreResource(url=url)},
        instance=instance or dg.DagsterInstance.ephemeral(),
    )
    return list(sensor(context)), context.cursor  # type: ignore[return-value]


def test_sensor_requests_one_run_per_new_batch_of_decisions(tmp_path):
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    sensor = build_decisions_sensor()
    results, cursor = evaluate(sensor, url, None)
    assert isinstance(results[0], dg.SkipReason)
    ops = OpsStore(url)
    ops.record_decision(Decision("different", "a", "twins", record_key_l="x", record_key_r="y"))
    results, cursor = evaluate(sensor, url, cursor)
    assert isinstance(results[0], dg.RunRequest)
    assert results[0].run_key == "decisions-through-1"
    results, cursor = evaluate(sensor, url, cursor)
    assert isinstance(results[0], dg.SkipReason)  # nothing new since the cursor
    ops.dispose()


def test_apply_job_reclusters_and_publishes_without_extracting(pipeline_settings):
    definitions = build_definitions(pipeline_settings)
    job = definitions.resolve_job_def(APPLY_DECISIONS_JOB)
    keys = {key.to_user_string() for key in job.asset_layer.executable_asset_keys}
    assert {
        "mdm/scored_pairs",
        "mdm/clusters",
        "mdm/golden_records",
        "mdm/review_queue",
        "serving/snapshot",
    } <= keys
    assert any(key.endswith("customer_360") for key in keys)
    assert not any(key.startswith("raw/") for key in keys)
    assert "mdm/party_records" not in keys


def test_the_decisions_run_keeps_the_business_date_of_the_last_full_run(tmp_path):
    """A re-cluster run rebuilds the marts: as of the date the warehouse is at, not today."""
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    instance = dg.DagsterInstance.ephemeral()

    @dg.op
    def stage() -> None:
        pass

    @dg.job(name=FULL_RUN_JOB)
    def full_run() -> None:
        stage()

    for as_of in ("2026-11-27", "2026-11-28"):
        full_run.execute_in_process(instance=instance, tags={"dagster/partition": as_of})
    ops = OpsStore(url)
    ops.record_decision(Decision("different", "a", "twins", record_key_l="x", record_key_r="y"))
    ops.dispose()

    sensor = build_decisions_sensor()
    results, _ = evaluate(sensor, url, None, instance)
    assert results[0].run_config == {
        "ops": {"mdm_dbt_models": {"config": {"as_of_date": "2026-11-28"}}}
    }
