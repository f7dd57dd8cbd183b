"""`GET /health`, the 503 answers without a snapshot, and the OpenAPI docs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx

from tests.api.conftest import publish_snapshot

NO_SNAPSHOT = "no published snapshot yet: run `make demo` or `mdm run`"


def test_health_reports_the_published_snapshot(api: httpx.Client, snapshot_path: Path) -> None:
    response = api.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body) == {
        "status",
        "published_at",
        "golden_record_count",
        "active_golden_record_count",
    }
    assert str(snapshot_path.parent) not in response.text
    published_at = datetime.fromisoformat(body["published_at"])
    assert abs(published_at.timestamp() - snapshot_path.stat().st_mtime) < 1e-3
    assert body["golden_record_count"] == 4  # three active, one retired
    assert body["active_golden_record_count"] == 3


def test_health_is_503_without_a_snapshot(
    serve_on: Callable[[Path], httpx.Client], tmp_path: Path
) -> None:
    client = serve_on(tmp_path / "serving.duckdb")

    response = client.get("/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["golden_record_count"] is None
    assert str(tmp_path) not in response.text
    assert "serving.duckdb" not in response.text


def test_every_endpoint_is_503_without_a_snapshot(
    serve_on: Callable[[Path], httpx.Client], tmp_path: Path
) -> None:
    client = serve_on(tmp_path / "serving.duckdb")

    for method, url, body in (
        ("GET", "/golden-records/G0000000001", None),
        ("POST", "/golden-records/search", {"name": "张伟"}),
        ("GET", "/customers/G0000000001/360", None),
        ("GET", "/customers/G0000000001/accounts", None),
        ("GET", "/customers/G0000000001/household", None),
    ):
        response = client.request(method, url, json=body)
        assert response.status_code == 503, url
        assert response.json()["detail"].startswith(NO_SNAPSHOT), url
        assert str(tmp_path) not in response.text, url


def test_a_first_publish_is_picked_up_without_a_restart(
    serve_on: Callable[[Path], httpx.Client], tmp_path: Path
) -> None:
    serving = tmp_path / "serving.duckdb"
    client = serve_on(serving)
    assert client.get("/health").status_code == 503

    publish_snapshot(serving)

    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["golden_record_count"] == 4


def test_an_unreadable_snapshot_is_503_with_the_reason(
    serve_on: Callable[[Path], httpx.Client], tmp_path: Path
) -> None:
    serving = tmp_path / "serving.duckdb"
    serving.write_bytes(b"not a duckdb file")
    client = serve_on(serving)

    assert client.get("/health").status_code == 503
    response = client.get("/golden-records/G0000000001")

    assert response.status_code == 503
    assert response.json()["detail"] == "published snapshot cannot be opened"


def test_without_api_docs_nothing_but_health_answers_anonymously(
    serve_on: Callable[..., httpx.Client], tmp_path: Path
) -> None:
    # Production's default: the document and its pages are not served at all.
    client = serve_on(publish_snapshot(tmp_path / "serving.duckdb"), headers={}, api_docs=False)

    assert client.get("/health").status_code == 200
    for path in ("/docs", "/redoc", "/openapi.json", "/golden-records/G0000000001"):
        assert client.get(path).status_code in {401, 404}, path


def test_openapi_docs_have_tags_and_summaries(api: httpx.Client) -> None:
    docs = api.get("/docs")
    spec = api.get("/openapi.json")

    assert docs.status_code == 200
    assert spec.status_code == 200
    operations = [op for path in spec.json()["paths"].values() for op in path.values()]
    # health, lookup, record, lineage, history, events, 360, xref; the 360's accounts, loans,
    # tickets, household; kpis service, loans, mdm; rm-tasks; audit reads and writer; changes;
    # match; records and their receipts
    assert len(operations) == 22
    assert all(op.get("summary") and op.get("tags") for op in operations)
