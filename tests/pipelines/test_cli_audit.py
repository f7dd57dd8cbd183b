"""`mdm audit verify` and `mdm audit list` on an ops store of their own (SQLite and PostgreSQL).

The tampering is what an intruder with the database file would do: drop the append-only
trigger with the plain sqlite3 module (or psql), then edit one row.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from connectors.audit_log import ReadAuditLog, ReadAuditRow
from connectors.settings import Settings
from connectors.urls import sqlalchemy_url
from pipelines import cli

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def ops_url(request, tmp_path, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    url = (
        f"sqlite:///{tmp_path / 'ops.sqlite'}"
        if request.param == "sqlite"
        else str(request.getfixturevalue("postgres_database"))
    )
    settings = Settings(home=tmp_path / "var", ops_url=url)
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    log = ReadAuditLog(url)
    log.append(
        [
            ReadAuditRow(
                T0 + timedelta(hours=n),
                subject,
                "user",
                "relationship_manager",
                "GET /rm-tasks",
                golden_ids,
                ("account_no",),
                "follow-up",
                200,
            )
            for n, (subject, golden_ids) in enumerate(
                [
                    ("rm-liu", ("G0000000001",)),
                    ("rm-chen", ("G0000000003",)),
                    ("rm-liu", ("G0000000003", "G0000000004")),
                ]
            )
        ]
    )
    log.dispose()
    return url


def tamper(url: str, statement: str) -> None:
    if url.startswith("sqlite:///"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        connection.execute("drop trigger read_audit_no_update")
        connection.execute(statement)
        connection.commit()
        connection.close()
        return
    engine = sa.create_engine(sqlalchemy_url(url))
    with engine.begin() as connection:
        connection.exec_driver_sql("drop trigger read_audit_append_only on read_audit")
        connection.exec_driver_sql(statement)
    engine.dispose()


def test_verify_passes_an_intact_chain_with_a_one_line_summary(ops_url, capsys):
    assert cli.main(["audit", "verify"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert out[0].startswith(
        "read audit chain intact (sha256, unkeyed): 3 row(s), head seq 3, head hash "
    )


def test_verify_fails_naming_the_first_tampered_row(ops_url, capsys):
    tamper(ops_url, "update read_audit set subject = 'someone-else' where seq = 2")
    assert cli.main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert (
        "BROKEN at seq 2: its content does not match its hash (1 row(s) before it verified)" in err
    )


def test_list_filters_by_subject_golden_id_and_time(ops_url, capsys):
    assert cli.main(["audit", "list", "--subject", "rm-liu"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "2 audited read(s) match; showing 2 from seq 1"
    assert out[1].startswith("#1 2026-12-01T01:00:00+00:00 rm-liu (user, relationship_manager)")
    assert out[2].endswith("golden=G0000000003,G0000000004 clear=account_no purpose=follow-up")

    assert cli.main(["audit", "list", "--golden-id", "G0000000003", "--limit", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "2 audited read(s) match; showing 1 from seq 1"
    assert out[1].startswith("#2 ")

    window = ["--since", "2026-12-01T10:00:00+08:00", "--until", "2026-12-01T03:00:00Z"]
    assert cli.main(["audit", "list", *window]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out[1:]] == ["#2"]


def test_list_refuses_a_time_without_an_offset(ops_url, capsys):
    assert cli.main(["audit", "list", "--since", "2026-12-01T10:00:00"]) == 2
    assert "needs a UTC offset" in capsys.readouterr().err


def test_verify_checks_a_keyed_chain_under_mdm_audit_key(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    settings = Settings(home=tmp_path / "var", ops_url=url, audit_key=SecretStr("k-2026"))
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    log = ReadAuditLog(url, key=settings.audit_key_bytes)
    log.append(
        [
            ReadAuditRow(
                T0, "rm-liu", "user", "relationship_manager", "GET /rm-tasks", (), (), None, 200
            )
        ]
    )
    log.dispose()

    assert cli.main(["audit", "verify"]) == 0
    assert "intact (HMAC-SHA256 under MDM_AUDIT_KEY): 1 row(s)" in capsys.readouterr().out
    # The same chain checked without the key cannot pass: its row is an HMAC.
    monkeypatch.setattr(cli, "get_settings", lambda: Settings(home=tmp_path / "var", ops_url=url))
    assert cli.main(["audit", "verify"]) == 1
    assert "set MDM_AUDIT_KEY to verify it" in capsys.readouterr().err
