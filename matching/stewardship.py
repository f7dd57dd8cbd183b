"""Steward decisions as matching constraints, and the review queue.

A decision is data (who, what, why); this module turns the active decisions into the must-link
and cannot-link pairs that clustering honours, finds decisions that contradict each other, and
builds the review queue stewards work from. No I/O: the ops store and the warehouse are read by
the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from matching.model import FellegiSunterModel

DecisionType = Literal["same", "different", "split", "merge"]
DECISION_TYPES: tuple[str, ...] = ("same", "different", "split", "merge")
PAIR_COLUMNS = ["record_key_l", "record_key_r"]


@dataclass(frozen=True)
class Constraints:
    must_link: pd.DataFrame  # record_key_l, record_key_r, decision_id
    cannot_link: pd.DataFrame  # record_key_l, record_key_r, decision_id
    preferred_golden_ids: frozenset[str]  # survivors named by merge decisions


def ordered_pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def subject_key(
    decision_type: str,
    *,
    record_key_l: str | None = None,
    record_key_r: str | None = None,
    golden_id: str | None = None,
    related_golden_id: str | None = None,
) -> str:
    """What a decision is about; two active decisions about one subject conflict.

    Pair decisions (same / different) share the subject `pair:<l>|<r>`, so deciding `different`
    on a pair already decided `same` is a conflict, not a silent overwrite.
    """
    if decision_type in {"same", "different"}:
        if not record_key_l or not record_key_r or record_key_l == record_key_r:
            raise ValueError("a pair decision needs two different record keys")
        left, right = ordered_pair(record_key_l, record_key_r)
        return f"pair:{left}|{right}"
    if decision_type == "split":
        if not record_key_l or not golden_id:
            raise ValueError("a split needs the record key and the golden ID it leaves")
        return f"split:{record_key_l}"
    if decision_type == "merge":
        if not golden_id or not related_golden_id or golden_id == related_golden_id:
            raise ValueError("a merge needs two different golden IDs (survivor, merged)")
        left, right = ordered_pair(golden_id, related_golden_id)
        return f"merge:{left}|{right}"
    raise ValueError(f"unknown decision type {decision_type!r}; expected one of {DECISION_TYPES}")


def survivor_map(golden: pd.DataFrame | None) -> dict[str, str]:
    """Retired golden ID → the active survivor it was (transitively) merged into."""
    if golden is None or golden.empty:
        return {}
    pointers: dict[str, str] = {
        str(k): str(v) for k, v in golden.set_index("golden_id")["survivor_id"].dropna().items()
    }
    final: dict[str, str] = {}
    for start in pointers:
        current, seen = start, {start}
        while current in pointers and pointers[current] not in seen:
            current = pointers[current]
            seen.add(current)
        final[start] = current
    return final


def resolve_golden_id(golden_id: str, survivors: dict[str, str]) -> str:
    return survivors.get(golden_id, golden_id)


def current_golden_ids(xref: pd.DataFrame, golden: pd.DataFrame | None) -> pd.Series:
    """record_key → the active golden ID it belongs to now (retired IDs followed to survivors)."""
    ids = xref.set_index("record_key")["golden_id"]
    survivors = survivor_map(golden)
    return ids.map(survivors).fillna(ids) if survivors else ids


def constraints_from_decisions(
    decisions: pd.DataFrame, xref: pd.DataFrame | None, golden: pd.DataFrame | None = None
) -> Constraints:
    """Must-link / cannot-link pairs implied by the active decisions, against the current xref.

    same → must-link; different → cannot-link; split of record R from golden G → cannot-link R
    with every other record now in G; merge of M into S → must-link between a record of each.
    """
    if decisions is None or decisions.empty:
        return Constraints(_empty_pairs(), _empty_pairs(), frozenset())
    active = decisions[decisions["status"] == "active"]
    must: list[pd.DataFrame] = []
    cannot: list[pd.DataFrame] = []
    pairs = active[active["decision_type"].isin(["same", "different"])]
    for kind, target in (("same", must), ("different", cannot)):
        chosen = pairs[pairs["decision_type"] == kind]
        target.append(chosen[["record_key_l", "record_key_r", "decision_id"]])

    survivors = survivor_map(golden)
    members = pd.DataFrame({"record_key": [], "golden_id": []})
    if xref is not None and not xref.empty:
        members = current_golden_ids(xref, golden).rename("golden_id").reset_index()

    for row in active[active["decision_type"] == "split"].itertuples(index=False):
        golden_id = resolve_golden_id(str(row.golden_id), survivors)
        others = members.loc[
            (members["golden_id"] == golden_id) & (members["record_key"] != row.record_key_l),
            "record_key",
        ]
        cannot.append(
            pd.DataFrame(
                {
                    "record_key_l": row.record_key_l,
                    "record_key_r": others,
                    "decision_id": row.decision_id,
                }
            )
        )
    merges = active[active["decision_type"] == "merge"]
    preferred = {str(g) for g in merges["golden_id"]}
    # A merge pins one record of each side when it is decided (see the ops store).
    must.append(merges[["record_key_l", "record_key_r", "decision_id"]].dropna())
    return Constraints(_ordered(must), _ordered(cannot), frozenset(preferred))


def _empty_pairs() -> pd.DataFrame:
    """No pairs, with text key columns so merges on them stay well-typed."""
    return pd.DataFrame(
        {
            "record_key_l": pd.Series(dtype=object),
            "record_key_r": pd.Series(dtype=object),
            "decision_id": pd.Series(dtype="int64"),
        }
    )


def _ordered(parts: list[pd.DataFrame]) -> pd.DataFrame:
    frame = (
        pd.concat([p for p in parts if len(p)], ignore_index=True)
        if any(len(p) for p in parts)
        else None
    )
    if frame is None:
        return _empty_pairs()
    left = frame[["record_key_l", "record_key_r"]].min(axis=1)
    right = frame[["record_key_l", "record_key_r"]].max(axis=1)
    frame = frame.assign(record_key_l=left, record_key_r=right)
    return frame.drop_duplicates(PAIR_COLUMNS).reset_index(drop=True)


def find_contradiction(constraints: Constraints) -> tuple[str, str, list[int]] | None:
    """A cannot-link pair that the must-links join (directly or through a chain), if any.

    Returns (record_key_l, record_key_r, decision ids involved) for the first one found.
    """
    must, cannot = constraints.must_link, constraints.cannot_link
    if must.empty or cannot.empty:
        return None
    keys = pd.Index(
        pd.unique(pd.concat([must[c] for c in PAIR_COLUMNS] + [cannot[c] for c in PAIR_COLUMNS]))
    )
    n = len(keys)
    left = keys.get_indexer(pd.Index(must["record_key_l"]))
    right = keys.get_indexer(pd.Index(must["record_key_r"]))
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    same_component = (
        labels[keys.get_indexer(pd.Index(cannot["record_key_l"]))]
        == labels[keys.get_indexer(pd.Index(cannot["record_key_r"]))]
    )
    if not same_component.any():
        return None
    first = cannot[same_component].iloc[0]
    component = labels[keys.get_loc(first["record_key_l"])]
    joined = labels[left] == component
    involved = sorted({int(first["decision_id"]), *must.loc[joined, "decision_id"].astype(int)})
    return str(first["record_key_l"]), str(first["record_key_r"]), involved


REVIEW_RECORD_FIELDS = (
    "name",
    "id_number",
    "birth_date",
    "gender",
    "mobile",
    "address",
    "source_system",
)


def explain_pairs(
    model: FellegiSunterModel, scored: pd.DataFrame, records: pd.DataFrame
) -> pd.DataFrame:
    """Each comparison's contribution in bits for every pair, term-frequency adjustments on
    the comparison that carries them; every row sums to the pair's match weight."""
    positions = pd.Index(records["record_key"])
    idx_l = positions.get_indexer(pd.Index(scored["record_key_l"]))
    idx_r = positions.get_indexer(pd.Index(scored["record_key_r"]))
    return model.bits(scored, idx_l, idx_r, model.term_frequencies(records))


def build_review_queue(
    scored: pd.DataFrame,
    records: pd.DataFrame,
    model: FellegiSunterModel,
    decisions: pd.DataFrame | None,
    *,
    customer_value: pd.Series | None = None,
    review_clusters: list[list[str]] | None = None,
) -> pd.DataFrame:
    """Undecided review-zone pairs (and oversized clusters), side by side, explained, prioritized.

    Priority = uncertainty × customer value: uncertainty is 1 at probability 0.5 and 0 at 0 or 1;
    value is 1 + log10(1 + assets under management of the customers involved), so a VIP's
    uncertain pair comes before a dormant account's.
    """
    queue = scored[scored["zone"] == "review"].copy()
    if decisions is not None and not decisions.empty:
        decided = decisions[
            (decisions["status"] == "active")
            & decisions["decision_type"].isin(["same", "different"])
        ]
        decided_pairs = _ordered([decided[[*PAIR_COLUMNS, "decision_id"]]])[PAIR_COLUMNS]
        flagged = queue.merge(decided_pairs.assign(_decided=True), on=PAIR_COLUMNS, how="left")
        queue = queue[flagged["_decided"].isna().to_numpy()]
    explanation = explain_pairs(model, queue, records)
    text = pd.Series("", index=queue.index, dtype=object)
    for position, name in enumerate(explanation.columns):
        separator = "" if position == 0 else ", "
        text = text + separator + name + " " + explanation[name].map("{:+.2f}".format)
    queue["explanation"] = text
    fields = [f for f in REVIEW_RECORD_FIELDS if f in records.columns]
    side = records.set_index("record_key")[fields]
    for suffix in ("l", "r"):
        values = side.reindex(queue[f"record_key_{suffix}"])
        for field_name in fields:
            queue[f"{field_name}_{suffix}"] = values[field_name].to_numpy()
    probability = queue["match_probability"].to_numpy(dtype=float)
    uncertainty = 1.0 - np.abs(2.0 * probability - 1.0)
    value = np.ones(len(queue))
    if customer_value is not None and len(queue):
        left_value = customer_value.reindex(queue["record_key_l"]).fillna(0).to_numpy()
        right_value = customer_value.reindex(queue["record_key_r"]).fillna(0).to_numpy()
        value = 1.0 + np.log10(1.0 + np.fmax(left_value, right_value))
    queue["priority"] = np.round(uncertainty * value, 6)
    queue["item_type"] = "pair"
    columns = [
        "item_type",
        "record_key_l",
        "record_key_r",
        "match_weight",
        "match_probability",
        "priority",
        "explanation",
        *[f"{f}_{s}" for f in fields for s in ("l", "r")],
    ]
    queue = queue[columns]
    if review_clusters:
        oversized = pd.DataFrame(
            {
                "item_type": "oversized_cluster",
                "record_key_l": [min(members) for members in review_clusters],
                "record_key_r": [",".join(sorted(members)) for members in review_clusters],
                "priority": 1.0,
                "explanation": [
                    f"{len(m)} records linked: too many to merge unreviewed"
                    for m in review_clusters
                ],
            }
        )
        queue = pd.concat([queue, oversized], ignore_index=True)
    return queue.sort_values(
        ["priority", "record_key_l"], ascending=[False, True], ignore_index=True
    )
