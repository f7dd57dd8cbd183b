"""The catalogue's rules run as Great Expectations suites and report failures exactly."""

from __future__ import annotations

import pandas as pd
import pytest

from matching.standardize.rules import DIMENSIONS
from quality.catalogue import (
    RULES,
    RULES_BY_ID,
    STAGES,
    QualityConfig,
    catalogue_frame,
    rules_for,
)
from quality.suites import (
    RuleOutcome,
    combine,
    failing_rows_frame,
    results_frame,
    run_suite,
    validate,
)


def outcome(outcomes, rule_id):  # type: ignore[no-untyped-def]
    return next(o for o in outcomes if o.rule.rule_id == rule_id)


def test_every_rule_has_a_dimension_severity_threshold_and_reason():
    frame = catalogue_frame()
    assert len(frame) == len(RULES)
    assert frame["rule_id"].is_unique
    assert frame["reason"].str.len().min() > 0
    assert set(frame["severity"]) == {"blocking", "warning"}
    # Each of the six dimensions and each checkpoint has rules.
    assert set(frame["dimension"]) == set(DIMENSIONS)
    assert set(frame["stage"]) == set(STAGES)
    # A threshold names a setting of the `quality:` section, whose value the report prints.
    fields = set(QualityConfig.model_fields)
    for rule in RULES:
        assert rule.threshold is None or rule.threshold in fields, rule.rule_id
        assert rule.rule_id.split(".")[0] == {"raw": "raw", "standardized": "std"}.get(
            rule.stage, "golden"
        )
    assert frame.set_index("rule_id").loc["std.valid_resident_id_share", "pass_mark"] == (
        "≥ 80.0% passing"
    )


def test_standardized_rules_count_failures_and_mask_examples():
    records = pd.DataFrame(
        {
            "record_key": ["core:1", "core:2", "core:2", "crm:3"],  # one duplicate key
            "id_valid": [True, True, False, True],  # 3 of 4 valid = 0.75 < 0.80 → blocking fail
            "id_number": ["11010519491231002X", None, "110105194912310021", None],
            "id_issue": [None, None, "bad_check_digit", None],
            "mobile": ["13800138000", "1380013800", None, "13900139000"],  # 1 bad of 3 non-null
            "birth_date": pd.to_datetime(["1985-03-07", "2099-01-01", None, "1990-01-01"]),
            "source_updated_at": pd.to_datetime(["2026-01-01", "2010-01-01", None, "2025-01-01"]),
        }
    )
    rules = rules_for("standardized", "party_records")
    outcomes = validate(
        records,
        rules,
        QualityConfig(),
        context={"as_of": "2026-11-28", "timely_since": "2023-11-29"},
        key_column="record_key",
    )
    unique = outcome(outcomes, "std.record_key_unique")
    assert (unique.passed, unique.failed) == (False, 2)  # both rows of the duplicate fail
    valid = outcome(outcomes, "std.valid_resident_id_share")
    assert (valid.passed, valid.failed, valid.evaluated) == (False, 1, 4)
    # The failing row by its key, with its masked ID and the issue; the flag is not repeated.
    assert valid.examples == ["core:2: id_number=110105********0021, id_issue=bad_check_digit"]
    mobile = outcome(outcomes, "std.mobile_format")
    # NULL mobiles are not judged: 1 bad of the 3 present, a ten-digit number shown masked.
    assert (mobile.passed, mobile.failed, mobile.evaluated) == (False, 1, 3)
    assert mobile.examples == ["core:2: mobile=138***3800"]
    dates = outcome(outcomes, "std.birth_date_in_range")
    assert (dates.failed, dates.evaluated) == (1, 3)
    timely = outcome(outcomes, "std.updated_recently")
    # 2 of 3 updated since 2023-11-29: 0.67 ≥ 0.40, a passing warning with one late row.
    assert (timely.passed, timely.failed, timely.evaluated) == (True, 1, 3)


def test_missing_column_fails_the_rule_instead_of_skipping_it():
    outcomes = validate(
        pd.DataFrame({"other": [1]}),
        [RULES_BY_ID["raw.key_not_null"], RULES_BY_ID["raw.mapped_columns_present"]],
        QualityConfig(),
        context={"key_column": "cust_no", "mapped_columns": ["cust_no", "cust_name"]},
    )
    key = outcome(outcomes, "raw.key_not_null")
    assert not key.passed
    assert key.examples == ["missing column 'cust_no'"]
    mapped = outcome(outcomes, "raw.mapped_columns_present")
    # Two columns expected, both missing.
    assert (mapped.passed, mapped.evaluated, mapped.failed) == (False, 2, 2)
    assert mapped.examples == ["missing column 'cust_no'", "missing column 'cust_name'"]


@pytest.mark.parametrize(
    ("rows", "source_rows", "passed", "evaluated", "failed"),
    [(3, 3, True, 3, 0), (3, 4, False, 4, 1), (5, 4, False, 5, 1)],
)
def test_row_count_rule_compares_the_extract_with_the_source(
    rows, source_rows, passed, evaluated, failed
):
    run = run_suite(
        pd.DataFrame({"_batch_id": ["b"] * rows}),
        rules_for("raw", "every_table"),
        QualityConfig(),
        batch="LOAN",
        context={"source_rows": source_rows},
    )
    (count,) = run.outcomes
    assert (count.passed, count.evaluated, count.failed) == (passed, evaluated, failed)
    if not passed:
        assert count.examples == [
            f"LOAN: {rows:,} rows extracted, the source holds {source_rows:,}"
        ]


def test_a_row_condition_limits_the_rows_a_rule_judges():
    frame = pd.DataFrame(
        {
            "key": ["a", "b", "c", "d"],
            "_dq_birth_date_comparable": [True, True, False, True],
            "_dq_birth_date_conflict": [None, "stated 1985-03-08, ID says 1985-03-07", "x", None],
        }
    )
    (rule,) = [r for r in RULES if r.rule_id == "raw.birth_date_matches_id"]
    (result,) = validate(frame, [rule], QualityConfig(), key_column="key")
    # Row c is not comparable and not judged: 1 conflict of 3, 0.67 < 0.95.
    assert (result.passed, result.evaluated, result.failed) == (False, 3, 1)
    assert result.examples == ["b: birth_date_conflict=stated 1985-03-08, ID says 1985-03-07"]


def test_results_frame_has_the_dq_results_columns():
    outcomes = validate(
        pd.DataFrame({"record_key": ["a", "b"]}),
        [RULES_BY_ID["std.record_key_unique"]],
        QualityConfig(),
    )
    frame = results_frame(
        outcomes, run_id="r", checked_at=pd.Timestamp("2026-11-28"), source_system=None
    )
    assert list(frame.columns) == [
        "run_id",
        "checked_at",
        "stage",
        "rule_id",
        "dimension",
        "severity",
        "source_system",
        "evaluated",
        "failed",
        "score",
        "passed",
        "examples",
    ]
    assert frame.iloc[0]["score"] == 1.0
    assert frame.iloc[0]["source_system"] == "all"


def test_combining_outcomes_adds_counts_and_fails_if_any_part_fails():
    rule = RULES_BY_ID["raw.row_count_matches_source"]
    combined = combine(
        [
            RuleOutcome(rule, 100, 0, True, []),
            RuleOutcome(rule, 50, 2, False, ["LOAN: 48 rows extracted, the source holds 50"]),
        ]
    )
    assert (combined.evaluated, combined.failed, combined.passed) == (150, 2, False)
    assert combined.examples == ["LOAN: 48 rows extracted, the source holds 50"]
    assert combined.score == pytest.approx(1 - 2 / 150)


def test_a_rule_that_cannot_be_evaluated_fails_with_the_error():
    # Strings cannot be compared with datetime bounds: GX raises, and the rule must fail.
    outcomes = validate(
        pd.DataFrame({"birth_date": ["1985-03-07", None]}),
        [RULES_BY_ID["std.birth_date_in_range"]],
        QualityConfig(),
        context={"as_of": "2026-11-28"},
    )
    assert not outcomes[0].passed
    assert outcomes[0].examples[0].startswith("error:")


def test_gx_results_kept_for_the_data_docs_are_masked():
    run = run_suite(
        pd.DataFrame(
            {
                "golden_id": ["G1", "G2"],
                "id_number": ["13010219850307123X"] * 2,
                "name": ["张伟", "李娜"],
            }
        ).assign(id_type="resident_id"),
        [RULES_BY_ID["golden.resident_id_unique_among_active"]],
        QualityConfig(),
        key_column="golden_id",
    )
    (result,) = run.outcomes
    assert (result.passed, result.failed) == (False, 2)
    # Names are masked too (issue 15: no clear name in what an auditor reads).
    assert result.examples == [
        "G1: id_number=130102********123X, name=张*",
        "G2: id_number=130102********123X, name=李*",
    ]
    text = str(run.gx_result.to_json_dict())
    assert "13010219850307123X" not in text and "张伟" not in text
    assert "130102********123X" in text


def test_failing_rows_are_kept_masked_with_their_key_and_shown_columns():
    run = run_suite(
        pd.DataFrame(
            {
                "golden_id": ["G1", "G2", "G3"],
                "id_number": ["13010219850307123X", "13010219850307123X", "110105194912310029"],
                "name": ["张伟", "李娜", "王芳"],
            }
        ).assign(id_type="resident_id"),
        [RULES_BY_ID["golden.resident_id_unique_among_active"]],
        QualityConfig(),
        key_column="golden_id",
    )
    (result,) = run.outcomes
    # G1 and G2 share an ID: both fail, G3 does not.
    assert [(r.key, r.column, r.value, r.detail) for r in result.failing] == [
        ("G1", "id_number", "130102********123X", "name=张*"),
        ("G2", "id_number", "130102********123X", "name=李*"),
    ]
    frame = failing_rows_frame([run], run_id="r1", checked_at=pd.Timestamp("2026-11-28"))
    assert list(frame["row_key"]) == ["G1", "G2"]
    assert list(frame["row_number"]) == [1, 2]
    assert set(frame["rule_id"]) == {"golden.resident_id_unique_among_active"}


def test_missing_values_stay_missing_in_the_data_docs_not_empty_text():
    # Regression (issue 15): masking turned a missing value into "", which GX's Data Docs
    # render as "EMPTY" under Sampled Unexpected Values for every completeness rule.
    run = run_suite(
        pd.DataFrame({"golden_id": ["G1", "G2", "G3"], "name": ["张伟", None, None]}),
        [RULES_BY_ID["golden.name_complete"]],
        QualityConfig(),
        key_column="golden_id",
    )
    (result,) = run.outcomes
    assert [(r.key, r.value) for r in result.failing] == [("G2", None), ("G3", None)]
    (gx_result,) = run.gx_result.results
    assert gx_result.result["partial_unexpected_list"] == [None, None]
    assert "" not in [row.get("name") for row in gx_result.result["partial_unexpected_index_list"]]
