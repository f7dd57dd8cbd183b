"""The read audit chain in the ops store, on SQLite and on PostgreSQL.

Tampering is done the way an intruder with database access would: drop the append-only
triggers, then edit, delete or swap rows; `verify()` must name the first row that broke.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from connectors.audit_log import (
    GENESIS_HASH,
    AuditFilter,
    QueuedAuditWriter,
    ReadAuditLog,
    ReadAuditRow,
    chain_hash,
)

BEIJING = timezone(timedelta(hours=8))
T0 = datetime(2026, 12, 1, 9, 30, 0, 123456, tzinfo=BEIJING)


def row(n: int = 0, *, subject: str = "rm-1", golden_ids: tuple[str, ...] = ("G0000000001",)):
    return ReadAuditRow(
        occurred_at=T0 + timedelta(minutes=n),
        subject=subject,
        principal_kind="user",
        role="relationship_manager",
        endpoint="GET /golden-records/{golden_id}",
        golden_ids=golden_ids,
        clear_fields=("name", "address"),
        purpose="loan review",
        status_code=200,
    )


@pytest.fixture(params=["sqlite", "postgres"])
def ops_url(request, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ops.sqlite'}"
    return str(request.getfixturevalue("postgres_database"))


@pytest.fixture
def audit_log(ops_url: str) -> Iterator[ReadAuditLog]:
    log = ReadAuditLog(ops_url)
    yield log
    log.dispose()


def drop_triggers(log: ReadAuditLog) -> None:
    with log.engine.begin() as connection:
        if log.engine.dialect.name == "sqlite":
            for table in ("read_audit", "read_audit_golden_ids", "read_audit_keying"):
                for operation in ("update", "delete"):
                    connection.exec_driver_sql(f"drop trigger {table}_no_{operation}")
        else:
            for table in ("read_audit", "read_audit_golden_ids", "read_audit_keying"):
                connection.exec_driver_sql(f"drop trigger {table}_append_only on {table}")


def test_appended_rows_form_a_chain_that_verifies(audit_log):
    assert audit_log.append([row(0), row(1)]) == 2
    assert audit_log.append([row(2, golden_ids=("G0000000003", "G0000000004"))]) == 3

    check = audit_log.verify()
    assert (check.ok, check.rows, check.head_seq) == (True, 3, 3)
    _, stored = audit_log.list(AuditFilter())
    assert [s.seq for s in stored] == [1, 2, 3]
    assert stored[0].prev_hash == GENESIS_HASH
    assert stored[1].prev_hash == stored[0].row_hash
    assert stored[2].row_hash == chain_hash(stored[1].row_hash, 3, stored[2].row)
    assert check.head_hash == stored[2].row_hash


def test_times_round_trip_as_the_same_instant_with_a_zone(audit_log):
    audit_log.append([row(0)])
    _, (stored,) = audit_log.list(AuditFilter())
    assert stored.row.occurred_at == T0  # same instant, to the microsecond
    assert stored.row.occurred_at.utcoffset() == timedelta(0)


def test_a_naive_time_is_refused(audit_log):
    naive = ReadAuditRow(T0.replace(tzinfo=None), "x", "user", "app", "GET /x", (), (), None, 200)
    with pytest.raises(ValueError, match="timezone-aware"):
        audit_log.append([naive])
    assert audit_log.count() == 0


def test_the_database_refuses_update_and_delete(audit_log):
    audit_log.append([row(0)])
    for statement in (
        "update read_audit set subject = 'someone else'",
        "delete from read_audit",
        "delete from read_audit_golden_ids",
        "update read_audit_golden_ids set golden_id = 'G0000000009'",
    ):
        with (
            pytest.raises(sa.exc.DBAPIError, match="append-only"),
            audit_log.engine.begin() as connection,
        ):
            connection.exec_driver_sql(statement)
    assert audit_log.verify().ok
    assert audit_log.count() == 1


def test_an_edited_row_breaks_the_chain_at_that_row(audit_log):
    audit_log.append([row(n) for n in range(5)])
    drop_triggers(audit_log)
    with audit_log.engine.begin() as connection:
        connection.exec_driver_sql("update read_audit set purpose = 'curiosity' where seq = 3")
    check = audit_log.verify()
    assert (check.first_broken_seq, check.reason) == (3, "its content does not match its hash")
    assert check.head_seq == 2


def test_an_edit_that_recomputes_the_rows_hash_breaks_the_next_link(audit_log):
    audit_log.append([row(n) for n in range(4)])
    _, stored = audit_log.list(AuditFilter())
    forged = ReadAuditRow(**{**stored[1].row.__dict__, "subject": "nobody"})
    drop_triggers(audit_log)
    with audit_log.engine.begin() as connection:
        connection.execute(
            sa.text("update read_audit set subject = 'nobody', row_hash = :h where seq = 2"),
            {"h": chain_hash(stored[1].prev_hash, 2, forged)},
        )
    check = audit_log.verify()
    assert (check.first_broken_seq, check.reason) == (
        3,
        "its link to the previous row does not match",
    )


def test_a_deleted_row_is_found(audit_log):
    audit_log.append([row(n) for n in range(5)])
    drop_triggers(audit_log)
    with audit_log.engine.begin() as connection:
        connection.exec_driver_sql("delete from read_audit_golden_ids where seq = 2")
        connection.exec_driver_sql("delete from read_audit where seq = 2")
    check = audit_log.verify()
    assert check.first_broken_seq == 2
    assert check.reason == "row 2 is missing (next row is 3)"


def test_reordered_rows_are_found(audit_log):
    audit_log.append([row(n, subject=f"user-{n}") for n in range(4)])
    drop_triggers(audit_log)
    with audit_log.engine.begin() as connection:  # swap rows 2 and 3 wholesale
        connection.exec_driver_sql("update read_audit set seq = -1 where seq = 2")
        connection.exec_driver_sql("update read_audit set seq = 2 where seq = 3")
        connection.exec_driver_sql("update read_audit set seq = 3 where seq = -1")
    assert audit_log.verify().first_broken_seq == 2


def test_a_hidden_read_in_the_golden_id_index_is_found(audit_log):
    """Dropping a row from the index would hide a read from "who read G…?"."""
    audit_log.append([row(0), row(1, golden_ids=("G0000000002", "G0000000003"))])
    drop_triggers(audit_log)
    with audit_log.engine.begin() as connection:
        connection.exec_driver_sql(
            "delete from read_audit_golden_ids where seq = 2 and golden_id = 'G0000000003'"
        )
    check = audit_log.verify()
    assert (check.first_broken_seq, check.reason) == (
        2,
        "the golden-ID index does not match the row",
    )


def test_list_filters_by_subject_golden_id_and_time_and_pages_by_seq(audit_log):
    audit_log.append(
        [
            row(0, subject="rm-1", golden_ids=("G0000000001",)),
            row(10, subject="rm-2", golden_ids=("G0000000001", "G0000000003")),
            row(20, subject="rm-1", golden_ids=("G0000000003",)),
            row(30, subject="app-1", golden_ids=()),
        ]
    )
    assert [s.seq for s in audit_log.list(AuditFilter(subject="rm-1"))[1]] == [1, 3]
    assert [s.seq for s in audit_log.list(AuditFilter(golden_id="G0000000003"))[1]] == [2, 3]
    window = AuditFilter(since=T0 + timedelta(minutes=10), until=T0 + timedelta(minutes=30))
    assert [s.seq for s in audit_log.list(window)[1]] == [2, 3]  # until is exclusive
    # The same window written in UTC finds the same rows.
    utc = AuditFilter(since=window.since.astimezone(UTC), until=window.until.astimezone(UTC))
    assert [s.seq for s in audit_log.list(utc)[1]] == [2, 3]
    total, first = audit_log.list(AuditFilter(), limit=2)
    assert (total, [s.seq for s in first]) == (4, [1, 2])
    total, rest = audit_log.list(AuditFilter(), after_seq=2, limit=2)
    assert (total, [s.seq for s in rest]) == (4, [3, 4])


def _append_many(url: str, subject: str, batches: int) -> None:
    log = ReadAuditLog(url)
    for n in range(batches):
        log.append([row(n, subject=subject), row(n, subject=subject)])
    log.dispose()


def test_two_processes_appending_at_once_keep_one_valid_chain(audit_log, ops_url):
    # Created here first, so the workers only append (as API workers do after startup).
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_append_many, args=(ops_url, f"worker-{n}", 60)) for n in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    check = audit_log.verify()
    assert (check.ok, check.rows) == (True, 240)
    subjects = {s.row.subject for s in audit_log.list(AuditFilter(), limit=240)[1]}
    assert subjects == {"worker-0", "worker-1"}


def test_workers_starting_at_once_on_a_fresh_store_create_it_once_and_share_the_chain(ops_url):
    # No table exists yet: each process creates the tables (under the append lock) and appends.
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_append_many, args=(ops_url, f"worker-{n}", 10)) for n in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    log = ReadAuditLog(ops_url)
    try:
        assert (log.verify().ok, log.count()) == (True, 60)
    finally:
        log.dispose()


def test_the_queued_writer_flushes_everything_on_close(audit_log):
    writer = QueuedAuditWriter(audit_log, batch_size=7)
    writer.start()
    for n in range(50):
        assert writer.submit(row(n))
    writer.close()
    stats = writer.stats()
    assert (stats.submitted, stats.written, stats.dropped, stats.queued) == (50, 50, 0, 0)
    assert audit_log.verify().rows == 50


def test_a_full_queue_drops_and_counts_instead_of_blocking(audit_log):
    writer = QueuedAuditWriter(audit_log, max_queue=3, put_timeout=0.01)  # thread not started
    started = time.monotonic()
    accepted = [writer.submit(row(n)) for n in range(5)]
    assert time.monotonic() - started < 1
    assert accepted == [True, True, True, False, False]
    assert writer.stats().dropped == 2
    writer.close()  # without a thread, close appends what is queued in the caller
    assert audit_log.count() == 3


def test_an_invented_read_in_the_golden_id_index_is_found_without_dropping_a_trigger(audit_log):
    """Inserts are allowed, so the index is where a forger would add a read: verify sees it."""
    audit_log.append([row(0), row(1)])
    with audit_log.engine.begin() as connection:
        connection.exec_driver_sql(
            "insert into read_audit_golden_ids (golden_id, seq) values ('G0000000009', 1)"
        )
    assert audit_log.verify().first_broken_seq == 1


def test_an_index_row_past_the_head_is_found(audit_log):
    audit_log.append([row(0)])
    with audit_log.engine.begin() as connection:
        connection.exec_driver_sql(
            "insert into read_audit_golden_ids (golden_id, seq) values ('G0000000009', 7)"
        )
    check = audit_log.verify()
    assert (check.first_broken_seq, check.rows) == (7, 1)
    assert check.reason == "the golden-ID index names a row that is not there"


def test_verify_walks_a_chain_longer_than_one_page(audit_log):
    audit_log.append([row(n, golden_ids=(f"G{n:010d}",)) for n in range(25)])
    assert audit_log.verify(batch_size=4).rows == 25
    drop_triggers(audit_log)
    with audit_log.engine.begin() as connection:
        connection.exec_driver_sql("update read_audit set status_code = 500 where seq = 18")
    assert audit_log.verify(batch_size=4).first_broken_seq == 18


# --- the keyed chain (MDM_AUDIT_KEY) -----------------------------------------------------

KEY = b"a key only the API and the auditors hold"


def rechain_plainly(log: ReadAuditLog, subject: str) -> None:
    """What an intruder without the key can do: rewrite every row and recompute the chain
    with plain sha256, marking each row `sha256` and deleting the keying marker."""
    _, stored = log.list(AuditFilter(), limit=1000)
    drop_triggers(log)
    prev_hash = GENESIS_HASH
    with log.engine.begin() as connection:
        connection.exec_driver_sql("delete from read_audit_keying")
        for entry in stored:
            forged = ReadAuditRow(**{**entry.row.__dict__, "subject": subject})
            row_hash = chain_hash(prev_hash, entry.seq, forged)
            connection.execute(
                sa.text(
                    "update read_audit set subject = :s, prev_hash = :p, row_hash = :h,"
                    " scheme = 'sha256' where seq = :q"
                ),
                {"s": subject, "p": prev_hash, "h": row_hash, "q": entry.seq},
            )
            prev_hash = row_hash


def test_a_keyed_chain_verifies_under_its_key_and_not_without_it(ops_url):
    keyed = ReadAuditLog(ops_url, key=KEY)
    keyed.append([row(n) for n in range(3)])
    plain = ReadAuditLog(ops_url)

    assert keyed.verify().ok and keyed.verify().rows == 3
    # Without the key the HMACs cannot be checked: that is said, not passed over.
    check = plain.verify()
    assert (check.first_broken_seq, check.reason) == (
        1,
        "the row is HMAC-keyed: set MDM_AUDIT_KEY to verify it",
    )
    # Under another key the marker is no marker.
    assert ReadAuditLog(ops_url, key=b"another key").verify().first_broken_seq == 1
    for log in (keyed, plain):
        log.dispose()


def test_a_rewrite_rechained_with_plain_sha256_fails_under_the_key(ops_url):
    keyed = ReadAuditLog(ops_url, key=KEY)
    keyed.append([row(n) for n in range(4)])
    rechain_plainly(keyed, "nobody")

    # The forgery is a perfectly good plain chain: only the key tells it from the original.
    assert ReadAuditLog(ops_url).verify().ok
    check = keyed.verify()
    assert not check.ok
    assert check.first_broken_seq == 1 and "no keying marker" in (check.reason or "")
    keyed.dispose()


def test_a_rewrite_that_keeps_the_marker_fails_at_the_first_keyed_row(ops_url):
    keyed = ReadAuditLog(ops_url, key=KEY)
    keyed.append([row(n) for n in range(3)])
    _, stored = keyed.list(AuditFilter())
    drop_triggers(keyed)
    forged = ReadAuditRow(**{**stored[1].row.__dict__, "subject": "nobody"})
    with keyed.engine.begin() as connection:
        connection.execute(
            sa.text("update read_audit set subject = 'nobody', row_hash = :h where seq = 2"),
            {"h": chain_hash(stored[1].prev_hash, 2, forged)},
        )
    assert (keyed.verify().first_broken_seq, keyed.verify().reason) == (
        2,
        "its content does not match its hash",
    )
    keyed.dispose()


def test_an_unkeyed_chain_stays_verifiable_after_the_key_is_set(ops_url):
    plain = ReadAuditLog(ops_url)
    plain.append([row(n) for n in range(2)])  # written before MDM_AUDIT_KEY was set
    keyed = ReadAuditLog(ops_url, key=KEY)
    keyed.append([row(n) for n in range(2, 5)])

    check = keyed.verify()
    assert check.ok and check.rows == 5
    _, stored = keyed.list(AuditFilter())
    assert [entry.scheme for entry in stored] == ["sha256"] * 2 + ["hmac-sha256"] * 3
    # A keyed row downgraded to a plain one (hash recomputed) is refused where it stands.
    drop_triggers(keyed)
    with keyed.engine.begin() as connection:
        connection.execute(
            sa.text("update read_audit set scheme = 'sha256', row_hash = :h where seq = 5"),
            {"h": chain_hash(stored[4].prev_hash, 5, stored[4].row)},
        )
    assert (keyed.verify().first_broken_seq, keyed.verify().reason) == (
        5,
        "the row says sha256 where the chain is hmac-sha256",
    )
    for log in (plain, keyed):
        log.dispose()


def test_a_store_from_before_the_scheme_column_gains_it_and_still_verifies(tmp_path):
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    old = ReadAuditLog(url)
    old.append([row(n) for n in range(2)])
    drop_triggers(old)
    with old.engine.begin() as connection:
        connection.exec_driver_sql("alter table read_audit drop column scheme")
    old.dispose()

    reopened = ReadAuditLog(url, key=KEY)
    reopened.append([row(2)])
    assert reopened.verify().ok and reopened.verify().rows == 3
    reopened.dispose()
