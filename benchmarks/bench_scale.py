"""The whole run (`mdm_full_run`) on DuckDB at scale: seconds and peak memory per stage.

    python benchmarks/bench_scale.py [PEOPLE] [--work-dir DIR]

PEOPLE defaults to 1,150,000: the demo bank's three sources with about 2,000,000 source
customer records (the simulator gives about 1.76 per person) and their accounts, loans and
tickets. The simulation is kept in `--work-dir` and reused when it holds the same people; each
run gets a fresh warehouse there. Every step's time comes from Dagster's step statistics; the
memory is this process's resident set (the job runs in process), sampled every 0.2 s, and a
step's peak is the highest sample inside its interval. The quality checks' share of the run is
the sum of their steps over the wall time.

`--checks-only` then times only the quality checks on the warehouse that run left, once with
the rules evaluated in pandas (GX on frames) and once in the warehouse (`quality.evaluate_in`):
the same tables both ways.

Measured before the raw, activity and golden checks moved to SQL (main at a9db807; 2,022,948
source customer records; load average 7-14 on the shared 2 cores, so the seconds are inflated):
3,277 s wall, peak RSS 17.7 GiB (at serving__snapshot; match 11.0, golden build 14.1), quality
checks 551.7 s = 16.8 % (raw 172.7, activity 95.5, standardized 12.4, golden 271.2). At 35,174
records (load about 9), `--checks-only`: pandas 54.4 s, warehouse 22.7 s. After, on the same
2M tables, `--checks-only --modes warehouse` (load 4.8): 63.4 s for every check (raw 25.6,
activity 3.2, standardized 1.9, golden 31.7), peak RSS 2.4 GiB.

Targets (issue 17): the run in <= 5 minutes, peak <= 6 GiB, quality checks <= 20 % of the run.
A figure that misses its target is printed as such; the script does not fail on it (timings
depend on what else the machine runs: the load average is printed before and after).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_warehouses import write_config  # noqa: E402
from connectors.settings import Settings  # noqa: E402
from connectors.simulated import simulate  # noqa: E402
from pipelines.build import FULL_RUN_JOB, build_definitions  # noqa: E402
from pipelines.checks import (  # noqa: E402
    build_activity_checks,
    build_golden_checks,
    build_raw_checks,
    build_standardized_checks,
    quality_run_config,
)
from pipelines.mdm_config import load_config  # noqa: E402

AS_OF = date(2026, 11, 28)
TARGET_SECONDS = 300.0
TARGET_PEAK_GIB = 6.0
TARGET_QUALITY_SHARE = 0.20
CHECKS_JOB = "quality_checks_only"
_CUSTOMER_TABLES = (("core", "cif_customer"), ("credit", "BORROWER"), ("crm", "crm_customers"))


def _rss_gib() -> float:
    """This process's resident set now, GiB (from /proc: no dependency)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0**2
    return 0.0


class RssSampler:
    """(wall time, RSS) every `interval` s on a thread, so a step's peak can be read afterwards."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), _rss_gib()))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, start: float, end: float) -> float:
        inside = [rss for at, rss in self.samples if start <= at <= end]
        return max(inside, default=0.0)


def simulated(work: Path, people: int) -> tuple[Path, int]:
    """(sources folder, source customer records): simulated unless already there."""
    sources = work / "sources"
    manifest_path = sources / "manifest.json"
    manifest = None
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("people") != people:
            manifest = None
    if manifest is None:
        shutil.rmtree(sources, ignore_errors=True)
        started = time.perf_counter()
        manifest = simulate(sources, people=people, seed=42, as_of=AS_OF)
        print(f"simulated in {time.perf_counter() - started:.1f} s", flush=True)
    customers = sum(manifest["row_counts"][system][table] for system, table in _CUSTOMER_TABLES)
    return sources, int(customers)


def timed_steps(
    definitions: dg.Definitions, job: str, run_config: dict[str, Any]
) -> tuple[pd.DataFrame, float, float, bool]:
    """Run `job` in process: (per step: seconds and peak GiB, wall seconds, peak GiB of the
    run, success)."""
    with RssSampler() as sampler, dg.instance_for_test() as instance:
        started = time.time()
        result = definitions.resolve_job_def(job).execute_in_process(
            instance=instance, run_config=run_config, raise_on_error=False
        )
        ended = time.time()
        stats = instance.get_run_step_stats(result.run_id)
    rows = {
        s.step_key: {
            "seconds": (s.end_time or 0) - (s.start_time or 0),
            "peak_gib": sampler.peak(s.start_time or 0, s.end_time or 0),
            "started": (s.start_time or started) - started,
        }
        for s in stats
    }
    table = pd.DataFrame.from_dict(rows, orient="index").sort_values("started")
    return table, ended - started, sampler.peak(started, ended), bool(result.success)


def run_job(settings: Settings) -> tuple[pd.DataFrame, float, float, bool]:
    """(per step: seconds and peak GiB, wall seconds, peak GiB of the run, success)."""
    definitions = build_definitions(settings, prepare_dbt=True)
    run_config = {
        "ops": {"mdm_dbt_models": {"config": {"as_of_date": AS_OF.isoformat()}}},
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
    }
    return timed_steps(definitions, FULL_RUN_JOB, run_config)


def run_checks(settings: Settings, evaluate_in: str) -> tuple[pd.DataFrame, float, float, bool]:
    """Only the quality checks, on the warehouse a run left in the home, with the quality rules
    evaluated `evaluate_in` (`warehouse` or `pandas`): the checks' cost alone, both ways, on
    the very same tables. The raw row counts compare with the source (no extract ran)."""
    config = load_config(settings.config_path)
    quality = config.quality.model_copy(update={"evaluate_in": evaluate_in})
    config = config.model_copy(update={"quality": quality})
    full = build_definitions(settings, config=config)
    # The pipeline's own checks (not dbt's tests, which run with the marts).
    ours = [
        *build_raw_checks(config),
        build_standardized_checks(config),
        build_activity_checks(config),
        build_golden_checks(config),
    ]
    keys = [key for checks in ours for key in checks.check_keys]
    job = dg.define_asset_job(CHECKS_JOB, selection=dg.AssetSelection.checks(*keys))
    definitions = dg.Definitions(
        assets=full.assets,
        asset_checks=full.asset_checks,
        jobs=[job],
        resources=full.resources,
        executor=dg.in_process_executor,
    )
    run_config = {
        "ops": quality_run_config(config, AS_OF.isoformat()),
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
    }
    return timed_steps(definitions, CHECKS_JOB, run_config)


def checks_only(work: Path, people: int, modes: list[str]) -> None:
    _, customers = simulated(work, people)
    home = work / "var-duckdb"
    if not (home / "warehouse.duckdb").exists():
        raise SystemExit(f"no warehouse in {home}: run the whole job first (without --checks-only)")
    settings = Settings(home=home, config_path=work / "mdm.yaml")
    columns, totals = {}, {}
    for mode in modes:
        print(f"load average before the {mode} checks: {os.getloadavg()[0]:.2f}", flush=True)
        table, wall, peak, success = run_checks(settings, mode)
        if not success:
            print(f"{mode} checks FAILED: see the Dagster log above")
        columns[f"{mode}_s"] = table["seconds"]
        columns[f"{mode}_peak_gib"] = table["peak_gib"]
        totals[mode] = (wall, peak)
    shown = pd.DataFrame(columns)
    shown.loc["TOTAL (wall clock)"] = [value for mode in modes for value in totals[mode]]
    print(f"\nthe quality checks alone, {customers:,} source customer records, by evaluate_in")
    print(shown.round(2).to_string())


def is_quality(step: str) -> bool:
    return step.endswith("_quality") or "_quality_" in step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("people", nargs="?", type=int, default=1_150_000)
    parser.add_argument("--work-dir", default=None, help="keep the simulation here (reused)")
    parser.add_argument(
        "--checks-only",
        action="store_true",
        help="time only the quality checks, evaluated in pandas and in the warehouse, on the "
        "warehouse the last whole run left in --work-dir",
    )
    parser.add_argument(
        "--modes",
        default="pandas,warehouse",
        help="with --checks-only: the evaluate_in values to time, comma-separated",
    )
    args = parser.parse_args(argv)
    if args.checks_only:
        if not args.work_dir:
            parser.error("--checks-only needs the --work-dir of an earlier run")
        checks_only(Path(args.work_dir), args.people, args.modes.split(","))
        return

    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="mdm-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    sources, customers = simulated(work, args.people)
    config = write_config(sources, work / "mdm.yaml")
    home = work / "var-duckdb"
    shutil.rmtree(home, ignore_errors=True)
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    table, wall, peak, success = run_job(Settings(home=home, config_path=config))
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if not success:
        print("run FAILED: see the Dagster log above")

    quality = float(table.loc[[is_quality(s) for s in table.index], "seconds"].sum())
    shown = table[["seconds", "peak_gib"]].copy()
    shown.loc["TOTAL (wall clock)"] = [wall, peak]
    size = f"{args.people:,} people, {customers:,} source customer records"
    print(f"\nmdm_full_run on DuckDB, {size}")
    print(shown.round({"seconds": 1, "peak_gib": 2}).to_string())
    share = quality / wall if wall else 0.0
    for label, value, target, ok in (
        ("wall clock", f"{wall:.1f} s", f"<= {TARGET_SECONDS:.0f} s", wall <= TARGET_SECONDS),
        ("peak RSS", f"{peak:.2f} GiB", f"<= {TARGET_PEAK_GIB:.0f} GiB", peak <= TARGET_PEAK_GIB),
        (
            "quality checks",
            f"{quality:.1f} s, {share:.1%} of the run",
            f"<= {TARGET_QUALITY_SHARE:.0%}",
            share <= TARGET_QUALITY_SHARE,
        ),
    ):
        print(f"{label}: {value} (target {target}: {'met' if ok else 'MISSED'})")
    print(f"{customers / wall:,.0f} source customer records/s end to end")


if __name__ == "__main__":
    main()
