"""The auditor's workspace over HTTP: runs, a run's report, the masked drill-down, sign-off and
export, on the console's small snapshot (`tests.console.conftest.add_quality_results`)."""

from __future__ import annotations

import io
import re

import openpyxl
import pandas as pd
import sqlalchemy as sa

from connectors.ops_store import audit_log, create_ops_engine
from connectors.signoffs import SignOffs
from tests.console.conftest import (
    CLEAR_ID,
    CLEAR_MOBILE,
    RUN_FAILED,
    RUN_FULL,
    RUN_FULL_OLD,
    RUN_PARTIAL,
    RUN_RUNNING,
    Console,
    csrf_of,
)


def _row(html: str, attribute: str, value: str) -> str:
    found = re.search(rf'<tr[^>]*{attribute}="{re.escape(value)}"[^>]*>(.*?)</tr>', html, re.S)
    assert found, f"no row {attribute}={value}"
    return found.group(0)


def _signoffs(console: Console, run_id: str) -> list:
    assert console.settings is not None
    store = SignOffs(console.settings.resolved_ops_url)
    try:
        return store.history(run_id)
    finally:
        store.dispose()


def test_the_runs_are_listed_newest_first_with_kind_and_status(console: Console) -> None:
    page = console.signed_in("auditor").get("/console/runs")
    assert page.status_code == 200
    listed = re.findall(r'<tr data-run="([^"]+)"', page.text)
    assert listed == [RUN_FULL, RUN_RUNNING, RUN_PARTIAL, RUN_FULL_OLD, RUN_FAILED]
    assert "运行中" in _row(page.text, "data-run", RUN_RUNNING)
    assert "部分" in _row(page.text, "data-run", RUN_PARTIAL)
    # The run list's rule column is as bad as its worst rule: red for a failed blocking rule.
    assert "band-poor" in _row(page.text, "data-run", RUN_PARTIAL)
    assert 'href="/console/runs"' in page.text  # in the auditor's menu


def test_a_report_colours_by_pass_and_fail_and_trends_full_runs_only(console: Console) -> None:
    client = console.signed_in("auditor")
    client.cookies.set("mdm_lang", "en", path="/console")
    page = client.get(f"/console/runs/{RUN_FULL}")
    assert page.status_code == 200
    # A 45 % share meeting its mark is green; a failed warning rule amber, not by score.
    low_but_passing = _row(page.text, "data-rule", "std.valid_resident_id_share")
    assert 'class="band-good"' in low_but_passing and ">pass<" in low_but_passing
    failed_warning = _row(page.text, "data-rule", "std.mobile_format")
    assert 'class="band-fair"' in failed_warning and ">fail<" in failed_warning
    assert 'id="verdict" class="band-fair"' in page.text
    in_trend = {
        run: ">yes<" in _row(page.text, "data-run", run)
        for run in (RUN_FULL, RUN_FULL_OLD, RUN_PARTIAL, RUN_FAILED)
    }
    assert in_trend == {RUN_FULL: True, RUN_FULL_OLD: True, RUN_PARTIAL: False, RUN_FAILED: False}
    assert "<polyline" in page.text  # the trend, drawn inline: no script, no CDN
    assert "http://" not in page.text and "https://" not in page.text


def test_the_drill_down_shows_failing_rows_masked(console: Console) -> None:
    for role in ("auditor", "admin"):
        page = console.signed_in(role).get(
            f"/console/runs/{RUN_FULL}/rules/std.valid_resident_id_share/core"
        )
        assert page.status_code == 200
        assert "core:C0001" in page.text
        assert CLEAR_ID not in page.text and CLEAR_ID[6:14] not in page.text
        assert re.search(r'data-field="value">130102\*+', page.text)
    mobile = console.signed_in("auditor").get(
        f"/console/runs/{RUN_FULL}/rules/std.mobile_format/crm"
    )
    assert CLEAR_MOBILE not in mobile.text and "crm:R0001" in mobile.text
    missing = console.signed_in("auditor").get(f"/console/runs/{RUN_FULL}/rules/nosuch.rule/core")
    assert missing.status_code == 404 and "nosuch.rule" in missing.text


def test_other_roles_are_refused_the_auditor_pages(console: Console) -> None:
    for role in ("relationship_manager", "steward"):
        client = console.signed_in(role)
        for path in (
            "/console/runs",
            f"/console/runs/{RUN_FULL}",
            f"/console/runs/{RUN_FULL}/export.csv",
        ):
            refused = client.get(path)
            assert refused.status_code == 403, (role, path)
            assert "audit:read" in refused.text
    # An admin reads the reports but cannot sign off: no form, and a post is refused.
    admin = console.signed_in("admin")
    page = admin.get(f"/console/runs/{RUN_FULL}")
    assert page.status_code == 200 and 'id="sign-off"' not in page.text
    token = csrf_of(page.text)  # the sign-out form's
    before = len(_signoffs(console, RUN_FULL))
    refused = admin.post(
        f"/console/runs/{RUN_FULL}/sign-off", data={"csrf": token, "verdict": "accepted"}
    )
    assert refused.status_code == 403 and "quality:signoff" in refused.text
    assert len(_signoffs(console, RUN_FULL)) == before


def test_a_sign_off_is_stored_superseded_and_checked(console: Console) -> None:
    client = console.signed_in("auditor", sub="auditor-signs")
    page = client.get(f"/console/runs/{RUN_FULL_OLD}")
    token = csrf_of(page.text)
    form = {"csrf": token, "verdict": "accepted", "comment": "checked the ID share"}
    first = client.post(f"/console/runs/{RUN_FULL_OLD}/sign-off", data=form)
    assert first.status_code == 303
    second = client.post(
        f"/console/runs/{RUN_FULL_OLD}/sign-off",
        data={**form, "verdict": "rejected", "comment": f"ID {CLEAR_ID} is wrong"},
    )
    assert second.status_code == 303
    mine = [s for s in _signoffs(console, RUN_FULL_OLD) if s.auditor == "auditor-signs"]
    assert [(s.verdict, s.status) for s in mine] == [
        ("accepted", "superseded"),
        ("rejected", "current"),
    ]
    assert mine[0].superseded_by == mine[1].signoff_id
    stored = len(_signoffs(console, RUN_FULL_OLD))
    shown = client.get(f"/console/runs/{RUN_FULL_OLD}")
    assert f'data-signoff="{mine[0].signoff_id}" data-status="superseded"' in shown.text
    # Refusals name what is wrong and never echo the comment.
    bare_rejection = client.post(
        f"/console/runs/{RUN_FULL_OLD}/sign-off", data={"csrf": token, "verdict": "rejected"}
    )
    assert bare_rejection.status_code == 422 and "rejection needs a comment" in bare_rejection.text
    running = client.post(f"/console/runs/{RUN_RUNNING}/sign-off", data=form)
    assert running.status_code == 422 and "still running" in running.text
    unknown = client.post("/console/runs/nosuch-run/sign-off", data=form)
    assert unknown.status_code == 404
    forged = client.post(f"/console/runs/{RUN_FULL_OLD}/sign-off", data={**form, "csrf": "x"})
    assert forged.status_code == 403
    assert len(_signoffs(console, RUN_FULL_OLD)) == stored  # no refused post was kept


def _exports(console: Console, run_id: str) -> list[tuple[str, str]]:
    assert console.settings is not None
    engine = create_ops_engine(console.settings.resolved_ops_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(audit_log.c.actor, audit_log.c.detail).where(
                    audit_log.c.action == "report.export", audit_log.c.target == f"run:{run_id}"
                )
            ).all()
    finally:
        engine.dispose()
    return [(str(actor), str(detail)) for actor, detail in rows]


def test_the_export_downloads_masked_csv_and_xlsx_and_is_audited(console: Console) -> None:
    client = console.signed_in("auditor", sub="auditor-exports")
    csv = client.get(f"/console/runs/{RUN_FULL}/export.csv")
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert f'filename="dq-{RUN_FULL}.csv"' in csv.headers["content-disposition"]
    table = pd.read_csv(io.BytesIO(csv.content), encoding="utf-8-sig", dtype=str)
    assert set(table["section"]) >= {"run", "rules", "failing_rows"}
    rules = table[table["section"] == "rules"]
    assert set(rules["rule_id"]) == {
        "raw.key_not_null",
        "std.valid_resident_id_share",
        "std.mobile_format",
    }
    failing = table[table["section"] == "failing_rows"]
    assert set(failing["row_key"]) == {"core:C0001", "crm:R0001"}
    assert CLEAR_ID not in csv.text and CLEAR_MOBILE not in csv.text
    assert "'=1+2 formula" in set(failing["detail"])  # a formula stays text for Excel

    xlsx = client.get(f"/console/runs/{RUN_FULL}/export.xlsx")
    assert xlsx.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)
    assert workbook.sheetnames == ["run", "rules", "failing_rows", "signoffs"]
    run_sheet = list(workbook["run"].iter_rows(values_only=True))
    assert run_sheet[1][0] == RUN_FULL

    assert _exports(console, RUN_FULL).count(("auditor-exports", "csv")) == 1
    assert _exports(console, RUN_FULL).count(("auditor-exports", "xlsx")) == 1
    assert client.get(f"/console/runs/{RUN_FULL}/export.pdf").status_code == 404
    assert client.get("/console/runs/nosuch-run/export.csv").status_code == 404
