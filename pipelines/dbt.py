"""The dbt project as Dagster assets; dbt tests arrive as asset checks.

A dbt test declared `severity: warn` that finds rows ends in dbt's `warn` status. dagster-dbt
(0.29) turns that into a check result with `passed=False` and WARN severity, which the Dagster
UI labels "Failed" while dbt, `mdm run` and the report say nothing failed.
`dbt_warnings_as_warnings` makes it a passed WARN-severity result carrying the warning in its
metadata: a warning, never a failure; a test at `error` severity still fails.
"""

import contextlib
import json
import shutil
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, TypeVar

import dagster as dg
import yaml
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_shared.record import copy as record_copy
from sqlalchemy.engine import make_url

from connectors.settings import PROJECT_ROOT, Settings
from connectors.urls import sqlalchemy_url
from connectors.warehouse import duckdb_path_from_url

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# Each build's target folder (compiled SQL, run_results.json, dbt.log) stays under
# <home>/dbt/runs/<run id> for the last few runs: enough to debug a failure, bounded on disk
# (about 7 MB a run).
DBT_RUNS_KEPT = 10
#: dbt's console output of a run, in the run's folder beside dbt.log.
DBT_CONSOLE_LOG = "console.log"

_Event = TypeVar("_Event")


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
    """Groups dbt models by layer; sources keep dbt's default keys (`canonical/…`, `mdm/…`),
    which are exactly the keys of the Python assets that write those tables
    (tests/dbt/test_dbt_reads_canonical_only.py holds them to it)."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["nodes"].get(unique_id) or manifest["sources"].get(unique_id) or {}
        fqn = node.get("fqn", [])
        layer = fqn[1] if len(fqn) > 2 else "dbt"
        return spec.replace_attributes(group_name=f"dbt_{layer}", owners=["team:analytics"])


class DbtRunConfig(dg.Config):
    """The business date the marts are computed for (empty: today in China), and
    whether dbt's console output is shown as well as written to the run's console.log."""

    as_of_date: str = ""
    console_output: bool = True


class _Tee:
    """A text stream writing to several streams at once."""

    def __init__(self, *streams: IO[str]) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


def logged_output(events: Iterable[_Event], log: Path, *, echo: bool) -> Iterator[_Event]:
    """`events`, with what producing them prints (dagster-dbt prints dbt's console lines to
    stdout as it streams them) written to `log`, and to the console too when `echo`.

    stdout is redirected only while the next event is produced, never while the consumer
    runs between two events, so nothing else the run prints ends up in the log.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as handle:
        sink: IO[str] = _Tee(handle, sys.stdout) if echo else handle  # type: ignore[assignment]
        iterator = iter(events)
        while True:
            with contextlib.redirect_stdout(sink):
                try:
                    event = next(iterator)
                except StopIteration:
                    return
            yield event


DBT_WARNING = "dbt_warning"


def dbt_warning_as_warning(event: _Event) -> _Event:
    """A dbt `warn` test result as a passed WARN-severity check, the warning in its metadata;
    every other event as it is."""
    if not isinstance(event, dg.AssetCheckResult | dg.AssetCheckEvaluation):
        return event
    if event.passed or event.severity != dg.AssetCheckSeverity.WARN:
        return event
    failed = event.metadata.get("dagster_dbt/failed_row_count")
    rows = f"{failed.value} row(s)" if failed is not None else "rows"
    metadata = {
        **event.metadata,
        DBT_WARNING: dg.MetadataValue.text(
            f"{rows} matched a dbt test declared `severity: warn`: reported, not a failure"
        ),
    }
    if isinstance(event, dg.AssetCheckResult):
        return dg.AssetCheckResult(  # type: ignore[return-value]
            passed=True,
            asset_key=event.asset_key,
            check_name=event.check_name,
            metadata=metadata,
            severity=dg.AssetCheckSeverity.WARN,
            description=event.description,
        )
    return record_copy(event, passed=True, metadata=metadata)  # type: ignore[no-any-return]


def dbt_warnings_as_warnings(events: Iterable[_Event]) -> Iterator[_Event]:
    for event in events:
        yield dbt_warning_as_warning(event)


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
        target = runs / context.run_id
        events = dbt.cli(arguments, context=context, target_path=target).stream()
        logged = logged_output(events, target / DBT_CONSOLE_LOG, echo=config.console_output)
        yield from dbt_warnings_as_warnings(logged)

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
