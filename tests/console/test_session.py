"""Session cookies: signed, expiring, never carrying a credential; one key for every worker."""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.settings import Settings
from golden_record_api.console.session import SessionSigner, console_secret
from golden_record_api.principal import Principal

RM = Principal("rm-7", "user", "relationship_manager", frozenset(), "B0001", "RM0001")
SECRET = b"k" * 32


def test_a_cookie_gives_back_the_identity_it_was_issued_for() -> None:
    signer = SessionSigner(SECRET, timedelta(hours=1))
    cookie, issued = signer.issue(RM)
    session = signer.read(cookie)
    assert session == issued
    assert session.principal(frozenset({"records:read"})) == Principal(
        "rm-7", "user", "relationship_manager", frozenset({"records:read"}), "B0001", "RM0001"
    )


def test_tampered_foreign_and_expired_cookies_are_refused() -> None:
    signer = SessionSigner(SECRET, timedelta(hours=1))
    cookie, _ = signer.issue(RM)
    payload, mac = cookie.split(".")
    # Another role written into the payload: the signature no longer fits.
    forged = payload.replace(payload[5:9], "AAAA") + "." + mac
    assert signer.read(forged) is None
    assert SessionSigner(b"x" * 32, timedelta(hours=1)).read(cookie) is None
    assert signer.read(cookie, now=datetime.now(UTC) + timedelta(hours=2)) is None
    for junk in (None, "", "abc", "a.b.c", "eyJ9.x"):
        assert signer.read(junk) is None


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SessionSigner(b"short", timedelta(hours=1))


def test_workers_starting_together_share_one_private_generated_key(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "var")
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: console_secret(settings), range(16)))
    assert len(keys) == 1 and len(next(iter(keys))) >= 32
    mode = stat.S_IMODE(os.stat(tmp_path / "var" / "console_secret").st_mode)
    assert mode == 0o600
    assert [p.name for p in (tmp_path / "var").iterdir()] == ["console_secret"]


def test_a_configured_secret_is_used_as_given(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, console_secret="s" * 40)
    assert console_secret(settings) == b"s" * 40
    assert not (tmp_path / "console_secret").exists()
