"""The `sources:` section of mdm.yaml: where each source system is and how it maps."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from matching.standardize.party import CANONICAL_FIELDS


class IncrementalTable(BaseModel):
    """How to extract one table incrementally: its key, and the column that grows on change."""

    model_config = ConfigDict(extra="forbid")

    key: str
    watermark: str


class SourceConfig(BaseModel):
    """One source system: its connector, its tables and its party table's column mapping."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    trust_rank: int = Field(ge=1, description="1 = most trusted; breaks survivorship ties")
    connector: Literal["sql", "csv", "excel", "parquet"]
    url: str | None = Field(default=None, description="SQLAlchemy URL (sql connector)")
    path: Path | None = Field(default=None, description="Folder of the files (file connectors)")
    encoding: Literal["auto", "utf-8", "utf-8-sig", "gbk", "gb18030"] = "auto"
    party_table: str
    key_column: str
    watermark_column: str | None = None
    tables: list[str] = Field(default_factory=list)
    incremental: dict[str, IncrementalTable] = Field(
        default_factory=dict,
        description="Tables extracted by watermark in incremental runs (sql sources); the party "
        "table is included when watermark_column is set",
    )
    mapping: dict[str, str]
    id_type_codes: dict[str, str] | None = None
    default_id_type: str | None = None
    gender_codes: dict[str, str] | None = None

    @model_validator(mode="after")
    def _check(self) -> SourceConfig:
        if self.connector == "sql" and not self.url:
            raise ValueError("a sql source needs `url`")
        if self.connector != "sql" and self.path is None:
            raise ValueError(f"a {self.connector} source needs `path`")
        unknown = sorted(set(self.mapping) - set(CANONICAL_FIELDS))
        if unknown:
            raise ValueError(
                f"mapping has unknown canonical fields {unknown}; known: {list(CANONICAL_FIELDS)}"
            )
        if "name" not in self.mapping:
            raise ValueError("mapping must map `name`")
        if self.party_table not in self.tables:
            self.tables = [self.party_table, *self.tables]
        if self.watermark_column and self.party_table not in self.incremental:
            self.incremental[self.party_table] = IncrementalTable(
                key=self.key_column, watermark=self.watermark_column
            )
        unknown_tables = sorted(set(self.incremental) - set(self.tables))
        if unknown_tables:
            raise ValueError(f"incremental names tables not in `tables`: {unknown_tables}")
        if self.incremental and self.connector != "sql":
            raise ValueError("incremental extraction needs a sql source")
        return self

    def resolved(self, base: Path) -> SourceConfig:
        """Relative file paths and SQLite URLs resolved against the config file's folder."""
        update: dict[str, object] = {}
        if self.path is not None and not self.path.is_absolute():
            update["path"] = (base / self.path).resolve()
        if (
            self.url
            and self.url.startswith("sqlite:///")
            and not self.url.startswith("sqlite:////")
        ):
            relative = self.url.removeprefix("sqlite:///")
            update["url"] = f"sqlite:///{(base / relative).resolve()}"
        return self.model_copy(update=update)
