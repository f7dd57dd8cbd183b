"""Dagster resources wrapping the plain-Python connectors."""

from pathlib import Path

import dagster as dg

from connectors.warehouse import Warehouse, open_warehouse
from pipelines.mdm_config import MdmConfig, load_config


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse (DuckDB file by default) every stage reads and writes."""

    url: str

    def open(self) -> Warehouse:
        warehouse = open_warehouse(self.url)
        warehouse.ensure_schemas()
        return warehouse


class MdmConfigResource(dg.ConfigurableResource):
    """mdm.yaml, validated."""

    path: str

    def load(self) -> MdmConfig:
        return load_config(Path(self.path))


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
