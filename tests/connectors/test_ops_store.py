"""Steward decisions in the ops store, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from connectors.ops_store import (
    Decision,
    DecisionConflictError,
    DecisionContradictionError,
    DecisionInvalidError,
    DecisionNotFoundError,
    DecisionStateError,
    OpsStore,
)
from matching.stewardship import constraints_from_decisions


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_database")
    ops = OpsStore(url)
    yield ops
    ops.dispose()


XREF = pd.DataFrame(
    {
        "record_key": ["core:1", "crm:1", "credit:1", "core:2", "crm:2"],
        "golden_id": ["G0000000001", "G0000000001", "G0000000001", "G0000000002", "G0000000002"],
    }
)


def test_a_decision_is_stored_with_who_when_and_why(store):
    decision_id = store.record_decision(
        Decision("same", "王敏", "same ID on scan", record_key_l="crm:2", record_key_r="core:1")
    )
    stored = store.decisions().set_index("decision_id").loc[decision_id]
    # Pair keys are stored ordered, so (a, b) and (b, a) are one subject.
    assert (stored["record_key_l"], stored["record_key_r"]) == ("core:1", "crm:2")
    assert stored["steward"] == "王敏"
    assert stored["reason"] == "same ID on scan"
    assert stored["status"] == "active"
    assert store.latest_decision_id() == decision_id


def test_deciding_the_same_pair_twice_is_a_conflict_not_an_overwrite(store):
    store.record_decision(Decision("same", "a", "r", record_key_l="core:1", record_key_r="crm:2"))
    with pytest.raises(DecisionConflictError, match="already decided 'same'"):
        store.record_decision(
            Decision("different", "b", "r", record_key_l="crm:2", record_key_r="core:1")
        )
    assert len(store.decisions()) == 1


def test_concurrent_decisions_on_one_pair_let_exactly_one_through(store):
    outcomes: list[str] = []

    def decide(steward: str) -> None:
        try:
            store.record_decision(
                Decision("same", steward, "r", record_key_l="core:1", record_key_r="crm:2")
            )
            outcomes.append("ok")
        except DecisionConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=decide, args=(f"s{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "ok"]
    assert len(store.decisions()) == 1


def test_a_chain_of_same_decisions_across_a_different_is_refused(store):
    store.record_decision(Decision("same", "a", "r", record_key_l="core:1", record_key_r="crm:9"))
    store.record_decision(
        Decision("different", "a", "r", record_key_l="core:1", record_key_r="credit:7")
    )
    with pytest.raises(DecisionContradictionError, match=r"#1, #2|#2, #1"):
        store.record_decision(
            Decision("same", "b", "r", record_key_l="crm:9", record_key_r="credit:7")
        )


def test_merging_golden_records_a_split_keeps_apart_is_refused(store):
    store.record_decision(
        Decision("split", "a", "wrong person", record_key_l="crm:1", golden_id="G0000000001")
    )
    # crm:1 must stay apart from core:1 and credit:1; merging G1 with a golden record that
    # holds crm:1 would put them back together.
    xref = XREF.assign(
        golden_id=XREF["golden_id"].where(XREF["record_key"] != "crm:1", "G0000000003")
    )
    with pytest.raises(DecisionContradictionError):
        store.record_decision(
            Decision("merge", "b", "r", golden_id="G0000000001", related_golden_id="G0000000003"),
            xref=xref,
            records=xref[["record_key"]],  # no IDs or names: nothing makes the merge risky
        )


@pytest.mark.parametrize(
    ("decision", "message"),
    [
        (Decision("maybe", "a", "r", record_key_l="x", record_key_r="y"), "unknown decision type"),
        (Decision("same", "", "r", record_key_l="x", record_key_r="y"), "steward"),
        (Decision("same", "a", " ", record_key_l="x", record_key_r="y"), "reason"),
        (Decision("same", "a", "r", record_key_l="x", record_key_r="x"), "two different"),
        (Decision("merge", "a", "r", golden_id="G1"), "two different golden IDs"),
    ],
)
def test_malformed_decisions_are_refused_with_a_message(store, decision, message):
    with pytest.raises(DecisionInvalidError, match=message):
        store.record_decision(decision)


# Party records behind XREF: core:2 and crm:2 (G2) share one valid ID and one name; core:1's
# ID is valid and another.
PARTY = pd.DataFrame(
    {
        "record_key": ["core:1", "crm:1", "credit:1", "core:2", "crm:2"],
        "name": ["李娜", "李娜", "李娜", "王敏", "王敏"],
        "id_number": [
            "110101199001011234",
            None,
            None,
            "130102197602100027",
            "130102197602100027",
        ],
        "id_valid": [True, False, False, True, True],
        "source_trust": [1, 3, 2, 1, 3],
    }
)
CHECKED = {"xref": XREF, "records": PARTY}


def test_a_record_key_not_in_the_cross_reference_is_refused_by_name(store):
    with pytest.raises(DecisionInvalidError, match="record key nosuch:1 and record key nosuch:2"):
        store.record_decision(
            Decision("same", "a", "r", record_key_l="nosuch:1", record_key_r="nosuch:2"), **CHECKED
        )
    assert store.decisions().empty


def test_checking_against_the_cross_reference_needs_the_party_records(store):
    with pytest.raises(DecisionInvalidError, match="party records"):
        store.record_decision(
            Decision("same", "a", "r", record_key_l="core:1", record_key_r="crm:2"), xref=XREF
        )


def test_a_wrong_split_is_refused_and_a_revoked_one_frees_the_record(store):
    # The regression of issue 15: a split naming the wrong golden ID was stored, never applied,
    # and blocked the right split with no way out.
    with pytest.raises(DecisionInvalidError, match="crm:1 is in golden record G0000000001, not"):
        store.record_decision(
            Decision("split", "a", "r", record_key_l="crm:1", golden_id="G0000000002"), **CHECKED
        )
    first = store.record_decision(
        Decision("split", "a", "other person", record_key_l="crm:1", golden_id="G0000000001")
    )  # recorded before a run, unchecked
    with pytest.raises(DecisionConflictError, match="revoke it first"):
        store.record_decision(
            Decision("split", "b", "r", record_key_l="crm:1", golden_id="G0000000001"), **CHECKED
        )
    revoked = store.revoke(first, "b", "recorded before the run, redo it checked")
    assert revoked.status == "revoked"
    second = store.record_decision(
        Decision("split", "b", "other person", record_key_l="crm:1", golden_id="G0000000001"),
        **CHECKED,
    )
    decisions = store.decisions().set_index("decision_id")
    assert decisions.loc[[first, second], "status"].tolist() == ["revoked", "active"]
    with pytest.raises(DecisionStateError, match="is revoked"):
        store.revoke(first, "b", "again")


def test_a_risky_decision_waits_for_a_different_steward(store):
    decision_id = store.record_decision(
        Decision("same", "oidc|wang", "same phone", record_key_l="core:1", record_key_r="core:2"),
        **CHECKED,
    )
    waiting = store.decision(decision_id)
    assert waiting.status == "pending"
    assert "joins two different valid resident IDs" in str(waiting.risk_reason)
    assert "1101" not in str(waiting.risk_reason)  # the reason names no ID
    # Pending, it constrains nothing; it still holds its subject.
    assert constraints_from_decisions(store.decisions(), XREF).must_link.empty
    assert store.latest_change_id() == 0
    with pytest.raises(DecisionConflictError, match="pending approval"):
        store.record_decision(
            Decision("different", "b", "r", record_key_l="core:2", record_key_r="core:1")
        )
    with pytest.raises(DecisionInvalidError, match="a different steward must approve"):
        store.approve(decision_id, "oidc|wang", "I am sure")
    approved = store.approve(decision_id, "oidc|li", "checked the ID scans: one person")
    assert approved.status == "active"
    assert store.latest_change_id() > 0
    pairs = constraints_from_decisions(store.decisions(), XREF).must_link
    assert pairs[["record_key_l", "record_key_r"]].values.tolist() == [["core:1", "core:2"]]
    with pytest.raises(DecisionStateError, match="only a pending decision"):
        store.reject(decision_id, "oidc|zhao", "too late")
    history = store.history(decision_id)
    assert history[["action", "steward", "status_after"]].values.tolist() == [
        ["created", "oidc|wang", "pending"],
        ["approved", "oidc|li", "active"],
    ]
    assert history["reason"].tolist() == ["same phone", "checked the ID scans: one person"]


def test_a_rejected_risky_decision_never_applies_and_frees_its_subject(store):
    decision_id = store.record_decision(
        Decision("split", "wang", "two people", record_key_l="crm:2", golden_id="G0000000002"),
        **CHECKED,
    )
    stored = store.decision(decision_id)
    assert (stored.status, stored.risk_reason) == (
        "pending",
        "separates records that share one valid resident ID and one name",
    )
    assert store.reject(decision_id, "li", "same ID and name: one person").status == "rejected"
    assert constraints_from_decisions(store.decisions(), XREF).cannot_link.empty
    assert store.latest_change_id() == 0  # nothing to apply
    store.record_decision(Decision("same", "li", "r", record_key_l="core:2", record_key_r="crm:2"))
    assert [e for e in store.history(decision_id)["action"]] == ["created", "rejected"]


def test_a_non_risky_decision_is_active_at_once_and_revoking_it_is_a_change(store):
    decision_id = store.record_decision(
        Decision("different", "wang", "twins", record_key_l="core:2", record_key_r="core:1"),
        **CHECKED,
    )
    assert store.decision(decision_id).status == "active"
    created = store.latest_change_id()
    store.revoke(decision_id, "li", "not twins after all")
    assert store.latest_change_id() > created
    assert constraints_from_decisions(store.decisions(), XREF).cannot_link.empty


def test_approving_what_became_contradictory_is_refused(store):
    risky = store.record_decision(
        Decision("same", "wang", "r", record_key_l="core:1", record_key_r="core:2"), **CHECKED
    )
    store.record_decision(
        Decision("different", "li", "r", record_key_l="core:1", record_key_r="crm:2"), **CHECKED
    )
    store.record_decision(
        Decision("same", "li", "r", record_key_l="core:2", record_key_r="crm:2"), **CHECKED
    )
    with pytest.raises(DecisionContradictionError, match=r"#2, #3|#3, #2"):
        store.approve(risky, "zhao", "looks right")
    assert store.decision(risky).status == "pending"


def test_unknown_decisions_are_not_found(store):
    with pytest.raises(DecisionNotFoundError, match="no decision #42"):
        store.revoke(42, "a", "r")
    with pytest.raises(DecisionNotFoundError):
        store.history(42)


def test_a_store_from_before_decisions_could_wait_is_upgraded_with_a_history(store):
    # The schema of the previous release: no risk_reason, a unique index over active subjects.
    with store.engine.begin() as connection:
        connection.execute(sa.text("drop table steward_decisions"))
        connection.execute(sa.text("drop table decision_events"))
        connection.execute(
            sa.text(
                "create table steward_decisions (decision_id integer primary key, decision_type "
                "varchar(16) not null, subject_key varchar(400) not null, record_key_l "
                "varchar(200), record_key_r varchar(200), golden_id varchar(20), "
                "related_golden_id varchar(20), steward varchar(100) not null, reason text not "
                "null, decided_at timestamp not null, status varchar(16) not null default "
                "'active')"
            )
        )
        connection.execute(
            sa.text(
                "create unique index ux_steward_decisions_active_subject on steward_decisions "
                "(subject_key) where status = 'active'"
            )
        )
        connection.execute(
            sa.text(
                "insert into steward_decisions values (7, 'same', 'pair:core:1|crm:2', 'core:1',"
                " 'crm:2', null, null, '王敏', 'old', '2026-11-01 10:00:00', 'active')"
            )
        )
    upgraded = OpsStore(store.url)
    try:
        history = upgraded.history(7)
        assert history[["action", "steward", "status_after"]].values.tolist() == [
            ["created", "王敏", "active"]
        ]
        assert upgraded.decision(7).risk_reason is None
        indexes = {i["name"] for i in sa.inspect(upgraded.engine).get_indexes("steward_decisions")}
        assert indexes == {"ux_steward_decisions_open_subject"}
        upgraded.revoke(7, "li", "wrong pair")
        OpsStore(store.url).dispose()  # a second open changes nothing
        assert len(upgraded.history(7)) == 2
    finally:
        upgraded.dispose()


def test_approving_a_decision_the_last_run_moved_away_from_is_refused(store):
    split = store.record_decision(
        Decision("split", "wang", "two people", record_key_l="crm:2", golden_id="G0000000002"),
        **CHECKED,
    )
    assert store.decision(split).status == "pending"
    # A run in between took crm:2 out of G0000000002 on its own.
    moved = XREF.assign(
        golden_id=XREF["golden_id"].where(XREF["record_key"] != "crm:2", "G0000000009")
    )
    with pytest.raises(DecisionInvalidError, match="crm:2 is in golden record G0000000009"):
        store.approve(split, "li", "looks right", xref=moved)
    assert store.decision(split).status == "pending"
    assert store.approve(split, "li", "looks right", xref=XREF).status == "active"


def test_an_approval_and_a_decision_contradictory_only_together_cannot_both_stand(store):
    """Each alone fits the active decisions; whichever writes second must see the first."""
    risky = store.record_decision(
        Decision("same", "wang", "r", record_key_l="core:1", record_key_r="core:2"), **CHECKED
    )
    assert store.decision(risky).status == "pending"
    store.record_decision(
        Decision("same", "li", "r", record_key_l="core:2", record_key_r="crm:2"), **CHECKED
    )
    inside = threading.Event()

    def slow_clock() -> datetime:
        # The approval holds its transaction open here, after its checks: without the lock
        # the other steward's decision would be checked now, against a table in which the
        # approval has not happened.
        inside.set()
        threading.Event().wait(0.5)
        return datetime(2026, 12, 5, 10, 0)

    outcomes: dict[str, str] = {}

    def approve() -> None:
        store.approve(risky, "zhao", "checked the scans", now=slow_clock)
        outcomes["approval"] = "stands"

    def decide_apart() -> None:
        try:
            store.record_decision(
                Decision("different", "qian", "r", record_key_l="core:1", record_key_r="crm:2"),
                **CHECKED,
            )
            outcomes["different"] = "stands"
        except DecisionContradictionError:
            outcomes["different"] = "refused"

    approval = threading.Thread(target=approve)
    approval.start()
    assert inside.wait(10)
    other = threading.Thread(target=decide_apart)
    other.start()
    approval.join()
    other.join()
    assert outcomes == {"approval": "stands", "different": "refused"}
    assert store.decision(risky).status == "active"
    assert len(store.decisions()) == 2
