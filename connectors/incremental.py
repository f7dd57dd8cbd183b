"""Incremental runs: which rows changed since the last extract, and merging them in; which
source records changed since the last standardization (by the hash of their raw rows); and
the warehouse side of matching and surviving only those (matching.incremental)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from connectors.warehouse import RowChange, Warehouse
from matching.clustering import oversized_frame
from matching.config import MatchingConfig
from matching.golden import GoldenResult, SurvivorshipConfig, next_golden_number, outbox_rows
from matching.incremental import IncrementalMatch, match_changed_records, survive_region
from matching.keys import key_inputs, optional_key_inputs
from matching.model import FellegiSunterModel
from matching.stewardship import Constraints

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
) -> pd.DataFrame:
    """record_key → one hash of the raw row and of the identifier rows keyed to it.

    `raw` (and `identifiers`) carry `_row_hash` (connectors.landing.with_lineage). Record keys
    are built as standardization builds them: `<system>:<stripped key>`.
    """
    keys = raw[key_column].astype("string").str.strip()
    hashes = raw["_row_hash"].astype("string")
    if identifiers is not None and identifiers_key_column is not None and len(identifiers):
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
    frame = pd.DataFrame(
        {
            "record_key": (system + ":" + keys).to_numpy(dtype=object),
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
    and write the region's scored pairs and clusters, and the region (TOUCHED_RECORDS), in
    one transaction."""
    model_row = store.read_table("mdm.match_model", ["model_json"])
    model = FellegiSunterModel.from_json(str(model_row["model_json"].iloc[0]))
    available = set(store.query("select * from mdm.party_records limit 0").columns)
    wanted = matching.required_columns
    needed = ["record_key", *key_inputs(wanted), *optional_key_inputs(wanted)]
    match = match_changed_records(
        store.read_table("mdm.party_records", [c for c in dict.fromkeys(needed) if c in available]),
        changed,
        prior_scored=store.read_table("mdm.scored_pairs"),
        prior_xref=store.read_table("mdm.xref", ["record_key", "golden_id"]),
        model=model,
        matching=matching,
        constraints=constraints,
    )
    # This run's region only: the golden step reads it back by run ID.
    store.replace_tables(
        {TOUCHED_RECORDS: changed_records_table(pd.Index(match.record_keys), run_id)}
    )
    store.replace_rows(match_row_changes(match))
    return match


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
    region = f"(select record_key from {TOUCHED_RECORDS} where run_id = ?)"
    region_ids = f"(select golden_id from mdm.xref where record_key in {region})"

    def rows(sql: str, times: int = 1) -> pd.DataFrame:
        return store.query(sql, [run_id] * times)

    keys = pd.Index(rows(region.strip("()"))["record_key"].dropna().to_numpy(dtype=object))
    region_xref = rows(f"select * from mdm.xref where record_key in {region}")
    prior_ids = set(region_xref["golden_id"])
    highest = store.query(
        "select max(golden_id) as golden_id from mdm.golden_records"
        " union all select max(golden_id) as golden_id from mdm.xref"
    )
    result, history = survive_region(
        rows(f"select * from mdm.party_records where record_key in {region}"),
        rows(f"select * from mdm.clusters where record_key in {region}")
        .sort_values("record_key")
        .reset_index(drop=True),
        rows(
            f"select * from mdm.scored_pairs where record_key_l in {region}"
            f" and record_key_r in {region}",
            2,
        ),
        constraints,
        survivorship=survivorship,
        prior_golden=rows(f"select * from mdm.golden_records where golden_id in {region_ids}"),
        prior_xref=region_xref,
        prior_history=rows(f"select * from mdm.golden_history where golden_id in {region_ids}"),
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
