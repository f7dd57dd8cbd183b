"""What is published for the API, and the point-read store published beside it.

The serving snapshot holds only the tables the API serves (`SERVED_TABLES`): never the raw
source tables, the staging models or anything else a published file would leak. Beside it,
the publish builds a *point store*: a SQLite file holding the tables the API reads one
customer at a time, indexed by golden ID and by every normalized lookup key (resident ID,
mobile, name, name pinyin), so a lookup is a B-tree probe instead of a column scan.

Why SQLite and not DuckDB indexes: measured in-process on a 1,000,000-record snapshot, a
lookup by resident ID, mobile or name took 58-114 ms as a DuckDB scan and still 8-9 ms with ART
indexes on every key column (DuckDB plans the union and joins for analytics, not probes); the
point store answers the same lookups in 0.05-0.06 ms (median) and a golden record with its
sources in under 0.2 ms. Building it costs about 50 s per million golden records at publish.

Both are swapped in together: the point store is written under a fresh name first, then the
snapshot, whose `serving.manifest` names that point store, is renamed over the old snapshot.
A reader that sees the new snapshot therefore finds a complete point store of the same
publish; the two previous point stores stay on disk for readers still opening the one
before (an open SQLite file survives its unlink).

A steward decision applied without a run (`connectors.steward_apply`) does not rebuild them:
`patch_snapshot` copies both, changes the copies' rows of the few golden IDs and records the
decision touched, and swaps them in the same order; marts and the quality tables (`dq.*`)
are left as published.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from matching.incremental import configs_from_json
from matching.model import FellegiSunterModel
from matching.online import build_live_index, record_columns, substitutions_from_json
from quality.runs import RUNS_TABLE
from quality.suites import FAILING_ROWS_TABLE, RESULTS_TABLE

# The marts listing one customer's accounts, loans, tickets and household members.
CUSTOMER_DETAIL_TABLES = (
    "customer_accounts",
    "customer_loans",
    "customer_tickets",
    "customer_households",
)
# The one list of what a serving snapshot holds: every table some API route reads.
SERVED_TABLES = (
    "mdm.golden_records",
    "mdm.xref",
    "mdm.party_records",
    "mdm.golden_lineage",
    "mdm.golden_history",
    "mdm.golden_events",
    "mdm.change_outbox",  # the change feed: GET /changes and the broker publisher
    "mdm.review_questions",  # the steward console's queue,
    "mdm.review_queue",  # its pairs side by side, with their comparison levels,
    "mdm.match_model",  # and the model that weighs them (the waterfall)
    "marts.customer_360",
    *(f"marts.{table}" for table in CUSTOMER_DETAIL_TABLES),
    "marts.kpi_service_daily",
    "marts.kpi_loan_cycle",
    "marts.kpi_mdm",
    "marts.kpi_mdm_sources",
    "marts.rm_tasks",
    # The auditor's workspace: the runs as the publish saw them, every rule result and the
    # failing rows the checks kept, masked when written (`quality.suites.failing_rows_frame`).
    RUNS_TABLE,
    RESULTS_TABLE,
    FAILING_ROWS_TABLE,
)
MANIFEST_TABLE = "serving.manifest"
SERVED_SCHEMAS = frozenset({*(t.split(".")[0] for t in SERVED_TABLES), "serving"})

_GOLDEN = frozenset({"mdm.golden_records"})
_SOURCES = frozenset({"mdm.xref", "mdm.party_records"})
# Point-store table → (the served tables it needs, the DuckDB query filling it, the columns
# indexed). `sources` is the xref joined to its party record once here, not per request. A
# table whose sources are not published is left out, and the API answers 503 "incomplete"
# when it is read, as it does for a missing table in the snapshot.
#
# `{golden}` / `{record}` mark where a patch (`_patch_point_store`) narrows the base tables to
# the changed golden IDs / record keys (`$keys`), so that it reads the change and not the
# snapshot: filtering the finished query instead scanned, joined and unpivoted every record
# per patch (570 ms of a one-record patch at 20,000 people, linear in them). A full build
# fills them with nothing (`_point_query`).
POINT_TABLES: dict[str, tuple[frozenset[str], str, tuple[tuple[str, ...], ...]]] = {
    "golden_records": (
        _GOLDEN,
        "select * from mdm.golden_records{golden}",
        (("golden_id",),),
    ),
    "sources": (
        _SOURCES,
        "select x.*, p.* exclude (record_key, source_system, source_record_id)"
        " from (select * from mdm.xref{record}) x"
        " left join (select * from mdm.party_records{record}) p on p.record_key = x.record_key",
        (("golden_id",), ("record_key",)),
    ),
    "customer_360": (
        frozenset({"marts.customer_360"}),
        "select * from marts.customer_360{golden}",
        (("golden_id",),),
    ),
    # The 360's detail, read one customer (one page of its rows) at a time.
    **{
        table: (
            frozenset({f"marts.{table}"}),
            f"select * from marts.{table}{{golden}}",
            (("golden_id",),),
        )
        for table in CUSTOMER_DETAIL_TABLES
    },
    "lookup_keys": (
        _GOLDEN | _SOURCES,
        "with keyed as ("
        " select golden_id, id_number, mobile, name, name_pinyin from mdm.golden_records{golden}"
        " union all"
        " select x.golden_id, p.id_number, p.mobile, p.name, p.name_pinyin"
        " from (select * from mdm.xref{golden}) x"
        " join mdm.party_records p on p.record_key = x.record_key)"
        " select distinct kind, value, golden_id from ("
        " unpivot keyed on id_number as resident_id, mobile, name, name_pinyin"
        " into name kind value value)"
        " where value is not null order by kind, value, golden_id",
        (("kind", "value"),),
    ),
}
# The column `{golden}` / `{record}` narrow by in a patch's query.
_PATCH_COLUMNS = {"golden_ids": ("golden", "golden_id"), "record_keys": ("record", "record_key")}


def _point_query(query: str, kind: str | None = None, count: int = 0) -> str:
    """A point table's query: whole (`kind` None), or narrowed to `count` keys of `kind`
    (parameters `$k0`, `$k1`, …). A list of parameters, not `in (select unnest(?))`: DuckDB
    pushes constants into the scan, while a subquery is a semi-join reading the whole table
    (xref 18 ms against 4 ms at 20,000 people)."""
    filters = {"golden": "", "record": ""}
    if kind is not None:
        marker, column = _PATCH_COLUMNS[kind]
        keys = ", ".join(f"$k{number}" for number in range(count))
        filters[marker] = f' where "{column}" in ({keys})'
    return query.format_map(filters)


# The lookup keys `lookup_keys.kind` holds, by the API's name for them.
LOOKUP_KINDS = ("resident_id", "mobile", "name", "name_pinyin")
# Column types SQLite has no type for: written as ISO text or 0/1, read back by kind.
RESTORED_TYPES = {
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "BOOLEAN": "boolean",
}
BATCH_ROWS = 50_000
# The live index `POST /match` blocks and scores against (`matching.online`): the model and
# rules of the run (`match_model`), every party record's comparison inputs by `position`
# (`match_records`) and every block key of theirs (`match_keys`, one B-tree on key then
# position: a candidate's keys are probed, never scanned). Measured on the bench's synthetic
# bank of 150,000 party records (100,000 golden): 5.2 s to build, 2.7 million keys, 84 MB. At
# 1,000,000 golden (1.5 M records, 27.0 M keys; busy machine, load 8-11): 190 s wall / 48 s
# CPU, peak RSS 6.8 GB, 849 MB (`_build_match_index` alone on the bench_api snapshot).
MATCH_TABLES = ("match_model", "match_records", "match_keys")


def quoted_path(path: Path) -> str:
    """A path inside a single-quoted SQL string (ATTACH takes no parameter)."""
    return str(path).replace("'", "''")


def _existing_tables(connection: duckdb.DuckDBPyConnection, catalog: str | None = None) -> set:
    where = f"where table_catalog = '{catalog}'" if catalog else ""
    rows = connection.execute(
        f"select table_schema || '.' || table_name from information_schema.tables {where}"
    ).fetchall()
    return {row[0] for row in rows}


def copy_served_tables(connection: duckdb.DuckDBPyConnection, temporary: Path) -> None:
    """Copy the served tables that `connection` has into a new DuckDB file `temporary`."""
    temporary.unlink(missing_ok=True)
    connection.execute(f"attach '{quoted_path(temporary)}' as published")
    try:
        present = _existing_tables(connection) - _existing_tables(connection, "published")
        for qualified in SERVED_TABLES:
            if qualified not in present:
                continue
            schema = qualified.split(".")[0]
            connection.execute(f'create schema if not exists published."{schema}"')
            connection.execute(f"create table published.{qualified} as select * from {qualified}")
    finally:
        connection.execute("detach published")


def build_point_store(snapshot: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Fill a new SQLite file at `path` from the served tables `snapshot` holds."""
    path.unlink(missing_ok=True)
    present = _existing_tables(snapshot)
    with closing(sqlite3.connect(path)) as store:
        store.execute("pragma journal_mode = off")
        store.execute("pragma synchronous = off")
        store.execute(
            "create table restored_columns (table_name text, column_name text, kind text)"
        )
        for table, (needs, query, indexes) in POINT_TABLES.items():
            if not needs <= present:
                continue
            query = _point_query(query)
            names, selected, restored = _point_columns(snapshot, query)
            store.executemany(
                "insert into restored_columns values (?, ?, ?)",
                [(table, name, kind) for name, kind in restored.items()],
            )
            columns = ", ".join(f'"{name}"' for name in names)
            store.execute(f"create table {table} ({columns})")
            _fill_point_table(store, snapshot, table, names, f"select {selected} from ({query})")
            for number, index in enumerate(indexes):
                on = ", ".join(f'"{column}"' for column in index)
                store.execute(f"create index {table}_{number} on {table} ({on})")
        _build_match_index(snapshot, store, present)
        store.execute("analyze")
        store.commit()


def _build_match_index(
    snapshot: duckdb.DuckDBPyConnection, store: sqlite3.Connection, present: set
) -> None:
    """The live index of the published party records (`MATCH_TABLES`), when the snapshot has
    the run's model and records; left out otherwise (`POST /match` answers 503)."""
    if not {"mdm.match_model", "mdm.party_records"} <= present:
        return
    model_row = snapshot.execute("select * from mdm.match_model limit 1").df()
    if model_row.empty or "config_json" not in model_row.columns:
        return
    model_json = str(model_row["model_json"].iloc[0])
    config_json = str(model_row["config_json"].iloc[0])
    substitutions = model_row["lookalike_json"].iloc[0] if "lookalike_json" in model_row else None
    config = configs_from_json(config_json)[0]
    model = FellegiSunterModel.from_json(model_json)
    party = [str(row[0]) for row in snapshot.execute("describe mdm.party_records").fetchall()]
    wanted = ", ".join(f'"{c}"' for c in record_columns(config, party))
    records = snapshot.execute(f"select {wanted} from mdm.party_records").df()
    index = build_live_index(
        records, config, model, substitutions_from_json(substitutions) if substitutions else None
    )
    store.execute("create table match_model (model_json, config_json, spelling_json)")
    spelling = {chr(code): canonical for code, canonical in index.spelling.items()}
    store.execute(
        "insert into match_model values (?, ?, ?)",
        [model_json, config_json, json.dumps(spelling, ensure_ascii=False)],
    )
    frame = index.records
    names = list(frame.columns)
    columns = ", ".join(f'"{name}"' for name in names)
    store.execute(f"create table match_records (position integer primary key, {columns})")
    values: dict[str, np.ndarray] = {}
    for name in names:
        column = frame[name]
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            column = column.dt.strftime("%Y-%m-%d %H:%M:%S")
        value = column.to_numpy(dtype=object)
        value[~frame[name].notna().to_numpy()] = None
        values[name] = value
    placeholders = ", ".join("?" for _ in range(len(names) + 1))
    rows = zip(range(len(frame)), *(values[name].tolist() for name in names), strict=True)
    store.executemany(f"insert into match_records values ({placeholders})", rows)
    # `build_live_index` hands the keys sorted by key then position: the B-tree fills in order.
    key = index.keys["key"].to_numpy(dtype=np.int64)
    position = index.keys["position"].to_numpy(dtype=np.int64)
    store.execute(
        "create table match_keys (key integer, position integer, primary key (key, position))"
        " without rowid"
    )
    store.executemany(
        "insert into match_keys values (?, ?)",
        zip(key.tolist(), position.tolist(), strict=True),
    )


def _point_columns(
    snapshot: duckdb.DuckDBPyConnection, query: str
) -> tuple[list[str], str, dict[str, str]]:
    """A point table's column names, the select list writing them as SQLite stores them, and
    the columns whose type is restored on reading (name → kind)."""
    described = snapshot.execute(f"describe {query}").fetchall()
    selected = []
    restored: dict[str, str] = {}
    for name, kind in ((str(row[0]), str(row[1])) for row in described):
        restoring = RESTORED_TYPES.get(kind)
        if restoring in ("date", "timestamp"):
            selected.append(f'"{name}"::varchar as "{name}"')
        elif kind.startswith("DECIMAL"):
            selected.append(f'"{name}"::double as "{name}"')
        else:
            selected.append(f'"{name}"')
        if restoring:
            restored[name] = restoring
    return [str(row[0]) for row in described], ", ".join(selected), restored


def _fill_point_table(
    store: sqlite3.Connection,
    snapshot: duckdb.DuckDBPyConnection,
    table: str,
    names: list[str],
    select: str,
    parameters: dict[str, object] | None = None,
) -> None:
    insert = f"insert into {table} values ({', '.join('?' for _ in names)})"
    cursor = snapshot.execute(select, parameters) if parameters else snapshot.execute(select)
    while batch := cursor.fetchmany(BATCH_ROWS):
        store.executemany(insert, batch)


# Point table → the column its rows are patched by, and which keys (golden IDs or record
# keys) select them. customer_360 is a mart: a patch leaves it to the next run's publish.
POINT_PATCH_KEYS = {
    "golden_records": ("golden_id", "golden_ids"),
    "sources": ("record_key", "record_keys"),
    "lookup_keys": ("golden_id", "golden_ids"),
}


def published_point_store(serving_path: Path) -> Path | None:
    """The point store the published snapshot names, None when there is none to patch."""
    if not serving_path.exists():
        return None
    with duckdb.connect(str(serving_path), read_only=True) as connection:
        (catalog,) = connection.execute("select current_database()").fetchone() or ("",)
        try:
            row = connection.execute(
                f'select point_store from "{catalog}".{MANIFEST_TABLE}'
            ).fetchone()
        except duckdb.CatalogException:
            return None
    if row is None:
        return None
    points = serving_path.with_name(str(row[0]))
    return points if points.exists() else None


def patch_snapshot(
    serving_path: Path,
    patch: Callable[[Path], None],
    *,
    golden_ids: Sequence[str],
    record_keys: Sequence[str],
) -> Path | None:
    """Publish a copy of the served snapshot with some rows changed, as `publish_snapshot_file`
    publishes a new one; None (nothing published) when there is no snapshot to patch.

    `patch(path)` changes the served tables of the copy at `path`; the point store is copied
    and its rows of `golden_ids` / `record_keys` rebuilt from the patched copy. The point store
    gets its fresh name first and the snapshot is renamed over the old one last, so a reader
    sees the old pair or the new pair, never a mix. A full publish at 100,000 people takes
    about 8 s (the point store is rebuilt whole); a patch copies two files and a few rows.
    """
    old_points = published_point_store(serving_path)
    if old_points is None:
        return None
    temporary = serving_path.with_name(f".{serving_path.name}.{os.getpid()}.patch.tmp")
    points = serving_path.with_name(f"{serving_path.name}.points.{uuid.uuid4().hex[:16]}.sqlite")
    building = points.with_name(f".{points.name}.tmp")
    shutil.copyfile(serving_path, temporary)
    shutil.copyfile(old_points, building)
    try:
        patch(temporary)
        keys = {"golden_ids": list(golden_ids), "record_keys": list(record_keys)}
        connection = duckdb.connect(str(temporary))
        try:
            _patch_point_store(connection, building, keys)
            os.replace(building, points)
            _name_point_store(connection, points)
        finally:
            connection.close()
        os.replace(temporary, serving_path)
    finally:
        temporary.unlink(missing_ok=True)
        building.unlink(missing_ok=True)
    for stale in point_store_paths(serving_path)[:-3]:
        stale.unlink(missing_ok=True)
    return serving_path


def _patch_point_store(
    snapshot: duckdb.DuckDBPyConnection, path: Path, keys: dict[str, list[str]]
) -> None:
    """Rebuild the rows of the given keys in the point store at `path` from `snapshot`."""
    present = _existing_tables(snapshot)
    with closing(sqlite3.connect(path)) as store:
        existing = {row[0] for row in store.execute("select name from sqlite_master")}
        for table, (column, kind) in POINT_PATCH_KEYS.items():
            needs, query, _ = POINT_TABLES[table]
            if table not in existing or not needs <= present:
                continue
            values = keys[kind]
            store.execute("create temporary table if not exists patch_keys (value text)")
            store.execute("delete from patch_keys")
            store.executemany("insert into patch_keys values (?)", [(v,) for v in values])
            store.execute(f'delete from {table} where "{column}" in (select value from patch_keys)')
            if not values:
                continue
            names, selected, _ = _point_columns(snapshot, _point_query(query))
            _fill_point_table(
                store,
                snapshot,
                table,
                names,
                f"select {selected} from ({_point_query(query, kind, len(values))})",
                {f"k{number}": value for number, value in enumerate(values)},
            )
        store.commit()


def _name_point_store(snapshot: duckdb.DuckDBPyConnection, points: Path) -> None:
    """Write the snapshot's manifest naming its point store, and checkpoint the snapshot."""
    # Qualified by the catalog: a file named serving.duckdb is a catalog named `serving`.
    (catalog,) = snapshot.execute("select current_database()").fetchone() or ("",)
    snapshot.execute(f'create schema if not exists "{catalog}".serving')
    snapshot.execute(
        f'create or replace table "{catalog}".{MANIFEST_TABLE} as select ? as point_store',
        [points.name],
    )
    snapshot.execute("checkpoint")


def point_store_paths(serving_path: Path) -> list[Path]:
    """The point stores published beside `serving_path`, oldest first."""
    found = serving_path.parent.glob(f"{serving_path.name}.points.*.sqlite")
    return sorted(found, key=lambda path: path.stat().st_mtime_ns)


def publish_snapshot_file(temporary: Path, serving_path: Path) -> Path:
    """Publish a DuckDB file holding the served tables: point store first, then the rename.

    `temporary` must sit in `serving_path`'s folder (a rename does not cross file systems).
    Any schema outside `SERVED_SCHEMAS` is dropped from it before it is published.
    """
    points = serving_path.with_name(f"{serving_path.name}.points.{uuid.uuid4().hex[:16]}.sqlite")
    building = points.with_name(f".{points.name}.tmp")
    connection = duckdb.connect(str(temporary))
    try:
        schemas = connection.execute(
            "select schema_name from information_schema.schemata"
            " where catalog_name = current_database()"
            " and schema_name not in ('main', 'information_schema', 'pg_catalog')"
        ).fetchall()
        for (schema,) in schemas:
            if schema not in SERVED_SCHEMAS:
                connection.execute(f'drop schema "{schema}" cascade')
        build_point_store(connection, building)
        os.replace(building, points)
        _name_point_store(connection, points)
    finally:
        connection.close()
    os.replace(temporary, serving_path)
    for stale in point_store_paths(serving_path)[:-3]:
        stale.unlink(missing_ok=True)
    return serving_path
