"""The whole asset graph materialized from the simulated sources, on DuckDB and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg
import pandas as pd
import pytest

from connectors.settings import Settings
from connectors.warehouse import Warehouse, open_warehouse
from pipelines.build import FULL_RUN_JOB, build_definitions
from tests.conftest import TEST_AS_OF, fresh_postgres_database, write_pipeline_config
from tests.contracts_doc import documented_columns

pytestmark = pytest.mark.slow

RUN_CONFIG = {"ops": {"mdm_dbt_models": {"config": {"as_of_date": TEST_AS_OF.isoformat()}}}}


@dataclass
class CompletedRun:
    settings: Settings
    result: dg.ExecuteInProcessResult
    definitions: dg.Definitions
    instance: dg.DagsterInstance

    @property
    def store(self) -> Warehouse:
        return open_warehouse(self.settings.resolved_warehouse_url)


def run_pipeline(folder, simulated_sources, warehouse_url: str | None) -> Iterator[CompletedRun]:  # type: ignore[no-untyped-def]
    settings = Settings(
        home=folder / "var",
        config_path=write_pipeline_config(simulated_sources, folder / "mdm.yaml"),
        warehouse_url=warehouse_url,
    )
    definitions = build_definitions(settings)
    with dg.instance_for_test() as instance:
        result = definitions.resolve_job_def(FULL_RUN_JOB).execute_in_process(
            instance=instance, run_config=RUN_CONFIG
        )
        yield CompletedRun(settings, result, definitions, instance)


@pytest.fixture(scope="module")
def duckdb_run(tmp_path_factory, simulated_sources) -> Iterator[CompletedRun]:  # type: ignore[no-untyped-def]
    yield from run_pipeline(tmp_path_factory.mktemp("duckdb_run"), simulated_sources, None)


@pytest.fixture(scope="module")
def postgres_run(tmp_path_factory, simulated_sources) -> Iterator[CompletedRun]:  # type: ignore[no-untyped-def]
    with fresh_postgres_database() as url:
        yield from run_pipeline(tmp_path_factory.mktemp("postgres_run"), simulated_sources, url)


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def completed_run(request) -> CompletedRun:  # type: ignore[no-untyped-def]
    return request.getfixturevalue(f"{request.param}_run")


def test_full_run_materializes_every_stage_with_consistent_counts(completed_run):
    assert completed_run.result.success
    store = completed_run.store
    raw_customers = (
        len(store.read_table("raw.core__cif_customer"))
        + len(store.read_table("raw.credit__borrower"))
        + len(store.read_table("raw.crm__crm_customers"))
    )
    party = store.read_table("mdm.party_records")
    quarantine = store.read_table("mdm.quarantine")
    # Nothing is lost: every raw customer row is either a party record or quarantined.
    assert len(party) + len(quarantine) == raw_customers
    assert len(quarantine) > 0  # the simulator plants junk rows
    xref = store.read_table("mdm.xref")
    assert sorted(xref["record_key"]) == sorted(party["record_key"])
    golden = store.query("select * from mdm.golden_records where status = 'active'")
    assert 0 < len(golden) < len(party)
    marts = store.query("select count(*) as n from marts.customer_360").iloc[0]["n"]
    assert marts == len(golden)
    assert completed_run.settings.resolved_serving_path.exists()
    # dbt's artifacts of this run sit under MDM_HOME, not in the project's source tree.
    dbt_run = completed_run.settings.home / "dbt" / "runs" / completed_run.result.run_id
    assert (dbt_run / "run_results.json").exists()
    dq = store.read_table("dq.results")
    assert {"raw", "standardized", "golden"} <= set(dq["stage"])


def test_every_table_contracts_md_lists_has_the_columns_it_names(duckdb_run):
    """docs/CONTRACTS.md stays true: each table it documents is there after a run, with every
    column it names (a table may have more: the document names what consumers rely on)."""
    documented = documented_columns()
    assert len(documented) >= 12 and all(documented.values()), documented
    store = duckdb_run.store
    missing = {}
    for table, columns in documented.items():
        assert store.table_exists(table), f"CONTRACTS.md lists {table}; the run did not build it"
        present = set(store.query(f"select * from {table} limit 0").columns)
        if absent := [column for column in columns if column not in present]:
            missing[table] = absent
    assert not missing, f"CONTRACTS.md names columns these tables lack: {missing}"


def test_full_run_matches_the_ground_truth_well(completed_run):
    evaluation = completed_run.store.read_table("mdm.match_evaluation").iloc[0]
    # Measured on the 1,500-person simulation; floors sit a little below the measured figures.
    assert evaluation["precision"] >= 0.95
    assert evaluation["recall"] >= 0.85


def test_mdm_evaluate_explains_the_last_runs_misses_by_cause(completed_run, tmp_path, capsys):
    import json

    from pipelines.cli import main

    settings = completed_run.settings
    # The CLI reads the environment's settings: point it at this run's home and warehouse.
    env = {"MDM_HOME": str(settings.home)}
    if settings.warehouse_url:
        env["MDM_WAREHOUSE_URL"] = settings.warehouse_url
    from connectors.settings import get_settings

    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        get_settings.cache_clear()  # settings are read once per process
        code = main(
            ["evaluate", "--config", str(settings.config_path), "--json", str(tmp_path / "e.json")]
        )
    get_settings.cache_clear()
    printed = capsys.readouterr().out
    assert code == 0
    assert "missed pairs" in printed and "union recall" in printed
    figures = json.loads((tmp_path / "e.json").read_text(encoding="utf-8"))
    misses = figures["evaluation"]["misses"]
    assert sum(misses["by_cause"].values()) == misses["missed"]
    assert figures["evaluation"]["pairwise"]["fn"] == misses["missed"]
    rules = [rule["rule"] for rule in figures["blocking"]["rules"]]
    assert rules[:3] == ["id_number", "any_document", "mobile"]


GOLDEN_COMPARED = [
    "golden_id",
    "name",
    "id_number",
    "birth_date",
    "gender",
    "mobile",
    "address",
    "adcode",
    "source_count",
    "source_systems",
    "status",
]


def test_duckdb_and_postgres_produce_identical_golden_records_and_marts(duckdb_run, postgres_run):
    for column_set, table, key in (
        (GOLDEN_COMPARED, "mdm.golden_records", "golden_id"),
        (["record_key", "golden_id", "match_rule"], "mdm.xref", "record_key"),
        (None, "marts.customer_360", "golden_id"),
    ):
        left = duckdb_run.store.read_table(table, column_set).sort_values(key, ignore_index=True)
        right = postgres_run.store.read_table(table, column_set).sort_values(key, ignore_index=True)
        for frame in (left, right):
            for name in frame.columns:
                if frame[name].dtype == object:
                    frame[name] = frame[name].where(frame[name].notna(), None)
                elif pd.api.types.is_datetime64_any_dtype(frame[name].dtype):
                    # DuckDB hands dates back in ns or us depending on the type; values count.
                    frame[name] = frame[name].astype("datetime64[us]")
        pd.testing.assert_frame_equal(left, right, check_dtype=False, check_exact=False, rtol=1e-9)


def test_rerun_on_unchanged_sources_keeps_golden_ids_and_logs_no_new_events(completed_run):
    store = completed_run.store
    before = store.read_table("mdm.xref")[["record_key", "golden_id"]]
    events_before = len(store.read_table("mdm.golden_events"))
    rerun = completed_run.definitions.resolve_job_def(FULL_RUN_JOB).execute_in_process(
        instance=completed_run.instance, run_config=RUN_CONFIG
    )
    assert rerun.success
    after = store.read_table("mdm.xref")[["record_key", "golden_id"]]
    pd.testing.assert_frame_equal(
        before.sort_values("record_key", ignore_index=True),
        after.sort_values("record_key", ignore_index=True),
    )
    assert len(store.read_table("mdm.golden_events")) == events_before


def test_incremental_rerun_on_unchanged_sources_standardizes_and_rewrites_nothing(
    completed_run,
):
    """`mdm run --incremental`'s run config: no record's raw rows changed, so no record is
    standardized, matched or survived again, and the golden state is exactly as it was."""
    store = completed_run.store
    tables = ("mdm.party_records", "mdm.scored_pairs", "mdm.clusters", "mdm.xref")
    before = {t: store.read_table(t) for t in tables}
    golden_before = store.read_table("mdm.golden_records")
    events_before = len(store.read_table("mdm.golden_events"))
    ops = dict(RUN_CONFIG["ops"])
    ops["standardize_party_records"] = {"config": {"mode": "incremental"}}
    for system in ("core", "credit", "crm"):
        ops[f"extract_{system}"] = {"config": {"mode": "incremental"}}
    rerun = completed_run.definitions.resolve_job_def(FULL_RUN_JOB).execute_in_process(
        instance=completed_run.instance, run_config={"ops": ops}
    )
    assert rerun.success
    materialized = {
        event.asset_key.to_user_string(): event.step_materialization_data.materialization.metadata
        for event in rerun.get_asset_materialization_events()
    }
    assert materialized["mdm/party_records"]["mode"].value == "incremental"
    assert materialized["mdm/party_records"]["records_standardized_again"].value == 0
    assert materialized["mdm/clusters"]["records_reclustered"].value == 0
    assert materialized["mdm/golden_records"]["mode"].value == "incremental"
    for table, frame in before.items():
        after = store.read_table(table)
        key = ["record_key_l", "record_key_r"] if table == "mdm.scored_pairs" else ["record_key"]
        pd.testing.assert_frame_equal(
            frame.sort_values(key, ignore_index=True)[sorted(frame.columns)],
            after.sort_values(key, ignore_index=True)[sorted(frame.columns)],
            check_dtype=False,
        )
    golden_after = store.read_table("mdm.golden_records")
    assert golden_after["golden_id"].sort_values().tolist() == sorted(golden_before["golden_id"])
    assert len(store.read_table("mdm.golden_events")) == events_before
