"""Persistent golden IDs: a cluster keeps the ID of the prior golden record holding most of
its records, merged IDs are retired with a pointer to the survivor, split-off parts get new
IDs, and IDs are never reused.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matching.golden.arrays import IntArray, factorize_sorted, zero_padded
from matching.golden.events import event_frame


def format_golden_id(number: int) -> str:
    return f"G{number:010d}"


def assign_golden_ids(
    clusters: pd.DataFrame,
    prior_xref: pd.DataFrame | None,
    prior_golden: pd.DataFrame | None,
    preferred: frozenset[str] = frozenset(),
    next_number: int | None = None,
) -> tuple[pd.Series, pd.DataFrame]:
    """Persistent IDs: (golden_id per cluster_id, events without run/time columns).

    Each prior golden ID goes to the cluster holding most of its records (ties: smallest
    cluster_id); a cluster owning several keeps the one with most records (ties: smallest ID)
    and the others merge into it — unless a steward's merge named the survivor (`preferred`);
    clusters owning none get new IDs, numbered after the highest ID ever issued so retired IDs
    are never reused (`next_number` when the prior tables given hold only some of the IDs).
    """
    cluster_ids = pd.Index(
        factorize_sorted(clusters["cluster_id"].to_numpy())[1], name="cluster_id"
    )
    if prior_xref is None or prior_xref.empty:
        members = clusters.assign(prior_id=pd.Series(dtype=object))
    else:
        members = clusters.merge(
            prior_xref[["record_key", "golden_id"]].rename(columns={"golden_id": "prior_id"}),
            on="record_key",
            how="left",
        )
    known = members.dropna(subset=["prior_id"])
    counts = known.groupby(["prior_id", "cluster_id"]).size().rename("n").reset_index()
    owners = counts.sort_values(["prior_id", "n", "cluster_id"], ascending=[True, False, True])
    owners = owners.drop_duplicates("prior_id")
    owners = owners.assign(preferred=owners["prior_id"].isin(preferred))
    choice = owners.sort_values(
        ["cluster_id", "preferred", "n", "prior_id"], ascending=[True, False, False, True]
    )
    kept = choice.drop_duplicates("cluster_id").set_index("cluster_id")["prior_id"]
    assigned = pd.Series(kept, index=cluster_ids, dtype=object)

    merged = choice[~choice["prior_id"].isin(kept.to_numpy())]
    merged_ids = merged["prior_id"].to_numpy()
    survivors = kept.reindex(merged["cluster_id"]).to_numpy()
    merges = event_frame("merge", survivors, merged_ids, merged_ids + " merged into " + survivors)

    new = assigned.isna().to_numpy()
    first_number = next_number or next_golden_number(prior_golden, prior_xref)
    assigned.iloc[np.flatnonzero(new)] = _format_golden_ids(first_number + np.arange(new.sum()))
    newcomers = _new_id_events(counts, assigned[new])
    return assigned, pd.concat([merges, newcomers], ignore_index=True)


def next_golden_number(prior_golden: pd.DataFrame | None, prior_xref: pd.DataFrame | None) -> int:
    """One past the highest golden ID number ever issued."""
    issued = [
        frame["golden_id"].dropna()
        for frame in (prior_golden, prior_xref)
        if frame is not None and not frame.empty
    ]
    numbers = pd.concat(issued).str.slice(1).astype(np.int64) if issued else pd.Series()
    return int(numbers.max()) + 1 if len(numbers) else 1


def _format_golden_ids(numbers: IntArray) -> np.ndarray:
    """format_golden_id for many numbers at once."""
    return ("G" + zero_padded(numbers, 10)).astype(object)


def _new_id_events(counts: pd.DataFrame, new_ids: pd.Series) -> pd.DataFrame:
    """A split event for each new ID whose records belonged to a prior golden record, else create.

    `counts` holds prior_id, cluster_id and n records; `new_ids` is indexed by cluster_id.
    """
    split_from = (
        counts[counts["cluster_id"].isin(new_ids.index)]
        .sort_values(["cluster_id", "n", "prior_id"], ascending=[True, False, True])
        .drop_duplicates("cluster_id")
        .set_index("cluster_id")["prior_id"]
    )
    is_split = new_ids.index.isin(split_from.index)
    golden_ids = new_ids.to_numpy()
    related = split_from.reindex(new_ids.index).to_numpy(dtype=object)
    related[~is_split] = None
    # Blank sources keep the concatenation all-text; only split rows use its result.
    source = np.where(is_split, related, "")
    return event_frame(
        np.where(is_split, "split", "create"),
        golden_ids,
        related,
        np.where(is_split, golden_ids + " split off from " + source, "new customer"),
    )
