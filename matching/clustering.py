"""Clusters: connected components of auto-match edges and steward must-links, never joining a
cannot-link pair, with a size guard against chaining.

Approach, correctness first:

1. Must-link pairs become edges of infinite weight. A pair that is both must-link and
   cannot-link is a steward conflict: the cannot-link wins (not merging is the reversible
   choice), the must-link is dropped and reported.
2. Edges that are themselves cannot-link pairs are removed.
3. Connected components (scipy.sparse.csgraph) over what is left.
4. A component that still holds a cannot-link pair (linked through other records) is rebuilt
   on its own: its edges are taken strongest first (must-links first) and each is kept unless
   it would put a cannot-link pair into one group (union-find). This drops exactly the weakest
   edges on every path between the two records of a cannot-link pair, and nothing more: the
   result is the maximum-weight spanning forest that respects the constraints. The Python loop
   runs over the edges of violating components only, which are few and small.
5. A component larger than `max_cluster_size` is not merged: its records stay singletons and
   the component is returned for steward review.

`cluster_id` is the smallest record_key in the cluster, so it does not depend on edge order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

log = logging.getLogger(__name__)

CLUSTER_COLUMNS = ["record_key", "cluster_id", "cluster_size"]


@dataclass
class ClusterResult:
    clusters: pd.DataFrame  # CLUSTER_COLUMNS, one row per record, sorted by record_key
    review_clusters: list[list[str]]  # oversized components (members left unmerged)
    cut_components: int = 0  # components split to honour cannot-link pairs
    dropped_edges: int = 0  # auto-match edges dropped by those splits
    conflicts: list[tuple[str, str]] = field(default_factory=list)  # must-link ∩ cannot-link


def component_labels(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected-component label of each of n nodes given undirected edges."""
    if n == 0:
        return np.empty(0, dtype=np.int64)
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n)).tocsr()
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


def _positions(
    index: pd.Index, frame: pd.DataFrame | None, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Ordered (low, high) positions of a pair frame's known pairs, and which rows they are."""
    if frame is None or len(frame) == 0:
        return np.empty((0, 2), dtype=np.int64), np.zeros(0, dtype=bool)
    left = index.get_indexer(pd.Index(frame["record_key_l"]))
    right = index.get_indexer(pd.Index(frame["record_key_r"]))
    known = (left >= 0) & (right >= 0) & (left != right)
    if not known.all():
        log.warning(
            "%s: %d pairs name unknown records or a record twice, ignored",
            what,
            int((~known).sum()),
        )
    pairs = np.column_stack([np.minimum(left, right), np.maximum(left, right)])[known]
    return pairs.astype(np.int64), known


def _pair_code(pairs: np.ndarray, n: int) -> np.ndarray:
    return pairs[:, 0] * n + pairs[:, 1]


def _split_component(
    nodes: np.ndarray,
    edges: np.ndarray,
    weights: np.ndarray,
    forbidden_pairs: np.ndarray,
) -> tuple[dict[int, int], int]:
    """Constraint-respecting maximum spanning forest: node -> group root, edges dropped."""
    parent = {int(v): int(v) for v in nodes}
    members = {int(v): {int(v)} for v in nodes}
    forbidden: dict[int, set[int]] = {int(v): set() for v in nodes}
    for a, b in forbidden_pairs:
        forbidden[int(a)].add(int(b))
        forbidden[int(b)].add(int(a))

    def find(v: int) -> int:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    # Strongest first; ties broken by the pair itself so the result never depends on input order.
    order = np.lexsort((edges[:, 1], edges[:, 0], -weights))
    dropped = 0
    for a, b in edges[order]:
        root_a, root_b = find(int(a)), find(int(b))
        if root_a == root_b:
            continue
        if forbidden[root_a] & members[root_b]:
            dropped += 1
            continue
        if len(members[root_a]) < len(members[root_b]):
            root_a, root_b = root_b, root_a
        parent[root_b] = root_a
        members[root_a] |= members.pop(root_b)
        forbidden[root_a] |= forbidden.pop(root_b)
    return {v: find(v) for v in parent}, dropped


def cluster_records(
    record_keys: Sequence[str] | pd.Series,
    edges: pd.DataFrame,
    *,
    max_cluster_size: int,
    must_link: pd.DataFrame | None = None,
    cannot_link: pd.DataFrame | None = None,
) -> ClusterResult:
    """Cluster the records.

    `edges`: the auto-match pairs, columns `record_key_l`, `record_key_r`, `match_weight`.
    `must_link` / `cannot_link`: steward decisions, columns `record_key_l`, `record_key_r` in
    any order; pairs naming records not in `record_keys` are ignored with a warning.
    """
    keys = np.asarray(record_keys, dtype=object)
    index = pd.Index(keys)
    if not index.is_monotonic_increasing:
        keys = np.sort(keys)
        index = pd.Index(keys)
    if not index.is_unique:
        raise ValueError("record_keys are not unique")
    edge_pairs, known = _positions(index, edges, "edges")
    edge_weights = edges["match_weight"].to_numpy(dtype=np.float64)[known]
    return cluster_positions(
        keys,
        edge_pairs,
        edge_weights,
        max_cluster_size=max_cluster_size,
        must=_positions(index, must_link, "must_link")[0],
        cannot=_positions(index, cannot_link, "cannot_link")[0],
    )


def cluster_positions(
    keys: np.ndarray,
    edge_pairs: np.ndarray,
    edge_weights: np.ndarray,
    *,
    max_cluster_size: int,
    must: np.ndarray | None = None,
    cannot: np.ndarray | None = None,
) -> ClusterResult:
    """`cluster_records` on record positions: `keys` sorted and unique, pairs as (n, 2) arrays
    of positions into it (the engine's `idx_l` / `idx_r`, no key lookups)."""
    n = len(keys)
    empty = np.empty((0, 2), dtype=np.int64)
    must = empty if must is None else np.asarray(must, dtype=np.int64).reshape(-1, 2)
    cannot = empty if cannot is None else np.asarray(cannot, dtype=np.int64).reshape(-1, 2)
    cannot = np.column_stack([cannot.min(axis=1), cannot.max(axis=1)]) if len(cannot) else empty
    must = np.column_stack([must.min(axis=1), must.max(axis=1)]) if len(must) else empty
    cannot_codes = _pair_code(cannot, n)
    conflicts: list[tuple[str, str]] = []
    if len(must):
        clash = np.isin(_pair_code(must, n), cannot_codes)
        if clash.any():
            conflicts = [(keys[a], keys[b]) for a, b in must[clash]]
            log.warning("%d pairs are both must-link and cannot-link: kept apart", len(conflicts))
            must = must[~clash]

    all_edges = np.concatenate([np.asarray(edge_pairs, dtype=np.int64).reshape(-1, 2), must])
    all_weights = np.concatenate(
        [np.asarray(edge_weights, dtype=np.float64), np.full(len(must), np.inf)]
    )
    if len(all_edges) and len(cannot_codes):
        keep = ~np.isin(_pair_code(all_edges, n), cannot_codes)
        all_edges, all_weights = all_edges[keep], all_weights[keep]

    labels = component_labels(n, all_edges[:, 0], all_edges[:, 1])

    # Components still holding a cannot-link pair, reached through other records.
    cut_components = 0
    dropped_edges = 0
    if len(cannot):
        violating = np.unique(labels[cannot[:, 0]][labels[cannot[:, 0]] == labels[cannot[:, 1]]])
        next_label = int(labels.max()) + 1 if n else 0
        if len(violating):
            edge_label = labels[all_edges[:, 0]]
            cannot_label = labels[cannot[:, 0]]
        for component in violating:
            nodes = np.flatnonzero(labels == component)
            in_component = edge_label == component
            groups, dropped = _split_component(
                nodes,
                all_edges[in_component],
                all_weights[in_component],
                cannot[cannot_label == component],
            )
            roots = sorted(set(groups.values()))
            relabel = {root: next_label + i for i, root in enumerate(roots)}
            next_label += len(roots)
            for node, root in groups.items():
                labels[node] = relabel[root]
            cut_components += 1
            dropped_edges += dropped

    # Size guard: an oversized component is reported and its records stay singletons.
    sizes = np.bincount(labels)
    oversized = np.flatnonzero(sizes > max_cluster_size)
    review_clusters: list[list[str]] = []
    if len(oversized):
        in_oversized = np.isin(labels, oversized)
        review_clusters = sorted(
            pd.Series(keys[in_oversized]).groupby(labels[in_oversized]).agg(list).tolist()
        )
        log.warning(
            "%d components exceed max_cluster_size=%d: left unmerged for review",
            len(review_clusters),
            max_cluster_size,
        )
        next_label = int(labels.max()) + 1
        labels[in_oversized] = next_label + np.arange(int(in_oversized.sum()))

    sizes = np.bincount(labels)
    first_position = np.full(len(sizes), n, dtype=np.int64)
    np.minimum.at(first_position, labels, np.arange(n))
    clusters = pd.DataFrame(
        {
            "record_key": keys,
            "cluster_id": keys[first_position[labels]] if n else keys,
            "cluster_size": sizes[labels].astype(np.int64) if n else np.empty(0, np.int64),
        }
    )
    return ClusterResult(
        clusters=clusters,
        review_clusters=review_clusters,
        cut_components=cut_components,
        dropped_edges=dropped_edges,
        conflicts=conflicts,
    )


def oversized_frame(review_clusters: list[list[str]]) -> pd.DataFrame:
    """`mdm.oversized_clusters`: one row per component left unmerged for review.

    Typed even when empty (text keys, integer sizes): a table first written with no rows
    must still take the keys of a later one.
    """
    return pd.DataFrame(
        {
            "cluster_key": pd.Series([min(m) for m in review_clusters], dtype="string"),
            "record_keys": pd.Series(
                [",".join(sorted(m)) for m in review_clusters], dtype="string"
            ),
            "size": pd.Series([len(m) for m in review_clusters], dtype="int64"),
        }
    )
