"""Time the standardized quality checks both ways on a DuckDB warehouse of N party records.

    .venv/bin/python -m benchmarks.bench_quality_checks --rows 2075743 --work /tmp/quality-bench

Builds (once per size) `mdm.party_records` with every column of the contract
(`matching.standardize.PARTY_COLUMNS`, text of typical widths, three sources, a few per cent of
each kind of failure) and `mdm.quarantine`, then times the check as the pipeline ran it before
(`read_table` both tables + `check_standardized`, GX on pandas) and as it runs now
(`check_standardized_in_warehouse`, SQL in DuckDB), and checks that both give the same results.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import pandas as pd

from connectors.tables import PARTY_RECORDS, QUARANTINE
from connectors.warehouse import open_warehouse
from matching.standardize import PARTY_COLUMNS
from quality.catalogue import QualityConfig
from quality.stages import check_standardized, check_standardized_in_warehouse
from quality.suites import suite_results_frame

AS_OF = date(2026, 11, 28)
SYSTEMS = ["core", "crm", "credit"]
_TEXT = {
    "name_raw": "'张伟' || (i % 977)",
    "name": "'张伟' || (i % 977)",
    "name_pinyin": "'zhang wei ' || (i % 977)",
    "name_script": "'han'",
    "id_type": "'resident_id'",
    "id_number": "'1301021985' || lpad(cast(i % 99999999 as varchar), 8, '0')",
    "id_issue": "case when i % 10 = 0 then 'check_digit' end",
    "mobile": "case when i % 25 = 0 then '1380013800' when i % 9 = 0 then null "
    "else '138' || lpad(cast(i % 99999999 as varchar), 8, '0') end",
    "address_raw": "'河北省石家庄市长安区中山东路' || (i % 5000) || '号'",
    "address": "'河北省石家庄市长安区中山东路' || (i % 5000) || '号'",
    "province": "'河北省'",
    "city": "'石家庄市'",
    "district": "'长安区'",
    "adcode": "'130102'",
    "batch_id": "'batch-1'",
}


def build(path: Path, rows: int) -> None:
    store = open_warehouse(f"duckdb:///{path}")
    store.ensure_schemas()
    selects = []
    for column, dtype in PARTY_COLUMNS.items():
        if column == "record_key":
            expression = "source_system || ':' || cast(i as varchar)"
        elif column == "source_system":
            continue
        elif column == "source_record_id":
            expression = "cast(i as varchar)"
        elif column == "source_updated_at":
            expression = "timestamp '2018-01-01' + to_days(cast(i % 3200 as integer))"
        elif column == "birth_date":
            expression = (
                "case when i % 50 = 0 then null when i % 333 = 0 then timestamp '2030-01-01' "
                "else timestamp '1950-01-01' + to_days(cast(i % 20000 as integer)) end"
            )
        elif column == "id_valid":
            expression = "i % 10 <> 0"
        elif column == "id_conflict":
            expression = "false"
        elif column == "source_trust":
            expression = "1"
        elif dtype.startswith("datetime"):
            expression = "null::timestamp"
        else:
            expression = _TEXT.get(column, "null::varchar")
        selects.append(f"{expression} as {column}")
    systems = "['core', 'core', 'crm', 'credit']"
    with store.connect() as connection:  # type: ignore[union-attr]
        connection.execute(
            f"create or replace table {PARTY_RECORDS} as "
            f"select {', '.join(selects[:1])}, source_system, {', '.join(selects[1:])} "
            f"from (select range as i, {systems}[range % 4 + 1] as source_system "
            f"from range({rows}))"
        )
        connection.execute(
            f"create or replace table {QUARANTINE} as "
            f"select source_system, 'q' || i as source_record_id, 'junk_name' as rule, "
            "'{}' as raw_payload "
            f"from (select range as i, {systems}[range % 4 + 1] as source_system "
            f"from range({rows // 50}))"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_075_743)
    parser.add_argument("--work", type=Path, default=Path("/tmp/quality-bench"))
    parser.add_argument(
        "--sql-only", action="store_true", help="time the warehouse path alone (no frames read)"
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    path = args.work / f"warehouse-{args.rows}.duckdb"
    if not path.exists():
        build(path, args.rows)
    store = open_warehouse(f"duckdb:///{path}")
    config = QualityConfig()

    started = time.perf_counter()
    sql_runs = check_standardized_in_warehouse(store.query, "duckdb", SYSTEMS, config, AS_OF)
    sql_seconds = time.perf_counter() - started
    if args.sql_only:
        print(f"warehouse path (SQL in DuckDB): {sql_seconds:.1f} s")
        return

    started = time.perf_counter()
    party, quarantine = store.read_table(PARTY_RECORDS), store.read_table(QUARANTINE)
    read_seconds = time.perf_counter() - started
    pandas_runs = check_standardized(party, quarantine, SYSTEMS, config, AS_OF)
    pandas_seconds = time.perf_counter() - started

    stamp = pd.Timestamp("2026-11-28")
    columns = ["rule_id", "source_system", "evaluated", "failed", "score", "passed"]
    left = suite_results_frame(pandas_runs, run_id="r", checked_at=stamp)[columns]
    right = suite_results_frame(sql_runs, run_id="r", checked_at=stamp)[columns]
    same = left.reset_index(drop=True).equals(right.reset_index(drop=True))
    print(f"party records: {len(party):,}  quarantined: {len(quarantine):,}")
    print(f"pandas path (read + GX on frames): {pandas_seconds:.1f} s (read {read_seconds:.1f} s)")
    print(f"warehouse path (SQL in DuckDB):    {sql_seconds:.1f} s")
    print(f"same results: {same}")


if __name__ == "__main__":
    main()
