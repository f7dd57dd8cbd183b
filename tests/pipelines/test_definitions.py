"""The whole Dagster code location loads, with every stage's assets, checks and the job."""

from __future__ import annotations

import dagster as dg

from pipelines.build import FULL_RUN_JOB, build_definitions


def test_full_definitions_load_without_error(pipeline_settings):
    definitions = build_definitions(pipeline_settings)
    dg.Definitions.validate_loadable(definitions)
    job = definitions.resolve_job_def(FULL_RUN_JOB)
    keys = {key.to_user_string() for key in definitions.resolve_all_asset_keys()}
    for expected in (
        "raw/core__cif_customer",
        "raw/crm__crm_service_tickets",
        "mdm/party_records",
        "mdm/scored_pairs",
        "mdm/golden_records",
        "customer_360",
        "serving/snapshot",
    ):
        assert any(key.endswith(expected) for key in keys), expected
    assert job is not None
    check_names = {key.name for key in definitions.resolve_asset_graph().asset_check_keys}
    assert "std__valid_resident_id_share" in check_names
    assert "golden__one_golden_per_record" in check_names
    # What a stage reads is declared: the review queue's priority reads customer_360's assets.
    graph = definitions.resolve_asset_graph()
    queue = dg.AssetKey(["mdm", "review_queue"])
    assert dg.AssetKey(["marts", "customer_360"]) in graph.get(queue).parent_keys


def test_the_code_location_is_built_when_dagster_loads_it_not_on_import(tmp_path):
    """Importing the module does no work (no dbt profile written, no mdm.yaml read); Dagster's
    own loader (the one `make ui` uses) finds and validates the definitions."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "MDM_HOME": str(home), "DAGSTER_HOME": str(tmp_path)}
    subprocess.run(
        [sys.executable, "-c", "import pipelines.definitions"], cwd=root, env=env, check=True
    )
    assert list(home.iterdir()) == []
    dagster = Path(sys.executable).with_name("dagster")
    loaded = subprocess.run(
        [str(dagster), "definitions", "validate", "-m", "pipelines.definitions"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert "Validation successful" in loaded.stderr + loaded.stdout
    assert (home / "dbt" / "profiles.yml").exists()
