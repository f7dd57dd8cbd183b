"""A dbt test at `severity: warn` that finds rows is a warning in Dagster, not a failure.

Regression (issue 15): dagster-dbt reports dbt's `warn` status as a failed check of WARN
severity, which the Dagster UI labels "Failed" while `mdm run` says no rule failed. The events
here are dagster-dbt's own, parsed from dbt's result events against the project's manifest.
"""

from __future__ import annotations

import json
from typing import Any

import dagster as dg
import pytest
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

from connectors.settings import Settings
from pipelines.dbt import DBT_PROJECT_DIR, DBT_WARNING, build_dbt_assets, dbt_warnings_as_warnings

# A test the project declares `severity: warn` (int_accounts_linked.yml).
WARN_TEST = "test.mdm.not_null_int_accounts_linked_golden_id.974d5a03e2"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not path.exists():  # a fresh clone: parse the project as a run would
        build_dbt_assets(Settings(home=tmp_path_factory.mktemp("var")), prepare=True)
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert document["nodes"][WARN_TEST]["config"]["severity"].lower() == "warn"
    return document


def _test_result(status: str, failures: int) -> DbtCoreCliEventMessage:
    """dbt's `LogTestResult` event, as `dbt build --log-format json` writes it."""
    raw = {
        "info": {"name": "LogTestResult", "msg": "test result", "invocation_id": "i-1"},
        "data": {
            "node_info": {"unique_id": WARN_TEST, "node_status": status},
            "status": status,
            "num_failures": failures,
        },
    }
    return DbtCoreCliEventMessage(raw_event=raw, event_history_metadata={})


def _checks(manifest: dict[str, Any], status: str, failures: int) -> list[Any]:
    events = _test_result(status, failures).to_default_asset_events(manifest=manifest)
    return [
        e
        for e in dbt_warnings_as_warnings(events)
        if isinstance(e, dg.AssetCheckResult | dg.AssetCheckEvaluation)
    ]


def test_a_dbt_warning_is_a_passed_warn_severity_check_with_the_warning_shown(manifest):
    raw = list(_test_result("warn", 3).to_default_asset_events(manifest=manifest))
    # What dagster-dbt alone makes of it: failed, WARN severity ("Failed" in the UI).
    assert [(e.passed, e.severity) for e in raw] == [(False, dg.AssetCheckSeverity.WARN)]
    (check,) = _checks(manifest, "warn", 3)
    assert (check.passed, check.severity) == (True, dg.AssetCheckSeverity.WARN)
    assert check.check_name == raw[0].check_name
    assert "3 row(s) matched a dbt test declared `severity: warn`" in str(
        check.metadata[DBT_WARNING].value
    )
    assert check.metadata["status"].value == "warn"


def test_a_dbt_error_still_fails_and_a_pass_still_passes(manifest):
    (failed,) = _checks(manifest, "fail", 2)
    assert (failed.passed, failed.severity) == (False, dg.AssetCheckSeverity.ERROR)
    assert DBT_WARNING not in failed.metadata
    (passed,) = _checks(manifest, "pass", 0)
    assert passed.passed and DBT_WARNING not in passed.metadata


def test_a_warning_check_result_inside_an_asset_is_converted_too():
    result = dg.AssetCheckResult(
        passed=False,
        asset_key="int_accounts_linked",
        check_name="not_null_int_accounts_linked_golden_id",
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"dagster_dbt/failed_row_count": 5},
    )
    (converted,) = dbt_warnings_as_warnings([result])
    assert isinstance(converted, dg.AssetCheckResult)
    assert (converted.passed, converted.severity) == (True, dg.AssetCheckSeverity.WARN)
    assert converted.metadata["dagster_dbt/failed_row_count"].value == 5
    assert "5 row(s)" in str(converted.metadata[DBT_WARNING].value)
