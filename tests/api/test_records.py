"""`POST /records` over real HTTP, on DuckDB and PostgreSQL: a posted record is matched and
served by the same running API at once; bad input is refused naming the field, never a value;
during a batch run a valid record is queued (202 + receipt) and applied after it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from benchmarks.bench_incremental import full_run, landed
from benchmarks.bench_pipeline import noise_config, read_party_tables, simulated_sources
from connectors import tables
from connectors.incremental import PARTY_ROW_HASHES, last_outbox_seq
from connectors.online_records import content_hash, source_mappings, standardize_posted
from connectors.settings import PROJECT_ROOT
from connectors.warehouse import open_warehouse
from golden_record_api.main import create_app
from matching import MatchingConfig
from matching.golden import SurvivorshipConfig
from matching.incremental import applied_config_json
from tests.api.conftest import app_on, identity_provider, serve
from tests.conftest import fresh_postgres_database

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


@contextmanager
def batch_run_holding(home: Path, run_id: str = "batch-7") -> Iterator[subprocess.Popen[str]]:
    """A batch run holding `home`'s run lock, in another process (the lock is re-entrant
    within one), until the block ends."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from pathlib import Path; from connectors import run_lock;"
            f"run_lock.acquire(Path({str(home)!r}), run_id={run_id!r}, command='mdm run');"
            "print('held', flush=True); time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def built_warehouse(url: str, serving: Path, raw: dict[str, pd.DataFrame], held_out: int) -> None:
    """A full run on the simulated sources without the core system's last `held_out` rows
    (what the caller posts), its snapshot published."""
    document = yaml.safe_load((PROJECT_ROOT / "mdm.yaml").read_text(encoding="utf-8"))
    matching = MatchingConfig.model_validate(document["matching"])
    survivorship = SurvivorshipConfig.model_validate(document["survivorship"])
    first = {**raw, "core": raw["core"].iloc[:-held_out].reset_index(drop=True)}
    store = open_warehouse(url)
    full_run(store, first, document["sources"], matching, survivorship, now=NOW)
    model = store.read_table(tables.MATCH_MODEL)
    store.replace_tables(
        {tables.MATCH_MODEL: model.assign(config_json=applied_config_json(matching, survivorship))}
    )
    store.publish(serving)


def core_row(raw: dict[str, pd.DataFrame], position: int) -> dict[str, Any]:
    """The core system's row at `position`, in the columns its mapping reads."""
    mapping = source_mappings(PROJECT_ROOT / "mdm.yaml")["core"]
    core = raw["core"]
    columns = sorted({mapping.key_column, *mapping.mapping.values()} & set(core.columns))
    row = core.iloc[position]
    return {c: (None if pd.isna(row[c]) else str(row[c])) for c in columns}


def wait_for_status(api: Any, location: str, status: str, seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        answer = api.get(location)
        assert answer.status_code == 200, answer.text
        if answer.json()["status"] == status or time.monotonic() > deadline:
            return dict(answer.json())
        time.sleep(0.2)


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_a_post_during_a_batch_run_is_queued_then_applied_as_a_direct_post_would_be(
    backend: str, raw: dict[str, pd.DataFrame], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # Two homes built alike: one receives the posts during a run (queued), the other directly.
    serving, direct_serving = tmp_path / "q" / "serving.duckdb", tmp_path / "d" / "serving.duckdb"
    serving.parent.mkdir()
    direct_serving.parent.mkdir()
    with (
        fresh_postgres_database() if backend == "postgres" else _duckdb(tmp_path / "q") as url,
        fresh_postgres_database() if backend == "postgres" else _duckdb(tmp_path / "d") as other,
    ):
        built_warehouse(url, serving, raw, held_out=2)
        built_warehouse(other, direct_serving, raw, held_out=2)
        a, b = core_row(raw, -1), core_row(raw, -2)
        mapping = source_mappings(PROJECT_ROOT / "mdm.yaml")["core"]
        key_a = f"core:{a[mapping.key_column]}"
        key_b = f"core:{b[mapping.key_column]}"
        b_later = {**b, mapping.mapping["address"]: "测试路1号"}
        # On PostgreSQL the inbox lives in a PostgreSQL ops store too.
        ops = {"ops_url": url} if backend == "postgres" else {}
        idp = identity_provider()
        settings = idp.settings(serving, warehouse_url=url, **ops)
        app = create_app(settings, inbox_drain_seconds=0.2)
        crm = idp.headers("app", sub="crm")
        with batch_run_holding(settings.home) as holder, serve(app, headers=crm) as api:
            queued = api.post("/records", json={"source_system": "core", "record": a})
            assert queued.status_code == 202, queued.text
            receipt = queued.json()
            location = queued.headers["Location"]
            assert location == f"/records/receipts/{receipt['receipt_id']}"
            assert receipt["status"] == "queued" and receipt["record_key"] == key_a
            assert receipt["queued_behind"] == "batch-7" and receipt["result"] is None
            assert str(a[mapping.mapping["name"]]) not in queued.text
            # The same content again: the same receipt, not a second entry.
            again = api.post("/records", json={"source_system": "core", "record": a})
            assert again.status_code == 202
            assert again.json()["receipt_id"] == receipt["receipt_id"]
            # Two posts of one record queued: the last wins, the first says so at once.
            first_b = api.post("/records", json={"source_system": "core", "record": b})
            last_b = api.post("/records", json={"source_system": "core", "record": b_later})
            assert first_b.status_code == last_b.status_code == 202
            assert first_b.json()["receipt_id"] != last_b.json()["receipt_id"]
            superseded = api.get(first_b.headers["Location"]).json()
            assert superseded["status"] == "superseded"
            assert superseded["superseded_by"] == last_b.json()["receipt_id"]
            # A record the pipeline would quarantine is refused now, not queued.
            blank = {c: None for c in a} | {mapping.key_column: "online-1"}
            refused = api.post("/records", json={"source_system": "core", "record": blank})
            assert refused.status_code == 422 and "standardization rule" in refused.text
            # The receipt is the poster's (or an admin's) to read.
            with serve(app, headers=idp.headers("app", sub="another-app")) as other_app:
                assert other_app.get(location).status_code == 404
            with serve(app, headers=idp.headers("admin")) as admin:
                assert admin.get(location).json()["status"] == "queued"
            with serve(app, headers=idp.headers("steward")) as steward:
                assert steward.get(location).status_code == 403
            assert api.get(location).json()["status"] == "queued"  # nothing applied yet

            holder.kill()  # the run ends without draining: the API's background drain applies
            holder.wait()
            applied = wait_for_status(api, location, "applied")
            assert applied["status"] == "applied", applied
            result = applied["result"]
            assert result["record_key"] == key_a and result["events"]
            served = api.get(f"/source-records/{key_a}")
            assert served.status_code == 200
            assert served.json()["golden_id"] == result["golden_id"]
            assert wait_for_status(api, last_b.headers["Location"], "applied")["status"] == (
                "applied"
            )
            assert api.get(first_b.headers["Location"]).json()["status"] == "superseded"
        # B holds the last post's content.
        stored = open_warehouse(url).query(
            f"select row_hash from {PARTY_ROW_HASHES} where record_key = ?", [key_b]
        )
        later = standardize_posted(mapping, b_later, now=NOW)
        assert stored["row_hash"].tolist() == [content_hash(later)]

        # The same record posted directly to the twin home: the same answer.
        with serve(app_on(direct_serving, warehouse_url=other), headers=crm) as api:
            direct = api.post("/records", json={"source_system": "core", "record": a})
            assert direct.status_code == 200, direct.text
        expected = direct.json()
        assert (result["outcome"], result["golden_id"], result["review_golden_ids"]) == (
            expected["outcome"],
            expected["golden_id"],
            expected["review_golden_ids"],
        )
        assert result["events"] == expected["events"]


@contextmanager
def _duckdb(folder: Path) -> Iterator[str]:
    yield f"duckdb:///{folder / 'warehouse.duckdb'}"


class Killed(BaseException):
    """The drain's process dying (not an error a drain catches: it escapes like a kill)."""


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_a_drain_killed_between_dequeue_and_apply_loses_nothing(
    backend: str,
    raw: dict[str, pd.DataFrame],
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from connectors import record_inbox
    from connectors.settings import Settings

    serving = tmp_path / "serving.duckdb"
    url = (
        request.getfixturevalue("postgres_database")
        if backend == "postgres"
        else f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    )
    built_warehouse(url, serving, raw, held_out=3)
    settings = Settings(
        home=tmp_path / "var",
        warehouse_url=url,
        ops_url=url if backend == "postgres" else None,
        serving_path=serving,
        config_path=PROJECT_ROOT / "mdm.yaml",
    )
    mapping = source_mappings(settings.config_path)["core"]
    rows = [core_row(raw, -3), core_row(raw, -2), core_row(raw, -1)]
    with batch_run_holding(settings.home):
        receipts = [
            record_inbox.post_or_queue(settings, mapping, row, posted_by="crm", wait_seconds=0)
            for row in rows
        ]
    assert all(isinstance(r, record_inbox.Receipt) for r in receipts)
    ids = [r.receipt_id for r in receipts if isinstance(r, record_inbox.Receipt)]
    inbox = record_inbox.Inbox(settings.resolved_ops_url)
    real_apply = record_inbox.apply_posted

    def status() -> list[str]:
        return [str(getattr(inbox.receipt(i), "status", None)) for i in ids]

    # Killed after dequeuing the second post, before its write: the first is applied, the
    # rest still queued.
    calls: list[int] = []

    def dies_on_the_second(*args: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise Killed
        return real_apply(*args)

    monkeypatch.setattr(record_inbox, "apply_posted", dies_on_the_second)
    with pytest.raises(Killed):
        record_inbox.drain(settings)
    assert status() == ["applied", "queued", "queued"]

    # Killed after the second post's write, before it was marked: it stays queued (at least
    # once), and applying it again changes nothing.
    def dies_after_writing(*args: Any) -> Any:
        real_apply(*args)
        raise Killed

    monkeypatch.setattr(record_inbox, "apply_posted", dies_after_writing)
    with pytest.raises(Killed):
        record_inbox.drain(settings)
    assert status() == ["applied", "queued", "queued"]
    second_golden = open_warehouse(url).query(
        f"select golden_id from {tables.XREF} where record_key = ?",
        [f"core:{rows[1][mapping.key_column]}"],
    )
    assert len(second_golden) == 1  # it was written

    monkeypatch.setattr(record_inbox, "apply_posted", real_apply)
    report = record_inbox.drain(settings)
    assert (report.applied, report.failed, report.retried) == (2, 0, 0)
    assert status() == ["applied", "applied", "applied"]
    repeated = inbox.receipt(ids[1])
    assert repeated is not None and repeated.result is not None
    assert repeated.result["outcome"] == "unchanged"
    assert repeated.result["golden_id"] == second_golden["golden_id"].iloc[0]
    # Every record is in the warehouse once; another drain has nothing to do.
    keys = [f"core:{row[mapping.key_column]}" for row in rows]
    xref = open_warehouse(url).read_table(tables.XREF, ["record_key"])
    assert xref["record_key"].isin(keys).sum() == 3
    assert record_inbox.drain(settings) == record_inbox.DrainReport()


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_a_post_that_fails_on_drain_is_marked_failed_and_does_not_block_the_rest(
    backend: str,
    raw: dict[str, pd.DataFrame],
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from connectors import record_inbox
    from connectors.settings import Settings

    serving = tmp_path / "serving.duckdb"
    url = (
        request.getfixturevalue("postgres_database")
        if backend == "postgres"
        else f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    )
    built_warehouse(url, serving, raw, held_out=2)
    settings = Settings(
        home=tmp_path / "var",
        warehouse_url=url,
        ops_url=url if backend == "postgres" else None,
        serving_path=serving,
        config_path=PROJECT_ROOT / "mdm.yaml",
    )
    mapping = source_mappings(settings.config_path)["core"]
    rows = [core_row(raw, -2), core_row(raw, -1)]
    with batch_run_holding(settings.home):
        receipts = [
            record_inbox.post_or_queue(settings, mapping, row, posted_by="crm", wait_seconds=0)
            for row in rows
        ]
    ids = [r.receipt_id for r in receipts if isinstance(r, record_inbox.Receipt)]
    real_apply = record_inbox.apply_posted
    secret = str(rows[0][mapping.mapping["name"]])

    def the_first_always_fails(settings: Settings, posted: Any, *args: Any) -> Any:
        if posted.record_key == f"core:{rows[0][mapping.key_column]}":
            raise RuntimeError(f"a database error quoting {secret}")
        return real_apply(settings, posted, *args)

    monkeypatch.setattr(record_inbox, "apply_posted", the_first_always_fails)
    inbox = record_inbox.Inbox(settings.resolved_ops_url)
    first = record_inbox.drain(settings)
    assert (first.applied, first.retried) == (1, 1)
    for _ in range(record_inbox.MAX_ATTEMPTS - 1):
        record_inbox.drain(settings)
    failed, applied = inbox.receipt(ids[0]), inbox.receipt(ids[1])
    assert failed is not None and applied is not None
    assert (failed.status, applied.status) == ("failed", "applied")
    assert failed.attempts == record_inbox.MAX_ATTEMPTS
    assert failed.reason is not None and "RuntimeError" in failed.reason
    assert secret not in failed.reason


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_the_batch_run_applies_the_queued_posts_after_it_publishes_before_it_lets_go(
    backend: str, raw: dict[str, pd.DataFrame], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    import dagster as dg
    import duckdb

    from connectors import record_inbox, run_lock
    from connectors.settings import Settings
    from pipelines.assets.publish import build_publish_asset
    from pipelines.build import build_resources

    serving = tmp_path / "serving.duckdb"
    url = (
        request.getfixturevalue("postgres_database")
        if backend == "postgres"
        else f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    )
    built_warehouse(url, serving, raw, held_out=1)
    settings = Settings(
        home=tmp_path / "var",
        warehouse_url=url,
        ops_url=url if backend == "postgres" else None,
        serving_path=serving,
        config_path=PROJECT_ROOT / "mdm.yaml",
    )
    mapping = source_mappings(settings.config_path)["core"]
    row = core_row(raw, -1)
    key = f"core:{row[mapping.key_column]}"
    with batch_run_holding(settings.home):
        receipt = record_inbox.post_or_queue(
            settings, mapping, row, posted_by="crm", wait_seconds=0
        )
    assert isinstance(receipt, record_inbox.Receipt)
    # This process is now the batch run: it holds the home, and its publish step drains.
    with run_lock.run_lock(settings.home, run_id="batch-8", command="mdm run"):
        publish = build_publish_asset([dg.AssetKey("upstream")], settings.config_path)
        result = dg.materialize(
            [publish], instance=dg.DagsterInstance.ephemeral(), resources=build_resources(settings)
        )
        assert result.success
        # Applied before the run let go of the home, and in the snapshot it published.
        applied = record_inbox.Inbox(settings.resolved_ops_url).receipt(receipt.receipt_id)
        assert applied is not None and applied.status == "applied", applied
        assert run_lock.current_holder(settings.home) is not None
    assert applied.result is not None
    with duckdb.connect(str(serving), read_only=True) as snapshot:
        served = snapshot.execute(
            f"select golden_id from {tables.XREF} where record_key = ?", [key]
        ).fetchall()
    assert served == [(applied.result["golden_id"],)]
    metadata = result.asset_materializations_for_node("serving__snapshot")[0].metadata
    assert metadata["inbox_applied"].value == 1
