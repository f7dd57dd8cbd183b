"""The catalogue's rules run as Great Expectations suites and report failures exactly."""

from __future__ import annotations

import pandas as pd

from quality.catalogue import RULES, QualityConfig, catalogue_frame, rules_for
from quality.masking import mask_value
from quality.suites import results_frame, validate


def outcome(outcomes, rule_id):  # type: ignore[no-untyped-def]
    return next(o for o in outcomes if o.rule.rule_id == rule_id)


def test_every_rule_has_a_dimension_severity_and_reason():
    frame = catalogue_frame()
    assert len(frame) == len(RULES)
    assert frame["rule_id"].is_unique
    assert frame["reason"].str.len().min() > 0
    assert set(frame["severity"]) == {"blocking", "warning"}


def test_standardized_rules_count_failures_and_mask_examples():
    records = pd.DataFrame(
        {
            "record_key": ["core:1", "core:2", "core:2", "crm:3"],  # one duplicate key
            "id_valid": [True, True, False, True],  # 3 of 4 valid = 0.75 < 0.80 → blocking fail
            "mobile": ["13800138000", "1380013800", None, "13900139000"],  # 1 bad of 3 non-null
            "birth_date": pd.to_datetime(["1985-03-07", "2099-01-01", None, "1990-01-01"]),
        }
    )
    rules = [r for r in rules_for("standardized") if r.rule_id != "std.quarantine_rate"]
    outcomes = validate(records, rules, QualityConfig(), context={"as_of": "2026-11-28"})
    unique = outcome(outcomes, "std.record_key_unique")
    assert (unique.passed, unique.failed) == (False, 2)  # both rows of the duplicate fail
    valid = outcome(outcomes, "std.valid_resident_id_share")
    assert (valid.passed, valid.failed, valid.evaluated) == (False, 1, 4)
    mobile = outcome(outcomes, "std.mobile_format")
    assert (mobile.passed, mobile.failed) == (False, 1)
    assert mobile.examples == ["1380013800"]  # ten digits is not a mobile, shown as given
    dates = outcome(outcomes, "std.birth_date_in_range")
    assert dates.failed == 1


def test_missing_column_fails_the_rule_instead_of_skipping_it():
    outcomes = validate(
        pd.DataFrame({"other": [1]}),
        rules_for("raw"),
        QualityConfig(),
        context={"key_column": "cust_no", "name_column": "cust_name"},
    )
    key = outcome(outcomes, "raw.key_not_null")
    assert not key.passed
    assert "missing column" in key.examples[0]


def test_results_frame_has_the_dq_results_columns():
    outcomes = validate(
        pd.DataFrame({"record_key": ["a", "b"]}),
        [r for r in rules_for("standardized") if r.rule_id == "std.record_key_unique"],
        QualityConfig(),
    )
    frame = results_frame(
        outcomes, run_id="r", checked_at=pd.Timestamp("2026-11-28"), source_system=None
    )
    assert list(frame.columns)[:11] == [
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
    ]
    assert frame.iloc[0]["score"] == 1.0


def test_resident_ids_and_mobiles_are_masked_in_examples():
    assert mask_value("id_number", "13010219850307123X") == "130102********123X"
    assert mask_value("mobile", "13800138000") == "138****8000"
    assert "19850307" not in mask_value("note", "客户 13010219850307123X 重复")


def test_a_rule_that_cannot_be_evaluated_fails_with_the_error():
    # Strings cannot be compared with datetime bounds: GX raises, and the rule must fail.
    rule = next(r for r in rules_for("standardized") if r.rule_id == "std.birth_date_in_range")
    outcomes = validate(
        pd.DataFrame({"birth_date": ["1985-03-07", None]}),
        [rule],
        QualityConfig(),
        context={"as_of": "2026-11-28"},
    )
    assert not outcomes[0].passed
    assert outcomes[0].examples[0].startswith("error:")
