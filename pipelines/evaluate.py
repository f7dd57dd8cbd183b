"""`mdm evaluate`: the last run's matching measured against a ground truth.

Reads what the last run wrote (`mdm.party_records`, `mdm.scored_pairs`, `mdm.clusters`) and
the truth named by `evaluation.ground_truth` in mdm.yaml (record_key -> person_id; the
simulator writes one, with `people.parquet` beside it for the kinds of false merges). Prints
pairwise and cluster scores, false merges by kind and by blocking rule, the missed pairs by
cause and each blocking rule's recall: the figures that say where matching loses pairs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from connectors import tables
from connectors.settings import Settings
from connectors.warehouse import open_warehouse
from matching.evaluation import blocking_recall_by_rule, describe, evaluate_simulated
from pipelines.mdm_config import load_config

PEOPLE_COLUMNS = ["person_id", "name", "household_id", "twin_person_id"]


class EvaluationUnavailable(RuntimeError):
    """Nothing to evaluate: no ground truth configured, or no run's tables yet."""


def evaluate_last_run(settings: Settings, json_path: Path | None = None) -> list[str]:
    """The lines `mdm evaluate` prints; with `json_path`, the figures are written there too."""
    config = load_config(settings.config_path)
    truth_path = config.evaluation.ground_truth
    if truth_path is None or not truth_path.exists():
        raise EvaluationUnavailable(
            f"no ground truth at {truth_path}: set evaluation.ground_truth in "
            f"{settings.config_path} to a Parquet file of record_key, person_id"
        )
    store = open_warehouse(settings.resolved_warehouse_url)
    missing = [table for table in tables.MATCH_TABLES if not store.table_exists(table)]
    if missing:
        raise EvaluationUnavailable(f"no {', '.join(missing)} yet: run the pipeline first")
    records = store.read_table(tables.PARTY_RECORDS)
    scored = store.read_table(tables.SCORED_PAIRS)
    clusters = store.read_table(tables.CLUSTERS)
    truth = pd.read_parquet(truth_path)
    people_path = truth_path.with_name("people.parquet")
    people = (
        pd.read_parquet(people_path, columns=PEOPLE_COLUMNS)
        if people_path.exists()
        else pd.DataFrame(columns=PEOPLE_COLUMNS)
    )
    evaluation = evaluate_simulated(records, scored, clusters, truth, people)
    blocking = blocking_recall_by_rule(records, config.matching, truth)
    if json_path is not None:
        payload = {"evaluation": evaluation.to_dict(), "blocking": blocking.to_dict()}
        json_path.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    header = f"{evaluation.n_records:,} party records of {evaluation.n_persons:,} persons"
    return [header, *describe(evaluation, blocking)]
