"""Steward decisions as matching constraints, and the review queue.

A decision is data (who, what, why); this module checks a decision against the current
cross-reference (so a steward is told what is wrong), says whether it is risky enough to wait
for a second steward, turns the active decisions into the must-link and cannot-link pairs that
clustering honours, finds decisions that contradict each other, and builds the review queue
and its questions. No I/O: the ops store and the warehouse are read by the caller.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from matching.golden import GOLDEN_ATTRIBUTES, SurvivorshipConfig, survive
from matching.model import FellegiSunterModel

DecisionType = Literal["same", "different", "split", "merge"]
DECISION_TYPES: tuple[str, ...] = ("same", "different", "split", "merge")
PAIR_COLUMNS = ["record_key_l", "record_key_r"]

# A decision's life: a non-risky one is active at once; a risky one waits (pending) until a
# second steward approves (active) or rejects it; a pending or active one can be revoked. Only
# active decisions constrain clustering; pending and active ones hold their subject, so two
# open decisions never cover one pair, record or merge.
DecisionStatus = Literal["pending", "active", "rejected", "revoked"]
DECISION_STATUSES: tuple[str, ...] = ("pending", "active", "rejected", "revoked")
OPEN_STATUSES: tuple[str, ...] = ("pending", "active")
# What can happen to a decision, in its history (`decision_events` in the ops store).
DecisionAction = Literal["created", "approved", "rejected", "revoked"]
DECISION_ACTIONS: tuple[str, ...] = ("created", "approved", "rejected", "revoked")

# A steward named on the command line: a login-like name, so the history names an identity
# and not free text (the console records the signed-in principal's subject instead).
CLI_STEWARD_PATTERN = re.compile(r"^[A-Za-z0-9._@-]{1,100}$")
CLI_STEWARD_PREFIX = "cli:"
STEWARD_MAX_LENGTH = 100  # the ops store's steward column


def cli_steward(name: str) -> str:
    """The steward identity a command-line decision is recorded under: `cli:<name>`.

    Raises ValueError naming the rule (never echoing the text: it may be a person's name).
    """
    if not CLI_STEWARD_PATTERN.fullmatch(name):
        raise ValueError(
            "--steward must be 1-100 letters, digits or . _ @ - (a login name, e.g. wang.min)"
        )
    return f"{CLI_STEWARD_PREFIX}{name}"


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
    """What a decision is about; two open (pending or active) decisions about one subject conflict.

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


def _retirement(golden: pd.DataFrame | None) -> dict[str, str | None]:
    """Retired golden ID → the active survivor it went to (None when it went to no one)."""
    if golden is None or golden.empty:
        return {}
    survivors = survivor_map(golden)
    retired = golden["survivor_id"].notna()
    if "status" in golden.columns:
        retired |= golden["status"] == "retired"
    return {str(g): survivors.get(str(g)) for g in golden.loc[retired, "golden_id"]}


def _retired_text(golden_id: str, survivor: str | None) -> str:
    if survivor is None:
        return f"golden record {golden_id} was retired (no source records left)"
    return f"golden record {golden_id} was retired: merged into {survivor}"


def check_references(
    decision_type: str,
    *,
    xref: pd.DataFrame,
    golden: pd.DataFrame | None = None,
    record_key_l: str | None = None,
    record_key_r: str | None = None,
    golden_id: str | None = None,
    related_golden_id: str | None = None,
) -> None:
    """Refuse a decision whose record keys or golden IDs do not say what the steward meant.

    Raises ValueError with a message naming the wrong key or ID and, where there is one, the
    right one: the record's actual golden ID, a retired golden record's survivor. Keys and
    golden IDs are not personal data, so they may be named.
    """
    members = current_golden_ids(xref, golden)
    retired = _retirement(golden)
    if decision_type in {"same", "different", "split"}:
        keys = [record_key_l] if decision_type == "split" else [record_key_l, record_key_r]
        missing = [str(k) for k in keys if k and k not in members.index]
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            named = " and ".join(f"record key {k}" for k in missing)
            raise ValueError(f"{named} {verb} not in the cross-reference (mdm.xref)")
    if decision_type == "split" and record_key_l and golden_id:
        actual = str(members[record_key_l])
        if golden_id in retired:
            raise ValueError(
                f"{_retired_text(golden_id, retired[golden_id])}; record {record_key_l} is "
                f"in golden record {actual}"
            )
        if golden_id != actual:
            raise ValueError(f"record {record_key_l} is in golden record {actual}, not {golden_id}")
        if int((members == actual).sum()) == 1:
            raise ValueError(
                f"record {record_key_l} is the only record of golden record {actual}: "
                "there is nothing to split it from"
            )
    if decision_type == "merge":
        known = set(golden["golden_id"].astype(str)) if golden is not None else None
        for named_id in (golden_id, related_golden_id):
            if not named_id:
                continue
            if named_id in retired:
                survivor = retired[named_id]
                hint = f"; name {survivor} instead" if survivor else ""
                raise ValueError(f"{_retired_text(named_id, survivor)}{hint}")
            if (known is not None and named_id not in known) or not (members == named_id).any():
                raise ValueError(f"golden ID {named_id} is not an active golden record")


def involved_record_keys(
    *,
    xref: pd.DataFrame,
    golden: pd.DataFrame | None = None,
    record_key_l: str | None = None,
    record_key_r: str | None = None,
    golden_id: str | None = None,
    related_golden_id: str | None = None,
) -> list[str]:
    """The records a decision's risk depends on: those it names and every record of the golden
    records it names or that they belong to. A caller reads only these party records (a few,
    not the whole table) for `risk_reasons`."""
    members = current_golden_ids(xref, golden)
    named = [k for k in (record_key_l, record_key_r) if k]
    goldens = {str(members[k]) for k in named if k in members.index}
    goldens |= {g for g in (golden_id, related_golden_id) if g}
    return sorted({*named, *members.index[members.isin(goldens)].astype(str)})


# Why a decision waits for a second steward. Said without the values: a reason is shown and
# stored beside the decision, and personal data never goes there.
RISK_TWO_VALID_IDS = "joins two different valid resident IDs"
RISK_SAME_ID_AND_NAME = "separates records that share one valid resident ID and one name"
RISK_FIELDS = {"name": "name", "id_number": "resident ID"}


def risk_reasons(
    decision_type: str,
    *,
    xref: pd.DataFrame,
    records: pd.DataFrame,
    golden: pd.DataFrame | None = None,
    survivorship: SurvivorshipConfig | None = None,
    record_key_l: str | None = None,
    record_key_r: str | None = None,
    golden_id: str | None = None,
    related_golden_id: str | None = None,
) -> tuple[str, ...]:
    """Why a (well-referenced) decision is risky; empty when it is not.

    Risky: a same / merge that joins two different valid resident IDs; a split or different
    that separates records sharing one valid resident ID and one name; a same / merge / split
    that would change an active golden record's name or resident ID. The last is computed with
    the run's own survivorship (`survive`) on the records of the golden records involved,
    before and after, so a join whose new record loses survivorship is not flagged.

    `records` are party records (record_key, name, id_number, id_valid and the columns
    survivorship reads); `xref` and `golden` say which golden record each belongs to now.
    """
    config = survivorship or SurvivorshipConfig()
    members = current_golden_ids(xref, golden)
    by_key = records.drop_duplicates("record_key").set_index("record_key")

    def golden_of(key: str | None) -> str | None:
        return str(members[key]) if key is not None and key in members.index else None

    def keys_of(golden_key: str | None, fallback: str | None) -> list[str]:
        if golden_key is None:
            return [fallback] if fallback else []
        return sorted(members.index[members == golden_key])

    reasons: list[str] = []
    if decision_type in {"same", "merge"}:
        if decision_type == "same":
            left_id, right_id = golden_of(record_key_l), golden_of(record_key_r)
            left = keys_of(left_id, record_key_l)
            right = keys_of(right_id, record_key_r)
        else:
            left_id, right_id = golden_id, related_golden_id
            left, right = keys_of(left_id, None), keys_of(right_id, None)
        if left_id is not None and left_id == right_id:
            return ()  # already one golden record: the decision joins nothing
        ids_l, ids_r = _valid_ids(by_key, left), _valid_ids(by_key, right)
        if ids_l and ids_r and len(ids_l | ids_r) > 1:
            reasons.append(RISK_TWO_VALID_IDS)
        after = _survived(by_key, [*left, *right], config)
        for side_id, side in ((left_id, left), (right_id, right)):
            if side_id is not None:
                reasons += _changes(side_id, _survived(by_key, side, config), after)
    elif decision_type in {"split", "different"}:
        leaving = record_key_l
        staying = (
            [k for k in keys_of(golden_of(leaving), None) if k != leaving]
            if decision_type == "split"
            else [record_key_r]
            if record_key_r
            else []
        )
        if leaving is not None and _shares_valid_id_and_name(by_key, leaving, staying):
            reasons.append(RISK_SAME_ID_AND_NAME)
        home = golden_of(leaving)
        if decision_type == "split" and home is not None and leaving is not None:
            before = _survived(by_key, [*staying, leaving], config)
            reasons += _changes(home, before, _survived(by_key, staying, config))
    return tuple(dict.fromkeys(reasons))


def _valid_ids(by_key: pd.DataFrame, keys: list[str]) -> set[str]:
    if "id_valid" not in by_key.columns or "id_number" not in by_key.columns:
        return set()
    rows = by_key.reindex(keys)
    valid = rows["id_valid"].fillna(False).astype(bool) & rows["id_number"].notna()
    return set(rows.loc[valid, "id_number"].astype(str))


def _shares_valid_id_and_name(by_key: pd.DataFrame, key: str, others: list[str]) -> bool:
    own = _valid_ids(by_key, [key])
    if not own or "name" not in by_key.columns or key not in by_key.index:
        return False
    name = by_key.at[key, "name"]
    if pd.isna(name):
        return False
    rows = by_key.reindex(others)
    same_id = rows["id_number"].astype(str).isin(own) & rows["id_valid"].fillna(False).astype(bool)
    return bool((same_id & (rows["name"] == name)).any())


def _survived(by_key: pd.DataFrame, keys: list[str], config: SurvivorshipConfig) -> pd.Series:
    """The golden attribute values survivorship gives these records as one golden record."""
    present = [k for k in dict.fromkeys(keys) if k in by_key.index]
    if not present:
        return pd.Series(dtype=object)
    # An attribute the caller's records lack is survived as missing, on both sides alike.
    wanted = list(dict.fromkeys([*by_key.columns, *GOLDEN_ATTRIBUTES]))
    subset = by_key.loc[present].reindex(columns=wanted)
    # Survivorship's tie-breakers need these; absent, every record ties on them.
    for column, default in (("source_trust", 1), ("source_updated_at", pd.NaT)):
        if column not in subset.columns:
            subset[column] = default
    if "id_valid" not in subset.columns:
        subset["id_valid"] = False
    subset = subset.reset_index()
    values, _ = survive(subset, pd.DataFrame({"record_key": present, "cluster_id": 0}), config)
    return values.iloc[0]


def _changes(golden_id: str, before: pd.Series, after: pd.Series) -> list[str]:
    """A golden record's name or ID replaced or lost; filling one it lacked is no change of
    identity (every record joining a golden record without an ID would wait otherwise)."""
    changed = []
    for field_name, label in RISK_FIELDS.items():
        old, new = before.get(field_name), after.get(field_name)
        if pd.isna(old):
            continue
        if pd.isna(new) or str(old) != str(new):
            changed.append(f"would change the {label} of golden record {golden_id}")
    return changed


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
    # A merge pins a record of each side, and every record of both, when it is decided (see
    # the ops store): each is must-linked to the first side's record.
    must.append(merges[["record_key_l", "record_key_r", "decision_id"]].dropna())
    if "member_keys" in merges.columns:
        pinned = merges.dropna(subset=["member_keys", "record_key_l"])
        star = pd.DataFrame(
            {
                "record_key_l": pinned["record_key_l"],
                "record_key_r": pinned["member_keys"].map(lambda text: merge_members(str(text))),
                "decision_id": pinned["decision_id"],
            }
        ).explode("record_key_r")
        star = star[star["record_key_r"].notna() & (star["record_key_r"] != star["record_key_l"])]
        if xref is not None and not xref.empty:
            # A record gone from its source since the merge is no longer kept anywhere.
            star = star[star["record_key_r"].isin(members["record_key"])]
        must.append(star)
    return Constraints(_ordered(must), _ordered(cannot), frozenset(preferred))


def merge_members_json(record_keys: Iterable[str]) -> str:
    """How a merge decision stores the records it keeps together (sorted, no repeats)."""
    return json.dumps(sorted(set(record_keys)), ensure_ascii=False)


def merge_members(text: str) -> list[str]:
    """`merge_members_json` read back."""
    return [str(key) for key in json.loads(text)]


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


def undecided_pairs(pairs: pd.DataFrame, decisions: pd.DataFrame | None) -> pd.DataFrame:
    """`pairs` (ordered record keys) without those an open decision answers.

    A pair waiting for a second steward is answered too: it is not asked again; a rejected or
    revoked decision puts it back. Rows of other kinds (an oversized cluster's item) stay.
    """
    if decisions is None or decisions.empty or pairs.empty:
        return pairs
    decided = decisions[
        decisions["status"].isin(OPEN_STATUSES)
        & decisions["decision_type"].isin(["same", "different"])
    ]
    decided_pairs = _ordered([decided[[*PAIR_COLUMNS, "decision_id"]]])[PAIR_COLUMNS]
    flagged = pairs[PAIR_COLUMNS].merge(
        decided_pairs.assign(_decided=True), on=PAIR_COLUMNS, how="left"
    )
    return pairs[flagged["_decided"].isna().to_numpy()]


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

    A pair with an open decision (active, or pending a second steward) is decided; a rejected or
    revoked decision puts it back.

    Priority = uncertainty × customer value: uncertainty is 1 at probability 0.5 and 0 at 0 or 1;
    value is 1 + log10(1 + assets under management of the customers involved), so a VIP's
    uncertain pair comes before a dormant account's.
    """
    queue = undecided_pairs(scored[scored["zone"] == "review"].copy(), decisions)
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
        # The comparison vector, so one queue row is enough to draw the pair's waterfall
        # (match_weight_waterfall) from the published snapshot.
        *[c.gamma_column for c in model.comparisons if c.gamma_column in queue.columns],
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


# One row per question in mdm.review_questions (docs/CONTRACTS.md).
QUESTION_COLUMNS = (
    "question_id",
    "question_type",
    "zone",
    "record_keys",
    "record_count",
    "pairs",
    "pair_count",
    "priority",
    "source_systems",
    "golden_ids",
    "oldest_source_updated_at",
    "age_days",
    "value",
)


def question_id(record_keys: list[str] | tuple[str, ...]) -> str:
    """A question's ID from its record keys alone, so the same records ask the same question
    on every run (and a steward's link to it keeps working) whatever order they came in."""
    text = "\n".join(sorted(record_keys))
    return "Q" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def build_review_questions(
    queue: pd.DataFrame,
    records: pd.DataFrame,
    *,
    customer_value: pd.Series | None = None,
    golden_ids: pd.Series | None = None,
    as_of: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """The review queue grouped into questions: one per connected set of undecided pairs and
    oversized clusters (records linked through any of them are one question for a steward).

    `queue` is `build_review_queue`'s frame; `records` give each record's source system and
    `source_updated_at`; `customer_value` (record key → the assets of its golden customer) and
    `golden_ids` (record key → golden ID) give the value, counted once per golden customer.

    Priority is the highest priority of the question's items, not their sum: a pair's priority
    already weighs uncertainty by customer value, and a sum would grow with the number of
    candidate pairs blocking happened to make among the same records (three records give up to
    three pairs), ranking a chain of small accounts above one uncertain VIP.
    """
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in QUESTION_COLUMNS})
    if queue.empty:
        return empty
    pairs = queue[queue["item_type"] == "pair"]
    oversized = queue[queue["item_type"] == "oversized_cluster"]
    # Items as edges: a pair is one; an oversized cluster links every member to its first.
    item_edges = [
        pd.DataFrame(
            {
                "record_key_l": pairs["record_key_l"].astype(str).to_numpy(),
                "record_key_r": pairs["record_key_r"].astype(str).to_numpy(),
                "item": np.arange(len(pairs)),
            }
        )
    ]
    members = oversized["record_key_r"].astype(str).str.split(",")
    for position, keys in enumerate(members):
        item_edges.append(
            pd.DataFrame(
                {"record_key_l": keys[0], "record_key_r": keys, "item": len(pairs) + position}
            )
        )
    edges = pd.concat(item_edges, ignore_index=True)
    keys = pd.Index(pd.unique(pd.concat([edges["record_key_l"], edges["record_key_r"]])))
    left = keys.get_indexer(pd.Index(edges["record_key_l"]))
    right = keys.get_indexer(pd.Index(edges["record_key_r"]))
    graph = coo_matrix((np.ones(len(edges)), (left, right)), shape=(len(keys), len(keys)))
    _, labels = connected_components(graph, directed=False)

    nodes = pd.DataFrame({"record_key": keys.to_numpy(), "component": labels})
    nodes = nodes.sort_values(["component", "record_key"], kind="stable")
    by_record = records.drop_duplicates("record_key").set_index("record_key")
    if "source_system" in by_record.columns:
        sources = by_record["source_system"].reindex(nodes["record_key"])
        nodes["source_system"] = sources.to_numpy()
    else:
        nodes["source_system"] = nodes["record_key"].str.split(":", n=1).str[0]
    updated = (
        by_record["source_updated_at"].reindex(nodes["record_key"]).to_numpy()
        if "source_updated_at" in by_record.columns
        else np.full(len(nodes), pd.NaT)
    )
    nodes["source_updated_at"] = pd.to_datetime(updated)
    # Whose value it is: the golden customer, or the record itself when it has none yet.
    nodes["customer"] = nodes["record_key"].to_numpy(dtype=object)
    if golden_ids is not None:
        golden_of = golden_ids.reindex(nodes["record_key"]).to_numpy(dtype=object)
        known = pd.notna(golden_of)
        nodes.loc[known, "customer"] = golden_of[known]
    value = (
        customer_value.reindex(nodes["record_key"]).fillna(0.0).to_numpy(dtype=float)
        if customer_value is not None
        else np.zeros(len(nodes))
    )
    nodes["value"] = value

    grouped = nodes.groupby("component", sort=True)
    questions = pd.DataFrame(
        {
            "record_keys": grouped["record_key"].agg(",".join),
            "record_count": grouped["record_key"].size(),
            "source_systems": grouped["source_system"].agg(
                lambda s: ",".join(sorted({str(v) for v in s.dropna()}))
            ),
            "oldest_source_updated_at": grouped["source_updated_at"].min(),
            "value": nodes.drop_duplicates(["component", "customer"])
            .groupby("component")["value"]
            .sum(),
        }
    )
    if golden_ids is not None:
        questions["golden_ids"] = (
            nodes.assign(golden_id=golden_ids.reindex(nodes["record_key"]).to_numpy())
            .dropna(subset=["golden_id"])
            .groupby("component")["golden_id"]
            .agg(lambda s: ",".join(sorted(set(map(str, s)))))
        )
    else:
        questions["golden_ids"] = ""
    questions["golden_ids"] = questions["golden_ids"].fillna("")

    item_component = labels[left]
    per_item = pd.DataFrame({"item": edges["item"].to_numpy(), "component": item_component})
    per_item = per_item.drop_duplicates("item").sort_values("item")
    item_priority = np.concatenate(
        [
            pairs["priority"].to_numpy(dtype=float),
            oversized["priority"].to_numpy(dtype=float),
        ]
    )
    per_item["priority"] = item_priority[per_item["item"].to_numpy()]
    per_item["is_pair"] = per_item["item"].to_numpy() < len(pairs)
    pair_text = (
        pairs["record_key_l"].astype(str) + "|" + pairs["record_key_r"].astype(str)
    ).to_numpy()
    pair_rows = per_item[per_item["is_pair"]].assign(
        pair=pair_text[per_item.loc[per_item["is_pair"], "item"].to_numpy()]
    )
    by_item = per_item.groupby("component")
    questions["priority"] = by_item["priority"].max()
    questions["pair_count"] = (
        pair_rows.groupby("component")["pair"].size().reindex(questions.index).fillna(0)
    ).astype("int64")
    questions["pairs"] = (
        pair_rows.sort_values("pair")
        .groupby("component")["pair"]
        .agg(";".join)
        .reindex(questions.index)
        .fillna("")
    )
    has_oversized = (~by_item["is_pair"].all()).reindex(questions.index)
    questions["question_type"] = np.where(has_oversized, "oversized_cluster", "pairs")
    # Review-zone pairs are the queue's only pairs; an oversized cluster is mostly auto-match
    # links that the size guard stopped.
    questions["zone"] = np.where(has_oversized, "oversized_cluster", "review")
    questions["question_id"] = [question_id(k.split(",")) for k in questions["record_keys"]]
    if as_of is not None:
        age = (pd.Timestamp(as_of) - questions["oldest_source_updated_at"]).dt.days
        questions["age_days"] = age.astype("Int64")
    else:
        questions["age_days"] = pd.array([pd.NA] * len(questions), dtype="Int64")
    questions["priority"] = questions["priority"].round(6)
    questions = questions[list(QUESTION_COLUMNS)]
    return questions.sort_values(
        ["priority", "question_id"], ascending=[False, True], ignore_index=True
    )


def match_weight_waterfall(
    model: FellegiSunterModel,
    pair: pd.Series,
    records: pd.DataFrame,
    term_frequencies: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """The steps of one pair's match weight, for a waterfall chart: the prior, then one log2
    Bayes factor per comparison (term-frequency adjustment included), in the model's order.

    `pair` is the pair's row of mdm.scored_pairs (its record keys and `gamma_<comparison>`
    levels); `records` the party records it was scored with (term frequencies are counted over
    them, so pass all of them, and `term_frequencies(records)` when drawing many pairs). Columns:
    `step` (prior or the comparison), `level` (the level's label), `bits`, and `start` / `end`
    (the running weight before and after the step); the last `end` is the pair's match weight.
    """
    steps = waterfall_steps(model.explain(pair, records, term_frequencies))
    return pd.DataFrame(steps, columns=list(WATERFALL_COLUMNS))


WATERFALL_COLUMNS = ("step", "level", "bits", "start", "end")


def waterfall_steps(parts: list[tuple[str, str, float]]) -> list[dict[str, Any]]:
    """`match_weight_waterfall`'s rows from `FellegiSunterModel.explain`'s parts, as plain
    dicts (for `POST /match`, which needs no frame): `end` is the running sum of the bits
    (added in order, as a cumulative sum adds them) and `start` is `end - bits`."""
    steps: list[dict[str, Any]] = []
    end = 0.0
    for step, level, bits in parts:
        end += bits
        steps.append({"step": step, "level": level, "bits": bits, "start": end - bits, "end": end})
    return steps
