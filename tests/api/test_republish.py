"""A new publish (atomic rename over the serving file) is served without a restart."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import httpx

from connectors.serving import point_store_paths
from tests.api.conftest import CUSTOMER_360, GOLDEN, PARTY, XREF, golden, publish_snapshot


def test_a_republished_snapshot_is_picked_up_without_a_restart(
    serve_on: Callable[[Path], httpx.Client], tmp_path: Path
) -> None:
    serving = publish_snapshot(tmp_path / "serving.duckdb")
    client = serve_on(serving)
    before = client.get("/golden-records/G0000000001")
    assert before.status_code == 200
    assert before.json()["name"] == "张伟"
    assert client.get("/golden-records/G0000000005").status_code == 404
    published_before = client.get("/health").json()["published_at"]

    renamed = golden("G0000000001", name="张伟伟", source_count=2, source_systems="core,crm")
    publish_snapshot(
        serving,
        golden_records=[renamed, *GOLDEN[1:], golden("G0000000005", name="李娜")],
        party_records=PARTY,
        xrefs=XREF,
        customers=CUSTOMER_360,
    )

    after = client.get("/golden-records/G0000000001")
    assert after.status_code == 200
    assert after.json()["name"] == "张伟伟"
    assert len(after.json()["sources"]) == 2
    assert client.get("/golden-records/G0000000005").status_code == 200
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json()["golden_record_count"] == 5
    assert health.json()["published_at"] >= published_before


def test_requests_running_during_publishes_all_succeed(
    serve_on: Callable[[Path], httpx.Client], tmp_path: Path
) -> None:
    # Guards the generation hand-over: a retired snapshot is closed only after the last
    # request on it is done, so no request fails with "connection already closed".
    serving = publish_snapshot(tmp_path / "serving.duckdb")
    client = serve_on(serving)
    names = ("张伟", "张伟伟")
    seen: list[tuple[int, str]] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            response = client.get("/golden-records/G0000000001")
            seen.append((response.status_code, response.json().get("name", response.text)))

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        for i in range(6):
            renamed = golden("G0000000001", name=names[i % 2])
            publish_snapshot(serving, golden_records=[renamed, *GOLDEN[1:]])
    finally:
        stop.set()
        for reader in readers:
            reader.join()

    assert seen
    assert {status for status, _ in seen} == {200}
    assert {name for _, name in seen} <= set(names)


def test_each_publish_brings_its_own_point_store_and_old_ones_are_pruned(
    serve_on: Callable[[Path], httpx.Client], tmp_path: Path
) -> None:
    serving = publish_snapshot(tmp_path / "serving.duckdb")
    client = serve_on(serving)
    assert client.get("/golden-records/G0000000001").status_code == 200
    first = point_store_paths(serving)

    for name in ("张伟伟", "张伟", "张伟伟", "张三"):
        publish_snapshot(serving, golden_records=[golden("G0000000001", name=name), *GOLDEN[1:]])
        # A lookup by name is answered from the new point store, not the one opened before.
        found = client.post("/golden-records/search", json={"name": name}).json()
        assert "G0000000001" in [item["golden_id"] for item in found["items"]]

    kept = point_store_paths(serving)
    assert len(kept) == 3  # this publish's, and two for readers still opening older ones
    assert not set(first) & set(kept)


def test_a_snapshot_without_a_point_store_is_503_not_500(
    serve_on: Callable[[Path], httpx.Client], tmp_path: Path
) -> None:
    serving = publish_snapshot(tmp_path / "serving.duckdb")
    for points in point_store_paths(serving):
        points.unlink()
    client = serve_on(serving)

    response = client.get("/golden-records/G0000000001")

    assert response.status_code == 503
    assert response.json()["detail"] == "published snapshot cannot be opened"
    assert str(tmp_path) not in response.text
