"""The API on a snapshot the pipeline itself published: lineage, history, events, xref."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import httpx
import pytest

from connectors.ops_store import Decision, OpsStore
from connectors.serving import MANIFEST_TABLE, SERVED_TABLES
from connectors.settings import Settings
from connectors.warehouse import open_warehouse
from pipelines.build import build_mdm_assets, build_resources
from pipelines.mdm_config import load_config
from tests.api.conftest import app_on, identity_provider, serve, steward_headers
from tests.conftest import write_pipeline_config


def run_and_publish(settings: Settings) -> None:
    config = load_config(settings.config_path)
    assert dg.materialize(build_mdm_assets(config), resources=build_resources(settings)).success
    open_warehouse(settings.resolved_warehouse_url).publish(settings.resolved_serving_path)


@pytest.fixture(scope="module")
def published(tmp_path_factory, simulated_sources) -> Iterator[tuple[httpx.Client, Settings, dict]]:  # type: ignore[no-untyped-def]
    """Two runs: the second after a merge decision and a mobile change in core banking."""
    import shutil

    root = tmp_path_factory.mktemp("api_pipeline")
    sources = root / "sources"
    shutil.copytree(simulated_sources, sources)
    settings = Settings(
        home=root / "var", config_path=write_pipeline_config(sources, root / "mdm.yaml")
    )
    run_and_publish(settings)
    store = open_warehouse(settings.resolved_warehouse_url)
    golden = store.read_table("mdm.golden_records")
    singles = sorted(golden.loc[golden["source_count"] == 1, "golden_id"])
    survivor, merged = singles[0], singles[1]
    ops = OpsStore(settings.resolved_ops_url)
    decision_id = ops.record_decision(
        Decision("merge", "王敏", "confirmed", golden_id=survivor, related_golden_id=merged),
        xref=store.read_table("mdm.xref"),
        golden=golden,
        records=store.read_table("mdm.party_records"),
    )
    if ops.decision(decision_id).status == "pending":  # two singletons may be risky to join
        ops.approve(decision_id, "李娜", "second look", golden=golden)
    ops.dispose()
    xref = store.read_table("mdm.xref")
    core_key = sorted(xref.loc[xref["record_key"].str.startswith("core:"), "record_key"])[5]
    with sqlite3.connect(Path(sources) / "core_banking.sqlite") as connection:
        connection.execute(
            "update cif_customer set mobile_no = '13911112222', last_upd_ts = '2026-11-28 09:00:00'"
            " where cust_no = ?",
            [core_key.split(":", 1)[1]],
        )
    run_and_publish(settings)
    facts = {
        "survivor": survivor,
        "merged": merged,
        "merged_record": xref.set_index("record_key").index[xref["golden_id"] == merged][0],
        "updated": xref.set_index("record_key").loc[core_key, "golden_id"],
    }
    with serve(app_on(settings.resolved_serving_path), steward_headers()) as client:
        yield client, settings, facts


def test_lineage_names_the_winning_record_and_rule_for_every_attribute(published):
    client, _, facts = published
    response = client.get(f"/golden-records/{facts['survivor']}/lineage")
    assert response.status_code == 200
    rows = response.json()
    assert {"name", "id_number", "mobile", "address"} <= {row["attribute"] for row in rows}
    assert all(row["rule"] for row in rows)
    assert client.get("/golden-records/G9999999999/lineage").status_code == 404


def test_history_keeps_the_earlier_version_and_answers_as_of(published):
    client, _, facts = published
    response = client.get(f"/golden-records/{facts['updated']}/history")
    assert response.status_code == 200
    versions = response.json()
    assert len(versions) == 2
    assert versions[0]["valid_to"] == versions[1]["valid_from"]
    assert versions[1]["valid_to"] is None
    assert versions[1]["mobile"] == "13911112222"  # the new number (a steward sees it clear)
    as_app = _as(client, "app").get(f"/golden-records/{facts['updated']}/history").json()
    assert as_app[1]["mobile"] == "139****2222"  # masked for a downstream app
    then = client.get(
        f"/golden-records/{facts['updated']}/history", params={"as_of": versions[0]["valid_from"]}
    )
    assert then.status_code == 200
    assert [v["valid_from"] for v in then.json()] == [versions[0]["valid_from"]]
    assert (
        client.get(
            f"/golden-records/{facts['updated']}/history", params={"as_of": "not a date"}
        ).status_code
        == 422
    )


def test_events_show_the_merge_and_xref_follows_it_to_the_survivor(published):
    client, _, facts = published
    events = client.get(f"/golden-records/{facts['merged']}/events").json()
    assert any(e["event_type"] == "merge" and e["golden_id"] == facts["survivor"] for e in events)
    link = client.get(f"/source-records/{facts['merged_record']}")
    assert link.status_code == 200
    assert link.json()["current_golden_id"] == facts["survivor"]
    assert client.get("/source-records/core:NOPE").status_code == 404
    assert client.get("/source-records/no-colon").status_code == 422


def _as(client: httpx.Client, role: str) -> httpx.Client:
    return httpx.Client(
        base_url=client.base_url, headers=identity_provider().headers(role), trust_env=False
    )


@pytest.mark.parametrize("role", ["app", "auditor", "admin"])  # the roles both are masked for
def test_no_unmasked_resident_id_or_mobile_leaves_the_api(published, role):
    steward, _, facts = published
    client = _as(steward, role)
    for path in (
        f"/golden-records/{facts['survivor']}",
        f"/golden-records/{facts['updated']}/history",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        text = response.text
        assert not re.search(r"\d{17}[\dX]", text)
        assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", text)


def test_the_published_snapshot_holds_the_served_tables_and_nothing_else(published) -> None:  # type: ignore[no-untyped-def]
    # The warehouse beside it holds raw.*, dq.*, scored pairs and clusters: none of it is
    # published. (This pipeline runs no dbt, so the marts are absent from both.)
    _, settings, _ = published
    with duckdb.connect(str(settings.resolved_serving_path), read_only=True) as connection:
        tables = connection.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
        ).fetchall()
    published_tables = {table for (table,) in tables}
    mdm = {table for table in SERVED_TABLES if table.startswith("mdm.")}
    assert mdm | {MANIFEST_TABLE} == published_tables
    warehouse = open_warehouse(settings.resolved_warehouse_url)
    assert warehouse.table_exists("mdm.scored_pairs")
    assert not warehouse.query(
        "select * from information_schema.tables where table_schema = 'raw'"
    ).empty
