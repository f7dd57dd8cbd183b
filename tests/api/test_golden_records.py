"""`GET /golden-records/{golden_id}` and `POST /golden-records/search` on the standard snapshot."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from golden_record_api.schemas import MAX_OFFSET
from tests.api.conftest import problem_detail

RAW_C2_VALUES = ("13010219850307003X", "13800138000", "13900139000", "031187654321")


def test_golden_record_comes_whole_to_a_steward_with_its_source_records(
    api: httpx.Client,
) -> None:
    response = api.get("/golden-records/G0000000001")

    assert response.status_code == 200
    body = response.json()
    assert body["golden_id"] == "G0000000001"
    assert body["status"] == "active"
    assert body["survivor_id"] is None
    assert body["survivor_url"] is None
    assert body["current_golden_id"] == "G0000000001"
    assert body["name"] == "张伟"
    assert body["id_number"] == "13010219850307003X"
    assert body["mobile"] == "13800138000"
    assert body["birth_date"] == "1985-03-07"
    assert body["source_systems"] == ["core", "crm"]
    sources = {source["record_key"]: source for source in body["sources"]}
    assert list(sources) == ["core:C000000001", "crm:CRM0000001"]
    core, crm = sources["core:C000000001"], sources["crm:CRM0000001"]
    assert core["id_number"] == "13010219850307003X"
    assert core["phone_other"] == "031187654321"
    assert core["match_rule"] == "deterministic:id_and_name"
    assert core["address_raw"] == "河北石家庄长安区建设北大街1号"
    assert crm["mobile"] == "13900139000"
    assert crm["match_weight"] == 9.75
    assert crm["source_trust"] == 3


def test_golden_record_comes_masked_to_an_app(as_role: Callable[..., httpx.Client]) -> None:
    body = as_role("app").get("/golden-records/G0000000001").json()

    assert body["name"] == "张*"
    assert body["name_pinyin"] == "zhang *"
    assert body["id_number"] == "130102********003X"
    assert "birth_date" not in body
    assert body["mobile"] == "138****8000"
    assert body["email"] == "z***@example.com"
    assert body["address"] == "河北省石家庄市"
    assert "district" not in body
    assert body["adcode"] == "130100"
    core = body["sources"][0]
    assert core["phone_other"] == "031*****4321"
    assert "address_raw" not in core
    assert "name_raw" not in core


def test_no_unmasked_resident_id_or_phone_leaves_the_api_for_an_app(
    as_role: Callable[..., httpx.Client],
) -> None:
    app = as_role("app")
    for method, url, body in (
        ("GET", "/golden-records/G0000000001", None),
        ("GET", "/golden-records/G0000000002", None),
        (
            "POST",
            "/golden-records/search",
            {"resident_id": "13010219850307003X", "include_retired": True},
        ),
        ("GET", "/golden-records/G0000000001/history", None),
        ("GET", "/customers/G0000000001/360", None),
    ):
        response = app.request(method, url, json=body)
        assert response.status_code == 200, url
        for value in RAW_C2_VALUES:
            assert value not in response.text, (url, value)


def test_retired_golden_record_points_to_its_survivor(api: httpx.Client) -> None:
    response = api.get("/golden-records/G0000000002")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "retired"
    assert body["survivor_id"] == "G0000000001"
    assert body["survivor_url"] == "/golden-records/G0000000001"
    assert body["current_golden_id"] == "G0000000001"
    assert body["sources"] == []
    assert response.headers["link"] == '</golden-records/G0000000001>; rel="successor-version"'
    survivor = api.get(body["survivor_url"])
    assert survivor.status_code == 200
    assert survivor.json()["status"] == "active"


def test_unknown_golden_record_is_404(api: httpx.Client) -> None:
    response = api.get("/golden-records/G0000000099")

    assert problem_detail(response, 404) == "golden record G0000000099 not found"


@pytest.mark.parametrize(
    "golden_id",
    [
        "G123",
        "g0000000001",
        "G00000000011",
        "X0000000001",
        # Regression: `\\d` let Arabic-Indic digits (U+0660…) pass as a golden ID.
        "G\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669",
    ],
)
def test_malformed_golden_id_is_422_naming_the_parameter(api: httpx.Client, golden_id: str) -> None:
    response = api.get(f"/golden-records/{golden_id}")

    detail = problem_detail(response, 422)
    assert detail.startswith("path parameter golden_id: String should match pattern")
    assert response.json()["errors"] == [
        {
            "loc": ["path", "golden_id"],
            "msg": "String should match pattern '^G[0-9]{10}$'",
            "type": "string_pattern_mismatch",
        }
    ]


def _ids(response: httpx.Response) -> list[str]:
    return [item["golden_id"] for item in response.json()["items"]]


@pytest.mark.parametrize(
    "resident_id",
    [
        "130102 19850307 003x",  # spaces and a lower-case x
        "130102-19850307-003X",
        "130102850307003",  # the old 15-digit form of the same ID
    ],
)
def test_lookup_by_resident_id_normalizes_it(api: httpx.Client, resident_id: str) -> None:
    response = api.post("/golden-records/search", json={"resident_id": resident_id})

    assert response.status_code == 200
    body = response.json()
    # G…002 has the same ID but is retired: left out by default.
    assert body["total"] == 1
    assert _ids(response) == ["G0000000001"]
    assert body["items"][0]["id_number"] == "13010219850307003X"


def test_lookup_can_include_retired_records(api: httpx.Client) -> None:
    response = api.post(
        "/golden-records/search",
        json={"resident_id": "13010219850307003X", "include_retired": True},
    )

    assert response.status_code == 200
    assert _ids(response) == ["G0000000001", "G0000000002"]
    retired = response.json()["items"][1]
    assert retired["survivor_url"] == "/golden-records/G0000000001"


def test_lookup_by_mobile_with_country_prefix(api: httpx.Client) -> None:
    response = api.post("/golden-records/search", json={"mobile": "+86 138-0013-8000"})

    assert response.status_code == 200
    assert response.json()["total"] == 1
    assert _ids(response) == ["G0000000001"]


def test_lookup_by_mobile_finds_a_number_only_a_source_record_has(api: httpx.Client) -> None:
    # 13900139000 lost survivorship to 13800138000 but is still the CRM's number.
    response = api.post("/golden-records/search", json={"mobile": "+8613900139000"})

    assert response.status_code == 200
    assert _ids(response) == ["G0000000001"]


def test_lookup_by_name_is_paginated_with_a_total(api: httpx.Client) -> None:
    first = api.post("/golden-records/search", json={"name": "张 伟", "limit": 2})
    second = api.post("/golden-records/search", json={"name": "张伟", "limit": 2, "offset": 2})
    beyond = api.post("/golden-records/search", json={"name": "张伟", "limit": 2, "offset": 10})

    assert first.status_code == 200
    assert first.json()["total"] == 3  # three active 张伟; the retired one is left out
    assert (first.json()["limit"], first.json()["offset"]) == (2, 0)
    assert _ids(first) == ["G0000000001", "G0000000003"]
    assert second.status_code == 200
    assert second.json()["total"] == 3
    assert _ids(second) == ["G0000000004"]
    assert beyond.status_code == 200
    assert beyond.json() == {"total": 3, "limit": 2, "offset": 10, "items": []}


def test_lookup_by_latin_name_matches_pinyin(api: httpx.Client) -> None:
    response = api.post("/golden-records/search", json={"name": "Zhang  Wei"})

    assert response.status_code == 200
    assert response.json()["total"] == 3


def test_lookup_that_matches_nothing_is_an_empty_page(api: httpx.Client) -> None:
    response = api.post("/golden-records/search", json={"mobile": "13012345678"})

    assert response.status_code == 200
    assert response.json() == {"total": 0, "limit": 20, "offset": 0, "items": []}


def test_lookup_without_a_key_is_422(api: httpx.Client) -> None:
    response = api.post("/golden-records/search", json={})

    assert problem_detail(response, 422) == (
        "give exactly one lookup key of resident_id, mobile, name (got none)"
    )


def test_lookup_with_two_keys_is_422(api: httpx.Client) -> None:
    response = api.post("/golden-records/search", json={"resident_id": "1", "mobile": "2"})

    assert problem_detail(response, 422) == (
        "give exactly one lookup key of resident_id, mobile, name (got resident_id, mobile)"
    )


def test_lookup_with_an_empty_key_is_422(api: httpx.Client) -> None:
    response = api.post("/golden-records/search", json={"resident_id": " - "})

    assert problem_detail(response, 422) == "the resident_id given has no letters or digits"


@pytest.mark.parametrize("mobile", ["010-12345678", "13800000000"])
def test_lookup_by_a_number_that_is_no_mobile_is_422(api: httpx.Client, mobile: str) -> None:
    response = api.post("/golden-records/search", json={"mobile": mobile})

    assert "the mobile given is not a mobile a customer can have" in problem_detail(response, 422)
    assert f"'{mobile}'" not in response.text  # the key is not echoed back


def test_lookup_by_name_in_traditional_characters_finds_the_simplified(
    api: httpx.Client,
) -> None:
    response = api.post("/golden-records/search", json={"name": "張偉"})

    assert response.status_code == 200
    assert response.json()["total"] == 3


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"id": "x"}])
def test_lookup_rejects_bad_paging_and_unknown_parameters(
    api: httpx.Client, params: dict[str, int | str]
) -> None:
    response = api.post("/golden-records/search", json={"name": "张伟", **params})

    assert response.status_code == 422


def test_an_offset_past_the_end_is_an_empty_page(api: httpx.Client) -> None:
    # Offsets beyond MAX_OFFSET are a 422 (tests/api/test_contract.py); up to it, past the end
    # is an empty page that never reaches the database's integers.
    for offset in (3, MAX_OFFSET):
        response = api.post("/golden-records/search", json={"name": "张伟", "offset": offset})
        assert response.status_code == 200, offset
        assert response.json()["items"] == [] and response.json()["total"] == 3
