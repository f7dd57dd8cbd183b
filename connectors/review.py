"""The steward's review queue and its questions as the warehouse keeps them.

One home for what the full run's review assets and the quick apply of a decision both write:
the queue's rows with the golden IDs of both sides and the run that asked, and the questions
with the time each was first asked kept across runs (a question's ID is its records). The
rules themselves (what is undecided, priority, grouping into questions) are
`matching.stewardship`'s.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from connectors import tables
from connectors.warehouse import RowChange, Warehouse
from matching.model import FellegiSunterModel
from matching.stewardship import build_review_questions, build_review_queue, undecided_pairs

REVIEW_QUEUE_TABLE = tables.REVIEW_QUEUE
REVIEW_QUESTIONS_TABLE = tables.REVIEW_QUESTIONS
CUSTOMER_360_TABLE = tables.CUSTOMER_360
# What questions need of each record (its source and how old its data is).
QUESTION_RECORD_COLUMNS = ["record_key", "source_system", "source_updated_at"]


def customer_value(store: Warehouse, golden_ids: pd.Series) -> pd.Series | None:
    """record key → the assets under management of its golden customer, from the last
    built marts (None before the first dbt build)."""
    if not store.table_exists(CUSTOMER_360_TABLE):
        return None
    aum = store.query(f"select golden_id, total_aum from {CUSTOMER_360_TABLE}")
    aum_by_golden = aum.set_index("golden_id")["total_aum"].astype(float)
    return golden_ids.map(aum_by_golden).fillna(0.0)


def review_queue(
    store: Warehouse,
    scored: pd.DataFrame,
    records: pd.DataFrame,
    model: FellegiSunterModel,
    decisions: pd.DataFrame | None,
    *,
    golden_ids: pd.Series,
    review_clusters: list[list[str]],
    run_id: str,
) -> pd.DataFrame:
    """The queue's rows for these scored pairs and oversized clusters, as stored.

    `golden_ids`: record key → golden ID, after the clustering the queue follows.
    """
    queue = build_review_queue(
        scored,
        records,
        model,
        decisions,
        customer_value=customer_value(store, golden_ids),
        review_clusters=review_clusters,
    )
    queue.insert(3, "golden_id_l", golden_ids.reindex(queue["record_key_l"]).to_numpy())
    queue.insert(4, "golden_id_r", golden_ids.reindex(queue["record_key_r"]).to_numpy())
    queue.insert(0, "run_id", run_id)
    return queue


def review_questions(
    store: Warehouse,
    queue: pd.DataFrame,
    *,
    golden_ids: pd.Series,
    now: pd.Timestamp,
    run_id: str,
) -> pd.DataFrame:
    """The questions of `queue` as stored; a question asked before keeps its first time."""
    records = store.read_table(tables.PARTY_RECORDS, QUESTION_RECORD_COLUMNS)
    questions = build_review_questions(
        queue,
        records,
        customer_value=customer_value(store, golden_ids),
        golden_ids=golden_ids,
        as_of=now,
    )
    first_seen = pd.Series(now, index=questions["question_id"], dtype="datetime64[us]")
    if store.table_exists(REVIEW_QUESTIONS_TABLE):
        prior = store.read_table(REVIEW_QUESTIONS_TABLE, ["question_id", "first_seen_at"])
        earlier = prior.set_index("question_id")["first_seen_at"]
        first_seen = earlier.reindex(first_seen.index).fillna(first_seen)
    questions["first_seen_at"] = first_seen.to_numpy()
    questions.insert(0, "run_id", run_id)
    return questions


def refreshed_for_region(
    store: Warehouse,
    region: Sequence[str],
    region_scored: pd.DataFrame,
    region_clusters: list[list[str]],
    records: pd.DataFrame,
    model: FellegiSunterModel,
    decisions: pd.DataFrame,
    *,
    golden_ids: pd.Series,
    now: pd.Timestamp,
    run_id: str,
) -> list[RowChange]:
    """The queue and questions after re-clustering a region (a steward decision's quick apply).

    The region's items are asked again from its re-scored pairs, as a full run asks them (a
    pair a decision answered leaves the queue); the items outside it stay, with the golden
    IDs of their records brought up to date. The questions are regrouped from the whole
    queue: a question may join records inside and outside the region.
    """
    before = store.read_table(REVIEW_QUEUE_TABLE)
    inside = pd.Index(region)
    if len(before):
        oversized = (before["item_type"] == "oversized_cluster").to_numpy()
        pair_inside = (
            ~oversized
            & before["record_key_l"].isin(inside).to_numpy()
            & before["record_key_r"].isin(inside).to_numpy()
        )
        # An oversized cluster's item lists its records in record_key_r.
        listed = before.loc[oversized, "record_key_r"].astype(str).str.split(",").explode()
        cluster_inside = before.index.isin(listed.index[listed.isin(inside)])
        # Pairs answered since they were asked (a decision still pending included) leave too.
        kept = undecided_pairs(before[~(pair_inside | cluster_inside)], decisions).copy()
        kept["golden_id_l"] = golden_ids.reindex(kept["record_key_l"]).to_numpy()
        kept["golden_id_r"] = golden_ids.reindex(kept["record_key_r"]).to_numpy()
    else:
        kept = before
    asked = review_queue(
        store,
        region_scored,
        records,
        model,
        decisions,
        golden_ids=golden_ids,
        review_clusters=region_clusters,
        run_id=run_id,
    )
    parts = [part for part in (kept, asked) if len(part)]
    queue = (pd.concat(parts, ignore_index=True) if parts else asked).sort_values(
        ["priority", "record_key_l"], ascending=[False, True], ignore_index=True
    )
    questions = review_questions(store, queue, golden_ids=golden_ids, now=now, run_id=run_id)
    return [
        RowChange(REVIEW_QUEUE_TABLE, pd.DataFrame(), queue, whole=True),
        RowChange(REVIEW_QUESTIONS_TABLE, pd.DataFrame(), questions, whole=True),
    ]
