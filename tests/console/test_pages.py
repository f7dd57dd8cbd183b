"""The console's pages over HTTP: sign-in, roles, branches, masking, forms and the audit."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from golden_record_api.console.i18n import LANGUAGES, MESSAGES
from golden_record_api.console.pages import customers as customers_page
from golden_record_api.console.pages.customers import (
    C360_FIELDS,
    DETAIL_FIELDS,
    LINK_REASONS,
    PROFILE_FIELDS,
)
from golden_record_api.console.session import SESSION_COOKIE
from golden_record_api.console.web import NAVIGATION, SECURITY_HEADERS
from golden_record_api.report_schemas import TASK_TYPES
from tests.api.conftest import app_on, identity_provider, serve
from tests.console.conftest import Console, csrf_of

TEMPLATES = Path(__file__).resolve().parents[2] / "golden_record_api" / "console" / "templates"
CLEAR_ID = "13010219850307003X"  # G0000000001's resident ID in the test snapshot
CLEAR_MOBILE = "13800138000"


def alert(response: httpx.Response) -> str:
    found = re.search(r'role="alert">(.*?)</p>', response.text, re.S)
    return found.group(1) if found else ""


def test_every_page_needs_a_sign_in_and_comes_back_after_it(console: Console) -> None:
    client = console.client()
    for path in ("/console/", "/console/customers", "/console/tasks", "/console/dashboard"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/console/sign-in?next=")
    token = console.idp.token("relationship_manager")
    response = client.post("/console/sign-in", data={"credential": token, "next": "/console/tasks"})
    assert (response.status_code, response.headers["location"]) == (303, "/console/tasks")


def test_console_answers_carry_the_security_headers_and_api_answers_do_not(
    console: Console,
) -> None:
    client = console.client()
    for path in ("/console/sign-in", "/console/", "/console/no-such-page"):
        response = client.get(path)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (path, name)
    health = client.get("/health")
    assert health.status_code == 200
    assert "Content-Security-Policy" not in health.headers


def test_a_failed_sign_in_says_why_without_repeating_the_credential(console: Console) -> None:
    client = console.client()
    expired = console.idp.token("steward", lifetime=-3600)
    for credential in (expired, "mdm_0123456789abcdef_" + "x" * 43, "not-a-token"):
        response = client.post("/console/sign-in", data={"credential": credential})
        assert response.status_code == 401
        assert alert(response)
        assert credential not in response.text
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_the_session_cookie_is_http_only_strict_and_scoped_to_the_console(
    console: Console,
) -> None:
    client = console.client()
    response = client.post("/console/sign-in", data={"credential": console.idp.token("steward")})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/console", "Max-Age=28800"):
        assert attribute.lower() in cookie.lower(), attribute
    # Only an identity, never the token it was proven with.
    assert console.idp.token("steward")[:40] not in cookie


def test_sign_in_never_redirects_to_another_site(console: Console) -> None:
    client = console.client()
    for target in (
        "https://evil.example/",
        "//evil.example/x",
        "/golden-records/x",
        "javascript:x",
    ):
        response = client.post(
            "/console/sign-in",
            data={"credential": console.idp.token("steward"), "next": target},
        )
        assert response.headers["location"] == "/console/", target


def test_pages_carry_a_strict_content_security_policy_and_no_outside_asset(
    console: Console,
) -> None:
    client = console.signed_in("relationship_manager")
    for path in ("/console/customers", "/console/tasks", "/console/dashboard"):
        response = client.get(path)
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-frame-options"] == "DENY"
        assert not re.search(r"""(src|href)=["']https?://""", response.text), path
        assert "<script>" not in response.text  # no inline script: the policy forbids it
        for asset in re.findall(
            r"""(?:src|href)=["'](/console/static/[^"']+)["']""", response.text
        ):
            assert client.get(asset).status_code == 200, asset


@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        ("relationship_manager", {"customers", "tasks", "dashboard"}, {"audit"}),
        ("app", {"customers"}, {"tasks", "dashboard", "audit"}),
        ("auditor", {"customers", "dashboard"}, {"tasks"}),
        ("admin", {"customers", "tasks", "dashboard"}, set()),
    ],
)
def test_each_role_gets_its_workspaces_and_a_403_page_elsewhere(
    console: Console, role: str, allowed: set[str], refused: set[str]
) -> None:
    client = console.signed_in(role)
    menu = client.get("/console/customers").text
    for page in allowed:
        assert client.get(f"/console/{page}").status_code == 200, page
        assert f'href="/console/{page}"' in menu, page
    for page in refused:
        response = client.get(f"/console/{page}")
        assert response.status_code == 403, page
        assert "scope" in alert(response)
        assert f'href="/console/{page}"' not in menu, page


def test_a_relationship_manager_sees_own_branch_only_and_identifiers_masked(
    console: Console,
) -> None:
    client = console.signed_in("relationship_manager")
    own = client.get("/console/customers/G0000000001")
    assert own.status_code == 200
    assert CLEAR_ID not in own.text
    assert "130102" in own.text and "003X" in own.text  # the masked form's visible ends
    assert "1985-03-07" not in own.text  # the birth date would rebuild the masked ID
    other_branch = client.get("/console/customers/G0000000003")
    assert other_branch.status_code == 404
    assert "G0000000003 not found" in alert(other_branch)


def test_a_steward_sees_identifiers_in_clear(console: Console) -> None:
    page = console.signed_in("steward").get("/console/customers/G0000000001").text
    assert CLEAR_ID in page and CLEAR_MOBILE in page
    assert "1985-03-07" in page and "00:00:00" not in page


def test_one_page_view_is_one_audit_event_naming_the_console_page(console: Console) -> None:
    client = console.signed_in("steward", sub="steward-audited")
    assert console.auditor is not None
    client.get("/console/customers/G0000000001")
    events = [e for e in console.auditor.events if e.principal.subject == "steward-audited"]
    assert len(events) == 1
    (event,) = events
    assert event.endpoint == "GET /console/customers/{golden_id}"
    # the household members the page shows in clear are named too: it told whom they live with
    assert event.golden_ids == ("G0000000001", "G0000000003", "G0000000004")
    assert "golden_record.id_number" in event.clear_fields
    assert "household_member.member_golden_id" in event.clear_fields


def _section(html: str, section: str) -> str:
    found = re.search(rf'<section class="card" id="{section}">(.*?)</section>', html, re.S)
    assert found, f"the page has no {section} section"
    return found.group(1)


def test_the_customer_page_lists_accounts_loans_tickets_for_the_relationship_manager(
    console: Console,
) -> None:
    page = console.signed_in("relationship_manager").get("/console/customers/G0000000001").text

    accounts = _section(page, "accounts")
    # the manager of the customer's branch works with the numbers and balances in clear
    assert "6222020000000002" in accounts and "50,000.00" in accounts
    assert "6222020000000009" in accounts and "CLOSED" in accounts
    assert "<sup>*</sup>" not in accounts
    assert "无" in _section(page, "loans")  # G…001 has no loans
    tickets = _section(page, "tickets")
    assert "T2" in tickets and "complaint" in tickets and "2026-11-27 10:00" in tickets
    # its household's other members are of other branches (or none): not shown to this branch
    household = _section(page, "household")
    assert "G0000000003" not in household and "G0000000004" not in household


def test_the_customer_page_masks_accounts_for_a_steward_and_links_household_members(
    console: Console,
) -> None:
    page = console.signed_in("steward").get("/console/customers/G0000000001").text

    accounts = _section(page, "accounts")
    assert "622202********0002<sup>*</sup>" in accounts
    assert "6222020000000002" not in page
    assert "50,000.00" not in accounts  # balances are the manager's business
    household = _section(page, "household")
    assert 'href="/console/customers/G0000000003"' in household
    assert 'href="/console/customers/G0000000004"' in household
    assert "同住址同姓" in household  # the link reason, in words


def test_a_detail_section_pages_through_every_row(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(customers_page, "DETAIL_ROWS", 2)  # G…001 has three accounts
    client = console.signed_in("steward")
    first = _section(client.get("/console/customers/G0000000001").text, "accounts")
    assert "1–2 / 3" in first
    assert 'href="?accounts_offset=2#accounts"' in first
    assert "accounts_offset=0" not in first  # no previous page
    second = client.get("/console/customers/G0000000001?accounts_offset=2")
    assert second.status_code == 200
    rows = _section(second.text, "accounts")
    assert "3–3 / 3" in rows
    assert rows.count("<tr>") == 2  # the header and the third account
    assert 'href="?accounts_offset=0#accounts"' in rows
    assert "accounts_offset=4" not in rows  # no next page
    assert client.get("/console/customers/G0000000001?accounts_offset=-1").status_code == 422


def test_the_customer_page_hides_household_members_from_an_auditor(console: Console) -> None:
    page = console.signed_in("auditor").get("/console/customers/G0000000001").text

    household = _section(page, "household")
    assert "G0000000003" not in household
    assert "您的角色不可查看家庭成员" in household
    assert "622202********0001" in _section(page, "accounts")


def test_search_posts_the_key_in_a_form_with_its_token_and_is_rate_limited_by_role(
    console: Console,
) -> None:
    client = console.signed_in("steward")
    token = csrf_of(client.get("/console/customers").text)
    found = client.post(
        "/console/customers", data={"csrf": token, "by": "resident_id", "value": CLEAR_ID}
    )
    assert found.status_code == 200
    assert 'href="/console/customers/G0000000001"' in found.text
    forged = client.post("/console/customers", data={"by": "name", "value": "张伟"})
    assert forged.status_code == 403
    assert "form" in alert(forged)
    other_site = client.post(
        "/console/customers",
        data={"csrf": token, "by": "name", "value": "张伟"},
        headers={"Origin": "https://evil.example"},
    )
    assert other_site.status_code == 403
    # A role without `lookup:exact` is offered the name only and refused the exact keys.
    auditor = console.signed_in("auditor")
    page = auditor.get("/console/customers").text
    assert 'value="resident_id"' not in page
    refused = auditor.post(
        "/console/customers",
        data={"csrf": csrf_of(page), "by": "resident_id", "value": CLEAR_ID},
    )
    assert refused.status_code == 403
    assert CLEAR_ID not in refused.text


def test_an_unusable_search_value_is_a_message_not_an_echo(console: Console) -> None:
    client = console.signed_in("steward")
    token = csrf_of(client.get("/console/customers").text)
    response = client.post(
        "/console/customers", data={"csrf": token, "by": "mobile", "value": "12345"}
    )
    assert response.status_code == 422
    assert "mobile" in alert(response) and "12345" not in alert(response)


def test_a_relationship_manager_lists_own_tasks_linking_to_the_customer(
    console: Console,
) -> None:
    page = console.signed_in("relationship_manager").get("/console/tasks").text
    assert 'data-task="TASK-1"' in page
    assert 'data-task="TASK-2"' not in page  # another manager's task at the same branch
    assert 'data-task="TASK-3"' not in page
    assert 'href="/console/customers/G0000000001"' in page


def test_the_dashboard_rolls_the_daily_marts_up_by_month_within_the_branch(
    console: Console,
) -> None:
    admin = console.signed_in("admin").get("/console/dashboard").text
    data = re.search(r'id="chart-data">(.*?)</script>', admin, re.S)
    assert data and '"months": ["2026-11"]' in data.group(1)
    assert "B0101" in admin and "B0202" in admin
    # A relationship manager's branch has no service rows in this snapshot: none of the others.
    rm = console.signed_in("relationship_manager").get("/console/dashboard").text
    assert "B0101" not in rm and "B0202" not in rm
    refused = console.signed_in("relationship_manager").get("/console/dashboard?branch=B0101")
    assert refused.status_code == 403


def test_the_language_switch_changes_the_words_and_stays_on_the_page(console: Console) -> None:
    client = console.signed_in("steward")
    assert "客户查询" in client.get("/console/customers").text
    switched = client.get("/console/lang/en?next=/console/customers")
    assert switched.headers["location"] == "/console/customers"
    assert "Find a customer" in client.get("/console/customers").text
    client.get("/console/lang/zh?next=/console/customers")


def test_sign_out_ends_the_session(console: Console) -> None:
    client = console.signed_in("steward")
    token = csrf_of(client.get("/console/customers").text)
    assert client.post("/console/sign-out", data={"csrf": token}).status_code == 303
    assert client.get("/console/customers").status_code == 303


def test_every_word_a_template_uses_is_there_in_both_languages() -> None:
    used: set[str] = set()
    for template in TEMPLATES.rglob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_.]+)["']\s*\)""", template.read_text()))
    # Keys templates build from a value: the values each can take.
    used |= {item.label for item in NAVIGATION}
    used |= {f"lang.{code}" for code in LANGUAGES}
    used |= {f"customers.by.{key}" for key in ("name", "resident_id", "mobile")}
    used |= {f"field.{field}" for field in PROFILE_FIELDS}
    used |= {f"c360.{field}" for field in C360_FIELDS}
    used |= {f"customer.{section}" for section in DETAIL_FIELDS}
    for section in ("accounts", "loans", "tickets"):  # the household lists links, no columns
        used |= {f"{section}.{field}" for field in DETAIL_FIELDS[section][1]}
    used |= {f"household.reason.{reason}" for reason in LINK_REASONS}
    used |= {f"task.{task_type}" for task_type in TASK_TYPES}
    missing = sorted(key for key in used if key not in MESSAGES)
    assert not missing, missing
    for key, words in MESSAGES.items():
        assert len(words) == len(LANGUAGES) and all(words), key


def test_an_auditor_finds_a_console_read_in_the_chained_audit_trail(
    console_snapshot: Path, tmp_path: Path
) -> None:
    # The ops-store auditor (the default), with its store in this test's own folder.
    with serve(app_on(console_snapshot, home=tmp_path / "var")) as plain:
        running = Console(str(plain.base_url), None, identity_provider())
        running.signed_in("steward", sub="steward-read").get("/console/customers/G0000000001")
        auditor = running.signed_in("auditor")
        deadline = time.monotonic() + 10
        while True:
            page = auditor.get("/console/audit", params={"golden_id": "G0000000001"})
            assert page.status_code == 200, page.text
            if "steward-read" in page.text or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert "steward-read" in page.text
        assert "GET /console/customers/{golden_id}" in page.text
        assert "id_number" in page.text  # the clear fields the steward was shown
        bad = auditor.get("/console/audit", params={"since": "yesterday"})
        assert bad.status_code == 422 and "since" in alert(bad)
        assert running.signed_in("relationship_manager").get("/console/audit").status_code == 403
        running.close()
