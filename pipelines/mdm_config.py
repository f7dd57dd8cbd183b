"""mdm.yaml: loaded once, validated, with errors that name the key that is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connectors.config import SourceConfig
from connectors.settings import PROJECT_ROOT
from matching.config import MatchingConfig
from matching.golden import SurvivorshipConfig
from quality.catalogue import QualityConfig


class EvaluationConfig(BaseModel):
    """Ground truth to measure matching against (the simulated sources write one)."""

    model_config = ConfigDict(extra="forbid")

    ground_truth: Path | None = Field(
        default=None,
        description="parquet of record_key, person_id (the simulator writes one); drop for real "
        "sources",
    )


class SparkConfig(BaseModel):
    """Where blocking, comparison and scoring run (docs/SPARK.md)."""

    model_config = ConfigDict(extra="forbid")

    engine: Literal["local", "spark"] = Field(
        default="local",
        description="`local`: this process (the default); `spark`: blocking, comparison and "
        "scoring on Apache Spark (the `.[spark]` extra), rules and clustering on the driver",
    )
    master: str = Field(
        default="local[2]",
        description="the Spark master (`local[2]`, `spark://host:7077`, `yarn`); under "
        "spark-submit or a managed Spark the session that exists is used",
    )
    conf: dict[str, str] = Field(
        default_factory=dict,
        description="Spark settings for the session (e.g. spark.executor.memory: 8g)",
    )


#: The shipped configuration: a bank's own file may leave out `matching:`, `survivorship:` and
#: `quality:`, which are then the shipped ones (rules learned from each run's data, nothing
#: tuned to the demo bank's sources).
SHIPPED_CONFIG = PROJECT_ROOT / "mdm.yaml"
DEFAULTED_SECTIONS = ("matching", "survivorship", "quality")


class MdmConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: dict[str, SourceConfig] = Field(
        min_length=1, description="source systems by name (the name prefixes record keys)"
    )
    matching: MatchingConfig = Field(
        description="blocking rules, comparisons, deterministic rules and thresholds"
    )
    survivorship: SurvivorshipConfig = Field(
        default_factory=SurvivorshipConfig,
        description="which source value each golden attribute takes",
    )
    quality: QualityConfig = Field(
        default_factory=QualityConfig, description="quality rule thresholds and severities"
    )
    evaluation: EvaluationConfig = Field(
        default_factory=EvaluationConfig, description="a reference set to measure matching"
    )
    spark: SparkConfig = Field(
        default_factory=SparkConfig, description="where matching runs: this process or Spark"
    )

    @model_validator(mode="after")
    def _links_name_sources(self) -> MdmConfig:
        for position, link in enumerate(self.quality.cross_system_links):
            source = self.sources.get(link.system)
            if source is None or link.table not in source.tables:
                raise ValueError(
                    f"quality.cross_system_links.{position}: {link.system}.{link.table} is not "
                    f"a table of a source in `sources:` (mapped entities are checked without "
                    f"being listed)"
                )
        return self


def _shipped_sections() -> dict[str, object]:
    document = yaml.safe_load(SHIPPED_CONFIG.read_text(encoding="utf-8"))
    return {name: document[name] for name in DEFAULTED_SECTIONS if name in document}


class ConfigError(ValueError):
    """mdm.yaml is missing, unreadable or invalid; the message names the file and the key."""


def load_config(path: Path) -> MdmConfig:
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: configuration file not found") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    missing = [name for name in DEFAULTED_SECTIONS if name not in document]
    if missing and path.resolve() != SHIPPED_CONFIG.resolve():
        shipped = _shipped_sections()
        document = {**document, **{name: shipped[name] for name in missing if name in shipped}}
    try:
        config = MdmConfig.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or '(top level)'}: "
            f"{issue['msg'].removeprefix('Value error, ')}"
            for issue in error.errors()
        )
        raise ConfigError(f"{path}: {problems}") from error
    base = path.resolve().parent
    sources = {name: source.resolved(base) for name, source in config.sources.items()}
    ground_truth = config.evaluation.ground_truth
    if ground_truth is not None and not ground_truth.is_absolute():
        ground_truth = (base / ground_truth).resolve()
    return config.model_copy(
        update={"sources": sources, "evaluation": EvaluationConfig(ground_truth=ground_truth)}
    )
