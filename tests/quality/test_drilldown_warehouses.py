"""The failing rows the checks keep, written and read back on both warehouses: a missing value
stays missing, every value stays masked, and the drill-down finds them by run and rule."""

from __future__ import annotations

import pandas as pd

from quality.catalogue import RULES_BY_ID, QualityConfig
from quality.report import rule_drilldown
from quality.suites import (
    FAILING_ROWS_TABLE,
    RESULTS_TABLE,
    failing_rows_frame,
    run_suite,
    suite_results_frame,
)
from tests.pii import find_unmasked


def test_failing_rows_round_trip_through_the_warehouse(warehouse):
    frame = pd.DataFrame(
        {
            "record_key": ["core:1", "core:2", "core:3", "core:4"],
            "mobile": ["13800138000", "1380013800", None, "021-5555"],
        }
    )
    run = run_suite(
        frame,
        [RULES_BY_ID["std.mobile_format"]],
        QualityConfig(),
        suite="standardized.core",
        batch="party_records",
        source_system="core",
        key_column="record_key",
    )
    checked_at = pd.Timestamp("2026-11-28 02:00")
    warehouse.append_rows(
        RESULTS_TABLE, suite_results_frame([run], run_id="r1", checked_at=checked_at)
    )
    warehouse.append_rows(
        FAILING_ROWS_TABLE, failing_rows_frame([run], run_id="r1", checked_at=checked_at)
    )

    drill = rule_drilldown(warehouse.query, "r1", "std.mobile_format", "core")
    assert drill is not None
    # GX leaves NULLs out of a regex rule: 3 evaluated, 2 failing (a ten-digit "mobile" and a
    # landline), below the 90 % pass mark.
    assert (drill.evaluated, drill.failed, drill.passed) == (3, 2, False)
    assert drill.pass_mark == "≥ 90.0% passing"
    assert drill.rows[["row_key", "column_name"]].values.tolist() == [
        ["core:2", "mobile"],
        ["core:4", "mobile"],
    ]
    assert drill.rows["value"].tolist() == ["138***3800", "*******"]  # 7 digits: all hidden
    assert find_unmasked(drill.rows.to_string()) is None


def test_a_missing_value_reads_back_as_none_and_names_masked(warehouse):
    run = run_suite(
        pd.DataFrame({"golden_id": ["G1", "G2"], "name": ["欧阳婧", None]}),
        [RULES_BY_ID["golden.name_complete"]],
        QualityConfig(),
        suite="golden.all",
        batch="golden_records",
        key_column="golden_id",
    )
    checked_at = pd.Timestamp("2026-11-28 02:00")
    warehouse.append_rows(
        RESULTS_TABLE, suite_results_frame([run], run_id="r2", checked_at=checked_at)
    )
    warehouse.append_rows(
        FAILING_ROWS_TABLE, failing_rows_frame([run], run_id="r2", checked_at=checked_at)
    )
    drill = rule_drilldown(warehouse.query, "r2", "golden.name_complete", "all")
    assert drill is not None and not drill.passed
    assert drill.rows[["row_key", "value"]].values.tolist() == [["G2", None]]
