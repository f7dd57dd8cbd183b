"""Incremental runs: which rows changed since the last extract, and merging them in; which
source records changed since the last standardization (by the hash of their raw rows); and
the warehouse side of matching and surviving only those (matching.incremental)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from connectors import tables
from connectors.warehouse import RowChange, Warehouse
from matching.blocking import prepare_records
from matching.clustering import oversized_frame
from matching.comparison import RecordColumns
from matching.config import MatchingConfig
from matching.engine import compare, decide, predict, rule_masks_for, to_contract
from matching.golden import GoldenResult, SurvivorshipConfig, next_golden_number, outbox_rows
from matching.incremental import (
    IncrementalMatch,
    candidate_key_pairs,
    key_frequencies,
    match_changed_records,
    match_key_rows,
    recluster,
    survive_region,
    tentative_edges,
    term_key_config,
)
from matching.keys import key_inputs, optional_key_inputs
from matching.lookalikes import (
    LOOKALIKE_COLUMN,
    character_counts,
    lookalike_groups,
    spelling_of_groups,
)
from matching.model import FellegiSunterModel
from matching.online import (
    block_key_hashes,
    record_columns,
    rule_caps,
    spelled,
    substitutions_from_json,
    uses_lookalike,
)
from matching.rules import SPLIT_BY_CLUSTERING
from matching.stage_clock import StageClock
from matching.stewardship import PAIR_COLUMNS, Constraints

OUTBOX_TABLE = "mdm.change_outbox"

WATERMARK_COLUMNS = ("system", "table_name", "watermark", "batch_id", "extracted_at")


def merge_increment(
    current: pd.DataFrame | None, increment: pd.DataFrame, key: str
) -> pd.DataFrame:
    """The raw table after an increment: changed rows replace their old versions by key."""
    if current is None or current.empty:
        return increment.reset_index(drop=True)
    if increment.empty:
        return current.reset_index(drop=True)
    kept = current[~current[key].isin(increment[key])]
    return pd.concat([kept, increment[current.columns]], ignore_index=True)


def highest_watermark(frame: pd.DataFrame, column: str, previous: str | None) -> str | None:
    """The watermark to start from next time: the largest value seen (text compares as the
    source stores it; ISO timestamps sort correctly as text)."""
    values = frame[column].dropna() if column in frame else pd.Series(dtype=object)
    candidates = [v for v in (values.max() if len(values) else None, previous) if v is not None]
    return max(candidates) if candidates else None


#: Per source record, the hash of the raw rows it was standardized from (mdm.party_row_hashes):
#: an incremental run standardizes again only the records whose hash differs, new or gone.
ROW_HASH_COLUMNS = ("record_key", "row_hash")


PARTY_ROW_HASHES = "mdm.party_row_hashes"
#: The records an incremental run standardized again (new, changed, gone), and the region
#: its matching re-clustered, each tagged with the run.
CHANGED_RECORDS = "mdm.changed_records"
TOUCHED_RECORDS = "mdm.touched_records"


def source_record_keys(frame: pd.DataFrame, *, system: str, key_column: str) -> pd.Series:
    """The record key of each raw row, as standardization builds it: `<system>:<key>`."""
    return system + ":" + frame[key_column].astype("string").str.strip()


def record_row_hashes(
    raw: pd.DataFrame,
    *,
    system: str,
    key_column: str,
    identifiers: pd.DataFrame | None = None,
    identifiers_key_column: str | None = None,
    record_keys: pd.Series | None = None,
) -> pd.DataFrame:
    """record_key → one hash of the raw row and of the identifier rows keyed to it.

    `raw` (and `identifiers`) carry `_row_hash` (connectors.landing.with_lineage). Record keys
    are built as standardization builds them: `<system>:<stripped key>` (`record_keys`:
    `source_record_keys(raw, ...)` when the caller has built them already).
    """
    keys = raw[key_column].astype("string").str.strip() if record_keys is None else None
    prefixed = system + ":" + keys if keys is not None else record_keys
    hashes = raw["_row_hash"].astype("string")
    if identifiers is not None and identifiers_key_column is not None and len(identifiers):
        if keys is None:
            keys = raw[key_column].astype("string").str.strip()
        id_keys = identifiers[identifiers_key_column].astype("string").str.strip()
        # Order-free: the identifier rows of a record combined by their sorted hashes.
        combined = (
            pd.DataFrame({"key": id_keys, "h": identifiers["_row_hash"].astype("string")})
            .sort_values(["key", "h"])
            .groupby("key")["h"]
            .agg("|".join)
        )
        extra = combined.reindex(keys.to_numpy()).fillna("").to_numpy(dtype=object)
        hashes = hashes + "|" + pd.Series(extra, index=hashes.index, dtype="string")
    assert prefixed is not None
    frame = pd.DataFrame(
        {
            "record_key": prefixed.to_numpy(dtype=object),
            "row_hash": hashes.to_numpy(dtype=object),
        }
    )
    return frame[frame["record_key"].notna()].drop_duplicates("record_key", keep="last")


def changed_record_keys(current: pd.DataFrame, prior: pd.DataFrame) -> pd.Index:
    """The record keys whose raw rows are new, changed or gone since `prior` (both frames of
    `ROW_HASH_COLUMNS`)."""
    merged = current.merge(prior, on="record_key", how="outer", suffixes=("", "_prior"))
    differs = merged["row_hash"].isna() | (merged["row_hash"] != merged["row_hash_prior"])
    return pd.Index(merged.loc[differs.to_numpy(), "record_key"].to_numpy(dtype=object))


def changed_record_keys_in(store: Warehouse, current: pd.DataFrame) -> pd.Index:
    """`changed_record_keys` of `current` against the stored PARTY_ROW_HASHES, compared in
    the warehouse: the stored hashes stay there and only the changed keys come back (sorted),
    instead of every record's hash read into a frame and merged in memory."""
    found = store.query_with(
        "select coalesce(c.record_key, p.record_key) as record_key"
        f" from current_hashes as c full outer join {tables.PARTY_ROW_HASHES} as p"
        " on c.record_key = p.record_key"
        " where c.record_key is null or p.record_key is null"
        " or c.row_hash is distinct from p.row_hash order by 1",
        {"current_hashes": current[list(ROW_HASH_COLUMNS)]},
    )
    return pd.Index(found["record_key"].to_numpy(dtype=object))


def merge_standardized(
    store: Warehouse,
    changed: pd.Index,
    records: pd.DataFrame,
    quarantine: pd.DataFrame | None,
    row_hashes: pd.DataFrame,
    run_id: str,
) -> None:
    """Write an incremental standardization in one transaction: the `changed` records' party
    rows (and quarantine rows) replaced by `records` (and `quarantine`), their row hashes
    renewed; then the run's CHANGED_RECORDS, which tells the match and golden steps."""
    with store.session():
        keys = pd.DataFrame({"record_key": pd.Series(changed.to_numpy(dtype=object), dtype=object)})
        changes = [
            RowChange("mdm.party_records", keys, records),
            RowChange(PARTY_ROW_HASHES, keys, row_hashes[row_hashes["record_key"].isin(changed)]),
        ]
        if quarantine is not None:
            parts = keys["record_key"].str.split(":", n=1)
            source_keys = pd.DataFrame(
                {
                    "source_system": parts.str[0].astype(object),
                    "source_record_id": parts.str[1].astype(object),
                }
            )
            changes.append(RowChange("mdm.quarantine", source_keys, quarantine))
        store.replace_rows(changes)
        store.replace_tables({CHANGED_RECORDS: changed_records_table(changed, run_id)})


def match_row_changes(match: IncrementalMatch) -> list[RowChange]:
    """An incremental match's rows of mdm.scored_pairs, mdm.clusters, mdm.oversized_clusters,
    keyed for delete + insert."""
    records = pd.DataFrame({"record_key": match.record_keys})
    return [
        RowChange("mdm.scored_pairs", match.dropped_pairs, match.added_pairs),
        RowChange("mdm.clusters", records, match.clusters),
        RowChange(
            "mdm.oversized_clusters",
            records.rename(columns={"record_key": "cluster_key"}),
            oversized_frame(match.review_clusters),
        ),
    ]


def golden_row_changes(
    record_keys: pd.Index | np.ndarray | list[str],
    golden_ids: list[str],
    golden: GoldenResult,
    history: pd.DataFrame,
    *,
    outbox_seq: int,
) -> list[RowChange]:
    """A re-survived region's rows of the golden tables: its records' xref rows and its
    golden IDs' records, lineage and history replaced; its events appended, to the change
    feed's outbox too (numbered on from `outbox_seq`)."""
    records = pd.DataFrame({"record_key": pd.Series(list(record_keys), dtype=object)})
    goldens = pd.DataFrame({"golden_id": pd.Series(golden_ids, dtype=object)})
    return [
        RowChange("mdm.xref", records, golden.xref),
        RowChange("mdm.golden_records", goldens, golden.golden_records),
        RowChange("mdm.golden_lineage", goldens, golden.lineage),
        RowChange("mdm.golden_history", goldens, history),
        RowChange("mdm.golden_events", pd.DataFrame(), golden.events),
        # The events enter the change feed in the same transaction as the rows they announce;
        # the run lock the writer holds makes "the last seq + 1" its alone.
        RowChange(OUTBOX_TABLE, pd.DataFrame(), outbox_rows(golden.events, last_seq=outbox_seq)),
    ]


def last_outbox_seq(store: Warehouse) -> int:
    """The change feed's last seq (0 before the first event; a warehouse built before the feed
    has no outbox yet: the next full run fills it with the events logged until then)."""
    if not store.table_exists(OUTBOX_TABLE):
        return 0
    last = store.query(f"select max(seq) as seq from {OUTBOX_TABLE}")["seq"].iloc[0]
    return 0 if pd.isna(last) else int(last)


def _tagged(keys: pd.Index | np.ndarray, run_id: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"run_id": run_id, "record_key": pd.Series(np.asarray(keys, dtype=object), dtype=object)}
    )


def changed_records_of(store: Warehouse, table: str, run_id: str) -> pd.Index | None:
    """The record keys `table` (CHANGED_RECORDS or TOUCHED_RECORDS) holds for `run_id`;
    None when it holds none for it (the run was not incremental at that step)."""
    if not store.table_exists(table):
        return None
    frame = store.read_table(table)
    if not len(frame) or not (frame["run_id"] == run_id).any():
        return None
    mine = frame[(frame["run_id"] == run_id) & frame["record_key"].notna()]
    return pd.Index(mine["record_key"].to_numpy(dtype=object))


def changed_records_table(keys: pd.Index, run_id: str) -> pd.DataFrame:
    """CHANGED_RECORDS for a run: its keys, or one row with no key when nothing changed (so
    the next steps still know the run was incremental)."""
    return _tagged(keys, run_id) if len(keys) else _tagged(np.array([None]), run_id)


def match_incrementally(
    store: Warehouse,
    changed: pd.Index,
    *,
    matching: MatchingConfig,
    constraints: Constraints,
    run_id: str,
) -> IncrementalMatch:
    """Match the changed records against the stored state (the stored model, no re-training)
    and write the region's scored pairs and clusters, the changed records' block and term
    keys, and the region (TOUCHED_RECORDS).

    With the key tables a full run writes (BLOCK_KEYS, TERM_KEYS), what is read is
    proportional to the change (`match_delta`); a warehouse without them (written before
    they existed) is matched by reading every record (`match_changed_records`)."""
    with store.session():
        model_row = store.read_table(tables.MATCH_MODEL)
        model = FellegiSunterModel.from_json(str(model_row["model_json"].iloc[0]))
        if store.table_exists(tables.BLOCK_KEYS) and store.table_exists(tables.TERM_KEYS):
            substitutions = (
                model_row["lookalike_json"].iloc[0] if "lookalike_json" in model_row else None
            )
            match, keys = match_delta(
                store,
                changed,
                model=model,
                substitutions=None if pd.isna(substitutions) else str(substitutions),
                matching=matching,
                constraints=constraints,
            )
        else:
            available = set(store.query(f"select * from {tables.PARTY_RECORDS} limit 0").columns)
            wanted = matching.required_columns
            needed = ["record_key", *key_inputs(wanted), *optional_key_inputs(wanted)]
            match = match_changed_records(
                store.read_table(
                    tables.PARTY_RECORDS, [c for c in dict.fromkeys(needed) if c in available]
                ),
                changed,
                prior_scored=store.read_table(tables.SCORED_PAIRS),
                prior_xref=store.read_table(tables.XREF, ["record_key", "golden_id"]),
                model=model,
                matching=matching,
                constraints=constraints,
            )
            keys = []
        # This run's region only: the golden step reads it back by run ID.
        store.replace_tables(
            {TOUCHED_RECORDS: changed_records_table(pd.Index(match.record_keys), run_id)}
        )
        store.replace_rows([*match_row_changes(match), *keys])
        return match


def match_key_tables(
    records: pd.DataFrame, matching: MatchingConfig, model: FellegiSunterModel
) -> dict[str, pd.DataFrame]:
    """BLOCK_KEYS and TERM_KEYS of every record: what a full run writes beside its pairs so
    that the incremental runs after it block and count term frequencies in SQL."""
    wanted = record_columns(matching, list(records.columns))
    prepared = prepare_records(records[wanted], matching, only_needed=True)
    blocks, terms = match_key_rows(prepared, RecordColumns(prepared), matching, model)
    return {tables.BLOCK_KEYS: blocks, tables.TERM_KEYS: terms}


def _listed(values: Iterable[object]) -> list[Any]:
    """A list to bind as one SQL parameter (`in (select unnest(?))`): plain Python values,
    never empty (an empty list has no element type to bind; a null matches nothing)."""
    out: list[Any] = [v.item() if isinstance(v, np.generic) else v for v in values]
    return out or [None]


def _in(column: str, kind: str = "varchar") -> str:
    """`column` in a list bound as one parameter; typed, so that PostgreSQL can unnest a
    list of one null."""
    return f"{column} in (select unnest(cast(? as {kind}[])))"


def match_delta(
    store: Warehouse,
    changed_keys: pd.Index,
    *,
    model: FellegiSunterModel,
    substitutions: str | None,
    matching: MatchingConfig,
    constraints: Constraints,
) -> tuple[IncrementalMatch, list[RowChange]]:
    """Match the changed records reading only the records and pairs the change involves:
    the full run's result on them, from the stored keys. Returns the match and the key
    tables' row changes (the changed records' keys as they are now).

    - Candidates: the changed records' block keys (hashed as the live index hashes them)
      joined in SQL to BLOCK_KEYS; a block's size counts every record holding the key, and
      a block over the rule's cap pairs nothing, as in the batch. Two different values whose
      64-bit hashes collide would add a candidate the batch does not have (never seen; it
      costs a comparison, the pair is scored on its values).
    - Term frequencies: each involved value's count over every record, from TERM_KEYS.
    - Look-alike spellings: the substitutions the last full run learned (stored beside the
      model, as `POST /match` uses them), spelled with every current name's characters;
      a full run re-learns the substitutions from every candidate pair, an incremental run
      does not (as it does not re-train the model).
    - The region: `touched_region`'s closure, expanded in SQL one step at a time over the
      stored tentative edges (less those holding a changed record), the new pairs, the
      must-links and the xref, until nothing is added.
    """
    stages = StageClock()
    lap = stages.lap

    model.check_compatible(matching)
    changed = pd.Index(pd.unique(np.asarray(list(changed_keys), dtype=object)))
    changed_list = _listed(changed)
    available = set(store.query(f"select * from {tables.PARTY_RECORDS} limit 0").columns)
    wanted = record_columns(matching, sorted(available))
    selected = ", ".join(f'"{c}"' for c in wanted)

    def records_of(keys: Iterable[object]) -> pd.DataFrame:
        return store.query(
            f"select {selected} from {tables.PARTY_RECORDS} where {_in('record_key')}",
            [_listed(keys)],
        )

    fresh = records_of(changed)
    fresh_prepared = prepare_records(fresh, matching, only_needed=True)
    fresh_blocks, fresh_terms = match_key_rows(
        fresh_prepared, RecordColumns(fresh_prepared), matching, model
    )
    cap = int(rule_caps(matching).max()) if matching.blocking_rules else 0
    members = store.query(
        f"with hit as (select record_key, rule, key from {tables.BLOCK_KEYS}"
        f" where {_in('key', 'bigint')} and not {_in('record_key')}),"
        " kept as (select key from hit group by key having count(*) <= ?)"
        " select hit.record_key, hit.rule, hit.key from hit join kept on hit.key = kept.key",
        [_listed(pd.unique(fresh_blocks["key"])), changed_list, cap],
    )
    found = candidate_key_pairs(fresh_blocks, members.astype({"rule": np.int64}), matching)
    partners = pd.Index(
        pd.unique(np.concatenate([found["record_key_l"], found["record_key_r"]]))
    ).difference(changed)
    involved = pd.concat([fresh, records_of(partners)], ignore_index=True)
    prepared = prepare_records(involved, matching, only_needed=True)
    columns = RecordColumns(prepared)
    index = pd.Index(prepared["record_key"])
    left = index.get_indexer(pd.Index(found["record_key_l"]))
    right = index.get_indexer(pd.Index(found["record_key_r"]))
    keep = np.ones(len(found), dtype=bool)
    if matching.link_type != "link_and_dedupe":
        source = prepared[matching.source_column].to_numpy()
        same = source[left] == source[right]
        keep = same if matching.link_type == "dedupe_only" else ~same
    names = [rule.name for rule in matching.blocking_rules]
    pairs = pd.DataFrame(
        {
            "idx_l": left[keep].astype(np.int64),
            "idx_r": right[keep].astype(np.int64),
            "record_key_l": found["record_key_l"].to_numpy(dtype=object)[keep],
            "record_key_r": found["record_key_r"].to_numpy(dtype=object)[keep],
            "blocking_rule": pd.Categorical.from_codes(
                found["rule"].to_numpy(dtype=np.int64)[keep],  # type: ignore[arg-type]
                categories=pd.Index(names),
            ),
        }
    )
    lap("block")
    spelling: dict[int, str] | None = None
    if uses_lookalike(matching):
        spelling = current_spelling(store, substitutions_from_json(substitutions))
        columns.add_column(LOOKALIKE_COLUMN, spelled(prepared["name"], spelling))
    lap("lookalike")
    term_names = [c.name for c in model.comparisons if c.tf_column is not None]
    involved_terms = block_key_hashes(columns, term_key_config(matching, model))
    # Each involved value's count, and (`total`) each comparison's count of records with a
    # value; a 64-bit key is never null here (a null would make it a float and round it).
    # The totals are every row's count less the changed records' (summed below): a plain
    # count by rule, where leaving the changed records out made every row probe their keys.
    counts = store.query(
        f"select rule, key, count(*) as n, false as total from {tables.TERM_KEYS}"
        f" where {_in('key', 'bigint')} and not {_in('record_key')} group by rule, key"
        f" union all select rule, 0 as key, count(*) as n, true as total from {tables.TERM_KEYS}"
        " group by rule"
        f" union all select rule, 0 as key, -count(*) as n, true as total from {tables.TERM_KEYS}"
        f" where {_in('record_key')} group by rule",
        [_listed(pd.unique(involved_terms["key"])), changed_list, changed_list],
    )
    fresh_counts = pd.concat(
        [
            fresh_terms.groupby(["rule", "key"]).size().reset_index(name="n").assign(total=False),
            fresh_terms.groupby("rule").size().reset_index(name="n").assign(key=0, total=True),
        ]
    )
    every_count = (
        pd.concat([counts, fresh_counts], ignore_index=True)
        .astype({"rule": np.int64, "key": np.int64, "n": np.int64, "total": bool})
        .groupby(["rule", "key", "total"])["n"]
        .sum()
        .reset_index()
    )
    # A rule whose every row belonged to changed records nets to 0: absent, as before.
    every_count = every_count[every_count["n"] != 0].reset_index(drop=True)
    frequencies = key_frequencies(
        involved_terms[["position", "rule", "key"]], every_count, len(prepared), term_names
    )
    gammas = compare(prepared, pairs, matching, columns=columns)
    masks = rule_masks_for(matching, columns, pairs, gammas)
    scored = predict(prepared, pairs, gammas, model, columns=columns, term_frequencies=frequencies)
    decided = decide(prepared, scored, matching, masks=masks, columns=columns)
    new_pairs = to_contract(decided, matching)
    lap("compare")
    region = touched_region_in_sql(store, changed, new_pairs, constraints.must_link)
    region_list = _listed(region)
    stale = store.query(
        f"select record_key_l, record_key_r from {tables.SCORED_PAIRS}"
        f" where {_in('record_key_l')} or {_in('record_key_r')}",
        [changed_list, changed_list],
    )
    kept_in_region = store.query(
        f"select * from {tables.SCORED_PAIRS} where {_in('record_key_l')}"
        f" and {_in('record_key_r')} and not {_in('record_key_l')} and not {_in('record_key_r')}",
        [region_list, region_list, changed_list, changed_list],
    )
    new_in_region = (
        new_pairs["record_key_l"].isin(region) & new_pairs["record_key_r"].isin(region)
    ).to_numpy()
    region_records = records_of(region)
    lookalike = None
    if spelling is not None:
        lookalike = pd.Series(
            spelled(region_records["name"], spelling),
            index=region_records["record_key"].to_numpy(dtype=object),
            dtype=object,
        )
    result, contract = recluster(
        region_records,
        pd.concat([kept_in_region, new_pairs[new_in_region]], ignore_index=True),
        matching,
        constraints,
        lookalike,
    )
    lap("cluster")
    gone = pd.DataFrame({"record_key": pd.Series(changed.to_numpy(dtype=object), dtype=object)})
    match = IncrementalMatch(
        record_keys=region.to_numpy(dtype=object),
        clusters=result.clusters,
        review_clusters=result.review_clusters,
        scored_pairs=contract,
        dropped_pairs=pd.concat([stale, kept_in_region[PAIR_COLUMNS]], ignore_index=True),
        added_pairs=pd.concat([contract, new_pairs[~new_in_region]], ignore_index=True),
        candidate_pairs=len(new_pairs),
        timings=stages.seconds,
    )
    return match, [
        RowChange(tables.BLOCK_KEYS, gone, fresh_blocks),
        RowChange(tables.TERM_KEYS, gone, fresh_terms),
    ]


def current_spelling(store: Warehouse, substitutions: pd.DataFrame) -> dict[int, str]:
    """`canonical_spelling` of the substitutions over every stored name: only the distinct
    names holding a look-alike character are read (filtered by a regular expression in
    SQL), each with its count of records."""
    groups = lookalike_groups(substitutions)
    characters = [c for members in groups for c in members]
    if not characters:
        return {}
    escaped = "".join("\\" + c if c in "\\]^-[" else c for c in characters)
    holds = "regexp_matches(name, ?)" if store.dialect == "duckdb" else "name ~ ?"
    named = store.query(
        f"select name, count(*) as n from {tables.PARTY_RECORDS}"
        f" where name is not null and {holds} group by name",
        [f"[{escaped}]"],
    )
    counts = character_counts(groups, named["name"], named["n"].astype(np.int64))
    return spelling_of_groups(groups, counts)


def touched_region_in_sql(
    store: Warehouse, changed: pd.Index, new_pairs: pd.DataFrame, must_link: pd.DataFrame
) -> pd.Index:
    """`matching.incremental.touched_region` of the changed records (sorted), expanded step
    by step in SQL: each step adds the records joined to the last step's by a stored
    tentative edge (auto-match, or split by clustering) that holds no changed record (those
    pairs are replaced by `new_pairs`), by one of `new_pairs`' tentative edges or a
    must-link, or by a shared prior golden ID (xref); until a step adds none."""
    edges = pd.concat([tentative_edges(new_pairs), must_link[PAIR_COLUMNS]], ignore_index=True)
    changed_list = _listed(changed)
    region = pd.Index(changed.to_numpy(dtype=object))
    frontier = region
    tentative = "(zone = 'auto_match' or deterministic_rule = ?)"
    while len(frontier):
        step = _listed(frontier)
        found = store.query(
            f"select record_key_r as record_key from {tables.SCORED_PAIRS}"
            f" where {_in('record_key_l')} and {tentative}"
            f" and not {_in('record_key_l')} and not {_in('record_key_r')}"
            f" union select record_key_l from {tables.SCORED_PAIRS}"
            f" where {_in('record_key_r')} and {tentative}"
            f" and not {_in('record_key_l')} and not {_in('record_key_r')}"
            f" union select other.record_key from {tables.XREF} as mine"
            f" join {tables.XREF} as other on mine.golden_id = other.golden_id"
            f" where {_in('mine.record_key')}",
            [
                step,
                SPLIT_BY_CLUSTERING,
                changed_list,
                changed_list,
                step,
                SPLIT_BY_CLUSTERING,
                changed_list,
                changed_list,
                step,
            ],
        )
        left = edges["record_key_l"].isin(frontier).to_numpy()
        right = edges["record_key_r"].isin(frontier).to_numpy()
        reached = pd.Index(
            pd.unique(
                np.concatenate(
                    [
                        found["record_key"].dropna().to_numpy(dtype=object),
                        edges["record_key_r"].to_numpy(dtype=object)[left],
                        edges["record_key_l"].to_numpy(dtype=object)[right],
                    ]
                )
            )
        )
        frontier = reached.difference(region)
        region = region.append(frontier)
    return pd.Index(np.sort(region.to_numpy(dtype=object)))


def survive_incrementally(
    store: Warehouse,
    *,
    survivorship: SurvivorshipConfig,
    constraints: Constraints,
    decisions: pd.DataFrame | None,
    credited: pd.DataFrame,
    run_id: str,
    now: pd.Timestamp,
) -> tuple[GoldenResult, pd.DataFrame, int]:
    """Re-survive the clusters of the region `match_incrementally` re-clustered for `run_id`
    (TOUCHED_RECORDS) against the stored golden state, reading and writing only the region's
    rows (one transaction); every other golden record, xref row and history row is left as it
    is. Returns (golden result, history, records in the region)."""
    with store.session():
        # The region's keys and prior golden IDs are read once and bound as lists: each
        # table below is then probed by one list, not by a subquery over the xref.
        keys = pd.Index(
            store.query(f"select record_key from {TOUCHED_RECORDS} where run_id = ?", [run_id])[
                "record_key"
            ]
            .dropna()
            .to_numpy(dtype=object)
        )
        key_list = _listed(keys)

        def of_region(table: str, *columns: str) -> pd.DataFrame:
            where = " and ".join(_in(column) for column in columns)
            return store.query(f"select * from {table} where {where}", [key_list] * len(columns))

        region_xref = of_region(tables.XREF, "record_key")
        prior_ids = set(region_xref["golden_id"])
        id_list = _listed(sorted(prior_ids))
        highest = store.query(
            f"select max(golden_id) as golden_id from {tables.GOLDEN_RECORDS}"
            f" union all select max(golden_id) as golden_id from {tables.XREF}"
        )
        result, history = survive_region(
            of_region(tables.PARTY_RECORDS, "record_key"),
            of_region(tables.CLUSTERS, "record_key")
            .sort_values("record_key")
            .reset_index(drop=True),
            of_region(tables.SCORED_PAIRS, "record_key_l", "record_key_r"),
            constraints,
            survivorship=survivorship,
            prior_golden=store.query(
                f"select * from {tables.GOLDEN_RECORDS} where {_in('golden_id')}", [id_list]
            ),
            prior_xref=region_xref,
            prior_history=store.query(
                f"select * from {tables.GOLDEN_HISTORY} where {_in('golden_id')}", [id_list]
            ),
            next_number=next_golden_number(highest, None),
            decisions=decisions,
            credited=credited,
            run_id=run_id,
            now=now,
        )
        rewritten = sorted(prior_ids | set(result.golden_records["golden_id"]))
        store.replace_rows(
            golden_row_changes(keys, rewritten, result, history, outbox_seq=last_outbox_seq(store))
        )
        return result, history, len(keys)
