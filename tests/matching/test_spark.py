"""The Spark engine gives the single-machine path's candidate pairs and weights.

Spark in local mode (one session for the module: starting one costs about 10 s) on a simulated
bank of 2,000 people (the shipped mdm.yaml's matching config): the same
pairs with the same first rule, the same gammas, match weights equal to 1e-9, the same
blocking report (skipped blocks included, under a cap small enough to skip some), and the
link types' filters.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from benchmarks.bench_pipeline import (
    noise_config,
    read_party_tables,
    simulated_sources,
    standardize_all,
)
from connectors.settings import PROJECT_ROOT
from matching import MatchingConfig
from matching.engine import candidate_pairs, compare, predict, train
from matching.model import FellegiSunterModel
from matching.spark import score, spark_session

# A Spark session in local mode starts a JVM: a whole-engine run, kept out of `make test-fast`.
pytestmark = pytest.mark.slow

PEOPLE = 2_000


@dataclass
class Bank:
    records: pd.DataFrame
    config: MatchingConfig


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    session = spark_session("local[2]", {"spark.sql.shuffle.partitions": "4"})
    yield session
    session.stop()


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Bank:
    document = yaml.safe_load((PROJECT_ROOT / "mdm.yaml").read_text(encoding="utf-8"))
    folder: Path = tmp_path_factory.mktemp("spark")
    manifest, _ = simulated_sources(folder, PEOPLE, 11, noise_config(1.0))
    raw = read_party_tables(folder, document["sources"])
    now = pd.Timestamp(manifest["as_of"]) + pd.Timedelta(days=1)
    records, _ = standardize_all(raw, document["sources"], now, 1)
    return Bank(records, MatchingConfig.model_validate(document["matching"]))


def local_scoring(
    records: pd.DataFrame, config: MatchingConfig
) -> tuple[pd.DataFrame, object, FellegiSunterModel, pd.DataFrame]:
    """(scored pairs, blocking report, model, prepared records) of the batch path."""
    prepared, pairs, report = candidate_pairs(records, config)
    gammas = compare(prepared, pairs, config)
    model = train(prepared, config, gammas, pairs=pairs)
    return predict(prepared, pairs, gammas, model), report, model, prepared


def assert_same_scoring(local: pd.DataFrame, spark_scored: pd.DataFrame) -> None:
    assert len(local) > 0
    assert list(spark_scored.columns) == list(local.columns)
    for name in ("idx_l", "idx_r", "record_key_l", "record_key_r"):
        np.testing.assert_array_equal(spark_scored[name].to_numpy(), local[name].to_numpy())
    assert spark_scored["blocking_rule"].astype(str).tolist() == (
        local["blocking_rule"].astype(str).tolist()
    )
    for name in local.columns:
        if name.startswith("gamma_"):
            np.testing.assert_array_equal(spark_scored[name].to_numpy(), local[name].to_numpy())
    np.testing.assert_allclose(
        spark_scored["match_weight"].to_numpy(), local["match_weight"].to_numpy(), rtol=0, atol=1e-9
    )
    np.testing.assert_allclose(
        spark_scored["match_probability"].to_numpy(),
        local["match_probability"].to_numpy(),
        rtol=0,
        atol=1e-9,
    )


def test_spark_gives_the_batch_pairs_gammas_and_weights(spark, bank: Bank) -> None:
    local, report, model, prepared = local_scoring(bank.records, bank.config)
    result = score(spark, prepared, bank.config, model)
    assert_same_scoring(local, result.to_pandas())
    assert result.report.total_pairs == report.total_pairs
    assert result.report.pairs_per_rule == report.pairs_per_rule
    assert result.report.new_pairs_per_rule == report.new_pairs_per_rule
    assert result.report.comparable_pairs == report.comparable_pairs
    # Some exact names are frequent enough for the term-frequency adjustment to move weights.
    assert any(c.tf_column is not None for c in model.comparisons)


def test_oversized_blocks_are_skipped_exactly_as_the_batch_skips_them(spark, bank: Bank) -> None:
    config = bank.config.model_copy(update={"max_block_size": 3})
    local, report, model, prepared = local_scoring(bank.records, config)
    assert report.skipped_blocks, "the cap should skip some blocks of this bank"
    result = score(spark, prepared, config, model)
    assert_same_scoring(local, result.to_pandas())
    assert result.report.skipped_blocks == report.skipped_blocks


@pytest.mark.parametrize("link_type", ["link_only", "dedupe_only"])
def test_link_types_filter_the_same_pairs(spark, bank: Bank, link_type: str) -> None:
    config = bank.config.model_copy(update={"link_type": link_type})
    local, report, model, prepared = local_scoring(bank.records, config)
    result = score(spark, prepared, config, model)
    assert_same_scoring(local, result.to_pandas())
    assert result.report.pairs_per_rule == report.pairs_per_rule


def test_link_on_spark_gives_the_batch_link(spark, bank: Bank) -> None:
    from matching import link
    from matching.spark import link_on_spark

    batch = link(bank.records, bank.config)
    on_spark = link_on_spark(spark, bank.records, bank.config)
    assert on_spark.model.to_json() == batch.model.to_json()
    pd.testing.assert_frame_equal(
        on_spark.scored_pairs, batch.scored_pairs, check_exact=False, rtol=0, atol=1e-9
    )
    pd.testing.assert_frame_equal(on_spark.clusters, batch.clusters)
    assert on_spark.zone_counts == batch.zone_counts
