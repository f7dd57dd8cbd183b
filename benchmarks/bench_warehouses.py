"""The whole pipeline on DuckDB and on PostgreSQL, side by side: seconds per stage.

    python benchmarks/bench_warehouses.py [PEOPLE] [--postgres URL] [--keep DIR]

PEOPLE defaults to 570,000 (about 1,000,000 simulated source customer records). The same
simulated sources run through the `mdm_full_run` job twice, once per warehouse; each stage's
time comes from Dagster's step statistics. Needs a PostgreSQL server (default: a throwaway
database on 127.0.0.1:5432, dropped afterwards). Prints peak RSS of this process too.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import sqlalchemy as sa
import yaml

from connectors.settings import PROJECT_ROOT, Settings
from connectors.simulated import simulate
from connectors.urls import sqlalchemy_url
from pipelines.build import FULL_RUN_JOB, build_definitions

AS_OF = date(2026, 11, 28)


def write_config(sources: Path, target: Path) -> Path:
    document = yaml.safe_load((PROJECT_ROOT / "mdm.yaml").read_text(encoding="utf-8"))
    document["sources"]["core"]["url"] = f"sqlite:///{sources / 'core_banking.sqlite'}"
    document["sources"]["credit"]["url"] = f"sqlite:///{sources / 'credit.sqlite'}"
    document["sources"]["crm"]["path"] = str(sources / "crm")
    document["evaluation"]["ground_truth"] = str(sources / "ground_truth.parquet")
    target.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return target


def run(settings: Settings) -> tuple[pd.Series, float]:
    definitions = build_definitions(settings, prepare_dbt=True)
    run_config = {
        "ops": {"mdm_dbt_models": {"config": {"as_of_date": AS_OF.isoformat()}}},
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
    }
    started = time.perf_counter()
    with dg.instance_for_test() as instance:
        result = definitions.resolve_job_def(FULL_RUN_JOB).execute_in_process(
            instance=instance, run_config=run_config, raise_on_error=False
        )
        total = time.perf_counter() - started
        stats = instance.get_run_step_stats(result.run_id)
    seconds = pd.Series(
        {s.step_key: (s.end_time or 0) - (s.start_time or 0) for s in stats}, name="seconds"
    )
    if not result.success:
        print("  run FAILED: see the Dagster log above")
    return seconds, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("people", nargs="?", type=int, default=570_000)
    parser.add_argument("--postgres", default=None, help="warehouse URL (default: throwaway DB)")
    parser.add_argument("--keep", default=None, help="keep the work folder here")
    args = parser.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="mdm-bench-"))
    sources = work / "sources"
    started = time.perf_counter()
    manifest = simulate(sources, people=args.people, seed=42, as_of=AS_OF)
    customers = sum(
        manifest["row_counts"][system][table]
        for system, table in (
            ("core", "cif_customer"),
            ("credit", "BORROWER"),
            ("crm", "crm_customers"),
        )
    )
    print(
        f"simulated {args.people:,} people, {customers:,} source customer records "
        f"in {time.perf_counter() - started:.1f} s"
    )
    config = write_config(sources, work / "mdm.yaml")

    admin_url = "postgresql://postgres@127.0.0.1:5432/postgres"
    database = None
    postgres_url = args.postgres
    if postgres_url is None:
        database = f"mdm_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(sqlalchemy_url(admin_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'create database "{database}"'))
        postgres_url = f"postgresql://postgres@127.0.0.1:5432/{database}"
    try:
        columns = {}
        totals = {}
        for name, url in (("duckdb", None), ("postgres", postgres_url)):
            print(f"running the full job on {name} …", flush=True)
            settings = Settings(home=work / f"var-{name}", config_path=config, warehouse_url=url)
            columns[name], totals[name] = run(settings)
        table = pd.DataFrame(columns).fillna(0.0)
        table.loc["TOTAL (wall clock)"] = [totals["duckdb"], totals["postgres"]]
        print(f"\nseconds per stage, {customers:,} source customer records")
        print(table.round(1).to_string())
        for name in ("duckdb", "postgres"):
            print(f"{name}: {customers / totals[name]:,.0f} source records/s end to end")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of this process: {peak:,.0f} MiB")
    finally:
        if database is not None:
            admin = sa.create_engine(sqlalchemy_url(admin_url), isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(sa.text(f'drop database if exists "{database}" with (force)'))


if __name__ == "__main__":
    main()
