"""The standardized rules evaluated in the warehouse (SQL) give the pandas path's results.

Both paths run on the same tables in a real DuckDB file and a real PostgreSQL database: the
pandas path on the tables read back (as the check read them before), the SQL path on the tables
where they are.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from connectors.config import SourceConfig
from connectors.entities import ROW_CHECKS
from connectors.reports import DataDocs
from connectors.tables import GOLDEN_RECORDS, PARTY_RECORDS, QUARANTINE, XREF
from connectors.warehouse import Warehouse
from quality.catalogue import RULES_BY_ID, CrossSystemLink, QualityConfig, SourceQualityConfig
from quality.sql_suites import UnsupportedRule, run_sql_suite
from quality.stages import (
    check_activity,
    check_activity_in_warehouse,
    check_golden,
    check_golden_in_warehouse,
    check_owned_rows,
    check_raw,
    check_raw_in_sql,
    check_standardized,
    check_standardized_in_warehouse,
    raw_party_columns,
)
from quality.suites import failing_rows_frame, suite_results_frame
from tests.pii import find_unmasked

AS_OF = date(2026, 11, 28)
ID_1985_M = "130102198503071235"
COMPARED = ["rule_id", "source_system", "evaluated", "failed", "score", "passed"]


def _both(store: Warehouse, systems: list[str], config: QualityConfig, source_quality=None):
    pandas_runs = check_standardized(
        store.read_table(PARTY_RECORDS),
        store.read_table(QUARANTINE),
        systems,
        config,
        AS_OF,
        source_quality,
    )
    sql_runs = check_standardized_in_warehouse(
        store.query,
        "duckdb" if store.dialect == "duckdb" else "postgres",
        systems,
        config,
        AS_OF,
        source_quality,
    )
    return pandas_runs, sql_runs


def _results(runs) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    frame = suite_results_frame(runs, run_id="r", checked_at=pd.Timestamp("2026-11-28"))
    return frame.sort_values(["rule_id", "source_system"]).reset_index(drop=True)


def test_tiny_tables_give_the_counts_each_rule_should(warehouse):
    party = pd.DataFrame(
        {
            # core:1 twice: both rows fail uniqueness.
            "record_key": ["core:1", "core:1", "core:3", "crm:1"],
            "source_system": ["core", "core", "core", "crm"],
            "source_record_id": ["1", "1", "3", "1"],
            "id_valid": pd.array([True, False, None, False], dtype="boolean"),
            "id_number": [ID_1985_M, "130102198503071236", None, None],
            "id_issue": [None, "check_digit", None, "missing"],
            "mobile": ["13800138000", "1380013800", None, "+85291234567"],
            "birth_date": pd.to_datetime(["1985-03-07", "1899-12-31", None, "2030-01-01"]),
            "source_updated_at": pd.to_datetime(
                ["2026-01-01", "2026-02-01", "2010-01-01", "2010-01-01"]
            ),
        }
    )
    quarantine = pd.DataFrame(
        {"source_system": ["crm"], "source_record_id": ["9"], "rule": ["junk_name"]}
    )
    warehouse.replace_tables({PARTY_RECORDS: party, QUARANTINE: quarantine})
    pandas_runs, sql_runs = _both(warehouse, ["core", "crm"], QualityConfig())
    got = _results(sql_runs).set_index(["rule_id", "source_system"])
    # core: id_valid True, False, NULL -> 2 evaluated, 1 failing; crm 1 of 1 failing.
    assert tuple(got.loc[("std.valid_resident_id_share", "core"), ["evaluated", "failed"]]) == (
        2,
        1,
    )
    # Both rows of the repeated key fail; the third is unique.
    assert tuple(got.loc[("std.record_key_unique", "core"), ["evaluated", "failed"]]) == (3, 2)
    # 1380013800 has 10 digits; the HK mobile is valid; NULL is not judged.
    assert tuple(got.loc[("std.mobile_format", "core"), ["evaluated", "failed"]]) == (2, 1)
    assert tuple(got.loc[("std.mobile_format", "crm"), ["evaluated", "failed"]]) == (1, 0)
    # 1899 and 2030 lie outside [1900-01-01, as-of].
    assert got.loc[("std.birth_date_in_range", "core"), "failed"] == 1
    assert got.loc[("std.birth_date_in_range", "crm"), "failed"] == 1
    assert tuple(got.loc[("std.quarantine_rate", "crm"), ["evaluated", "failed", "passed"]]) == (
        2,
        1,
        False,
    )
    assert got.loc[("std.quarantine_rate", "crm"), "examples"] == "9: rule=junk_name"
    pd.testing.assert_frame_equal(_results(pandas_runs)[COMPARED], _results(sql_runs)[COMPARED])
    # Fewer failing rows than MAX_EXAMPLES: the same examples, whatever their order.
    for left, right in zip(
        _results(pandas_runs)["examples"], _results(sql_runs)["examples"], strict=True
    ):
        assert sorted(left.split("; ")) == sorted(right.split("; "))


def _generated(rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Party records of three sources with every kind of failure the rules look for."""
    rng = np.random.default_rng(seed)
    systems = rng.choice(["core", "crm", "credit"], rows, p=[0.5, 0.3, 0.2])
    ids = rng.integers(0, rows, rows)  # repeats make duplicated keys
    mobiles = np.array(["13800138000", "1380013800", "+85291234567", "021-5555", None])
    valid = np.array([True, False, None], dtype=object)
    births = pd.to_datetime("1890-01-01") + pd.to_timedelta(rng.integers(0, 52000, rows), "D")
    updated = pd.to_datetime("2015-01-01") + pd.to_timedelta(rng.integers(0, 4400, rows), "D")
    party = pd.DataFrame(
        {
            "record_key": [f"{s}:{i}" for s, i in zip(systems, ids, strict=True)],
            "source_system": systems,
            "source_record_id": ids.astype(str),
            "id_valid": pd.array(valid[rng.choice(3, rows, p=[0.8, 0.15, 0.05])], dtype="boolean"),
            "id_number": np.where(rng.random(rows) < 0.5, ID_1985_M, None),
            "id_issue": np.where(rng.random(rows) < 0.2, "check_digit", None),
            "mobile": mobiles[rng.choice(5, rows, p=[0.8, 0.05, 0.05, 0.05, 0.05])],
            "birth_date": births.where(rng.random(rows) > 0.1),
            "source_updated_at": updated,
        }
    )
    rejected = rng.random(rows) < 0.04
    quarantine = pd.DataFrame(
        {
            "source_system": systems[rejected],
            "source_record_id": [f"q{i}" for i in range(int(rejected.sum()))],
            "rule": rng.choice(["junk_name", "bad_id"], int(rejected.sum())),
        }
    )
    return party, quarantine


def test_the_sql_path_equals_the_pandas_path_on_generated_tables(warehouse):
    party, quarantine = _generated(3000, seed=17)
    warehouse.replace_tables({PARTY_RECORDS: party, QUARANTINE: quarantine})
    # crm held to its own thresholds and severities, as a source may be.
    source_quality = {"crm": SourceQualityConfig(min_valid_id_rate=0.5, max_quarantine_rate=0.5)}
    pandas_runs, sql_runs = _both(
        warehouse, ["core", "crm", "credit"], QualityConfig(), source_quality
    )
    expected, got = _results(pandas_runs), _results(sql_runs)
    pd.testing.assert_frame_equal(expected[COMPARED], got[COMPARED])
    assert got["failed"].gt(0).all()  # every rule found failing rows in every source
    assert set(got.loc[got["source_system"] == "crm", "passed"]) == {True, False}
    # The failing rows kept: as many per rule and source, masked the same way; where every
    # failing row fits, the very same rows.
    pandas_rows = failing_rows_frame(pandas_runs, run_id="r", checked_at=pd.Timestamp(0))
    sql_rows = failing_rows_frame(sql_runs, run_id="r", checked_at=pd.Timestamp(0))
    keys = ["rule_id", "source_system"]
    assert pandas_rows.groupby(keys).size().equals(sql_rows.groupby(keys).size())
    assert not find_unmasked(sql_rows.to_csv())
    assert not find_unmasked(got["examples"].str.cat(sep="\n"))
    small = got.loc[got["failed"] <= 50, keys]
    columns = ["row_key", "column_name", "value", "detail"]

    def kept(frame: pd.DataFrame, rule_id: str, source: str) -> list[tuple[object, ...]]:
        part = frame[(frame["rule_id"] == rule_id) & (frame["source_system"] == source)]
        return sorted(part[columns].astype(str).itertuples(index=False, name=None))

    for rule_id, source in small.itertuples(index=False):
        assert kept(pandas_rows, rule_id, source) == kept(sql_rows, rule_id, source)
    # Where more failed than are kept, the SQL path keeps the first by key.
    quarantined = sql_rows[(sql_rows["rule_id"] == "std.valid_resident_id_share")]
    assert quarantined.groupby("source_system").size().max() == 50


def test_the_counts_are_recorded_as_a_gx_validation_in_the_data_docs(warehouse, tmp_path):
    party, quarantine = _generated(400, seed=3)
    warehouse.replace_tables({PARTY_RECORDS: party, QUARANTINE: quarantine})
    _, sql_runs = _both(warehouse, ["core"], QualityConfig())
    result = sql_runs[0].gx_result
    by_rule = {r.expectation_config.meta["rule_id"]: r for r in result.results}
    outcome = {o.rule.rule_id: o for o in sql_runs[0].outcomes}
    for rule_id, gx in by_rule.items():
        assert gx.result["unexpected_count"] == outcome[rule_id].failed
        assert gx.success == outcome[rule_id].passed
    pages = DataDocs(tmp_path / "reports").store(sql_runs, run_id="r", run_time=datetime.now(UTC))
    assert pages == len(sql_runs)  # both validations kept


def test_a_missing_column_fails_and_an_untranslatable_condition_is_refused(warehouse):
    warehouse.replace_table(PARTY_RECORDS, pd.DataFrame({"record_key": ["a", "b"]}))
    run = run_sql_suite(
        warehouse.query,
        "duckdb" if warehouse.dialect == "duckdb" else "postgres",
        f"select * from {PARTY_RECORDS}",
        [RULES_BY_ID["std.mobile_format"]],
        QualityConfig(),
        key_column="record_key",
    )
    [outcome] = run.outcomes
    assert (outcome.evaluated, outcome.failed, outcome.passed) == (2, 2, False)
    assert outcome.examples == ["missing column 'mobile'"]
    with pytest.raises(UnsupportedRule):
        run_sql_suite(
            warehouse.query,
            "duckdb",
            f"select * from {PARTY_RECORDS}",
            # Only `column == literal` conditions joined by `and` are written as SQL.
            [
                dataclasses.replace(
                    RULES_BY_ID["std.record_key_unique"], row_condition="record_key.str.len() > 1"
                )
            ],
            QualityConfig(),
        )


# ------------------------------------------------------------------ raw and golden stages

CORE = SourceConfig(
    trust_rank=1,
    connector="sql",
    url="sqlite:///unused.sqlite",
    party_table="cif_customer",
    key_column="cust_no",
    tables=["cif_customer", "dep_account"],
    mapping={
        "name": "cust_name",
        "id_number": "cert_no",
        "gender": "gender_cd",
        "birth_date": "birth_dt",
        "mobile": "mobile_no",
    },
    gender_codes={"1": "M", "2": "F"},
)
RAW_PARTY = "raw.core__cif_customer"
RAW_ACCOUNTS = "raw.core__dep_account"


def _raw_generated(rows: int, seed: int) -> pd.DataFrame:
    """A core customer extract as text, with every kind of failure the raw rules look for."""
    rng = np.random.default_rng(seed)
    keys = np.array([f"C{i}" for i in rng.integers(0, rows, rows)], dtype=object)
    keys[rng.random(rows) < 0.03] = None
    names = np.array(
        ["张伟", "李娜", "张伟".encode().decode("gbk"), "王\ufffd", None], dtype=object
    )
    ids = np.array([ID_1985_M, "130102198503071236", "110101199001010019", None], dtype=object)
    births = np.array(["19850307", "19850308", "20310101", "18800101", "1990年1月2日", None])
    return pd.DataFrame(
        {
            "cust_no": keys,
            "cust_name": names[rng.choice(5, rows, p=[0.6, 0.2, 0.08, 0.04, 0.08])],
            "cert_no": ids[rng.choice(4, rows, p=[0.5, 0.2, 0.2, 0.1])],
            "gender_cd": np.array(["1", "2", None], dtype=object)[rng.choice(3, rows)],
            "birth_dt": births[rng.choice(6, rows)],
            "mobile_no": ["13800138000"] * rows,
            "unmapped": ["x"] * rows,  # a column the raw rules never read
        }
    )


def _raw_both(store: Warehouse, extracted: dict[str, int], counted: dict[str, int | str]):
    """Both raw paths on the extract stored in `store`: pandas on the table read whole (with a
    frame of each table's rows), SQL on only the columns the rules read and the row counts."""
    party = store.read_table(RAW_PARTY)
    frames = {
        "cif_customer": party,
        "dep_account": pd.DataFrame({"_batch_id": ["b"] * extracted["dep_account"]}),
    }
    pandas_runs = check_raw("core", CORE, party, frames, counted, QualityConfig(), AS_OF)
    present = [c for c in raw_party_columns(CORE) if c in party.columns]
    sql_runs = check_raw_in_sql(
        "core",
        CORE,
        store.read_table(RAW_PARTY, columns=present),
        {"cif_customer": len(party), "dep_account": extracted["dep_account"]},
        counted,
        QualityConfig(),
        AS_OF,
    )
    return pandas_runs, sql_runs


def _assert_same(pandas_runs, sql_runs) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    expected, got = _results(pandas_runs), _results(sql_runs)
    pd.testing.assert_frame_equal(expected[COMPARED], got[COMPARED])
    pandas_rows = failing_rows_frame(pandas_runs, run_id="r", checked_at=pd.Timestamp(0))
    sql_rows = failing_rows_frame(sql_runs, run_id="r", checked_at=pd.Timestamp(0))
    keys = ["rule_id", "source_system"]
    assert pandas_rows.groupby(keys).size().equals(sql_rows.groupby(keys).size())
    assert not find_unmasked(sql_rows.to_csv())
    assert not find_unmasked(got["examples"].str.cat(sep="\n"))
    columns = ["row_key", "column_name", "value", "detail"]
    # A row without a key is shown by its place among the kept rows (`row 3`), and the paths
    # keep them in another order (GX: the frame's; SQL: by key): compared without the place.
    for frame in (pandas_rows, sql_rows):
        frame["row_key"] = frame["row_key"].str.replace(r"^row \d+$", "row", regex=True)
    for rule_id, source in got.loc[got["failed"] <= 50, keys].itertuples(index=False):
        chosen = columns
        if (pandas_rows.loc[pandas_rows["rule_id"] == rule_id, "row_key"] == "row").all():
            # A uniqueness rule on the key column itself: GX reports no key for the row (it
            # leaves the judged column out of the index columns); SQL shows it.
            chosen = columns[1:]
        parts = [
            sorted(
                frame.loc[
                    (frame["rule_id"] == rule_id) & (frame["source_system"] == source), chosen
                ]
                .astype(str)
                .itertuples(index=False, name=None)
            )
            for frame in (pandas_rows, sql_rows)
        ]
        assert parts[0] == parts[1], rule_id
    return got


def test_the_raw_rules_in_sql_equal_the_pandas_path(warehouse):
    party = _raw_generated(3000, seed=5)
    warehouse.replace_tables(
        {RAW_PARTY: party, RAW_ACCOUNTS: pd.DataFrame({"_batch_id": ["b"] * 7})}
    )
    pandas_runs, sql_runs = _raw_both(
        warehouse, {"dep_account": 7}, {"cif_customer": 3000, "dep_account": 8}
    )
    got = _assert_same(pandas_runs, sql_runs).set_index("rule_id")
    # Every column rule found failing rows; the lost account row fails its count.
    column_rules = got.drop(
        ["raw.not_empty", "raw.mapped_columns_present", "raw.row_count_matches_source"]
    )
    assert column_rules["failed"].gt(0).all()
    assert tuple(got.loc["raw.row_count_matches_source", ["failed", "passed"]]) == (1, False)
    # The row-conditioned rules judge only the comparable rows.
    assert got.loc["raw.birth_date_matches_id", "evaluated"] < 3000
    # The counts are recorded as GX validations the Data Docs keep.
    for run in sql_runs:
        for gx in run.gx_result.results:
            outcome = next(
                o for o in run.outcomes if o.rule.rule_id == gx.expectation_config.meta["rule_id"]
            )
            assert gx.success == outcome.passed


def test_a_missing_mapped_column_and_an_uncounted_source_fail_alike_in_sql(warehouse):
    party = _raw_generated(200, seed=9).drop(columns=["mobile_no"])
    warehouse.replace_tables({RAW_PARTY: party})
    reason = "source row count unavailable: no such table"
    pandas_runs, sql_runs = _raw_both(
        warehouse, {"dep_account": 3}, {"cif_customer": reason, "dep_account": 3}
    )
    got = _assert_same(pandas_runs, sql_runs).set_index("rule_id")
    assert not got.loc["raw.mapped_columns_present", "passed"]
    assert got.loc["raw.mapped_columns_present", "examples"] == "missing column 'mobile_no'"
    assert reason in got.loc["raw.row_count_matches_source", "examples"]


def _golden_generated(rows: int, seed: int):  # type: ignore[no-untyped-def]
    """Golden records, xref, party records and a reference set with every golden failure."""
    rng = np.random.default_rng(seed)
    goldens = rows // 2
    golden_ids = [f"G{i:05d}" for i in range(goldens)]
    ids = np.array(
        [ID_1985_M, "110101199001010019", None] + [f"1101011990{i:08d}" for i in range(50)],
        dtype=object,
    )
    golden = pd.DataFrame(
        {
            "golden_id": golden_ids,
            "status": rng.choice(["active", "retired"], goldens, p=[0.9, 0.1]),
            "id_type": rng.choice(["resident_id", "passport"], goldens, p=[0.9, 0.1]),
            "id_number": ids[rng.choice(len(ids), goldens)],
            "name": np.where(rng.random(goldens) < 0.05, None, "张伟"),
            "birth_date": pd.Series(pd.to_datetime(["1985-03-07"] * goldens)).where(
                rng.random(goldens) > 0.05
            ),
            "gender": np.where(rng.random(goldens) < 0.05, None, "M"),
            "mobile": np.where(rng.random(goldens) < 0.1, None, "13800138000"),
        }
    )
    record_keys = [f"core:{i}" for i in range(rows)]
    linked = rng.random(rows) < 0.97  # the rest have no xref row
    xref = pd.DataFrame(
        {
            "record_key": np.array(record_keys)[linked],
            "source_system": "core",
            "source_record_id": [str(i) for i in np.flatnonzero(linked)],
            # a third of the goldens get no record: orphans
            "golden_id": np.array(golden_ids)[rng.integers(0, goldens * 2 // 3, int(linked.sum()))],
        }
    )
    xref = pd.concat([xref, xref.sample(20, random_state=seed)], ignore_index=True)  # repeats
    party = pd.DataFrame({"record_key": record_keys})
    truth = pd.DataFrame(
        {
            "record_key": record_keys[: rows - 10],
            "person_id": rng.integers(0, goldens, rows - 10).astype(str),
        }
    )
    return golden, xref, party, truth


def test_the_golden_rules_in_the_warehouse_equal_the_pandas_path(warehouse):
    golden, xref, party, truth = _golden_generated(2000, seed=11)
    warehouse.replace_tables({GOLDEN_RECORDS: golden, XREF: xref, PARTY_RECORDS: party})
    stored = {name: warehouse.read_table(name) for name in (GOLDEN_RECORDS, XREF, PARTY_RECORDS)}
    config = QualityConfig()
    pandas_runs = check_golden(
        stored[GOLDEN_RECORDS],
        stored[XREF],
        stored[PARTY_RECORDS][["record_key"]],
        config,
        truth=truth,
    )
    sql_runs = check_golden_in_warehouse(
        warehouse.query,
        "duckdb" if warehouse.dialect == "duckdb" else "postgres",
        config,
        xref_links=warehouse.read_table(XREF, columns=["record_key", "golden_id"]),
        truth=truth,
    )
    # Owned rows: loans of core customers, some of unknown owners, some of inactive goldens.
    link = CrossSystemLink(system="core", table="dep_account", column="owner")
    owned = pd.DataFrame({"owner": [str(i) for i in range(0, 2100, 3)] + [" 4 ", None]})
    owners = pd.Series([str(i) for i in range(2000)])
    active = set(golden.loc[golden["status"] == "active", "golden_id"])
    pandas_runs.append(check_owned_rows(link, owned, owners, stored[XREF], active, config))
    sql_runs.append(
        check_owned_rows(
            link,
            owned,
            owners,
            warehouse.read_table(XREF, columns=["source_system", "source_record_id", "golden_id"]),
            active,
            config,
            in_sql=True,
        )
    )
    got = _assert_same(pandas_runs, sql_runs).set_index("rule_id")
    assert got["failed"].gt(0).all()  # every golden rule found failing rows
    assert got.loc["golden.resident_id_unique_among_active", "evaluated"] < len(golden)


def test_the_activity_rules_in_the_warehouse_equal_the_pandas_path(warehouse):
    rng = np.random.default_rng(23)
    rows = 2000
    systems = rng.choice(["core", "credit"], rows)
    flags = np.array([True, False, None], dtype=object)
    row_checks = pd.DataFrame(
        {
            "record_key": [f"{s}:{i}" for i, s in enumerate(systems)],
            "entity": rng.choice(["account", "loan", "ticket"], rows),
            "source_system": systems,
            "_dq_values_parse": pd.array(
                flags[rng.choice(3, rows, p=[0.9, 0.08, 0.02])], "boolean"
            ),
            "_dq_codes_known": pd.array(flags[rng.choice(3, rows, p=[0.95, 0.05, 0.0])], "boolean"),
        }
    )
    warehouse.replace_tables({ROW_CHECKS: row_checks})
    source_quality = {"credit": SourceQualityConfig(min_activity_code_coverage=0.5)}
    pandas_runs = check_activity(warehouse.read_table(ROW_CHECKS), QualityConfig(), source_quality)
    sql_runs = check_activity_in_warehouse(
        warehouse.query,
        "duckdb" if warehouse.dialect == "duckdb" else "postgres",
        ROW_CHECKS,
        QualityConfig(),
        source_quality,
    )
    assert [(r.source_system, r.batch) for r in sql_runs] == [
        (r.source_system, r.batch) for r in pandas_runs
    ]
    got = _assert_same(pandas_runs, sql_runs)
    assert got["failed"].gt(0).all()
