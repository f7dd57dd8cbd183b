"""Shared fixtures: simulated source systems and a pipeline configured on a temporary warehouse."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import yaml

from connectors.settings import PROJECT_ROOT, Settings
from connectors.warehouse import Warehouse, open_warehouse

TEST_PEOPLE = 1500
TEST_SEED = 7
TEST_AS_OF = date(2026, 11, 28)


def running_in_ci() -> bool:
    """CI sets CI=true; there a missing PostgreSQL server is a failure, not a skip."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def simulated_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from connectors.simulated import simulate

    folder = tmp_path_factory.mktemp("sources")
    simulate(folder, people=TEST_PEOPLE, seed=TEST_SEED, as_of=TEST_AS_OF)
    return folder


def write_pipeline_config(sources: Path, target: Path) -> Path:
    """The shipped mdm.yaml, pointed at `sources` instead of var/sources."""
    document = yaml.safe_load((PROJECT_ROOT / "mdm.yaml").read_text(encoding="utf-8"))
    document["sources"]["core"]["url"] = f"sqlite:///{sources / 'core_banking.sqlite'}"
    document["sources"]["credit"]["url"] = f"sqlite:///{sources / 'credit.sqlite'}"
    document["sources"]["crm"]["path"] = str(sources / "crm")
    document["evaluation"]["ground_truth"] = str(sources / "ground_truth.parquet")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return target


@pytest.fixture
def pipeline_settings(tmp_path: Path, simulated_sources: Path) -> Settings:
    home = tmp_path / "var"
    config = write_pipeline_config(simulated_sources, tmp_path / "mdm.yaml")
    return Settings(home=home, config_path=config)


def standardized_sources(config: Path) -> list[tuple[str, pd.DataFrame]]:
    """Each source of the config at `config`, read and standardized as a full run does (its
    identifiers table too), without a warehouse: (system, party records)."""
    from connectors.extract import read_source_table
    from matching.standardize import SourceMapping, standardize_source
    from pipelines.mdm_config import load_config

    out = []
    for system, source in load_config(config).sources.items():
        raw = read_source_table(source, source.party_table, system=system)
        identifiers = (
            None
            if source.identifiers is None
            else read_source_table(source, source.identifiers.table, system=system)
        )
        mapping = SourceMapping.from_config(system, source.model_dump())
        result = standardize_source(raw, mapping, batch_id="b", identifiers=identifiers)
        out.append((system, result.records))
    return out


POSTGRES_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def postgres_available() -> bool:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test or module, dropped afterwards.

    Skipped when no server answers, except in CI (CI=true), where that is a failure.
    """
    import uuid

    import sqlalchemy as sa

    if not postgres_available():
        if running_in_ci():
            pytest.fail("PostgreSQL at 127.0.0.1:5432 is unreachable, and CI requires it")
        pytest.skip(
            "no PostgreSQL at 127.0.0.1:5432: start one (trust auth for user postgres) "
            "to run the PostgreSQL tests"
        )
    name = f"mdm_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'create database "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


@pytest.fixture
def postgres_database() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    """A fresh warehouse with its schemas: a DuckDB file, then a real PostgreSQL database."""
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    else:
        url = request.getfixturevalue("postgres_database")
    store = open_warehouse(url)
    store.ensure_schemas()
    return store


# Debian's chromium drives the browser tests (never a downloaded browser: `make browser`).
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (make browser)"
        if running_in_ci():
            pytest.fail(message + "; CI must run the browser tests")
        pytest.skip(message)
    return CHROMIUM


def headless(chromium: Path, profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run headless chromium once with a private profile (e.g. `--dump-dom URL`)."""
    return subprocess.run(
        [
            str(chromium),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={profile}",
            *arguments,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
