"""The warehouse contract, on the embedded DuckDB file and on PostgreSQL alike."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from connectors.serving import MANIFEST_TABLE, point_store_paths
from connectors.warehouse import RowChange, WarehouseError, open_warehouse


def golden_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "golden_id": ["G0000000001", "G0000000002"],
            "name": ["张伟", None],
            "source_count": pd.Series([2, 1], dtype="int64"),
            "score": [0.5, float("nan")],
            "active": [True, False],
            "gamma": pd.Series([3, -1], dtype="int8"),
            "updated_at": [
                pd.Timestamp("2026-11-28 02:00:00"),
                pd.Timestamp("2026-11-28 02:00:01.5"),
            ],
            "note": ['comma, "quote"\nnewline', ""],
        }
    )


def test_replace_then_read_round_trips_values_and_nulls(warehouse):
    warehouse.replace_table("mdm.golden_records", golden_frame())
    back = warehouse.read_table("mdm.golden_records")
    assert back["golden_id"].tolist() == ["G0000000001", "G0000000002"]
    assert back["name"].tolist()[0] == "张伟" and pd.isna(back["name"].iloc[1])
    assert back["source_count"].tolist() == [2, 1]
    assert back["active"].tolist() == [True, False]
    assert back["gamma"].tolist() == [3, -1]
    assert back["updated_at"].iloc[1] == pd.Timestamp("2026-11-28 02:00:01.5")
    assert back["note"].tolist() == ['comma, "quote"\nnewline', ""]


def test_a_failed_multi_table_write_leaves_every_table_as_it_was(warehouse):
    warehouse.replace_tables({"mdm.golden_records": golden_frame(), "mdm.xref": golden_frame()})
    # Duplicate column names fail on PostgreSQL, a complex column on DuckDB: either way the
    # second table of the stage cannot be written.
    broken = pd.DataFrame([["G0000000009", 1j]], columns=["golden_id", "golden_id"])
    with pytest.raises(WarehouseError, match=r"mdm\.golden_records, mdm\.xref"):
        warehouse.replace_tables(
            {"mdm.golden_records": golden_frame().iloc[:1], "mdm.xref": broken}
        )
    assert len(warehouse.read_table("mdm.golden_records")) == 2
    assert len(warehouse.read_table("mdm.xref")) == 2


def test_append_creates_then_adds_rows(warehouse):
    frame = golden_frame()
    warehouse.append_rows("dq.results", frame)
    warehouse.append_rows("dq.results", frame)
    assert len(warehouse.read_table("dq.results")) == 4


def test_query_takes_question_mark_parameters(warehouse):
    warehouse.replace_table("mdm.golden_records", golden_frame())
    found = warehouse.query(
        "select golden_id from mdm.golden_records where source_count = ? and name like '张%'",
        [2],
    )
    assert found["golden_id"].tolist() == ["G0000000001"]
    assert warehouse.table_exists("mdm.golden_records")
    assert not warehouse.table_exists("mdm.nothing_here")


def test_publish_swaps_in_a_read_only_snapshot_with_the_served_tables(warehouse, tmp_path):
    warehouse.replace_table("mdm.golden_records", golden_frame())
    serving = tmp_path / "serving.duckdb"
    warehouse.publish(serving)
    with duckdb.connect(str(serving), read_only=True) as connection:
        rows = connection.execute("select count(*) from mdm.golden_records").fetchone()
    assert rows == (2,)
    assert not list(tmp_path.glob(".serving.duckdb*.tmp"))


def test_publish_carries_only_the_tables_the_api_serves(warehouse, tmp_path):
    warehouse.replace_tables(
        {
            "raw.cif_customer": pd.DataFrame({"cust_no": ["C1"], "id_no": ["130102198503070031"]}),
            "staging.stg_core__customers": pd.DataFrame({"id_no": ["130102198503070031"]}),
            "mdm.scored_pairs": pd.DataFrame({"left_key": ["core:C1"], "weight": [1.0]}),
            "mdm.golden_records": golden_frame(),
        }
    )
    serving = tmp_path / "serving.duckdb"
    warehouse.publish(serving)

    with duckdb.connect(str(serving), read_only=True) as connection:
        tables = connection.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
        ).fetchall()
    assert sorted(table for (table,) in tables) == sorted(["mdm.golden_records", MANIFEST_TABLE])
    (points,) = point_store_paths(serving)
    assert b"130102198503070031" not in points.read_bytes()
    assert b"130102198503070031" not in serving.read_bytes()


def test_published_snapshot_keeps_every_value_and_type(warehouse, tmp_path):
    written = golden_frame().assign(
        opened_on=[pd.Timestamp("2020-01-31"), pd.NaT],
        balance=pd.Series([12, None], dtype="Int64"),
    )
    warehouse.replace_tables({"mdm.golden_records": written, "marts.kpi_mdm": written.iloc[:0]})
    serving = tmp_path / "serving.duckdb"
    warehouse.publish(serving)
    with duckdb.connect(str(serving), read_only=True) as connection:
        snapshot = connection.execute("select * from mdm.golden_records order by golden_id").df()
        empty = connection.execute("select count(*) from marts.kpi_mdm").fetchone()
    assert empty == (0,)
    assert snapshot["name"].tolist()[0] == "张伟" and pd.isna(snapshot["name"][1])
    assert snapshot["note"].tolist() == ['comma, "quote"\nnewline', ""]
    assert snapshot["source_count"].tolist() == [2, 1]
    assert snapshot["balance"].iloc[0] == 12 and pd.isna(snapshot["balance"].iloc[1])
    assert snapshot["score"].iloc[0] == 0.5 and pd.isna(snapshot["score"].iloc[1])
    assert snapshot["active"].tolist() == [True, False]
    assert snapshot["gamma"].tolist() == [3, -1]
    assert snapshot["updated_at"].tolist() == written["updated_at"].tolist()
    assert snapshot["opened_on"].iloc[0] == pd.Timestamp("2020-01-31")
    assert pd.isna(snapshot["opened_on"].iloc[1])


def test_unknown_warehouse_url_names_the_supported_ones():
    with pytest.raises(WarehouseError, match=r"duckdb:///.*postgresql://"):
        open_warehouse("oracle://bank/core")


def test_row_changes_create_a_table_the_warehouse_lacks_in_the_same_transaction(
    warehouse,  # type: ignore[no-untyped-def]
) -> None:
    # The change feed's outbox of a warehouse built before it: a quick apply's rows are its first.
    warehouse.replace_table("mdm.golden_records", golden_frame())
    rows = pd.DataFrame({"seq": pd.Series([1, 2], dtype="int64"), "event_id": ["r:1", "r:2"]})
    warehouse.replace_rows(
        [
            RowChange(
                "mdm.golden_records",
                pd.DataFrame({"golden_id": ["G0000000002"]}),
                golden_frame()[:0],
            ),
            RowChange("mdm.change_outbox", pd.DataFrame(), rows),
        ]
    )
    assert warehouse.read_table("mdm.change_outbox")["event_id"].tolist() == ["r:1", "r:2"]
    assert warehouse.read_table("mdm.golden_records")["golden_id"].tolist() == ["G0000000001"]

    # A failure later in the same call leaves neither change behind.
    bad = RowChange(
        "mdm.golden_records", pd.DataFrame(), pd.DataFrame({"updated_at": ["not a time"]})
    )
    with pytest.raises(WarehouseError):
        warehouse.replace_rows(
            [RowChange("mdm.change_outbox", pd.DataFrame(), rows.assign(seq=[3, 4])), bad]
        )
    assert warehouse.read_table("mdm.change_outbox")["seq"].tolist() == [1, 2]


def test_a_session_serves_every_call_inside_it_from_one_connection(warehouse, monkeypatch):
    """An incremental step's reads and writes share one connection (DuckDB opens and
    checkpoints its file on each otherwise); on both warehouses the calls inside behave as
    outside: writes committed, a failed write rolled back, the file free after the session."""
    opened = []
    real_connect = duckdb.connect

    def counting(*args, **kwargs):
        opened.append(args[:1])
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", counting)
    with warehouse.session():
        warehouse.replace_table("mdm.golden_records", golden_frame())
        assert warehouse.table_exists("mdm.golden_records")
        warehouse.replace_rows(
            [
                RowChange(
                    "mdm.golden_records",
                    pd.DataFrame({"golden_id": ["G0000000001"]}),
                    golden_frame().iloc[:0],
                )
            ]
        )
        with pytest.raises(WarehouseError):
            warehouse.replace_tables(
                {"mdm.golden_records": golden_frame().iloc[:0], "nodot": golden_frame()}
            )
        with warehouse.session():  # nested: the outer one's connection
            left = warehouse.query("select golden_id from mdm.golden_records")
    assert left["golden_id"].tolist() == ["G0000000002"]
    if warehouse.dialect == "duckdb":
        # One connection for the six calls (the PostgreSQL side copies through local ones).
        assert len([a for a in opened if a and str(a[0]) == str(warehouse.path)]) == 1
        with real_connect(str(warehouse.path)) as other:  # closed: another may open it
            assert other.execute("select count(*) from mdm.golden_records").fetchone() == (1,)
