"""The standardized rules evaluated in the warehouse (SQL) give the pandas path's results.

Both paths run on the same tables in a real DuckDB file and a real PostgreSQL database: the
pandas path on the tables read back (as the check read them before), the SQL path on the tables
where they are.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from connectors.reports import DataDocs
from connectors.tables import PARTY_RECORDS, QUARANTINE
from connectors.warehouse import Warehouse
from quality.catalogue import RULES_BY_ID, QualityConfig, SourceQualityConfig
from quality.sql_suites import UnsupportedRule, run_sql_suite
from quality.stages import check_standardized, check_standardized_in_warehouse
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


def test_a_missing_column_fails_and_a_table_rule_is_refused(warehouse):
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
            [RULES_BY_ID["raw.not_empty"]],
            QualityConfig(),
        )
