"""The `sources:` section of mdm.yaml: where each source system is and how it maps."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.entities import ENTITIES, EntityName
from matching.standardize.party import CANONICAL_FIELDS
from quality.catalogue import SourceQualityConfig


class IncrementalTable(BaseModel):
    """How to extract one table incrementally: its key, and the column that grows on change."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(description="the table's key column (a changed row replaces its key's)")
    watermark: str = Field(description="the column that grows when a row changes")


class EntityMapping(BaseModel):
    """One source table mapped onto a canonical activity entity (connectors/entities.py)."""

    model_config = ConfigDict(extra="forbid")

    table: str = Field(description="the source's table (or file) holding the entity's rows")
    mapping: dict[str, str] = Field(
        description="canonical field -> the source's column; the entity's key and owner "
        "(customer_no) must be mapped, any other field may be left out"
    )
    codes: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="for a code field: the source's code -> the canonical value "
        "(a code not listed becomes `other` and is counted)",
    )


class IdentifierTable(BaseModel):
    """A party's identifiers kept in their own one-to-many table (one row per document)."""

    model_config = ConfigDict(extra="forbid")

    table: str = Field(description="the source's identifier table")
    key_column: str = Field(description="the column holding the party's key (`key_column`)")
    number_column: str = Field(description="the column holding the document number")
    type_column: str | None = Field(default=None, description="the column holding its type code")
    type_codes: dict[str, str] | None = Field(
        default=None,
        description="type code -> canonical id type (resident_id, passport, hk_macao_permit, "
        "taiwan_permit, foreign_permanent_residence, other, or unknown)",
    )
    default_type: str | None = Field(
        default=None, description="the type of a row without a type code"
    )


class SourceConfig(BaseModel):
    """One source system: its connector, its tables and its party table's column mapping."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field(default="", description="what the system is, for people")
    trust_rank: int = Field(ge=1, description="1 = most trusted; breaks survivorship ties")
    connector: Literal["sql", "csv", "excel", "parquet"] = Field(
        description="sql: any SQLAlchemy URL (SQLite, PostgreSQL, MySQL/MariaDB, Oracle ...); "
        "csv / excel / parquet: a folder holding one `<table>.<suffix>` file per table"
    )
    url: str | None = Field(default=None, description="SQLAlchemy URL (sql connector)")
    path: Path | None = Field(default=None, description="Folder of the files (file connectors)")
    encoding: Literal["auto", "utf-8", "utf-8-sig", "gbk", "gb18030"] = Field(
        default="auto", description="CSV text encoding; auto tries UTF-8 then GB18030"
    )
    sheet: str | int | None = Field(
        default=None, description="Excel sheet to read (name or 0-based index; default first)"
    )
    party_table: str = Field(description="the table (or file, without suffix) of customers")
    key_column: str = Field(description="the party table's key column")
    watermark_column: str | None = Field(
        default=None, description="the party table's last-change column, for incremental runs"
    )
    tables: list[str] = Field(
        default_factory=list,
        description="further tables to extract as they are (the party, identifier and entity "
        "tables are always extracted)",
    )
    incremental: dict[str, IncrementalTable] = Field(
        default_factory=dict,
        description="Tables extracted by watermark in incremental runs (sql sources); the party "
        "table is included when watermark_column is set",
    )
    mapping: dict[str, str] = Field(
        description="canonical party field -> the party table's column (CANONICAL_FIELDS)"
    )
    id_type_codes: dict[str, str] | None = Field(
        default=None,
        description="the source's ID type code -> canonical id type; `unknown` declares a "
        "code that says nothing (the number's shape decides)",
    )
    default_id_type: str | None = Field(
        default=None, description="id type of a row without a type code"
    )
    gender_codes: dict[str, str] | None = Field(
        default=None, description="the source's gender code -> M, F or unknown"
    )
    identifiers: IdentifierTable | None = Field(
        default=None, description="the party's identifiers, from a separate one-to-many table"
    )
    entities: dict[EntityName, EntityMapping] = Field(
        default_factory=dict,
        description="activity tables mapped onto canonical entities (account, loan, "
        "loan_application, service_ticket, relationship_manager)",
    )
    quality: SourceQualityConfig = Field(
        default_factory=SourceQualityConfig,
        description="this source's own thresholds and rule severities over `quality:`",
    )

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
        if "name" not in self.mapping and "name_latin" not in self.mapping:
            raise ValueError("mapping must map `name` (or `name_latin`)")
        for entity_name, entity_mapping in self.entities.items():
            entity = ENTITIES[entity_name]
            known = {field.name for field in entity.fields}
            unknown_fields = sorted(set(entity_mapping.mapping) - known)
            if unknown_fields:
                raise ValueError(
                    f"entities.{entity_name}.mapping has unknown fields {unknown_fields}; "
                    f"known: {sorted(known)}"
                )
            missing = [
                field.name
                for field in entity.fields
                if field.required and field.name not in entity_mapping.mapping
            ]
            if missing:
                raise ValueError(f"entities.{entity_name}.mapping must map {missing}")
            not_codes = sorted(
                name
                for name in entity_mapping.codes
                if entity.field(name).kind != "code"
                if name in known
            ) + sorted(set(entity_mapping.codes) - known)
            if not_codes:
                raise ValueError(f"entities.{entity_name}.codes names non-code fields {not_codes}")
        for table in (
            self.party_table,
            *(m.table for m in self.entities.values()),
            *([self.identifiers.table] if self.identifiers else []),
        ):
            if table not in self.tables:
                self.tables = [*self.tables, table]
        if self.party_table != self.tables[0]:
            self.tables = [self.party_table, *(t for t in self.tables if t != self.party_table)]
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

    def required_columns(self) -> dict[str, dict[str, str]]:
        """Every source column the config names: table -> {column: the config key naming it}."""
        required: dict[str, dict[str, str]] = {}

        def need(table: str, column: str | None, key: str) -> None:
            if column:
                required.setdefault(table, {}).setdefault(column, key)

        need(self.party_table, self.key_column, "key_column")
        need(self.party_table, self.watermark_column, "watermark_column")
        for field_name, column in self.mapping.items():
            need(self.party_table, column, f"mapping.{field_name}")
        if self.identifiers is not None:
            ids = self.identifiers
            need(ids.table, ids.key_column, "identifiers.key_column")
            need(ids.table, ids.number_column, "identifiers.number_column")
            need(ids.table, ids.type_column, "identifiers.type_column")
        for entity_name, entity_mapping in self.entities.items():
            for field_name, column in entity_mapping.mapping.items():
                need(entity_mapping.table, column, f"entities.{entity_name}.mapping.{field_name}")
        for table, plan in self.incremental.items():
            need(table, plan.key, f"incremental.{table}.key")
            need(table, plan.watermark, f"incremental.{table}.watermark")
        return required

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
