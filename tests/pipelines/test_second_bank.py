"""A bank shaped unlike the demo, as a new user meets it: the example config, the CLI, the API.

`mdm simulate --shape second_bank` writes four systems the demo's code never names (a SQLite
core with a one-to-many certificate table, a card CSV with latin names, an .xlsx on its second
sheet, a mobile-banking export with masked IDs). Mapped only by `examples/second_bank/*.yaml`,
the whole run must pass on DuckDB and on PostgreSQL, and the API must serve its golden records:
what issue 13 found broken (dbt reading the demo's table names, no snapshot, a summary naming
files that do not exist) fails here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from connectors.api_keys import ApiKeyStore
from connectors.settings import PROJECT_ROOT, Settings
from connectors.tables import raw_table
from connectors.warehouse import Warehouse, open_warehouse
from golden_record_api.main import create_app
from tests.conftest import fresh_postgres_database

pytestmark = pytest.mark.slow

EXAMPLE = PROJECT_ROOT / "examples" / "second_bank"
MDM = str(Path(sys.executable).with_name("mdm"))
PEOPLE = 600


def mdm(
    *args: str, home: Path, warehouse_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The `mdm` command as a user types it, with its own home (and warehouse)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDM_")}
    env["MDM_HOME"] = str(home)
    if warehouse_url:
        env["MDM_WAREHOUSE_URL"] = warehouse_url
    return subprocess.run(
        [MDM, *args], env=env, capture_output=True, text=True, timeout=900, check=False
    )


def copy_example(folder: Path, config_name: str, sources: str, activity: str | None) -> Path:
    """The example config beside freshly simulated sources, as its header comment says."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / config_name
    shutil.copy(EXAMPLE / config_name, config)
    command = ["simulate", "--shape", "second_bank", "--people", str(PEOPLE)]
    command += ["--out", str(folder / sources)]
    if activity:
        command += ["--activity", activity]
    simulated = mdm(*command, home=folder / "var")
    assert simulated.returncode == 0, simulated.stderr
    return config


@dataclass
class SecondBankRun:
    config: Path
    settings: Settings
    check: subprocess.CompletedProcess[str]
    run: subprocess.CompletedProcess[str]

    @property
    def store(self) -> Warehouse:
        return open_warehouse(self.settings.resolved_warehouse_url)


def run_example(
    folder: Path, config_name: str, sources: str, activity: str | None, warehouse_url: str | None
) -> SecondBankRun:
    config = copy_example(folder, config_name, sources, activity)
    home = folder / "var"
    check = mdm("check", "--config", str(config), home=home, warehouse_url=warehouse_url)
    run = mdm("run", "--config", str(config), home=home, warehouse_url=warehouse_url)
    settings = Settings(home=home, config_path=config, warehouse_url=warehouse_url)
    return SecondBankRun(config, settings, check, run)


@pytest.fixture(scope="module")
def duckdb_run(tmp_path_factory: pytest.TempPathFactory) -> SecondBankRun:
    return run_example(tmp_path_factory.mktemp("second_bank"), "mdm.yaml", "sources", None, None)


@pytest.fixture(scope="module")
def postgres_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecondBankRun]:
    with fresh_postgres_database() as url:
        yield run_example(
            tmp_path_factory.mktemp("second_bank_pg"), "mdm.yaml", "sources", None, url
        )


def run_activity_example(folder: Path, warehouse_url: str | None) -> SecondBankRun:
    return run_example(
        folder, "mdm_activity.yaml", "sources_activity", "accounts,tickets", warehouse_url
    )


@pytest.fixture(scope="module")
def activity_duckdb_run(tmp_path_factory: pytest.TempPathFactory) -> SecondBankRun:
    return run_activity_example(tmp_path_factory.mktemp("second_bank_activity"), None)


@pytest.fixture(scope="module")
def activity_postgres_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecondBankRun]:
    with fresh_postgres_database() as url:
        yield run_activity_example(tmp_path_factory.mktemp("second_bank_activity_pg"), url)


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def activity_run(request: pytest.FixtureRequest) -> SecondBankRun:
    return request.getfixturevalue(f"activity_{request.param}_run")  # type: ignore[no-any-return]


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def customers_only_run(request: pytest.FixtureRequest) -> SecondBankRun:
    return request.getfixturevalue(f"{request.param}_run")  # type: ignore[no-any-return]


def test_preflight_passes_on_the_example_as_shipped(customers_only_run: SecondBankRun) -> None:
    assert customers_only_run.check.returncode == 0, customers_only_run.check.stdout


def test_the_whole_run_passes_and_says_what_was_not_mapped(
    customers_only_run: SecondBankRun,
) -> None:
    run = customers_only_run.run
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    printed = run.stdout
    assert "Traceback" not in printed + run.stderr
    assert " nan" not in printed  # an unmapped entity's figure is n/a, not a NaN
    for entity in ("account", "loan", "service_ticket"):
        assert f"no source maps {entity}" in printed
        assert f"sources.<name>.entities.{entity}" in printed
    assert customers_only_run.settings.resolved_serving_path.exists()


def test_every_source_lands_in_party_records_and_nothing_is_lost(
    customers_only_run: SecondBankRun,
) -> None:
    store = customers_only_run.store
    party = store.query(
        "select source_system, count(*) as n from mdm.party_records group by 1 order by 1"
    )
    assert list(party["source_system"]) == ["card", "cbs", "mbank", "wealth"]
    quarantined = store.query("select count(*) as n from mdm.quarantine")["n"].iloc[0]
    party_tables = {"cbs": "T_CUST_BASE", "card": "cc_holder", "wealth": "WM_CUST"}
    party_tables["mbank"] = "mb_user"
    raw = sum(
        len(store.read_table(raw_table(system, table), columns=["_batch_id"]))
        for system, table in party_tables.items()
    )
    assert int(party["n"].sum()) + int(quarantined) == raw
    # Masked mobile-banking IDs are kept as evidence, typed, never valid.
    masked = store.query(
        "select count(*) as n, sum(case when id_valid then 1 else 0 end) as valid "
        "from mdm.party_records where id_issue = 'masked'"
    ).iloc[0]
    assert int(masked["n"]) > 0 and int(masked["valid"]) == 0


def test_matching_finds_the_same_people_across_the_four_systems(
    customers_only_run: SecondBankRun,
) -> None:
    evaluation = customers_only_run.store.read_table("mdm.match_evaluation").iloc[0]
    # Measured on this 600-person simulation (see the issue 13 note); floors sit below it.
    assert evaluation["precision"] >= 0.95
    assert evaluation["recall"] >= 0.85
    # Golden records join records of more than one system, masked-ID ones included.
    joined = customers_only_run.store.query(
        "select count(*) as n from (select x.golden_id from mdm.xref x "
        "join mdm.party_records p using (record_key) group by 1 "
        "having count(distinct p.source_system) >= 3 "
        "and sum(case when p.source_system = 'mbank' then 1 else 0 end) > 0) as joined"
    )
    assert int(joined["n"].iloc[0]) > PEOPLE // 10


@contextmanager
def api_client(settings: Settings, role: str = "steward") -> Iterator[TestClient]:
    """The app on `settings`, called with an API key of `role` made in its ops store."""
    keys = ApiKeyStore(settings.resolved_ops_url)
    try:
        key, _ = keys.create("second-bank-test", role)
    finally:
        keys.dispose()
    with TestClient(create_app(settings), headers={"X-API-Key": key}) as client:
        yield client


def test_the_api_serves_the_banks_golden_records(customers_only_run: SecondBankRun) -> None:
    store = customers_only_run.store
    golden_id, mobile = store.query(
        "select g.golden_id, p.mobile from mdm.golden_records g "
        "join mdm.xref x using (golden_id) join mdm.party_records p using (record_key) "
        "where g.status = 'active' and p.source_system = 'mbank' and p.mobile is not null "
        "order by 1 limit 1"
    ).iloc[0]
    with api_client(customers_only_run.settings) as client:
        record = client.get(f"/golden-records/{golden_id}")
        assert record.status_code == 200, record.text
        systems = {source["source_system"] for source in record.json()["sources"]}
        assert "mbank" in systems and len(systems) >= 2
        found = client.post("/golden-records/search", json={"mobile": mobile})
        assert found.status_code == 200, found.text
        assert golden_id in {item["golden_id"] for item in found.json()["items"]}
        view = client.get(f"/customers/{golden_id}/360")
        assert view.status_code == 200, view.text
    # No source maps accounts: the 360 says "unknown", not "no money" (balances are not
    # served to a steward, so the mart itself is asked).
    aum = store.query(
        "select total_aum from marts.customer_360 where golden_id = ?", [golden_id]
    ).iloc[0]["total_aum"]
    assert pd.isna(aum)


def test_a_hong_kong_mobile_is_found_as_written(duckdb_run: SecondBankRun) -> None:
    hk = duckdb_run.store.query(
        "select x.golden_id, p.mobile from mdm.party_records p join mdm.xref x using "
        "(record_key) where p.mobile like '+852%' order by 1 limit 1"
    )
    assert not hk.empty  # the seeded simulation registers some users with +852 numbers
    golden_id, mobile = hk.iloc[0]
    written = f"+852 {mobile[4:8]} {mobile[8:]}"
    with api_client(duckdb_run.settings) as client:
        found = client.post(
            "/golden-records/search", json={"mobile": written, "include_retired": True}
        )
    assert found.status_code == 200, found.text
    assert golden_id in {item["golden_id"] for item in found.json()["items"]}


def test_mapped_activity_reaches_the_marts_and_the_rest_stays_unknown(
    activity_run: SecondBankRun,
) -> None:
    run = activity_run.run
    assert activity_run.check.returncode == 0, activity_run.check.stdout
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "no source maps account" not in run.stdout
    assert "no source maps loan:" in run.stdout
    store = activity_run.store
    coverage = store.read_table("canonical.entity_coverage").set_index("entity")
    assert coverage.loc["account", "mapped"] and coverage.loc["service_ticket", "mapped"]
    assert not coverage.loc["loan", "mapped"]
    view = store.query(
        "select count(total_aum) as with_balance, count(loan_count) as with_loans, "
        "count(*) as n from marts.customer_360"
    ).iloc[0]
    assert int(view["with_balance"]) == int(view["n"]) > 0  # mapped: 0 or more, never NULL
    assert int(view["with_loans"]) == 0  # unmapped: NULL, never a false 0
    tickets = store.query("select count(*) as n from marts.kpi_service_daily")["n"].iloc[0]
    assert int(tickets) > 0
    golden_id = store.query(
        "select golden_id from marts.customer_360 where total_aum > 0 order by 1 limit 1"
    )["golden_id"].iloc[0]
    with api_client(activity_run.settings) as client:
        view = client.get(f"/customers/{golden_id}/360")
    assert view.status_code == 200, view.text
    assert view.json()["loan_count"] is None  # total_aum > 0 chose it; a steward sees no balance


def readme_example() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Pointing it at your own sources", 1)[1].split("\n## ", 1)[0]
    (example,) = re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL)
    return example


def test_the_readmes_example_runs_as_written(tmp_path: Path) -> None:
    config = tmp_path / "my-mdm.yaml"
    config.write_text(readme_example(), encoding="utf-8")
    home = tmp_path / "var"
    simulated = mdm(
        "simulate", "--shape", "second_bank", "--people", str(PEOPLE), "--activity", "accounts",
        "--out", str(tmp_path / "sources"), home=home,
    )  # fmt: skip
    assert simulated.returncode == 0, simulated.stderr
    check = mdm("check", "--config", str(config), home=home)
    assert check.returncode == 0, check.stdout
    run = mdm("run", "--config", str(config), home=home)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "no source maps account" not in run.stdout
    settings = Settings(home=home, config_path=config)
    with api_client(settings) as client:
        page = client.post("/golden-records/search", json={"name": "张伟"})
        assert page.status_code == 200, page.text
    store = open_warehouse(settings.resolved_warehouse_url)
    view = store.query("select count(total_aum) as n from marts.customer_360").iloc[0]
    assert int(view["n"]) > 0
