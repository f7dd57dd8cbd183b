"""Blocking: candidate pairs from the union of rules, labelled, with the giant-block guard."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import pytest

from matching import MatchingConfig
from matching.blocking import block_pairs, prepare_records, within_block_pairs


def config(**overrides: Any) -> MatchingConfig:
    section: dict[str, Any] = {
        "blocking_rules": [
            {"name": "mobile", "columns": ["mobile"]},
            {"name": "name_birth", "columns": ["name", "birth_date"]},
        ],
        "max_block_size": 10,
        "comparisons": [{"name": "name", "levels": [{"kind": "exact", "column": "name"}]}],
        "thresholds": {"auto_match": 0.95, "review": 0.5},
        "max_cluster_size": 20,
    }
    section.update(overrides)
    return MatchingConfig.model_validate(section)


def records() -> pd.DataFrame:
    # Given out of key order on purpose: pairs must still come out with key_l < key_r.
    return pd.DataFrame(
        [
            ("k6", "core", "李娜", None, "13900000002"),
            ("k1", "core", "张伟", "1990-01-01", "13800000001"),
            ("k2", "crm", "张伟", "1990-01-01", "13800000001"),
            ("k3", "credit", "李娜", "1985-05-05", "13900000002"),
            ("k4", "crm", "张伟", "1990-01-01", None),
            ("k5", "core", "王芳", "1970-07-07", None),
            ("k7", "core", "赵六", None, "  "),
        ],
        columns=["record_key", "source_system", "name", "birth_date", "mobile"],
    )


def pairs_of(frame: pd.DataFrame) -> dict[tuple[str, str], str]:
    columns = frame[["record_key_l", "record_key_r", "blocking_rule"]]
    return {(left, right): str(rule) for left, right, rule in columns.itertuples(index=False)}


def test_pairs_are_the_union_of_rules_labelled_with_the_first_rule_that_found_them():
    cfg = config()
    pairs, report = block_pairs(prepare_records(records(), cfg), cfg)
    # mobile: k1-k2 (1380…1) and k3-k6 (1390…2); k4/k5 null and k7 blank never block.
    # name_birth: 张伟 1990-01-01 is k1, k2, k4 -> 3 pairs, k1-k2 already found by mobile.
    # 李娜 is in k3 and k6 but k6 has no birth date, so that rule does not pair them.
    assert pairs_of(pairs) == {
        ("k1", "k2"): "mobile",
        ("k3", "k6"): "mobile",
        ("k1", "k4"): "name_birth",
        ("k2", "k4"): "name_birth",
    }
    assert report.pairs_per_rule == {"mobile": 2, "name_birth": 3}
    assert report.new_pairs_per_rule == {"mobile": 2, "name_birth": 2}
    assert report.total_pairs == 4
    # 7 records -> 21 possible pairs, 4 compared.
    assert report.comparable_pairs == 21
    assert report.reduction_ratio == 1 - 4 / 21
    assert report.skipped_blocks == []
    assert (pairs["record_key_l"] < pairs["record_key_r"]).all()


def test_block_above_max_block_size_is_skipped_logged_and_reported(caplog):
    cfg = config(max_block_size=2)
    with caplog.at_level(logging.WARNING, logger="matching.blocking"):
        pairs, report = block_pairs(prepare_records(records(), cfg), cfg)
    # The 张伟 / 1990-01-01 block has 3 records > 2: its 3 pairs are not generated, and k1-k4,
    # k2-k4 are lost; k1-k2 is still found by mobile.
    assert pairs_of(pairs) == {("k1", "k2"): "mobile", ("k3", "k6"): "mobile"}
    assert len(report.skipped_blocks) == 1
    skipped = report.skipped_blocks[0]
    assert (skipped.rule, skipped.size) == ("name_birth", 3)
    assert skipped.key == {"name": "张伟", "birth_date": "1990-01-01"}
    assert "name_birth" in caplog.text and "skipped" in caplog.text
    # The block's key is personal data: the log counts blocks, it never names one.
    assert "张伟" not in caplog.text


def test_link_only_keeps_pairs_across_source_systems():
    cfg = config(link_type="link_only")
    pairs, report = block_pairs(prepare_records(records(), cfg), cfg)
    # k3 (credit) - k6 (core) cross; k1 (core) - k2, k4 (crm) cross; k2-k4 both crm: dropped.
    assert set(pairs_of(pairs)) == {("k1", "k2"), ("k3", "k6"), ("k1", "k4")}
    # Sources core 4, crm 2, credit 1: 21 pairs minus within-source 6 + 1 = 14 comparable.
    assert report.comparable_pairs == 14


def test_dedupe_only_keeps_pairs_within_a_source_system():
    cfg = config(link_type="dedupe_only")
    pairs, _ = block_pairs(prepare_records(records(), cfg), cfg)
    assert set(pairs_of(pairs)) == {("k2", "k4")}


def test_no_pairs_from_records_that_share_nothing():
    cfg = config()
    frame = records().iloc[[0, 5]]  # k6 and k7 share no non-blank value
    pairs, report = block_pairs(prepare_records(frame, cfg), cfg)
    assert len(pairs) == 0
    assert report.total_pairs == 0
    assert report.reduction_ratio == 1.0


@pytest.mark.parametrize("sorted_positions", [True, False])
def test_within_block_pairs_lists_every_pair_of_every_block_once(sorted_positions):
    rng = np.random.default_rng(3)
    block = rng.integers(0, 40, 300)
    positions = np.arange(1000, 1300) if sorted_positions else rng.permutation(300)
    left, right = within_block_pairs(block, positions)
    got = sorted(zip(left.tolist(), right.tolist(), strict=True))
    expected = sorted(
        (min(positions[i], positions[j]), max(positions[i], positions[j]))
        for i in range(300)
        for j in range(i + 1, 300)
        if block[i] == block[j]
    )
    assert got == [(int(a), int(b)) for a, b in expected]
    assert (left < right).all()
