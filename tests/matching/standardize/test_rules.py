import pandas as pd

from matching.standardize import normalize_resident_ids, rule_catalogue
from matching.standardize.ids import ISSUE_ORDER
from matching.standardize.rules import DIMENSIONS, ID_ISSUE_RULES, QUARANTINE_ORDER, RULES


def test_catalogue_has_one_row_per_rule_with_all_fields_filled():
    catalogue = rule_catalogue()
    assert list(catalogue.columns) == [
        "id",
        "field",
        "dimension",
        "kind",
        "checks",
        "example_input",
        "example_outcome",
    ]
    assert catalogue["id"].is_unique and len(catalogue) == len(RULES)
    assert catalogue.notna().all().all()


def test_dimensions_are_the_known_ones():
    assert set(rule_catalogue()["dimension"]) <= set(DIMENSIONS)


def test_quarantine_rules_are_the_quarantine_kind():
    assert {r.kind for r in QUARANTINE_ORDER} == {"quarantine"}
    assert {r.id for r in RULES if r.kind == "quarantine"} == {r.id for r in QUARANTINE_ORDER}


def test_every_id_issue_code_has_a_rule():
    assert set(ISSUE_ORDER) <= set(ID_ISSUE_RULES)


def test_resident_id_rule_examples_give_the_stated_outcome():
    # The catalogue is what a reader trusts: its ID examples are run, not just written.
    for code, rule in ID_ISSUE_RULES.items():
        if code in {"missing", "not_resident_id"}:
            continue
        out = normalize_resident_ids(
            pd.Series([rule.example_input]), now=pd.Timestamp("2025-01-01")
        )
        assert out["id_issue"].iloc[0] == code, rule.id
        assert rule.example_outcome.endswith(f"id_issue {code}"), rule.id
        if code == "upgraded_from_15":
            assert rule.example_outcome.startswith(out["id_number"].iloc[0])
