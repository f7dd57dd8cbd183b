"""dbt_project knows the canonical tables, never a bank's own sources.

The staging models over canonical.* must have exactly the columns and code values of
connectors/entities.py (the one home of the canonical entities), no SQL in the project may name
a source of the shipped mdm.yaml, its raw tables, its own columns or its own codes, and the
Dagster asset of each canonical source table must be the one the canonicalize stage writes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.entities import ENTITIES, ENTITY_COVERAGE, LINEAGE_COLUMNS, OTHER_CODE, Entity
from connectors.settings import PROJECT_ROOT, Settings
from connectors.tables import raw_table_name
from pipelines.assets.canonical import canonical_asset_key
from pipelines.mdm_config import load_config
from tests.dbt.parse import DBT_PROJECT_DIR, parse_project

STAGING_DIR = DBT_PROJECT_DIR / "models" / "staging" / "canonical"


def _staging_model(entity: Entity) -> str:
    return f"stg_canonical__{entity.table.split('.')[1]}"


def _model_yml(entity: Entity) -> dict[str, Any]:
    path = STAGING_DIR / f"{_staging_model(entity)}.yml"
    (model,) = yaml.safe_load(path.read_text(encoding="utf-8"))["models"]
    return model


def _accepted_values(column: dict[str, Any]) -> list[str] | None:
    for test in column.get("data_tests", []):
        if isinstance(test, dict) and "accepted_values" in test:
            return list(test["accepted_values"]["arguments"]["values"])
    return None


@pytest.mark.parametrize("entity", ENTITIES.values(), ids=list(ENTITIES))
def test_staging_model_has_the_entitys_columns_and_code_values(entity: Entity) -> None:
    model = _model_yml(entity)
    columns = {column["name"]: column for column in model["columns"]}
    lineage = [c for c in LINEAGE_COLUMNS if entity.owner is not None or c != "owner_record_key"]
    assert list(columns) == [*lineage, *(field.name for field in entity.fields)]
    assert model["config"]["contract"]["enforced"] is True
    for field in entity.fields:
        if field.kind == "code":
            assert _accepted_values(columns[field.name]) == [*field.values, OTHER_CODE], field.name
    sql = (STAGING_DIR / f"{_staging_model(entity)}.sql").read_text(encoding="utf-8")
    assert f"source('canonical', '{entity.table.split('.')[1]}')" in sql


def _project_sql() -> dict[Path, str]:
    folders = ("models", "macros", "analyses", "tests")
    return {
        path: path.read_text(encoding="utf-8")
        for folder in folders
        for path in sorted((DBT_PROJECT_DIR / folder).rglob("*.sql"))
    }


def test_no_sql_names_a_source_its_tables_columns_or_codes() -> None:
    """The demo bank goes through the same models as any other: nothing of its own is named."""
    config = load_config(PROJECT_ROOT / "mdm.yaml")
    forbidden: dict[str, str] = {}  # regular expression -> what it is
    for system, source in config.sources.items():
        forbidden[rf"'{re.escape(system)}'"] = f"source name {system}"
        for table, columns in source.required_columns().items():
            raw = raw_table_name(system, table)
            forbidden[rf"\b{re.escape(raw)}\b"] = f"raw table {raw}"
            for column in columns:
                # Chinese and upper-case headers are the source's own; plain lower-case words
                # (balance, currency) may be canonical names too.
                if not column.isascii() or column != column.lower():
                    forbidden[re.escape(column)] = f"{system} column {column}"
        for entity_mapping in source.entities.values():
            for codes in entity_mapping.codes.values():
                for code in codes:
                    forbidden[rf"'{re.escape(str(code))}'"] = f"{system} code {code}"
    sql = _project_sql()
    assert len(sql) > 20
    found = [
        f"{path.relative_to(DBT_PROJECT_DIR)}: {what}"
        for path, text in sql.items()
        for pattern, what in forbidden.items()
        if re.search(pattern, text)
    ]
    assert found == []


def test_the_dbt_sources_are_the_canonical_mdm_and_dq_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    monkeypatch.setenv("MDM_DUCKDB_PATH", str(tmp_path / "none.duckdb"))
    result = parse_project(tmp_path)
    assert result.success, result.exception
    from dbt.contracts.graph.manifest import Manifest

    assert isinstance(result.result, Manifest)
    sources = list(result.result.sources.values())
    assert {source.source_name for source in sources} == {"canonical", "mdm", "dq"}
    assert {source.name for source in sources if source.source_name == "canonical"} == {
        *(entity.table.split(".")[1] for entity in ENTITIES.values()),
        ENTITY_COVERAGE.split(".")[1],
    }


def test_dbt_reads_the_canonical_assets_the_canonicalize_stage_writes(tmp_path: Path) -> None:
    """dbt's source keys are the canonicalize stage's own asset keys, so Dagster orders the
    staging models after it (a mismatch would leave them reading last run's tables)."""
    from pipelines.dbt import build_dbt_assets

    assets, _ = build_dbt_assets(Settings(home=tmp_path / "var"), prepare=True)
    deps = {key.path[-1]: parents for key, parents in assets.asset_deps.items()}
    for entity in ENTITIES.values():
        assert canonical_asset_key(entity.table) in deps[_staging_model(entity)], entity.name
    assert canonical_asset_key(ENTITY_COVERAGE) in deps["stg_canonical__entity_coverage"]
