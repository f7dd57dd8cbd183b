"""Steward decisions in the ops store, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from connectors.ops_store import (
    Decision,
    DecisionConflictError,
    DecisionContradictionError,
    DecisionInvalidError,
    OpsStore,
)


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
