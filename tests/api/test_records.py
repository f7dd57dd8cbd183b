"""`POST /records` over real HTTP, on DuckDB and PostgreSQL: a posted record is matched and
served by the same running API at once; bad input is refused naming the field, never a value.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from benchmarks.bench_incremental import full_run, landed
from benchmarks.bench_pipeline import noise_config, read_party_tables, simulated_sources
from connectors.incremental import last_outbox_seq
from connectors.online_records import source_mappings
from connectors.settings import PROJECT_ROOT
from connectors.warehouse import open_warehouse
from matching import MatchingConfig
from matching.golden import SurvivorshipConfig
from matching.incremental import applied_config_json
from tests.api.conftest import app_on, identity_provider, serve

PEOPLE = 200
NOW = pd.Timestamp("2026-11-30 08:00:00").as_unit("ns")


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    document = yaml.safe_load((PROJECT_ROOT / "mdm.yaml").read_text(encoding="utf-8"))
    folder: Path = tmp_path_factory.mktemp("records_api")
    simulated_sources(folder, PEOPLE, 31, noise_config(1.0))
    return {
        name: landed(frame, "b0")
        for name, frame in read_party_tables(folder, document["sources"]).items()
    }


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_a_posted_record_is_matched_and_served_at_once(
    backend: str, raw: dict[str, pd.DataFrame], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    document = yaml.safe_load((PROJECT_ROOT / "mdm.yaml").read_text(encoding="utf-8"))
    matching = MatchingConfig.model_validate(document["matching"])
    survivorship = SurvivorshipConfig.model_validate(document["survivorship"])
    serving = tmp_path / "serving.duckdb"
    url = (
        request.getfixturevalue("postgres_database")
        if backend == "postgres"
        else f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    )
    # The core system's last row is held out of the run: it is what the CRM-like caller posts.
    core = raw["core"]
    first = {**raw, "core": core.iloc[:-1].reset_index(drop=True)}
    store = open_warehouse(url)
    full_run(store, first, document["sources"], matching, survivorship, now=NOW)
    model = store.read_table("mdm.match_model")
    store.replace_tables(
        {"mdm.match_model": model.assign(config_json=applied_config_json(matching, survivorship))}
    )
    store.publish(serving)
    events_before = last_outbox_seq(store)

    mapping = source_mappings(PROJECT_ROOT / "mdm.yaml")["core"]
    columns = sorted({mapping.key_column, *mapping.mapping.values()} & set(core.columns))
    last = core.iloc[-1]
    record = {c: (None if pd.isna(last[c]) else str(last[c])) for c in columns}
    key = f"core:{str(last[mapping.key_column]).strip()}"
    body = {"source_system": "core", "record": record}
    app = app_on(serving, warehouse_url=url)
    idp = identity_provider()
    with serve(app, headers=idp.headers("app")) as api:
        assert api.get(f"/source-records/{key}").status_code == 404

        posted = api.post("/records", json=body)
        assert posted.status_code == 200, posted.text
        out = posted.json()
        assert out["record_key"] == key
        assert out["outcome"] in {"joined", "created", "review"}
        assert out["events"], "a new record changes or creates a golden record"
        served = api.get(f"/source-records/{key}")
        assert served.status_code == 200
        assert served.json()["golden_id"] == out["golden_id"]
        # Its events entered the change feed (the outbox) with the golden rows.
        assert last_outbox_seq(open_warehouse(url)) == events_before + len(out["events"])

        again = api.post("/records", json=body)
        assert again.status_code == 200
        assert again.json()["outcome"] == "unchanged"
        assert again.json()["golden_id"] == out["golden_id"]

        # Bad input: the field is named, the value never echoed.
        secret = "130102198503070031"
        unknown = api.post(
            "/records", json={"source_system": "core", "record": {**record, "cert": secret}}
        )
        assert unknown.status_code == 422
        assert "record.cert" in unknown.text and secret not in unknown.text
        keyless = api.post(
            "/records",
            json={"source_system": "core", "record": {**record, mapping.key_column: " "}},
        )
        assert keyless.status_code == 422
        assert mapping.key_column in keyless.text
        blank = {c: None for c in columns} | {mapping.key_column: "online-1"}
        quarantined = api.post("/records", json={"source_system": "core", "record": blank})
        assert quarantined.status_code == 422
        assert "standardization rule" in quarantined.text
        nowhere = api.post("/records", json={"source_system": "erp", "record": record})
        assert nowhere.status_code == 404
        assert "source_system" in nowhere.text

    # Scoped: a steward reads records but does not write them.
    with serve(app, headers=idp.headers("steward")) as steward:
        refused = steward.post("/records", json=body)
        assert refused.status_code == 403
        assert "records:write" in refused.text


def test_a_post_while_a_batch_run_holds_the_home_is_a_503_naming_the_run(
    raw: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    serving = tmp_path / "serving.duckdb"
    home = tmp_path / "var"  # the test settings' home: beside the serving file
    mapping = source_mappings(PROJECT_ROOT / "mdm.yaml")["core"]
    core = raw["core"]
    columns = sorted({mapping.key_column, *mapping.mapping.values()} & set(core.columns))
    record = {c: (None if pd.isna(core.iloc[0][c]) else str(core.iloc[0][c])) for c in columns}
    # The batch run is another process (the run lock is re-entrant within one).
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from pathlib import Path; from connectors import run_lock;"
            f"run_lock.acquire(Path({str(home)!r}), run_id='batch-7', command='mdm run');"
            "print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with serve(app_on(serving), headers=identity_provider().headers("app")) as api:
            busy = api.post("/records", json={"source_system": "core", "record": record})
        assert busy.status_code == 503
        assert busy.headers["Retry-After"].isdigit()
        assert "run batch-7" in busy.json()["detail"]
        assert str(core.iloc[0][mapping.mapping["name"]]) not in busy.text
    finally:
        holder.kill()
        holder.wait()
