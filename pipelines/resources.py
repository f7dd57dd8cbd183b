"""Dagster resources wrapping the plain-Python connectors."""

from pathlib import Path

import dagster as dg

from connectors.ops_store import OpsStore
from connectors.warehouse import Warehouse, open_warehouse


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse (DuckDB file by default) every stage reads and writes."""

    url: str

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
    """Local folders: landing batches, model artifacts, reports, the serving snapshot."""

    home: str
    serving_path: str

    @property
    def landing_dir(self) -> Path:
        return Path(self.home) / "landing"

    @property
    def models_dir(self) -> Path:
        return Path(self.home) / "models"

    @property
    def reports_dir(self) -> Path:
        return Path(self.home) / "reports"
