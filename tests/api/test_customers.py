"""`GET /customers/{golden_id}/360`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from tests.api.conftest import problem_detail, publish_snapshot


def test_customer_360_for_its_relationship_manager(
    as_role: Callable[..., httpx.Client],
) -> None:
    response = as_role("relationship_manager").get("/customers/G0000000001/360")

    assert response.status_code == 200
    body = response.json()
    assert body["golden_id"] == "G0000000001"
    assert body["id_number"] == "130102********003X"
    assert "birth_date" not in body  # it would fill the eight digits the masked ID hides
    assert body["mobile"] == "13800138000"  # the manager calls the customer
    assert body["relationship_manager_name"] == "刘强"
    assert body["source_systems"] == ["core", "crm"]
    assert body["total_aum"] == 51200.5
    assert body["nearest_maturity_date"] == "2025-01-03"
    assert body["last_contact_at"] == "2024-12-20T09:30:00+08:00"  # China time in the mart
    assert body["open_complaints"] == 1
    assert body["value_tier"] == "mass_affluent"
    assert "churn_score" not in body  # a mart column the access policy does not list


def test_customer_360_hides_balances_from_a_steward(api: httpx.Client) -> None:
    body = api.get("/customers/G0000000001/360").json()

    assert body["id_number"] == "13010219850307003X"
    assert body["birth_date"] == "1985-03-07"
    assert "total_aum" not in body
    assert body["value_tier"] == "mass_affluent"  # the balances' band


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
