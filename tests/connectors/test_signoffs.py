"""Auditors' sign-offs of runs in the ops store, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
import sqlalchemy as sa

from connectors.signoffs import (
    SignOffConflictError,
    SignOffInvalidError,
    SignOffs,
)


@pytest.fixture(params=["sqlite", "postgres"])
def signoffs(request, tmp_path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_database")
    store = SignOffs(url)
    yield store
    store.dispose()


def test_a_sign_off_is_kept_with_run_auditor_time_comment_and_verdict(signoffs):
    at = datetime(2026, 11, 28, 9, 30)
    signed = signoffs.sign("run-2", "auditor.li", "accepted", "scores as expected", now=lambda: at)
    (stored,) = signoffs.current("run-2")
    assert stored == signed
    assert (stored.run_id, stored.auditor, stored.verdict) == ("run-2", "auditor.li", "accepted")
    assert (stored.comment, stored.signed_at, stored.status) == (
        "scores as expected",
        at,
        "current",
    )
    assert signoffs.current("run-1") == []


def test_signing_again_supersedes_the_earlier_sign_off_and_keeps_it(signoffs):
    first = signoffs.sign("run-2", "auditor.li", "accepted", "")
    second = signoffs.sign("run-2", "auditor.li", "rejected", "crm keys duplicated")
    other = signoffs.sign("run-2", "auditor.wang", "accepted", "ok")
    # One current sign-off per auditor and run; the first is kept, pointing to its successor.
    assert [(s.auditor, s.verdict) for s in signoffs.current("run-2")] == [
        ("auditor.li", "rejected"),
        ("auditor.wang", "accepted"),
    ]
    history = signoffs.history("run-2", auditor="auditor.li")
    assert [(s.signoff_id, s.status, s.superseded_by) for s in history] == [
        (first.signoff_id, "superseded", second.signoff_id),
        (second.signoff_id, "current", None),
    ]
    assert set(signoffs.latest_by_run()) == {"run-2"}
    assert other in signoffs.latest_by_run()["run-2"]
    # Each sign-off is in the ops store's audit log too, without its comment.
    with signoffs.engine.connect() as connection:
        logged = connection.execute(
            sa.text("select actor, action, target, detail from audit_log order by audit_id")
        ).all()
    assert [tuple(row) for row in logged] == [
        ("auditor.li", "signoff.accepted", "run:run-2", None),
        ("auditor.li", "signoff.rejected", "run:run-2", f"supersedes sign-off #{first.signoff_id}"),
        ("auditor.wang", "signoff.accepted", "run:run-2", None),
    ]


@pytest.mark.parametrize(
    ("run_id", "auditor", "verdict", "comment", "message"),
    [
        ("", "a", "accepted", "", "needs the run"),
        ("run-2", " ", "accepted", "", "needs the auditor"),
        ("run-2", "a", "approved", "", "unknown verdict 'approved'"),
        ("run-2", "a", "rejected", "  ", "a rejection needs a comment"),
        ("run-2", "a", "accepted", "x" * 4001, "at most 4000"),
    ],
)
def test_a_malformed_sign_off_is_refused_with_what_is_wrong(
    signoffs, run_id, auditor, verdict, comment, message
):
    with pytest.raises(SignOffInvalidError, match=message):
        signoffs.sign(run_id, auditor, verdict, comment)
    assert signoffs.history() == []


def test_a_rejection_comment_never_reaches_an_error_message(signoffs):
    with pytest.raises(SignOffInvalidError) as raised:
        signoffs.sign("run-2", "a", "rejected", "1" * 4001)
    assert "1111" not in str(raised.value)


def test_concurrent_sign_offs_leave_exactly_one_current_per_auditor(signoffs):
    outcomes: list[str] = []

    def sign(verdict: str) -> None:
        try:
            signoffs.sign("run-2", "auditor.li", verdict, "at once")
            outcomes.append("ok")
        except SignOffConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=sign, args=(v,)) for v in ("accepted", "rejected") * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 6
    assert len(signoffs.current("run-2")) == 1
    # Every sign-off that went through is kept; all but the last are superseded.
    history = signoffs.history("run-2")
    assert len(history) == outcomes.count("ok")
    assert [s.status for s in history].count("current") == 1
