"""Clustering: components of auto-match edges and must-links, cannot-links honoured, size guard."""

from __future__ import annotations

import pandas as pd

from matching.clustering import cluster_records

KEYS = ["a", "b", "c", "d", "e", "f"]


def edges(*rows: tuple[str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["record_key_l", "record_key_r", "match_weight"])


def links(*rows: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["record_key_l", "record_key_r"])


def cluster_of(result) -> dict[str, str]:
    return dict(zip(result.clusters["record_key"], result.clusters["cluster_id"], strict=True))


def test_components_with_smallest_key_as_id_and_singletons_included():
    result = cluster_records(
        ["c", "a", "b", "d", "e", "f"],
        edges(("b", "c", 5.0), ("a", "b", 7.0), ("e", "d", 3.0)),
        max_cluster_size=20,
    )
    assert result.clusters.columns.tolist() == ["record_key", "cluster_id", "cluster_size"]
    assert result.clusters["record_key"].tolist() == KEYS  # one row per record, sorted
    assert cluster_of(result) == {"a": "a", "b": "a", "c": "a", "d": "d", "e": "d", "f": "f"}
    assert result.clusters["cluster_size"].tolist() == [3, 3, 3, 2, 2, 1]
    assert result.review_clusters == []


def test_must_link_joins_components():
    result = cluster_records(
        KEYS,
        edges(("a", "b", 7.0), ("c", "d", 6.0)),
        max_cluster_size=20,
        must_link=links(("d", "b")),
    )
    assert cluster_of(result) == {"a": "a", "b": "a", "c": "a", "d": "a", "e": "e", "f": "f"}


def test_cannot_link_removes_a_direct_edge():
    result = cluster_records(
        KEYS, edges(("a", "b", 30.0)), max_cluster_size=20, cannot_link=links(("b", "a"))
    )
    assert cluster_of(result)["b"] == "b"
    assert result.cut_components == 0  # removing the edge was enough


def test_cannot_link_through_a_chain_drops_the_weakest_edge_on_the_path():
    # a-b (10) - c (5) - d (8); a and c may not meet: the weakest edge between them, b-c, goes.
    result = cluster_records(
        KEYS,
        edges(("a", "b", 10.0), ("b", "c", 5.0), ("c", "d", 8.0)),
        max_cluster_size=20,
        cannot_link=links(("a", "c")),
    )
    assert cluster_of(result) == {"a": "a", "b": "a", "c": "c", "d": "c", "e": "e", "f": "f"}
    assert (result.cut_components, result.dropped_edges) == (1, 1)


def test_cut_keeps_a_must_link_over_auto_match_edges():
    # a-b must-link; b-c auto (20); a, c cannot: the auto edge goes, the steward's link stays.
    result = cluster_records(
        KEYS,
        edges(("b", "c", 20.0)),
        max_cluster_size=20,
        must_link=links(("a", "b")),
        cannot_link=links(("a", "c")),
    )
    assert cluster_of(result) == {"a": "a", "b": "a", "c": "c", "d": "d", "e": "e", "f": "f"}


def test_pair_both_must_and_cannot_link_is_kept_apart_and_reported():
    result = cluster_records(
        KEYS,
        edges(),
        max_cluster_size=20,
        must_link=links(("a", "b")),
        cannot_link=links(("b", "a")),
    )
    assert cluster_of(result)["b"] == "b"
    assert result.conflicts == [("a", "b")]


def test_component_over_max_cluster_size_stays_unmerged_and_goes_to_review():
    # a-b-c-d chain of 4 > 3; e-f of 2 is fine.
    result = cluster_records(
        KEYS,
        edges(("a", "b", 9.0), ("b", "c", 9.0), ("c", "d", 9.0), ("e", "f", 9.0)),
        max_cluster_size=3,
    )
    assert cluster_of(result) == {"a": "a", "b": "b", "c": "c", "d": "d", "e": "e", "f": "e"}
    assert result.review_clusters == [["a", "b", "c", "d"]]


def test_unknown_records_in_steward_decisions_are_ignored(caplog):
    result = cluster_records(
        KEYS, edges(("a", "b", 9.0)), max_cluster_size=20, must_link=links(("a", "zz"))
    )
    assert cluster_of(result)["b"] == "a"
    assert "unknown records" in caplog.text
