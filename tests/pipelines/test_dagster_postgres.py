"""The documented production Dagster instance (deploy/dagster-postgres.yaml) works on PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
from sqlalchemy.engine import make_url

from connectors.settings import PROJECT_ROOT


def test_documented_instance_config_stores_runs_in_postgres(
    tmp_path, postgres_database, monkeypatch
):
    url = make_url(postgres_database)
    for name, value in {
        "DAGSTER_PG_HOST": url.host,
        "DAGSTER_PG_PORT": str(url.port),
        "DAGSTER_PG_USER": url.username,
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_PG_DB": url.database,
    }.items():
        monkeypatch.setenv(name, str(value))
    shutil.copyfile(PROJECT_ROOT / "deploy" / "dagster-postgres.yaml", tmp_path / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"

        @dg.asset
        def probe() -> int:
            return 1

        result = dg.materialize([probe], instance=instance)
        assert result.success
        assert instance.get_run_by_id(result.run_id) is not None
    finally:
        instance.dispose()
    assert Path(tmp_path / "dagster.yaml").exists()
