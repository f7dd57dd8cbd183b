"""The dbt project as Dagster assets; dbt tests arrive as asset checks."""

import json
import shutil
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from sqlalchemy.engine import make_url

from connectors.settings import PROJECT_ROOT, Settings
from connectors.urls import sqlalchemy_url
from connectors.warehouse import duckdb_path_from_url

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# Each build's target folder (compiled SQL, run_results.json, dbt.log) stays under
# <home>/dbt/runs/<run id> for the last few runs: enough to debug a failure, bounded on disk
# (about 7 MB a run).
DBT_RUNS_KEPT = 10


def dbt_target(settings: Settings) -> str:
    return "duckdb" if settings.resolved_warehouse_url.startswith("duckdb:///") else "postgres"


def write_dbt_profiles(settings: Settings) -> Path:
    """A profiles.yml pointing dbt at this run's warehouse, so dbt reads no environment."""
    folder = settings.home / "dbt"
    folder.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_warehouse_url
    output: dict[str, Any]
    if dbt_target(settings) == "duckdb":
        output = {"type": "duckdb", "path": str(duckdb_path_from_url(url)), "threads": 1}
    else:
        parsed = make_url(sqlalchemy_url(url))
        output = {
            "type": "postgres",
            "host": parsed.host or "127.0.0.1",
            "port": parsed.port or 5432,
            "user": parsed.username or "postgres",
            "password": parsed.password or "",
            "dbname": parsed.database or "postgres",
            "schema": "public",
            "threads": 2,
        }
    profile = {"mdm": {"target": dbt_target(settings), "outputs": {dbt_target(settings): output}}}
    path = folder / "profiles.yml"
    text = yaml.safe_dump(profile, allow_unicode=True, sort_keys=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return folder


class MdmDbtTranslator(DagsterDbtTranslator):
    """Groups dbt models by layer; sources keep dbt's default keys (`raw/…`, `mdm/…`), which
    are exactly the keys of the Python assets that write those tables."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["nodes"].get(unique_id) or manifest["sources"].get(unique_id) or {}
        fqn = node.get("fqn", [])
        layer = fqn[1] if len(fqn) > 2 else "dbt"
        return spec.replace_attributes(group_name=f"dbt_{layer}", owners=["team:analytics"])


class DbtRunConfig(dg.Config):
    """The business date the marts are computed for (empty: the project's default)."""

    as_of_date: str = ""


def build_dbt_assets(
    settings: Settings, *, prepare: bool = False
) -> tuple[dg.AssetsDefinition, DbtCliResource]:
    """The dbt models as assets; `prepare` re-parses the project first (a fresh manifest)."""
    profiles_dir = write_dbt_profiles(settings)
    project = DbtProject(
        project_dir=DBT_PROJECT_DIR,
        profiles_dir=profiles_dir,
        target=dbt_target(settings),
        target_path=Path("target"),
    )
    # The dbt beside this interpreter: `.venv/bin/mdm` works without an activated venv.
    resource = DbtCliResource(
        project_dir=project,
        profiles_dir=str(profiles_dir),
        target=dbt_target(settings),
        dbt_executable=str(Path(sys.executable).with_name("dbt")),
    )
    if prepare or project.preparer.using_dagster_dev() or not project.manifest_path.exists():
        resource.cli(["parse", "--quiet"], target_path=project.target_path).wait()

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=MdmDbtTranslator(),
        pool="warehouse",
        name="mdm_dbt_models",
    )
    def mdm_dbt_models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtRunConfig
    ) -> Iterator[Any]:
        arguments = ["build"]
        if config.as_of_date:
            arguments += ["--vars", json.dumps({"as_of_date": config.as_of_date})]
        runs = settings.home / "dbt" / "runs"
        prune_dbt_runs(runs, keep=DBT_RUNS_KEPT - 1)
        yield from dbt.cli(arguments, context=context, target_path=runs / context.run_id).stream()

    return mdm_dbt_models, resource


def prune_dbt_runs(runs: Path, *, keep: int) -> None:
    """Remove all but the `keep` newest run folders under `runs`."""
    if not runs.is_dir():
        return
    folders = sorted(
        (path for path in runs.iterdir() if path.is_dir()),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    for folder in folders[keep:]:
        shutil.rmtree(folder, ignore_errors=True)
