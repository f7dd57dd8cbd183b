"""The cross-reference: every source record's golden ID with the match evidence that put it
there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matching.golden.columns import XREF_COLUMNS


def build_xref(
    membership: pd.DataFrame,
    golden_by_cluster: pd.Series,
    clusters: pd.DataFrame,
    scored_pairs: pd.DataFrame | None,
    prior_xref: pd.DataFrame | None,
    now: pd.Timestamp,
    placements: pd.Series | None = None,
) -> pd.DataFrame:
    """Every source record's golden ID with match evidence; linked_at survives while the link
    does. A record a steward's decision placed names the decision, without a match weight."""
    cluster_to_golden = golden_by_cluster.rename("golden_id")
    xref = membership.merge(cluster_to_golden, left_on="cluster_id", right_index=True)
    xref = xref.merge(_match_evidence(clusters, scored_pairs), on="record_key", how="left")
    xref["match_rule"] = xref["match_rule"].fillna("singleton")
    if placements is not None and len(placements):
        placed = placements.reindex(xref["record_key"]).to_numpy(dtype=object)
        by_steward = pd.notna(placed)
        xref["match_rule"] = np.where(by_steward, placed, xref["match_rule"].to_numpy(dtype=object))
        xref["match_weight"] = xref["match_weight"].mask(by_steward)
    xref["linked_at"] = now
    if prior_xref is not None and not prior_xref.empty:
        unchanged = xref.merge(
            prior_xref[["record_key", "golden_id", "linked_at"]],
            on=["record_key", "golden_id"],
            how="left",
            suffixes=("", "_prior"),
        )
        xref["linked_at"] = unchanged["linked_at_prior"].fillna(unchanged["linked_at"]).to_numpy()
    xref["linked_at"] = pd.to_datetime(xref["linked_at"])
    return xref[list(XREF_COLUMNS)].sort_values("record_key", ignore_index=True)


def _match_evidence(clusters: pd.DataFrame, scored_pairs: pd.DataFrame | None) -> pd.DataFrame:
    """For each record, its strongest auto-match edge: which rule linked it and with what weight."""
    # Typed like the evidence, so the xref's merge on record_key works with none of it.
    empty = pd.DataFrame(
        {
            "record_key": pd.Series(dtype=object),
            "match_rule": pd.Series(dtype=object),
            "match_weight": pd.Series(dtype=float),
        }
    )
    if scored_pairs is None or scored_pairs.empty:
        return empty
    linked = scored_pairs[scored_pairs["zone"] == "auto_match"]
    if linked.empty:  # every pair uncertain or rejected: all records are linked as singletons
        return empty
    rule = linked["deterministic_rule"].fillna("probabilistic")
    edges = pd.concat(
        [
            pd.DataFrame(
                {
                    "record_key": linked[side],
                    "match_rule": rule,
                    "match_weight": linked["match_weight"],
                }
            )
            for side in ("record_key_l", "record_key_r")
        ],
        ignore_index=True,
    )
    if edges.empty:
        return empty
    # Codes group the edges by record as well as the keys themselves but sort far faster.
    edges["record"] = pd.factorize(edges["record_key"])[0]
    best = edges.sort_values(["record", "match_weight"], ascending=[True, False])
    best = best.drop_duplicates("record").drop(columns="record")
    # An edge only explains the link if both ends ended up in the same cluster.
    return best[best["record_key"].isin(clusters.loc[clusters["cluster_size"] > 1, "record_key"])]
