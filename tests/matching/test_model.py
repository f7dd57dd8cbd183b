"""The Fellegi-Sunter model: u sampling, EM, term-frequency adjustment, weights."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from matching import MatchingConfig
from matching.comparison import RecordColumns
from matching.config import Comparison
from matching.model import (
    FellegiSunterModel,
    build_model,
    estimate_u,
    expectation_maximisation,
    sample_random_pairs,
    unique_patterns,
)


def name_config() -> MatchingConfig:
    return MatchingConfig.model_validate(
        {
            "blocking_rules": [{"name": "name", "columns": ["name"]}],
            "max_block_size": 100,
            "comparisons": [
                {
                    "name": "name",
                    "levels": [{"kind": "exact", "column": "name", "tf_adjust": True}],
                }
            ],
            "thresholds": {"auto_match": 0.95, "review": 0.5},
            "max_cluster_size": 20,
        }
    )


def hand_model(config: MatchingConfig) -> FellegiSunterModel:
    # name: gamma 0 (else) m 0.1 u 0.95, gamma 1 (exact) m 0.9 u 0.05; λ = 0.01.
    return build_model(
        config,
        m={"name": np.array([0.1, 0.9])},
        u={"name": np.array([0.95, 0.05])},
        prior_match_probability=0.01,
    )


def test_tf_adjustment_makes_a_rare_exact_name_weigh_more_than_a_common_one():
    config = name_config()
    model = hand_model(config)
    # 8 records: 张伟 4 times (tf 4/8), 欧阳婧 twice (tf 2/8).
    records = pd.DataFrame(
        {
            "record_key": [f"r{i}" for i in range(8)],
            "name": ["张伟", "张伟", "张伟", "张伟", "欧阳婧", "欧阳婧", "李娜", "王芳"],
        }
    )
    gammas = pd.DataFrame({"gamma_name": np.array([1, 1, 0], dtype=np.int8)})
    idx_l, idx_r = np.array([0, 4, 0]), np.array([1, 5, 6])
    tf = model.term_frequencies(records)
    weights = model.match_weights(gammas, idx_l, idx_r, tf)
    prior = math.log2(0.01 / 0.99)
    # exact common: log2(0.9 / 0.5); exact rare: log2(0.9 / 0.25), exactly one bit more.
    assert weights[0] == pytest.approx(prior + math.log2(0.9 / 0.5))
    assert weights[1] == pytest.approx(prior + math.log2(0.9 / 0.25))
    assert weights[1] - weights[0] == pytest.approx(1.0)
    # A disagreement is not tf-adjusted: log2(0.1 / 0.95).
    assert weights[2] == pytest.approx(prior + math.log2(0.1 / 0.95))
    # Without term frequencies both exact pairs weigh log2(0.9 / 0.05).
    plain = model.match_weights(gammas)
    assert plain[0] == plain[1] == pytest.approx(prior + math.log2(0.9 / 0.05))


def test_probability_is_the_logistic_of_the_weight_in_bits():
    probability = FellegiSunterModel.probability(np.array([0.0, 1.0, -1.0, 2000.0, -2000.0]))
    assert probability.tolist() == pytest.approx([0.5, 2 / 3, 1 / 3, 1.0, 0.0])


def test_em_with_fixed_u_recovers_m_and_lambda():
    rng = np.random.default_rng(7)
    comparisons = [
        Comparison.model_validate(
            {"name": f"c{j}", "levels": [{"kind": "exact", "column": f"c{j}"}]}
        )
        for j in range(4)
    ]
    m_true = np.array([0.9, 0.85, 0.8, 0.95])  # P(agree | match)
    u_true = np.array([0.05, 0.1, 0.2, 0.02])  # P(agree | non-match)
    n_match, n_non = 2_000, 18_000
    agree_m = rng.random((n_match, 4)) < m_true
    agree_u = rng.random((n_non, 4)) < u_true
    gammas = pd.DataFrame(
        np.vstack([agree_m, agree_u]).astype(np.int8), columns=[c.gamma_column for c in comparisons]
    )
    u = {f"c{j}": np.array([1 - u_true[j], u_true[j]]) for j in range(4)}
    # All 20,000 pairs are the candidates here, so λ is the match share, 0.1.
    result = expectation_maximisation(gammas, comparisons, u, comparable_pairs=20_000)
    assert result.converged
    assert result.prior_match_probability == pytest.approx(0.1, abs=0.01)
    for j in range(4):
        assert result.m[f"c{j}"][1] == pytest.approx(m_true[j], abs=0.02)


def test_random_pairs_are_every_pair_when_few_and_seeded_otherwise():
    left, right = sample_random_pairs(5, 100)
    # 5 records have 10 pairs, fewer than asked: all of them, each once.
    assert sorted(zip(left.tolist(), right.tolist(), strict=True)) == [
        (i, j) for i in range(5) for j in range(i + 1, 5)
    ]
    a = sample_random_pairs(1_000, 500, seed=3)
    b = sample_random_pairs(1_000, 500, seed=3)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert len(a[0]) == 500 and (a[0] < a[1]).all()
    source = np.array(["core"] * 500 + ["crm"] * 500)
    left, right = sample_random_pairs(1_000, 500, source=source, link_type="link_only", seed=3)
    assert (source[left] != source[right]).all()


def test_u_of_a_level_never_seen_in_random_pairs_is_small_but_not_zero():
    config = name_config()
    records = pd.DataFrame({"name": ["a", "b", "c", "d"]})
    left, right = sample_random_pairs(4, 100)
    u = estimate_u(RecordColumns(records), config.comparisons, left, right)
    # 6 pairs all disagree; the exact level gets half a pair: u = 0.5 / 6.5.
    assert u["name"].tolist() == pytest.approx([6 / 6.5, 0.5 / 6.5])


def test_model_from_other_comparisons_is_refused():
    model = hand_model(name_config())
    other = MatchingConfig.model_validate(
        {
            **name_config().model_dump(),
            "comparisons": [{"name": "name", "levels": [{"kind": "exact", "column": "name"}]}],
        }
    )
    with pytest.raises(ValueError, match="trained on other comparisons"):
        model.check_compatible(other)


def test_unique_patterns_count_each_distinct_gamma_row():
    comparisons = [
        Comparison.model_validate({"name": name, "levels": [{"kind": "exact", "column": "v"}] * k})
        for name, k in (("a", 1), ("b", 3))
    ]
    gammas = pd.DataFrame({"gamma_a": [1, 1, -1, 1, 0], "gamma_b": [3, 3, 0, -1, 2]}, dtype=np.int8)
    patterns, counts = unique_patterns(gammas, comparisons)
    found = {tuple(row): int(n) for row, n in zip(patterns.tolist(), counts, strict=True)}
    # (1, 3) twice; every other row once.
    assert found == {(1, 3): 2, (-1, 0): 1, (1, -1): 1, (0, 2): 1}


def test_bits_split_the_weight_by_comparison_with_each_ones_term_frequency():
    config = MatchingConfig.model_validate(
        {
            "blocking_rules": [{"name": "name", "columns": ["name"]}],
            "max_block_size": 100,
            "comparisons": [
                {
                    "name": "name",
                    "levels": [{"kind": "exact", "column": "name", "tf_adjust": True}],
                },
                {
                    "name": "mobile",
                    "levels": [{"kind": "exact", "column": "mobile", "tf_adjust": True}],
                },
            ],
            "thresholds": {"auto_match": 0.95, "review": 0.5},
            "max_cluster_size": 20,
        }
    )
    model = build_model(
        config,
        m={"name": np.array([0.1, 0.9]), "mobile": np.array([0.2, 0.8])},
        u={"name": np.array([0.95, 0.05]), "mobile": np.array([0.99, 0.01])},
        prior_match_probability=0.01,
    )
    # A placeholder mobile on 4 of 8 records (tf 1/2), a real one on 2 (tf 1/4).
    records = pd.DataFrame(
        {
            "record_key": [f"r{i}" for i in range(8)],
            "name": ["张伟", "张伟", "欧阳婧", "欧阳婧", "李娜", "王芳", "赵敏", "周杰"],
            "mobile": ["138", "138", "139", "139", "138", "138", "137", "136"],
        }
    )
    gammas = pd.DataFrame(
        {"gamma_name": np.array([1, 1], np.int8), "gamma_mobile": np.array([1, 1], np.int8)}
    )
    idx_l, idx_r = np.array([0, 2]), np.array([1, 3])
    tf = model.term_frequencies(records)
    bits = model.bits(gammas, idx_l, idx_r, tf)
    assert bits.columns.tolist() == ["prior", "name", "mobile"]
    # Each comparison carries its own adjustment: name tf 2/8 for both pairs, mobile 4/8 for
    # the placeholder and 2/8 for the real number, one bit apart.
    assert bits["name"].tolist() == pytest.approx([math.log2(0.9 / 0.25)] * 2)
    assert bits["mobile"].tolist() == pytest.approx([math.log2(0.8 / 0.5), math.log2(0.8 / 0.25)])
    weights = model.match_weights(gammas, idx_l, idx_r, tf)
    assert bits.sum(axis=1).to_numpy() == pytest.approx(weights)
