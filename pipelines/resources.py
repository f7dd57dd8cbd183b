"""Dagster resources wrapping the plain-Python connectors."""

from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from connectors import run_lock
from connectors.ops_store import OpsStore
from connectors.settings import HomeFolders
from connectors.warehouse import Warehouse, open_warehouse

#: How long a run launched by Dagster (UI, schedule, sensor, backfill) waits for the home's run
#: lock. The run queue starts one Dagster run at a time, so the holder is a writer outside the
#: queue: `mdm run` before its run is recorded, or a steward decision's quick apply (seconds).
DAGSTER_RUN_LOCK_WAIT_SECONDS = 900.0


def _hold_run_lock(context: dg.InitResourceContext, home: str | None, wait_seconds: float) -> None:
    run = context.dagster_run
    if run is None or home is None:  # built outside a run (a test's direct call)
        return

    def waiting(holder: run_lock.RunHolder | None) -> None:
        running = holder.describe() if holder else "another run"
        if context.log is not None:
            context.log.info(f"waiting up to {wait_seconds:.0f} s for {running} to finish")

    run_lock.acquire(
        Path(home),
        run_id=run.run_id,
        command=f"Dagster job {run.job_name}",
        wait=wait_seconds > 0,
        timeout=wait_seconds,
        on_wait=waiting,
    )


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
    lock_wait_seconds: float = 0.0

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        _hold_run_lock(context, self.home, self.lock_wait_seconds)

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

    def decisions(self) -> pd.DataFrame:
        """Every steward decision (active and revoked), read once and the store closed."""
        store = self.open()
        try:
            return store.decisions()
        finally:
            store.dispose()


class StorePathsResource(dg.ConfigurableResource):
    """Local folders: landing batches, model artifacts, reports, the serving snapshot.

    A run whose steps use this resource (the full run and the steward-decisions run, from the
    CLI, the UI, the schedule or the sensor; any selection with an extract, match, check,
    report or publish step) holds the home's run lock (`connectors.run_lock`) from its start
    to its end: a second run waits for it up to `lock_wait_seconds`, then refuses, naming it.
    """

    home: str
    serving_path: str
    lock_wait_seconds: float = 0.0

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        _hold_run_lock(context, self.home, self.lock_wait_seconds)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        _release_run_lock(context, self.home)

    @property
    def landing_dir(self) -> Path:
        return HomeFolders(Path(self.home)).landing

    @property
    def models_dir(self) -> Path:
        return HomeFolders(Path(self.home)).models

    @property
    def reports_dir(self) -> Path:
        return HomeFolders(Path(self.home)).reports


class SparkResource(dg.ConfigurableResource):
    """The SparkSession the match asset runs blocking, comparison and scoring on when mdm.yaml
    says `spark: {engine: spark}` (`matching.spark`; pyspark is the `.[spark]` extra)."""

    master: str = "local[2]"
    conf: dict[str, str] = Field(default_factory=dict)

    def session(self) -> Any:
        from matching.spark import spark_session

        return spark_session(self.master, self.conf)
