"""Dagster resources wrapping the plain-Python connectors."""

from pathlib import Path

import dagster as dg

from connectors import run_lock
from connectors.ops_store import OpsStore
from connectors.warehouse import Warehouse, open_warehouse


def _hold_run_lock(context: dg.InitResourceContext, home: str | None) -> None:
    run = context.dagster_run
    if run is None or home is None:  # built outside a run (a test's direct call)
        return
    run_lock.acquire(Path(home), run_id=run.run_id, command=f"Dagster job {run.job_name}")


def _release_run_lock(context: dg.InitResourceContext, home: str | None) -> None:
    if context.dagster_run is not None and home is not None:
        run_lock.release(Path(home))


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse (DuckDB file by default) every stage reads and writes.

    Given the home, a run using it holds the home's run lock too, so a selection made in the UI
    that touches the warehouse but no local folder is guarded like a full run.
    """

    url: str
    home: str | None = None

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        _hold_run_lock(context, self.home)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        _release_run_lock(context, self.home)

    def open(self) -> Warehouse:
        warehouse = open_warehouse(self.url)
        warehouse.ensure_schemas()
        return warehouse


class OpsStoreResource(dg.ConfigurableResource):
    """The ops store (SQLite by default): steward decisions and the audit log."""

    url: str

    def open(self) -> OpsStore:
        return OpsStore(self.url)


class StorePathsResource(dg.ConfigurableResource):
    """Local folders: landing batches, model artifacts, reports, the serving snapshot.

    A run whose steps use this resource (the full run and the steward-decisions run, from the
    CLI, the UI, the schedule or the sensor; any selection with an extract, match, check,
    report or publish step) holds the home's run lock (`connectors.run_lock`) from its start
    to its end: a second run refuses, naming the first.
    """

    home: str
    serving_path: str

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        _hold_run_lock(context, self.home)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        _release_run_lock(context, self.home)

    @property
    def landing_dir(self) -> Path:
        return Path(self.home) / "landing"

    @property
    def models_dir(self) -> Path:
        return Path(self.home) / "models"

    @property
    def reports_dir(self) -> Path:
        return Path(self.home) / "reports"
