"""The command line a steward uses before the console exists: list the queue, decide."""

from __future__ import annotations

import pandas as pd
import pytest

from connectors.ops_store import OpsStore
from connectors.settings import get_settings
from connectors.warehouse import open_warehouse
from pipelines import cli


@pytest.fixture
def settings_home(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    settings = get_settings().model_copy(update={"home": tmp_path})
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    return settings


def test_review_list_without_a_run_says_what_to_do(settings_home, capsys):
    assert cli.main(["review", "list"]) == 1
    assert "run the pipeline first" in capsys.readouterr().out


def test_a_pair_decision_is_recorded_and_a_repeat_is_refused(settings_home, capsys):
    arguments = [
        "review",
        "same",
        "--left",
        "core:1",
        "--right",
        "crm:2",
        "--steward",
        "wang.min",
        "--reason",
        "same ID card scan",
    ]
    assert cli.main(arguments) == 0
    assert "decision #1 recorded" in capsys.readouterr().out
    assert cli.main([*arguments[:1], "different", *arguments[2:]]) == 2
    assert "already decided 'same'" in capsys.readouterr().err
    ops = OpsStore(settings_home.resolved_ops_url)
    assert len(ops.decisions()) == 1
    assert ops.decision(1).steward == "cli:wang.min"  # an identity, marked as the CLI's
    ops.dispose()


def test_a_merge_without_a_cross_reference_is_refused_with_a_message(settings_home, capsys):
    arguments = [
        "review",
        "merge",
        "--survivor",
        "G0000000001",
        "--merged",
        "G0000000002",
        "--steward",
        "a",
        "--reason",
        "b",
    ]
    assert cli.main(arguments) == 2
    assert "cross-reference" in capsys.readouterr().err


def test_a_steward_that_is_not_a_login_name_is_refused(settings_home, capsys):
    arguments = ["review", "same", "--left", "core:1", "--right", "crm:2", "--reason", "r"]
    assert cli.main([*arguments, "--steward", "王敏 (branch 3)"]) == 2
    error = capsys.readouterr().err
    assert "--steward must be 1-100 letters, digits" in error
    assert "王敏" not in error  # a person's name is not echoed


@pytest.fixture
def last_run(settings_home):  # type: ignore[no-untyped-def]
    """A warehouse as a run leaves it: two golden records, the party records behind them."""
    store = open_warehouse(settings_home.resolved_warehouse_url)
    xref = pd.DataFrame(
        {
            "record_key": ["core:1", "crm:1", "core:2", "crm:2"],
            "golden_id": ["G0000000001", "G0000000001", "G0000000002", "G0000000002"],
        }
    )
    party = xref[["record_key"]].assign(
        source_system=xref["record_key"].str.split(":").str[0],
        name=["李娜", "李娜", "王敏", "王敏"],
        id_number=["110101199001011234", None, "130102197602100027", "130102197602100027"],
        id_valid=[True, False, True, True],
        birth_date=pd.to_datetime(["1990-01-01", "1990-01-01", "1976-02-10", "1976-02-10"]),
    )
    golden = pd.DataFrame(
        {
            "golden_id": ["G0000000001", "G0000000002", "G0000000003"],
            "status": ["active", "active", "retired"],
            "survivor_id": [None, None, "G0000000002"],
        }
    )
    store.replace_tables(
        {"mdm.xref": xref, "mdm.party_records": party, "mdm.golden_records": golden}
    )
    return store


def review(*arguments: str) -> int:
    return cli.main(["review", *arguments])


def test_keys_and_golden_ids_not_in_the_last_run_are_refused_by_name(last_run, capsys):
    decide = ["--steward", "wang.min", "--reason", "r"]
    assert review("same", "--left", "nosuch:1", "--right", "nosuch:2", *decide) == 2
    assert "record key nosuch:1 and record key nosuch:2 are not in the cross-reference" in (
        capsys.readouterr().err
    )
    assert review("split", "--record", "core:2", "--golden", "G0000000001", *decide) == 2
    assert "core:2 is in golden record G0000000002, not G0000000001" in capsys.readouterr().err
    merge = ["merge", "--survivor", "G0000000001", "--merged", "G0000000003", *decide]
    assert review(*merge) == 2
    assert "G0000000003 was retired: merged into G0000000002" in capsys.readouterr().err


def test_a_risky_decision_waits_for_a_second_steward_then_applies(last_run, capsys):
    split = ["split", "--record", "crm:2", "--golden", "G0000000002", "--reason", "two people"]
    assert review(*split, "--steward", "wang.min") == 0
    out = capsys.readouterr().out
    assert "waiting for a second steward" in out
    assert "separates records that share one valid resident ID and one name" in out
    assert review("approve", "1", "--steward", "wang.min", "--reason", "sure") == 2
    assert "a different steward must approve" in capsys.readouterr().err
    assert review("approve", "1", "--steward", "li.na", "--reason", "scans differ") == 0
    assert "decision #1 is now active" in capsys.readouterr().out
    assert review("history", "1") == 0
    lines = capsys.readouterr().out.splitlines()
    assert "split:crm:2: active (risky: separates records" in lines[0]
    assert "created  by cli:wang.min: two people" in lines[1]
    assert "approved by cli:li.na: scans differ" in lines[2]


def test_a_wrong_decision_is_revoked_and_the_right_one_recorded(last_run, capsys):
    decide = ["--steward", "wang.min", "--reason", "r"]
    assert review("different", "--left", "core:1", "--right", "crm:1", *decide) == 0
    assert review("same", "--left", "core:1", "--right", "crm:1", *decide) == 2
    assert "revoke it first" in capsys.readouterr().err
    assert review("revoke", "1", "--steward", "li.na", "--reason", "wrong pair") == 0
    assert "decision #1 is now revoked" in capsys.readouterr().out
    assert review("same", "--left", "core:1", "--right", "crm:1", *decide) == 0
    assert review("revoke", "1", "--steward", "li.na", "--reason", "again") == 2
    assert "decision #1 is revoked" in capsys.readouterr().err
    assert review("history", "--status", "active") == 0
    assert "1 decision(s) active" in capsys.readouterr().out


def test_review_list_prints_birth_dates_as_dates(last_run, capsys):
    queue = pd.DataFrame(
        {
            "item_type": ["pair"],
            "record_key_l": ["core:1"],
            "record_key_r": ["crm:1"],
            "match_weight": [3.5],
            "match_probability": [0.9],
            "priority": [0.2],
            "explanation": ["prior -9.00, name +12.50"],
            "birth_date_l": pd.to_datetime(["1976-02-10"]),
            "birth_date_r": [pd.NaT],
        }
    )
    last_run.replace_table("mdm.review_queue", queue)
    assert review("list") == 0
    out = capsys.readouterr().out
    assert "00:00:00" not in out
    birth = next(line for line in out.splitlines() if "birth_date" in line)
    assert "NaT" not in birth and "nan" not in birth
    assert birth.split() == ["birth_date", "1976-02-10", "|"]  # a date is not C2: shown whole
