"""How fast the standardization stage turns the three simulated sources into party records.

    .venv/bin/python benchmarks/bench_standardize.py            # 600,000 people, ~1M rows
    .venv/bin/python benchmarks/bench_standardize.py 10000 --accuracy
    .venv/bin/python benchmarks/bench_standardize.py --sources var/bench-sources --profile

Simulates the sources into a temporary folder (not timed; `--sources` reuses a simulated
folder instead), reads each source's party table the way the pipeline does (every column as
text, NULL kept as NULL), maps it with the `sources:` section of the shipped `mdm.yaml` and
times `standardize_source` per source. Prints rows, seconds and rows/s per source and
overall, and the process's peak resident memory. `--accuracy` adds, per field, the share of
records whose standardized value is their person's true value; `--profile` prints the
functions where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import sqlite3
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.landing import as_text_frame
from connectors.simulated import schema, simulate
from matching.standardize import SourceMapping, standardization_accuracy, standardize_source

ROOT = Path(__file__).resolve().parents[1]

NOW = pd.Timestamp("2026-11-29 02:00:00")  # the night after the simulation's as_of


def peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def read_party_table(folder: Path, system: str, config: dict) -> pd.DataFrame:
    """One source's party table as the raw layer holds it: text columns, NULL as None.

    `pd.read_sql(..., dtype=str)` would turn NULL into the string 'None' (a name 'None' is
    then a placeholder, a mobile 'None' invalid), so the SQL sources go through the
    pipeline's own text conversion, `connectors.landing.as_text_frame`.
    """
    table = config["party_table"]
    if config["connector"] == "sql":
        database = folder / config["url"].rsplit("/", 1)[-1]
        with closing(sqlite3.connect(database)) as con:
            frame = as_text_frame(pd.read_sql(f'SELECT * FROM "{table}"', con))
    else:
        frame = pd.read_csv(
            folder / schema.CRM_DIR / f"{table}.csv",
            dtype=str,
            encoding=config.get("encoding", "utf-8"),
            keep_default_na=False,
            na_values=[""],
        )
    frame["_batch_id"] = f"bench-{system}"
    return frame


def run(folder: Path, sources: dict, accuracy: bool, profile: bool) -> int:
    timings = []
    records = []
    profiler = cProfile.Profile() if profile else None
    for system, config in sources.items():
        raw = read_party_table(folder, system, config)
        mapping = SourceMapping.from_config(system, config)
        if profiler:
            profiler.enable()
        start, cpu_start = time.perf_counter(), time.process_time()
        result = standardize_source(raw, mapping, batch_id=f"bench-{system}", now=NOW)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        if profiler:
            profiler.disable()
        timings.append(
            (system, len(raw), elapsed, cpu, len(result.records), len(result.quarantine))
        )
        if accuracy:
            records.append(result.records)
        del raw, result

    # CPU seconds too: on a shared machine, wall time also counts other processes' turns.
    print(
        f"{'source':<9}{'rows':>11}{'seconds':>9}{'rows/s':>10}{'cpu s':>8}{'rows/cpu s':>12}"
        f"{'records':>11}{'quarant.':>9}"
    )
    for system, rows, elapsed, cpu, kept, quarantined in timings:
        print(
            f"{system:<9}{rows:>11,}{elapsed:>9.1f}{rows / elapsed:>10,.0f}{cpu:>8.1f}"
            f"{rows / cpu:>12,.0f}{kept:>11,}{quarantined:>9,}"
        )
    rows, elapsed, cpu = (sum(t[i] for t in timings) for i in (1, 2, 3))
    kept, quarantined = (sum(t[i] for t in timings) for i in (4, 5))
    print(
        f"{'overall':<9}{rows:>11,}{elapsed:>9.1f}{rows / elapsed:>10,.0f}{cpu:>8.1f}"
        f"{rows / cpu:>12,.0f}{kept:>11,}{quarantined:>9,}"
    )
    load = " ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"load average {load} on {os.cpu_count()} CPUs")
    print(f"peak RSS  {peak_rss_mib():>12,.0f} MiB")

    if accuracy:
        report = standardization_accuracy(
            pd.concat(records, ignore_index=True),
            pd.read_parquet(folder / schema.GROUND_TRUTH_FILE),
            pd.read_parquet(folder / schema.PEOPLE_FILE),
        )
        print()
        print(report.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if profiler:
        print()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("people", nargs="?", type=int, default=600_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--config", type=Path, default=ROOT / "mdm.yaml")
    parser.add_argument("--sources", type=Path, help="a simulated folder to reuse")
    parser.add_argument("--accuracy", action="store_true", help="score against the truth")
    parser.add_argument("--profile", action="store_true", help="cProfile the standardization")
    args = parser.parse_args(argv)

    sources = yaml.safe_load(args.config.read_text(encoding="utf-8"))["sources"]
    if args.sources:
        return run(args.sources, sources, args.accuracy, args.profile)
    with tempfile.TemporaryDirectory(prefix="bench-standardize-") as tmp:
        start = time.perf_counter()
        simulate(Path(tmp), people=args.people, seed=args.seed)
        print(
            f"simulated {args.people:,} people in {time.perf_counter() - start:.0f} s (not timed)"
        )
        return run(Path(tmp), sources, args.accuracy, args.profile)


if __name__ == "__main__":
    raise SystemExit(main())
