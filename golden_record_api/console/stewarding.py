"""What the steward workspace reads and checks, from the published snapshot and the ops store.

The console never opens the warehouse a run may be writing: the queue, the records, the model
and the cross-reference come from the published snapshot (`connectors.serving.SERVED_TABLES`
carries them), decisions from the ops store. A decision is checked the way the command line
checks it (`OpsStore.record_decision` with the last run's xref, golden records and the party
records it involves) and applied by `connectors.steward_apply` under the run lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from connectors import tables
from connectors.ops_store import Decision
from golden_record_api.snapshot import Snapshot
from matching.blocking import prepare_records
from matching.golden import SurvivorshipConfig
from matching.incremental import configs_from_json
from matching.keys import key_inputs, optional_key_inputs
from matching.model import FellegiSunterModel
from matching.stewardship import involved_record_keys, match_weight_waterfall

QUEUE_PAGE = 50
# The fields a steward compares side by side, in the order the page shows them.
COMPARED_FIELDS = (
    "name",
    "name_pinyin",
    "id_type",
    "id_number",
    "id_valid",
    "birth_date",
    "gender",
    "mobile",
    "phone_other",
    "email",
    "address",
    "source_updated_at",
)


@dataclass(frozen=True)
class QueueFilter:
    source: str | None = None
    zone: str | None = None
    min_age_days: int | None = None
    min_value: float | None = None


def questions(snapshot: Snapshot, where: QueueFilter, offset: int) -> tuple[int, list[dict]]:
    """Open questions by priority (highest first), filtered as the steward asked."""
    parts: list[str] = []
    params: list[Any] = []
    if where.source:
        parts.append("list_contains(string_split(source_systems, ','), ?)")
        params.append(where.source)
    if where.zone:
        parts.append("zone = ?")
        params.append(where.zone)
    if where.min_age_days is not None:
        parts.append("age_days >= ?")
        params.append(where.min_age_days)
    if where.min_value is not None:
        parts.append("value >= ?")
        params.append(where.min_value)
    clause = f" where {' and '.join(parts)}" if parts else ""
    (count,) = snapshot.query(
        f"select count(*) as n from {tables.REVIEW_QUESTIONS}{clause}", params
    )
    rows = snapshot.query(
        f"select * from {tables.REVIEW_QUESTIONS}{clause}"
        " order by priority desc, question_id limit ? offset ?",
        [*params, QUEUE_PAGE, offset],
    )
    return int(count["n"]), rows


def queue_sources(snapshot: Snapshot) -> list[str]:
    rows = snapshot.query(
        "select distinct unnest(string_split(source_systems, ',')) as source"
        f" from {tables.REVIEW_QUESTIONS} order by 1"
    )
    return [str(row["source"]) for row in rows if row["source"]]


def question(snapshot: Snapshot, question_id: str) -> dict[str, Any] | None:
    rows = snapshot.query(
        f"select * from {tables.REVIEW_QUESTIONS} where question_id = ?", [question_id]
    )
    return rows[0] if rows else None


def records_side_by_side(snapshot: Snapshot, record_keys: list[str]) -> dict[str, Any]:
    """The question's records (clear: a steward's role sees identifying fields) with their
    golden IDs, and per field whether every record that has a value agrees."""
    placeholders = ", ".join("?" for _ in record_keys)
    records = snapshot.query(
        f"select p.*, x.golden_id from {tables.PARTY_RECORDS} p"
        f" left join {tables.XREF} x using (record_key) where p.record_key in ({placeholders})"
        " order by p.record_key",
        record_keys,
    )
    agreement: dict[str, str] = {}
    for field in COMPARED_FIELDS:
        values = {str(r[field]) for r in records if r.get(field) not in (None, "")}
        agreement[field] = "empty" if not values else "agree" if len(values) == 1 else "disagree"
    return {"records": records, "fields": COMPARED_FIELDS, "agreement": agreement}


class WaterfallSource:
    """The model and the term frequencies of one published snapshot, computed once per
    publish: a waterfall needs the frequency of each name among all records."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._published_at: object = None
        self._model: FellegiSunterModel | None = None
        self._records: pd.DataFrame | None = None
        self._frequencies: dict[str, np.ndarray] | None = None

    def _load(self, snapshot: Snapshot) -> None:
        (row,) = snapshot.query(f"select model_json, config_json from {tables.MATCH_MODEL} limit 1")
        model = FellegiSunterModel.from_json(str(row["model_json"]))
        config = configs_from_json(str(row["config_json"]))[0]
        # Only the columns the comparisons derive their keys from (the name, the ID and the
        # birth date for the resident ID as the record states it, ...), prepared as the run
        # prepared them.
        wanted = config.required_columns
        present = set(snapshot.frame(f"select * from {tables.PARTY_RECORDS} limit 0").columns)
        columns = [
            c
            for c in dict.fromkeys(
                ["record_key", *key_inputs(wanted), *optional_key_inputs(wanted)]
            )
            if c in present
        ]
        records = prepare_records(
            snapshot.frame(f"select {', '.join(columns)} from {tables.PARTY_RECORDS}"),
            config,
            only_needed=True,
        )
        self._model, self._records = model, records
        self._frequencies = model.term_frequencies(records)
        self._published_at = snapshot.published_at

    def waterfalls(self, snapshot: Snapshot, pairs: list[tuple[str, str]]) -> list[dict]:
        """One waterfall per pair of the queue: steps with their bits and running weight."""
        if not pairs:
            return []
        with self._lock:
            if self._published_at != snapshot.published_at or self._model is None:
                self._load(snapshot)
            model, records, frequencies = self._model, self._records, self._frequencies
        assert model is not None and records is not None
        out = []
        for left, right in pairs:
            rows = snapshot.query(
                f"select * from {tables.REVIEW_QUEUE} where record_key_l = ? and record_key_r = ?",
                [left, right],
            )
            if not rows:
                continue
            pair = pd.Series(rows[0])
            steps = match_weight_waterfall(model, pair, records, frequencies)
            out.append(
                {
                    "left": left,
                    "right": right,
                    "weight": float(rows[0]["match_weight"]),
                    "probability": float(rows[0]["match_probability"]),
                    "steps": [
                        {
                            "step": str(s["step"]),
                            "level": str(s["level"]),
                            "bits": round(float(s["bits"]), 3),
                            "start": round(float(s["start"]), 3),
                            "end": round(float(s["end"]), 3),
                        }
                        for s in steps.to_dict("records")
                    ],
                }
            )
        return out


def survivorship_of(snapshot: Snapshot) -> SurvivorshipConfig | None:
    """The survivorship the last run applied (kept with its model), for the risk check."""
    rows = snapshot.query(f"select * from {tables.MATCH_MODEL} limit 1")
    if not rows or not rows[0].get("config_json"):
        return None
    return configs_from_json(str(rows[0]["config_json"]))[1]


def decision_context(snapshot: Snapshot, decision: Decision | None) -> dict[str, Any]:
    """What `OpsStore.record_decision` / `approve` check a decision against: the published
    xref and golden records, and the party records of the golden records it involves."""
    xref = snapshot.frame(f"select record_key, golden_id from {tables.XREF}")
    golden = snapshot.frame(f"select golden_id, survivor_id, status from {tables.GOLDEN_RECORDS}")
    keys = (
        involved_record_keys(
            xref=xref,
            golden=golden,
            record_key_l=decision.record_key_l,
            record_key_r=decision.record_key_r,
            golden_id=decision.golden_id,
            related_golden_id=decision.related_golden_id,
        )
        if decision is not None
        else []
    )
    placeholders = ", ".join("?" for _ in keys) or "null"
    records = snapshot.frame(
        f"select * from {tables.PARTY_RECORDS} where record_key in ({placeholders})", keys
    )
    return {
        "xref": xref,
        "golden": golden,
        "records": records,
        "survivorship": survivorship_of(snapshot),
    }
