"""The core banking system on a real database server, extracted incrementally by watermark."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

from connectors.settings import Settings
from connectors.sql_copy import copy_tables
from connectors.urls import sqlalchemy_url
from connectors.warehouse import open_warehouse
from pipelines.assets.extract import build_extract_asset
from pipelines.build import build_resources
from pipelines.mdm_config import load_config
from tests.conftest import fresh_postgres_database, running_in_ci, write_pipeline_config

MARIADB_ADMIN_URL = "mysql://root@127.0.0.1:3306/test"
CORE_TABLES = ["cif_customer", "dep_account"]


@pytest.fixture
def mariadb_database() -> Iterator[str]:
    admin = sa.create_engine(sqlalchemy_url(MARIADB_ADMIN_URL))
    try:
        with admin.connect():
            pass
    except Exception:
        admin.dispose()
        if running_in_ci():
            pytest.fail("MariaDB at 127.0.0.1:3306 is unreachable, and CI requires it")
        pytest.skip("no MariaDB at 127.0.0.1:3306 (root, empty password) to run this test")
    name = f"mdm_test_{uuid.uuid4().hex[:10]}"
    with admin.begin() as connection:
        connection.execute(sa.text(f"create database {name} character set utf8mb4"))
    try:
        yield f"mysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f"drop database if exists {name}"))
        admin.dispose()


@pytest.fixture(params=["mariadb", "postgres"])
def core_server(request) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "mariadb":
        yield request.getfixturevalue("mariadb_database")
    else:
        with fresh_postgres_database() as url:
            yield url


def extract_core(settings: Settings, mode: str) -> dg.ExecuteInProcessResult:
    config = load_config(settings.config_path)
    asset = build_extract_asset("core", config.sources["core"])
    result = dg.materialize(
        [asset],
        resources=build_resources(settings),
        run_config={"ops": {"extract_core": {"config": {"mode": mode}}}},
    )
    assert result.success
    return result


def extracted_rows(result: dg.ExecuteInProcessResult, table: str) -> int:
    for materialization in result.asset_materializations_for_node("extract_core"):
        if materialization.asset_key.path[-1] == f"core__{table}":
            return int(materialization.metadata["extracted_rows"].value)  # type: ignore[arg-type]
    raise AssertionError(f"no materialization for {table}")


def test_incremental_extract_reads_only_changed_rows_from_the_server(
    tmp_path: Path, simulated_sources: Path, core_server: str
):
    sources = tmp_path / "sources"
    shutil.copytree(simulated_sources, sources)
    copied = copy_tables(f"sqlite:///{sources / 'core_banking.sqlite'}", core_server, CORE_TABLES)
    config_path = write_pipeline_config(sources, tmp_path / "mdm.yaml")
    document = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    document["sources"]["core"]["url"] = core_server
    config_path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    settings = Settings(home=tmp_path / "var", config_path=config_path)

    first = extract_core(settings, "incremental")  # no watermark yet: a full extract
    assert extracted_rows(first, "cif_customer") == copied["cif_customer"]

    server = sa.create_engine(sqlalchemy_url(core_server))
    customer = sa.table(
        "cif_customer",
        sa.column("cust_no"),
        sa.column("mobile_no"),
        sa.column("last_upd_ts"),
        sa.column("cust_name"),
    )
    with server.begin() as connection:
        key = connection.execute(sa.select(customer.c.cust_no).limit(1)).scalar()
        connection.execute(
            sa.update(customer)
            .where(customer.c.cust_no == key)
            .values(mobile_no="13911112222", last_upd_ts="2026-11-28 23:00:00")
        )
        connection.execute(
            sa.insert(customer).values(
                cust_no="C999999999",
                cust_name="欧阳婧",
                mobile_no="13700001111",
                last_upd_ts="2026-11-28 23:30:00",
            )
        )
    server.dispose()

    second = extract_core(settings, "incremental")
    assert extracted_rows(second, "cif_customer") == 2  # the update and the new customer
    assert extracted_rows(second, "dep_account") == 0  # no account changed
    raw = open_warehouse(settings.resolved_warehouse_url).read_table("raw.core__cif_customer")
    assert len(raw) == copied["cif_customer"] + 1
    assert raw.set_index("cust_no").loc[key, "mobile_no"] == "13911112222"
    assert raw["cust_no"].is_unique

    third = extract_core(settings, "full")
    assert extracted_rows(third, "cif_customer") == copied["cif_customer"] + 1
