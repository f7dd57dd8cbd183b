"""`GET /customers/{golden_id}/360`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from tests.api.conftest import problem_detail, publish_snapshot


def test_customer_360_comes_masked_with_every_mart_column(api: httpx.Client) -> None:
    response = api.get("/customers/G0000000001/360")

    assert response.status_code == 200
    body = response.json()
    assert body["golden_id"] == "G0000000001"
    assert body["id_number"] == "130102********003X"
    assert body["mobile"] == "138****8000"
    assert body["source_systems"] == ["core", "crm"]
    assert body["total_aum"] == 51200.5
    assert body["nearest_maturity_date"] == "2025-01-03"
    assert body["last_contact_at"] == "2024-12-20T09:30:00+08:00"  # China time in the mart
    assert body["open_complaints"] == 1
    assert body["value_tier"] == "mass_affluent"
    assert body["churn_score"] == 0.12  # a column the API does not know passes through


def test_unknown_customer_360_is_404(api: httpx.Client) -> None:
    response = api.get("/customers/G0000000099/360")

    assert problem_detail(response, 404) == "customer 360 for G0000000099 not found"


def test_customer_360_of_a_retired_record_is_404_naming_the_survivor(api: httpx.Client) -> None:
    response = api.get("/customers/G0000000002/360")

    assert problem_detail(response, 404) == (
        "customer 360 for G0000000002 not found: golden record G0000000002 is"
        " retired, merged into G0000000001"
    )


def test_customer_360_with_a_malformed_id_is_422(api: httpx.Client) -> None:
    response = api.get("/customers/C000000001/360")

    assert "path parameter golden_id" in problem_detail(response, 422)
    assert response.json()["errors"][0]["loc"] == ["path", "golden_id"]


def test_customer_360_is_503_when_the_marts_were_not_built(
    serve_on: Callable[[Path], httpx.Client], tmp_path: Path
) -> None:
    client = serve_on(publish_snapshot(tmp_path / "serving.duckdb", customers=None))

    response = client.get("/customers/G0000000001/360")

    detail = problem_detail(response, 503)
    assert "is incomplete" in detail
    assert "customer_360" in detail
