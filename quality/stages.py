"""The three checkpoints as plain functions: the tables each stage's rules run on, and the runs.

A stage function takes the tables as DataFrames and returns one `SuiteRun` per table it
validated; the Dagster checks (`pipelines/checks.py`) read the warehouse and record the results.
What a rule needs beyond the stored columns is derived here into `_dq_*` columns:

- raw: `_dq_garbled_text` (mis-decoded text), `_dq_birth_date` (the stated birth date parsed as
  written, future dates kept), `_dq_birth_date_conflict` / `_dq_gender_conflict` (the stated
  value against the valid resident ID of the same row, by `matching.standardize.identity`, the
  rule's one home). The standardizer replaces a stated value that is a slip of the ID's by the
  ID's, so these are judged on the raw row, where every disagreement is still visible.
- standardized: `_dq_quarantined` on every raw customer row of a source.
- golden: `_dq_source_records` per golden record, `_dq_golden_id` per party record,
  `_dq_same_person` per merged pair, `_dq_owner_in_source` / `_dq_owner_golden_id` per owned row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import TypeVar

import pandas as pd

from connectors.config import SourceConfig
from connectors.tables import GOLDEN_RECORDS, PARTY_RECORDS, QUARANTINE, XREF
from matching.standardize.dates import parse_dates
from matching.standardize.identity import decode_genders, reconcile_with_id
from matching.standardize.ids import normalize_resident_ids
from quality.catalogue import (
    CrossSystemLink,
    QualityConfig,
    SourceQualityConfig,
    Target,
    for_source,
    rules_for,
    with_severity,
)
from quality.masking import MAPPED_SENSITIVE, Sensitive
from quality.sql_suites import (
    Dialect,
    Query,
    run_count_suite,
    run_frame_sql_suite,
    run_sql_suite,
)
from quality.suites import RuleOutcome, SuiteRun, run_suite

_GARBLED_MARKS = re.compile(
    "\ufffd"  # the replacement character: bytes were lost in some earlier decoding
    "|锟斤拷|烫烫|屯屯"  # U+FFFD and uninitialized memory, read as GBK
    r"|[\u00c2-\u00ef][\u0080-\u00bf]"  # UTF-8 read as Latin-1 / Windows-1252
    r"|[\u3400-\u9fff]\?|\?[\u3400-\u9fff]"  # Han text whose characters became '?'
)
_HAN = re.compile(r"[\u3400-\u9fff]")


def _objects(values: pd.Series) -> pd.Series:
    """Values as objects, None (not NaN) where missing: what GX and the warehouse expect."""
    out = values.astype(object)
    out[out.isna()] = None
    return out


# --------------------------------------------------------------------------- raw extracts


def is_garbled(text: str) -> bool:
    """True for text that was decoded with the wrong encoding somewhere upstream.

    Besides the marks above, text that turns into Han text when its characters are encoded as
    GBK (or Latin-1) and decoded as UTF-8 is UTF-8 that was read as GBK (寮犱紵 is 张伟): real
    GBK text almost never forms valid UTF-8, so this has no false alarms on real names.
    """
    if text.isascii():
        return False
    if _GARBLED_MARKS.search(text):
        return True
    for encoding in ("gbk", "latin-1"):
        try:
            original = text.encode(encoding).decode("utf-8")
        except UnicodeError:
            continue
        if original != text and _HAN.search(original):
            return True
    return False


def garbled_text(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """Per row, the first mis-decoded value among `columns` (None when all are clean)."""
    out = pd.Series(None, index=frame.index, dtype=object)
    for column in columns:
        if column not in frame.columns:
            continue
        values = frame[column]
        distinct = values.dropna().astype(str).unique()
        bad = {value for value in distinct if is_garbled(value)}
        if bad:
            hit = values.isin(bad) & out.isna()
            out[hit] = values[hit]
    return out


def prepare_party_table(raw: pd.DataFrame, source: SourceConfig, as_of: date) -> pd.DataFrame:
    """The raw customer table with the `_dq_*` columns the raw rules read."""
    frame = raw.copy()
    now = pd.Timestamp(as_of)
    mapping = source.mapping

    def column(canonical: str) -> pd.Series:
        name = mapping.get(canonical)
        if name is None or name not in frame.columns:
            return pd.Series(None, index=frame.index, dtype=object)
        return frame[name]

    frame["_dq_garbled_text"] = garbled_text(frame, [mapping[c] for c in sorted(mapping)])
    stated_text = column("birth_date")
    # As a timestamp, so a future date keeps its value instead of becoming NULL.
    stated = parse_dates(stated_text, kind="timestamp", now=now)["value"].dt.normalize()
    frame["_dq_birth_date"] = stated
    frame["_dq_birth_date_text"] = stated_text
    ids = normalize_resident_ids(column("id_number"), now=now)
    gender = decode_genders(column("gender"), source.gender_codes)["gender"]
    identity = reconcile_with_id(stated, gender, ids)
    frame["_dq_birth_date_comparable"] = identity["birth_agreement"].notna()
    conflict = identity["birth_disagrees"]
    frame["_dq_birth_date_conflict"] = None
    frame.loc[conflict, "_dq_birth_date_conflict"] = (
        "stated "
        + stated[conflict].dt.strftime("%Y-%m-%d")
        + ", ID says "
        + ids.loc[conflict, "id_birth_date"].dt.strftime("%Y-%m-%d")
    )
    frame["_dq_gender_comparable"] = ids["id_valid"] & ids["id_gender"].notna() & gender.notna()
    gender_conflict = identity["gender_disagrees"]
    frame["_dq_gender_conflict"] = None
    frame.loc[gender_conflict, "_dq_gender_conflict"] = (
        "stated " + gender[gender_conflict] + ", ID says " + ids.loc[gender_conflict, "id_gender"]
    )
    return frame


def raw_sensitive(source: SourceConfig) -> dict[str, Sensitive]:
    """The source's own columns that hold C2 data, by the canonical field they map to."""
    return {
        column: MAPPED_SENSITIVE[field]
        for field, column in source.mapping.items()
        if field in MAPPED_SENSITIVE
    }


def raw_party_columns(source: SourceConfig) -> list[str]:
    """The customer table's columns the raw rules read: its key and every mapped column."""
    mapped = [source.key_column, *(source.mapping[c] for c in sorted(source.mapping))]
    return list(dict.fromkeys(mapped))


def raw_context(source: SourceConfig, as_of: date) -> dict[str, object]:
    """The values the raw rules' parameters name."""
    return {
        "key_column": source.key_column,
        "name_column": source.mapping.get("name") or source.mapping["name_latin"],
        "mapped_columns": raw_party_columns(source),
        "as_of": as_of.isoformat(),
    }


#: A table as the raw stage is given it: its rows (pandas path) or their count (SQL path).
_Table = TypeVar("_Table", pd.DataFrame, int)


def _raw_runs(
    system: str,
    source: SourceConfig,
    party_table: pd.DataFrame,
    tables: Mapping[str, _Table],
    source_rows: Mapping[str, int | str],
    config: QualityConfig,
    as_of: date,
    *,
    party_suite: Callable[..., SuiteRun],
    count_suite: Callable[..., SuiteRun],
    size: Callable[[_Table], int],
) -> list[SuiteRun]:
    """The raw stage's runs, whichever way the rules are counted: the customer table's
    rules (`party_suite`) and every table's row count (`count_suite`, given the table as
    `tables` holds it: its rows, or their count) against the source's own count."""
    config, severity = for_source(config, source.quality)
    suite = f"raw.{system}"
    runs = [
        party_suite(
            prepare_party_table(party_table, source, as_of),
            with_severity(rules_for("raw", "party_table"), severity),
            config,
            suite=suite,
            batch=source.party_table,
            source_system=system,
            context=raw_context(source, as_of),
            key_column=source.key_column,
            sensitive=raw_sensitive(source),
        )
    ]
    count_rules = with_severity(rules_for("raw", "every_table"), severity)
    for table, rows in tables.items():
        counted = source_rows.get(table, "not counted")
        if isinstance(counted, str):
            n = size(rows)
            outcomes = [
                RuleOutcome(rule, n, n, False, [f"{table}: {counted}"]) for rule in count_rules
            ]
            runs.append(SuiteRun(suite, table, system, outcomes))
            continue
        runs.append(
            count_suite(
                rows,
                count_rules,
                config,
                suite=suite,
                batch=table,
                source_system=system,
                context={"source_rows": int(counted)},
            )
        )
    return runs


def check_raw(
    system: str,
    source: SourceConfig,
    party_table: pd.DataFrame,
    table_rows: Mapping[str, pd.DataFrame],
    source_rows: Mapping[str, int | str],
    config: QualityConfig,
    as_of: date,
) -> list[SuiteRun]:
    """Raw rules on one source: the customer table's rules, and every table's row count.

    `table_rows` holds each extracted table (any columns: only its rows are counted) and
    `source_rows` the source's own count per table, or why it could not be counted. The
    source's own thresholds and severities (`sources.<name>.quality`) apply.
    """
    return _raw_runs(
        system,
        source,
        party_table,
        table_rows,
        source_rows,
        config,
        as_of,
        party_suite=run_suite,
        count_suite=run_suite,
        size=len,
    )


def check_raw_in_sql(
    system: str,
    source: SourceConfig,
    party_table: pd.DataFrame,
    table_rows: Mapping[str, int],
    source_rows: Mapping[str, int | str],
    config: QualityConfig,
    as_of: date,
) -> list[SuiteRun]:
    """`check_raw`'s runs, the rules counted by SQL (`quality.sql_suites`) instead of a GX
    validation of a frame.

    `party_table` needs only `raw_party_columns(source)` (those the extract has): the `_dq_*`
    columns are derived from them in pandas (decoding, resident-ID checks no SQL does) and the
    rules counted by an in-process DuckDB over that frame. `table_rows` holds each extracted
    table's row count: a count rule reads no rows at all.
    """
    return _raw_runs(
        system,
        source,
        party_table,
        table_rows,
        source_rows,
        config,
        as_of,
        party_suite=run_frame_sql_suite,
        count_suite=run_count_suite,
        size=int,
    )


# --------------------------------------------------------------------- standardized records


def standardized_context(config: QualityConfig, as_of: date) -> dict[str, str]:
    """The values the standardized rules' parameters name: the business date and the first
    day a record still counts as timely."""
    return {
        "as_of": as_of.isoformat(),
        "timely_since": (as_of - timedelta(days=config.timeliness_days)).isoformat(),
    }


def check_standardized(
    party: pd.DataFrame,
    quarantine: pd.DataFrame,
    systems: Sequence[str],
    config: QualityConfig,
    as_of: date,
    source_quality: Mapping[str, SourceQualityConfig] | None = None,
) -> list[SuiteRun]:
    """Standardized rules per source: its party records, and its rows kept or quarantined,
    each source held to its own thresholds and severities where `source_quality` gives them."""
    context = standardized_context(config, as_of)
    runs = []
    overall = config
    for system in systems:
        config, severity = for_source(overall, (source_quality or {}).get(system))
        records = party[party["source_system"] == system].reset_index(drop=True)
        rejected = quarantine[quarantine["source_system"] == system]
        runs.append(
            run_suite(
                records,
                with_severity(rules_for("standardized", "party_records"), severity),
                config,
                suite=f"standardized.{system}",
                batch="party_records",
                source_system=system,
                context=context,
                key_column="record_key",
            )
        )
        rows = pd.concat(
            [
                pd.DataFrame(
                    {
                        "source_record_id": records["source_record_id"],
                        "_dq_quarantined": False,
                        "rule": None,
                    }
                ),
                pd.DataFrame(
                    {
                        "source_record_id": rejected["source_record_id"],
                        "_dq_quarantined": True,
                        "rule": rejected["rule"],
                    }
                ),
            ],
            ignore_index=True,
        )
        runs.append(
            run_suite(
                rows,
                with_severity(rules_for("standardized", "source_rows"), severity),
                config,
                suite=f"standardized.{system}",
                batch="source_rows",
                source_system=system,
                key_column="source_record_id",
            )
        )
    return runs


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def check_standardized_in_warehouse(
    query: Query,
    dialect: Dialect,
    systems: Sequence[str],
    config: QualityConfig,
    as_of: date,
    source_quality: Mapping[str, SourceQualityConfig] | None = None,
) -> list[SuiteRun]:
    """`check_standardized`'s runs, evaluated by the warehouse over `mdm.party_records` and
    `mdm.quarantine` (`quality.sql_suites`): nothing is read whole into pandas."""
    context = standardized_context(config, as_of)
    runs = []
    overall = config
    for system in systems:
        config, severity = for_source(overall, (source_quality or {}).get(system))
        where = f"where source_system = {_quoted(system)}"
        runs.append(
            run_sql_suite(
                query,
                dialect,
                f"select * from {PARTY_RECORDS} {where}",
                with_severity(rules_for("standardized", "party_records"), severity),
                config,
                suite=f"standardized.{system}",
                batch="party_records",
                source_system=system,
                context=context,
                key_column="record_key",
            )
        )
        # Every raw customer row of the source: kept (a party record) or quarantined.
        rows = (
            "select cast(source_record_id as varchar) as source_record_id, "
            "false as _dq_quarantined, cast(null as varchar) as rule "
            f"from {PARTY_RECORDS} {where} union all "
            "select cast(source_record_id as varchar), true, cast(rule as varchar) "
            f"from {QUARANTINE} {where}"
        )
        runs.append(
            run_sql_suite(
                query,
                dialect,
                rows,
                with_severity(rules_for("standardized", "source_rows"), severity),
                config,
                suite=f"standardized.{system}",
                batch="source_rows",
                source_system=system,
                key_column="source_record_id",
            )
        )
    return runs


def check_activity(
    row_checks: pd.DataFrame,
    config: QualityConfig,
    source_quality: Mapping[str, SourceQualityConfig] | None = None,
) -> list[SuiteRun]:
    """Activity rules per source and canonical entity, on the flags `canonicalize` set for
    every row it kept (`record_key`, `entity`, `source_system`, `_dq_*`)."""
    runs = []
    overall = config
    for (system, entity), rows in row_checks.groupby(["source_system", "entity"], sort=True):
        config, severity = for_source(overall, (source_quality or {}).get(str(system)))
        runs.append(
            run_suite(
                rows.reset_index(drop=True),
                with_severity(rules_for("standardized", "activity_rows"), severity),
                config,
                suite=f"standardized.{system}",
                batch=str(entity),
                source_system=str(system),
                key_column="record_key",
            )
        )
    return runs


def check_activity_in_warehouse(
    query: Query,
    dialect: Dialect,
    row_checks: str,
    config: QualityConfig,
    source_quality: Mapping[str, SourceQualityConfig] | None = None,
) -> list[SuiteRun]:
    """`check_activity`'s runs, counted by the warehouse over the `row_checks` table (its
    qualified name) one source and entity at a time: the flags are not read into pandas."""
    groups = query(
        f"select distinct source_system, entity from {row_checks} order by source_system, entity",
        None,
    )
    runs = []
    overall = config
    for system, entity in groups.itertuples(index=False):
        config, severity = for_source(overall, (source_quality or {}).get(str(system)))
        runs.append(
            run_sql_suite(
                query,
                dialect,
                f"select * from {row_checks} where source_system = {_quoted(str(system))} "
                f"and entity = {_quoted(str(entity))}",
                with_severity(rules_for("standardized", "activity_rows"), severity),
                config,
                suite=f"standardized.{system}",
                batch=str(entity),
                source_system=str(system),
                key_column="record_key",
            )
        )
    return runs


# ----------------------------------------------------------------------------- golden stage


def merged_pairs(xref: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Every pair of source records sharing a golden ID, and whether the reference says they
    are one person (None when either record is not in the reference)."""
    links = xref[["record_key", "golden_id"]].drop_duplicates("record_key")
    pairs = links.merge(links, on="golden_id", suffixes=("_l", "_r"))
    pairs = pairs[pairs["record_key_l"] < pairs["record_key_r"]]
    person = truth.drop_duplicates("record_key").set_index("record_key")["person_id"]
    left = pairs["record_key_l"].map(person)
    right = pairs["record_key_r"].map(person)
    same = (left == right).astype(object)
    same[left.isna() | right.isna()] = None
    return pd.DataFrame(
        {
            "pair": (pairs["record_key_l"] + " ~ " + pairs["record_key_r"]).to_numpy(),
            "golden_id": pairs["golden_id"].to_numpy(),
            "_dq_same_person": same.to_numpy(),
        }
    )


def check_golden(
    golden: pd.DataFrame,
    xref: pd.DataFrame,
    party: pd.DataFrame,
    config: QualityConfig,
    *,
    truth: pd.DataFrame | None = None,
) -> list[SuiteRun]:
    """Golden rules: golden records (all of them, active ones judged), xref, linkage and, with a
    reference set, the accuracy of the merges."""
    active = golden[golden["status"] == "active"].reset_index(drop=True)
    active_ids = set(active["golden_id"])
    per_golden = xref.groupby("golden_id").size()
    active["_dq_source_records"] = active["golden_id"].map(per_golden).fillna(0).astype(int)
    linked = party[["record_key"]].merge(
        xref[["record_key", "golden_id"]], on="record_key", how="left"
    )
    linked["_dq_golden_id"] = _objects(
        linked["golden_id"].where(linked["golden_id"].isin(active_ids))
    )
    tables: list[tuple[Target, pd.DataFrame, str]] = [
        ("golden_records", active, "golden_id"),
        ("xref", xref, "record_key"),
        ("linkage", linked, "record_key"),
    ]
    if truth is not None:
        tables.append(("match_pairs", merged_pairs(xref, truth), "pair"))
    runs = []
    for target, frame, key in tables:
        runs.append(
            run_suite(
                frame,
                with_severity(rules_for("golden", target), config.severity),
                config,
                suite="golden.all",
                batch=target,
                source_system="all",
                key_column=key,
            )
        )
    return runs


def check_golden_in_warehouse(
    query: Query,
    dialect: Dialect,
    config: QualityConfig,
    *,
    xref_links: pd.DataFrame | None = None,
    truth: pd.DataFrame | None = None,
) -> list[SuiteRun]:
    """`check_golden`'s runs, the golden records, xref and linkage counted by the warehouse over
    mdm.golden_records, mdm.xref and mdm.party_records (nothing read whole); with a reference
    set, the merged pairs are built from `xref_links` (`record_key`, `golden_id`) and counted
    by SQL over that frame."""
    active = f"select distinct golden_id from {GOLDEN_RECORDS} where status = 'active'"
    tables: list[tuple[Target, str, str]] = [
        (
            "golden_records",
            "select g.*, coalesce(n.source_records, 0) as _dq_source_records "
            f"from {GOLDEN_RECORDS} g left join (select golden_id, count(*) as source_records "
            f"from {XREF} group by golden_id) n on n.golden_id = g.golden_id "
            "where g.status = 'active'",
            "golden_id",
        ),
        ("xref", f"select * from {XREF}", "record_key"),
        (
            "linkage",
            "select p.record_key, a.golden_id as _dq_golden_id "
            f"from {PARTY_RECORDS} p left join {XREF} x on x.record_key = p.record_key "
            f"left join ({active}) a on a.golden_id = x.golden_id",
            "record_key",
        ),
    ]
    runs = [
        run_sql_suite(
            query,
            dialect,
            relation,
            with_severity(rules_for("golden", target), config.severity),
            config,
            suite="golden.all",
            batch=target,
            source_system="all",
            key_column=key,
        )
        for target, relation, key in tables
    ]
    if truth is not None:
        if xref_links is None:
            raise ValueError("the merged pairs need the xref's record keys and golden IDs")
        runs.append(
            run_frame_sql_suite(
                merged_pairs(xref_links, truth),
                with_severity(rules_for("golden", "match_pairs"), config.severity),
                config,
                suite="golden.all",
                batch="match_pairs",
                source_system="all",
                key_column="pair",
            )
        )
    return runs


def check_owned_rows(
    link: CrossSystemLink,
    owned: pd.DataFrame,
    owner_keys: pd.Series,
    xref: pd.DataFrame,
    active_golden_ids: set[str],
    config: QualityConfig,
    *,
    in_sql: bool = False,
) -> SuiteRun:
    """Cross-system rules on one owned table: every row's owner is a customer of its source
    and resolves, through the cross-reference, to an active golden record. `xref` needs only
    `source_system`, `source_record_id` and `golden_id`; `in_sql` counts the rules by SQL
    over the derived frame (`quality.sql_suites`) instead of a GX validation of it."""
    owners = _objects(owned[link.column]).map(lambda v: None if v is None else str(v).strip())
    known = set(owner_keys.dropna().astype(str).str.strip())
    system_xref = xref[xref["source_system"] == link.system]
    golden_of = system_xref.drop_duplicates("source_record_id").set_index("source_record_id")[
        "golden_id"
    ]
    golden_id = owners.map(golden_of)
    golden_id = golden_id.where(golden_id.isin(active_golden_ids))
    frame = pd.DataFrame(
        {
            link.column: owners,
            "_dq_owner_in_source": owners.isin(known),
            "_dq_owner_golden_id": _objects(golden_id),
        }
    )
    evaluate = run_frame_sql_suite if in_sql else run_suite
    return evaluate(
        frame,
        with_severity(rules_for("golden", "owned_rows"), config.severity),
        config,
        suite=f"golden.{link.system}",
        batch=link.table,
        source_system=link.system,
        key_column=link.column,
    )
