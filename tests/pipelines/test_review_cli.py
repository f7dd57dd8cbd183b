"""The command line a steward uses before the console exists: list the queue, decide."""

from __future__ import annotations

import pytest

from connectors.ops_store import OpsStore
from connectors.settings import get_settings
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
        "王敏",
        "--reason",
        "same ID card scan",
    ]
    assert cli.main(arguments) == 0
    assert "decision #1 recorded" in capsys.readouterr().out
    assert cli.main([*arguments[:1], "different", *arguments[2:]]) == 2
    assert "already decided 'same'" in capsys.readouterr().err
    ops = OpsStore(settings_home.resolved_ops_url)
    assert len(ops.decisions()) == 1
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
