"""`GET /customers/{golden_id}/accounts|loans|tickets|household`: the 360's detail.

The snapshot is conftest's `CUSTOMER_DETAILS`; the relationship manager works at B0001
(G…001's branch), G…003 is at B0002.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from golden_record_api.read_audit import InMemoryReadAuditor
from tests.api.conftest import (
    CUSTOMER_360,
    customer_360,
    identity_provider,
    problem_detail,
    publish_snapshot,
)

DETAILS = ("accounts", "loans", "tickets", "household")


def test_accounts_for_the_relationship_manager_are_clear_open_ones_first(
    as_role: Callable[..., httpx.Client],
) -> None:
    response = as_role("relationship_manager").get("/customers/G0000000001/accounts")

    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (3, 100, 0)
    # active first, the latest opened first among them; the closed one last
    assert [item["account_no"] for item in body["items"]] == [
        "6222020000000002",
        "6222020000000001",
        "6222020000000009",
    ]
    term = body["items"][0]
    assert term["balance"] == 50000.0
    assert term["maturity_date"] == "2025-01-03"
    assert term["account_type"] == "TIME"
    assert body["items"][2]["is_active"] is False
    assert "record_key" not in term  # it quotes the account number: never served


def test_accounts_for_a_steward_mask_the_number_and_leave_out_balances(
    api: httpx.Client,
) -> None:
    body = api.get("/customers/G0000000001/accounts").json()

    first = body["items"][0]
    assert first["account_no"] == "622202********0002"
    assert "balance" not in first and "balance_cny" not in first
    assert first["product_code"] == "TD1Y"


@pytest.mark.parametrize("role", ["app", "auditor", "admin"])
def test_accounts_for_other_roles_show_only_the_last_digits_and_no_balance(
    as_role: Callable[..., httpx.Client], role: str
) -> None:
    body = as_role(role).get("/customers/G0000000003/accounts").json()

    (item,) = body["items"]
    assert item["account_no"] == "622202********0003"
    assert "6222020000000003" not in str(body)
    assert "balance" not in item and "balance_cny" not in item
    assert item["currency"] == "USD"


def test_loans_are_listed_latest_first_with_status_and_class(
    as_role: Callable[..., httpx.Client],
) -> None:
    client = as_role("relationship_manager", branch_id="B0002", rm_id="RM0002")

    body = client.get("/customers/G0000000003/loans").json()

    assert body["total"] == 2
    assert [(i["loan_id"], i["loan_status"], i["five_tier_class"]) for i in body["items"]] == [
        ("L32", "current", "关注"),
        ("L31", "repaid", "正常"),
    ]
    assert body["items"][0]["outstanding"] == 80000.0


def test_loans_for_a_steward_leave_out_amounts(api: httpx.Client) -> None:
    items = api.get("/customers/G0000000003/loans").json()["items"]

    assert {"principal", "outstanding", "interest_rate"}.isdisjoint(items[0])
    assert items[0]["five_tier_rank"] == 2


def test_a_customer_without_loans_has_an_empty_page(api: httpx.Client) -> None:
    response = api.get("/customers/G0000000001/loans")

    assert response.status_code == 200
    assert response.json() == {"total": 0, "limit": 100, "offset": 0, "items": []}


def test_tickets_latest_first_in_bank_time(api: httpx.Client) -> None:
    body = api.get("/customers/G0000000001/tickets").json()

    assert body["total"] == 2
    complaint, inquiry = body["items"]
    assert complaint["ticket_id"] == "T2"
    assert complaint["is_complaint"] is True and complaint["is_resolved"] is False
    assert complaint["created_at"] == "2026-11-27T10:00:00+08:00"
    assert "resolved_at" in complaint and complaint["resolved_at"] is None
    assert inquiry["first_response_minutes"] == 30.0
    assert inquiry["csat"] == 4


def test_pages_do_not_overlap(api: httpx.Client) -> None:
    first = api.get("/customers/G0000000001/accounts", params={"limit": 2}).json()
    second = api.get("/customers/G0000000001/accounts", params={"limit": 2, "offset": 2}).json()

    assert (first["total"], second["total"]) == (3, 3)
    numbers = [i["account_no"] for i in first["items"] + second["items"]]
    assert len(numbers) == len(set(numbers)) == 3


def test_household_for_a_steward_names_members_and_reasons(api: httpx.Client) -> None:
    body = api.get("/customers/G0000000001/household").json()

    assert body["total"] == 2
    assert [(i["member_golden_id"], i["link_reason"]) for i in body["items"]] == [
        ("G0000000003", "address"),
        ("G0000000004", "indirect"),
    ]


@pytest.mark.parametrize("role", ["app", "auditor", "admin"])
def test_household_members_are_absent_for_roles_outside_the_relationship(
    as_role: Callable[..., httpx.Client], role: str
) -> None:
    body = as_role(role).get("/customers/G0000000001/household").json()

    assert body["total"] == 2
    for item in body["items"]:
        assert set(item) == {"golden_id", "household_size"}


def test_household_held_to_a_branch_lists_only_that_branchs_members(
    serve_on: Callable[..., httpx.Client], tmp_path: Path
) -> None:
    """G…004 joins B0001 here; G…003 (B0002) must not show: a manager of B0001 would learn
    that a customer of another branch exists."""
    path = publish_snapshot(
        tmp_path / "serving.duckdb",
        customers=[*CUSTOMER_360, customer_360("G0000000004", branch_no="B0001")],
    )
    client = serve_on(path, identity_provider().headers("relationship_manager"))

    body = client.get("/customers/G0000000001/household").json()

    assert body["total"] == 1
    assert [i["member_golden_id"] for i in body["items"]] == ["G0000000004"]


@pytest.mark.parametrize("detail", DETAILS)
def test_detail_of_another_branchs_customer_is_404_like_an_unknown_one(
    as_role: Callable[..., httpx.Client], detail: str
) -> None:
    response = as_role("relationship_manager").get(f"/customers/G0000000003/{detail}")

    assert problem_detail(response, 404) == "customer 360 for G0000000003 not found"


@pytest.mark.parametrize("detail", DETAILS)
def test_detail_of_a_retired_customer_is_404_naming_the_survivor(
    api: httpx.Client, detail: str
) -> None:
    response = api.get(f"/customers/G0000000002/{detail}")

    assert problem_detail(response, 404).endswith("retired, merged into G0000000001")


@pytest.mark.parametrize("detail", DETAILS)
def test_detail_without_a_token_is_401(anonymous: httpx.Client, detail: str) -> None:
    assert anonymous.get(f"/customers/G0000000001/{detail}").status_code == 401


@pytest.mark.parametrize("detail", DETAILS)
def test_detail_page_size_is_bounded(api: httpx.Client, detail: str) -> None:
    response = api.get(f"/customers/G0000000001/{detail}", params={"limit": 501})

    assert "limit" in problem_detail(response, 422)


def test_detail_is_503_when_its_mart_was_not_published(
    serve_on: Callable[[Path], httpx.Client], tmp_path: Path
) -> None:
    client = serve_on(publish_snapshot(tmp_path / "serving.duckdb", details=None))

    detail = problem_detail(client.get("/customers/G0000000001/accounts"), 503)

    assert "customer_accounts" in detail


def test_each_detail_read_is_one_audit_event_naming_shown_members(
    as_role: Callable[..., httpx.Client], read_auditor: InMemoryReadAuditor
) -> None:
    client = as_role("steward")
    before = len(read_auditor.events)

    client.get("/customers/G0000000001/accounts")
    client.get("/customers/G0000000001/household")

    accounts, household = read_auditor.events[before:]
    assert accounts.endpoint == "GET /customers/{golden_id}/accounts"
    assert accounts.golden_ids == ("G0000000001",)
    assert household.golden_ids == ("G0000000001", "G0000000003", "G0000000004")
    assert "household_member.member_golden_id" in household.clear_fields
