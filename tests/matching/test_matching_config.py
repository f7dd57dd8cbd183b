"""The `matching:` section as validated data: mdm.yaml loads, mistakes name their key."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from connectors.settings import PROJECT_ROOT
from matching import MatchingConfig


def shipped_section() -> dict[str, Any]:
    document = yaml.safe_load((PROJECT_ROOT / "mdm.yaml").read_text(encoding="utf-8"))
    return copy.deepcopy(document["matching"])


def test_shipped_matching_section_validates_with_tf_on_the_exact_name_level():
    config = MatchingConfig.model_validate(shipped_section())
    name = config.comparisons[0]
    assert name.name == "name"
    assert name.levels[0].tf_adjust
    # Five configured levels plus "else": gamma 5 is exact name, 0 is else.
    assert name.n_levels == 6
    assert name.level_label(5) == "exact name"
    assert name.level_label(4) == "same pinyin"
    assert name.level_label(3) == "same syllables"
    assert name.level_label(2) == "look-alike character"
    assert name.level_label(1) == "one character differs"
    assert name.level_label(0) == "else"
    assert name.level_label(-1) == "null"
    assert "id_valid" in config.required_columns


def test_unknown_key_in_a_level_is_named():
    section = shipped_section()
    section["comparisons"][0]["levels"][2]["treshold"] = 0.9
    with pytest.raises(ValidationError, match=r"comparisons\.0\.levels\.2\.treshold"):
        MatchingConfig.model_validate(section)


def test_level_without_its_parameter_is_refused():
    section = shipped_section()
    levels = section["comparisons"][1]["levels"]
    typo = next(i for i, level in enumerate(levels) if "max_distance" in level)
    del levels[typo]["max_distance"]
    with pytest.raises(
        ValidationError, match=rf"comparisons\.1\.levels\.{typo}(.|\n)*max_distance"
    ):
        MatchingConfig.model_validate(section)


def test_parameter_of_another_level_kind_is_refused():
    section = shipped_section()
    section["comparisons"][1]["levels"][1]["threshold"] = 0.9
    with pytest.raises(ValidationError, match="takes no 'threshold'"):
        MatchingConfig.model_validate(section)


def test_tf_adjust_only_on_exact_levels():
    section = shipped_section()
    section["comparisons"][0]["levels"][2]["tf_adjust"] = True
    with pytest.raises(ValidationError, match="tf_adjust is only allowed on an exact level"):
        MatchingConfig.model_validate(section)


def test_review_threshold_above_auto_match_is_refused():
    section = shipped_section()
    section["thresholds"] = {"auto_match": 0.5, "review": 0.9}
    with pytest.raises(ValidationError, match="thresholds"):
        MatchingConfig.model_validate(section)


def test_unknown_rule_decision_is_named():
    section = shipped_section()
    section["deterministic_rules"][0]["decision"] = "merge"
    with pytest.raises(ValidationError, match=r"deterministic_rules\.0\.decision"):
        MatchingConfig.model_validate(section)


def test_duplicate_comparison_names_are_refused():
    section = shipped_section()
    section["comparisons"].append(copy.deepcopy(section["comparisons"][0]))
    with pytest.raises(ValidationError, match="duplicate comparison name 'name'"):
        MatchingConfig.model_validate(section)


def test_comparisons_hash_ignores_thresholds_but_config_hash_does_not():
    base = MatchingConfig.model_validate(shipped_section())
    section = shipped_section()
    section["thresholds"]["auto_match"] = 0.99
    other = MatchingConfig.model_validate(section)
    assert base.comparisons_hash() == other.comparisons_hash()
    assert base.config_hash() != other.config_hash()


def test_shipped_rules_read_comparison_levels_and_the_id_issue():
    config = MatchingConfig.model_validate(shipped_section())
    rules = {rule.name: rule for rule in config.deterministic_rules}
    # A missing name is no evidence of another person: only names that share nothing are.
    assert rules["different_names"].when.levels == {"name": ["else"]}
    assert rules["names_one_character_apart"].when.levels == {"name": ["one character differs"]}
    assert "id_issue" in config.required_columns  # read by different_resident_ids_*
    name = config.comparisons[0]
    assert [name.gamma_of_label(x) for x in ("missing", "null", "else", "same pinyin")] == [
        -1, -1, 0, 4,
    ]  # fmt: skip


def test_rule_naming_an_unknown_comparison_or_level_is_refused():
    section = shipped_section()
    section["deterministic_rules"][2]["when"]["levels"] = {"nmae": ["else"]}
    with pytest.raises(ValidationError, match="no comparison named 'nmae'"):
        MatchingConfig.model_validate(section)
    section["deterministic_rules"][2]["when"]["levels"] = {"name": ["close"]}
    # The message lists the labels that exist.
    with pytest.raises(ValidationError, match=r"no level labelled 'close'.*same pinyin"):
        MatchingConfig.model_validate(section)


def test_rule_with_an_empty_condition_is_refused():
    section = shipped_section()
    section["deterministic_rules"][0]["when"] = {}
    with pytest.raises(ValidationError, match="a rule condition needs one of"):
        MatchingConfig.model_validate(section)
