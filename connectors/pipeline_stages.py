"""The standardize, match and golden stages on the warehouse, as library calls.

Each reads its inputs from the warehouse (and the steward decisions the caller read from the
ops store), calls the engine (`matching`), and writes its tables in one transaction: a failure
leaves the previous tables intact. The Dagster assets (pipelines/assets/standardize.py,
match.py, golden.py) are wiring over these and over the incremental steps
(connectors/incremental.py); the benchmarks and tests call the same functions without Dagster.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from connectors import tables
from connectors.config import SourceConfig
from connectors.incremental import (
    changed_record_keys_in,
    changed_records_table,
    match_key_tables,
    merge_standardized,
    record_row_hashes,
    source_record_keys,
)
from connectors.warehouse import Warehouse, read_if_exists
from matching import LinkResult, MatchingConfig, PairwiseScores, evaluate_clusters, link
from matching.clustering import oversized_frame
from matching.golden import (
    GoldenResult,
    SurvivorshipConfig,
    build_golden_records,
    outbox_rows,
    record_columns,
    update_history,
    with_event_columns,
)
from matching.incremental import (
    applied_config_json,
    credit_events,
    decision_placements,
    pending_decisions,
)
from matching.online import substitutions_json
from matching.standardize import SourceMapping, standardization_accuracy, standardize_source
from matching.stewardship import Constraints, constraints_from_decisions


@dataclass
class StandardizeOutcome:
    """What a standardization did: `changed` is None for a full one (every row), else the
    record keys an incremental one standardized again (new, changed or gone)."""

    party_records: int  # rows of mdm.party_records after it
    quarantine: pd.DataFrame  # mdm.quarantine after it
    changed: pd.Index | None
    per_source: dict[str, dict[str, int]] = field(default_factory=dict)
    issues: dict[str, int] = field(default_factory=dict)  # "<system>:<rule>" -> rows


def standardize_sources(
    store: Warehouse,
    sources: Mapping[str, SourceConfig],
    *,
    incremental: bool,
    run_id: str,
    now: pd.Timestamp,
) -> StandardizeOutcome:
    """Every source's raw party rows (and identifier rows) into mdm.party_records and
    mdm.quarantine, with each record's raw-row hash (mdm.party_row_hashes).

    `incremental` (once a run has left row hashes) standardizes again only the records whose
    hash differs and merges them in (`merge_standardized`, which also tells the match and
    golden steps which records changed); otherwise every row, the tables replaced whole.
    """
    with store.session():
        return _standardize_sources(store, sources, incremental=incremental, run_id=run_id, now=now)


def _standardize_sources(
    store: Warehouse,
    sources: Mapping[str, SourceConfig],
    *,
    incremental: bool,
    run_id: str,
    now: pd.Timestamp,
) -> StandardizeOutcome:
    incremental = (
        incremental
        and store.table_exists(tables.PARTY_ROW_HASHES)
        and store.table_exists(tables.PARTY_RECORDS)
    )
    raws: dict[str, tuple[pd.DataFrame, pd.DataFrame | None]] = {}
    # Each raw row's record key, built once for the hashes and the changed rows' filter.
    record_keys: dict[str, pd.Series] = {}
    hashes = []
    for system, source in sources.items():
        raw = store.read_table(tables.raw_table(system, source.party_table))
        identifiers = (
            store.read_table(tables.raw_table(system, source.identifiers.table))
            if source.identifiers is not None
            else None
        )
        raws[system] = (raw, identifiers)
        record_keys[system] = source_record_keys(raw, system=system, key_column=source.key_column)
        hashes.append(
            record_row_hashes(
                raw,
                system=system,
                key_column=source.key_column,
                record_keys=record_keys[system],
                identifiers=identifiers,
                identifiers_key_column=(
                    source.identifiers.key_column if source.identifiers else None
                ),
            )
        )
    row_hashes = pd.concat(hashes, ignore_index=True)
    changed = changed_record_keys_in(store, row_hashes) if incremental else None
    outcome = StandardizeOutcome(0, pd.DataFrame(), changed)
    records, quarantined = [], []
    for system, source in sources.items():
        raw, identifiers = raws[system]
        if changed is not None:
            raw = raw[record_keys[system].isin(changed).to_numpy(dtype=bool)]
            if identifiers is not None and source.identifiers is not None:
                owners = source_record_keys(
                    identifiers, system=system, key_column=source.identifiers.key_column
                )
                identifiers = identifiers[owners.isin(changed).to_numpy(dtype=bool)]
        batch_id = str(raw["_batch_id"].iloc[0]) if len(raw) else "empty"
        result = standardize_source(
            raw,
            SourceMapping.from_config(system, source.model_dump()),
            batch_id=batch_id,
            now=now,
            identifiers=identifiers,
        )
        records.append(result.records)
        quarantined.append(result.quarantine)
        outcome.per_source[system] = {
            "raw": len(raw),
            "records": len(result.records),
            "quarantined": len(result.quarantine),
        }
        if identifiers is not None:
            outcome.per_source[system]["identifier_rows"] = len(identifiers)
        for rule, count in result.issue_counts.items():
            outcome.issues[f"{system}:{rule}"] = int(count)
    party = pd.concat(records, ignore_index=True)
    quarantine = pd.concat(quarantined, ignore_index=True)
    if changed is not None:
        merge_standardized(store, changed, party, quarantine, row_hashes, run_id)
        outcome.party_records = int(
            store.query(f"select count(*) as n from {tables.PARTY_RECORDS}")["n"].iloc[0]
        )
        outcome.quarantine = store.read_table(tables.QUARANTINE)
    else:
        store.replace_tables(
            {
                tables.PARTY_RECORDS: party,
                tables.QUARANTINE: quarantine,
                tables.PARTY_ROW_HASHES: row_hashes,
                tables.CHANGED_RECORDS: changed_records_table(pd.Index([]), ""),
            }
        )
        outcome.party_records, outcome.quarantine = len(party), quarantine
    return outcome


def steward_constraints(store: Warehouse, decisions: pd.DataFrame) -> Constraints:
    """The active steward `decisions` as constraints, against the last run's golden IDs
    (read only when there are decisions, and only the columns the constraints use)."""
    if decisions is None or decisions.empty:
        return constraints_from_decisions(decisions, None)
    return constraints_from_decisions(
        decisions,
        read_if_exists(store, tables.XREF, ["record_key", "golden_id"]),
        read_if_exists(store, tables.GOLDEN_RECORDS, ["golden_id", "survivor_id"]),
    )


def pending_decision_records(store: Warehouse, decisions: pd.DataFrame) -> pd.Index:
    """The records the decisions no run has applied yet name (directly or by golden ID): an
    incremental run re-clusters them too, so it applies every pending decision as a full
    run would."""
    xref = store.read_table(tables.XREF, ["record_key", "golden_id", "match_rule"])
    events = read_if_exists(store, tables.GOLDEN_EVENTS, ["decision_id"])
    pending = pending_decisions(decisions, events, xref)
    if pending.empty:
        return pd.Index([], dtype=object)
    named = pd.concat([pending[c] for c in ("record_key_l", "record_key_r")]).dropna()
    goldens = pd.concat([pending[c] for c in ("golden_id", "related_golden_id")]).dropna()
    of_goldens = xref.loc[xref["golden_id"].isin(goldens), "record_key"]
    return pd.Index(pd.unique(pd.concat([named, of_goldens]).to_numpy(dtype=object)))


def can_match_incrementally(store: Warehouse) -> bool:
    """Whether a full run has left what an incremental match starts from."""
    return all(
        store.table_exists(t) for t in (tables.SCORED_PAIRS, tables.XREF, tables.MATCH_MODEL)
    )


@dataclass
class MatchEvaluation:
    """A run's clusters against the ground truth, and the standardization's accuracy against
    the simulated people (None without them): the rows of MATCH_EVALUATION and
    STANDARDIZATION_ACCURACY."""

    scores: PairwiseScores
    rows: dict[str, pd.DataFrame]


def evaluate_against_truth(
    records: pd.DataFrame, clusters: pd.DataFrame, truth_path: Path | None, run_id: str
) -> MatchEvaluation | None:
    """Score the clusters against the truth file (record_key → person_id) when there is one;
    with `people.parquet` beside it, measure the standardization too."""
    if truth_path is None or not truth_path.exists():
        return None
    truth = pd.read_parquet(truth_path)
    scores = evaluate_clusters(clusters, truth)
    rows = {tables.MATCH_EVALUATION: pd.DataFrame([{"run_id": run_id, **asdict(scores)}])}
    people_path = truth_path.with_name("people.parquet")
    if people_path.exists():
        accuracy = standardization_accuracy(records, truth, pd.read_parquet(people_path))
        rows[tables.STANDARDIZATION_ACCURACY] = accuracy.assign(run_id=run_id)
    return MatchEvaluation(scores, rows)


@dataclass
class FullMatch:
    result: LinkResult
    evaluation: MatchEvaluation | None


def match_all(
    store: Warehouse,
    *,
    matching: MatchingConfig,
    survivorship: SurvivorshipConfig,
    constraints: Constraints,
    run_id: str,
    ground_truth: Path | None = None,
    linker: Callable[..., LinkResult] | None = None,
) -> FullMatch:
    """Match every party record (training the model) and write the scored pairs, clusters,
    oversized clusters, the model with the rules and look-alike spellings it used (the quick
    apply, `POST /match` and incremental runs re-use them), every record's block and term
    keys (BLOCK_KEYS, TERM_KEYS: an incremental run blocks on them in SQL), and the
    evaluation when there is a ground truth. `linker`: `matching.engine.link` unless given
    (`matching.spark.link_on_spark` with its session: the Spark engine)."""
    records = store.read_table(tables.PARTY_RECORDS)
    result = (linker or link)(
        records, matching, must_link=constraints.must_link, cannot_link=constraints.cannot_link
    )
    written = {
        tables.SCORED_PAIRS: result.scored_pairs,
        tables.CLUSTERS: result.clusters,
        tables.OVERSIZED_CLUSTERS: oversized_frame(result.review_clusters),
        tables.MATCH_MODEL: pd.DataFrame(
            [
                {
                    "run_id": run_id,
                    "model_json": result.model.to_json(),
                    "config_json": applied_config_json(matching, survivorship),
                    "lookalike_json": substitutions_json(result.lookalike_substitutions),
                }
            ]
        ),
    }
    written.update(match_key_tables(records, matching, result.model))
    evaluation = evaluate_against_truth(records, result.clusters, ground_truth, run_id)
    if evaluation is not None:
        written.update(evaluation.rows)
    store.replace_tables(written)
    return FullMatch(result, evaluation)


def save_model(result: LinkResult, models_dir: Path, run_id: str) -> Path:
    """The run's trained model as a file artifact beside the warehouse's copy."""
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / f"model-{run_id}.json"
    path.write_text(result.model.to_json(), encoding="utf-8")
    return path


@dataclass
class FullGolden:
    result: GoldenResult
    history: pd.DataFrame
    events: pd.DataFrame  # every logged event, this run's appended
    outbox: pd.DataFrame  # the whole change feed
    appended: int  # outbox rows this run added


def survive_all(
    store: Warehouse,
    *,
    survivorship: SurvivorshipConfig,
    decisions: pd.DataFrame,
    run_id: str,
    now: pd.Timestamp,
) -> FullGolden:
    """Survive every cluster against the previous golden state (persistent golden IDs, the
    steward decisions' preferred IDs and placements, events credited to pending decisions),
    and write the golden tables and the change feed in one transaction: a failure leaves the
    previous golden records, xref and events intact, and the outbox without an event for a
    change that was not committed."""
    clusters = store.read_table(tables.CLUSTERS)
    prior_golden = read_if_exists(store, tables.GOLDEN_RECORDS)
    prior_xref = read_if_exists(store, tables.XREF)
    prior_events = read_if_exists(store, tables.GOLDEN_EVENTS)
    survivors = None if prior_golden is None else prior_golden[["golden_id", "survivor_id"]]
    constraints = constraints_from_decisions(decisions, prior_xref, survivors)
    present = set(store.query(f"select * from {tables.PARTY_RECORDS} limit 0").columns)
    wanted = [c for c in record_columns(survivorship) if c in present]
    result = build_golden_records(
        store.read_table(tables.PARTY_RECORDS, wanted),
        clusters,
        survivorship,
        run_id=run_id,
        now=now,
        scored_pairs=store.read_table(tables.SCORED_PAIRS),
        prior_golden=prior_golden,
        prior_xref=prior_xref,
        preferred_golden_ids=constraints.preferred_golden_ids,
        placements=decision_placements(decisions, clusters),
    )
    # Decisions a quick apply (`mdm review apply`) has not applied are credited here.
    result.events = credit_events(
        result.events,
        pending_decisions(decisions, prior_events, prior_xref),
        xref=result.xref,
        prior_xref=prior_xref,
    )
    history = update_history(
        read_if_exists(store, tables.GOLDEN_HISTORY),
        result.golden_records,
        now=now,
        run_id=run_id,
    )
    events = result.events
    if prior_events is not None and len(prior_events):
        events = with_event_columns(
            pd.concat([prior_events, events], ignore_index=True) if len(events) else prior_events
        )
    # Every logged event not yet in the outbox (this run's, or all of them the first time a
    # warehouse has an outbox) is appended, numbered on from the last.
    prior_outbox = read_if_exists(store, tables.CHANGE_OUTBOX)
    if prior_outbox is not None and len(prior_outbox):
        fresh = outbox_rows(
            events, last_seq=int(prior_outbox["seq"].max()), published=prior_outbox["event_id"]
        )
        outbox = pd.concat([prior_outbox, fresh], ignore_index=True)
    else:
        published = None if prior_outbox is None else prior_outbox["event_id"]
        outbox = fresh = outbox_rows(events, last_seq=0, published=published)
    store.replace_tables(
        {
            tables.GOLDEN_RECORDS: result.golden_records,
            tables.XREF: result.xref,
            tables.GOLDEN_LINEAGE: result.lineage,
            tables.GOLDEN_EVENTS: events,
            tables.GOLDEN_HISTORY: history,
            tables.CHANGE_OUTBOX: outbox,
        }
    )
    return FullGolden(result, history, events, outbox, len(fresh))
