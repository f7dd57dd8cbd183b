"""How fast the simulated source systems are generated, and how much memory it takes.

    .venv/bin/python benchmarks/bench_simulate.py            # 1,000,000 people
    .venv/bin/python benchmarks/bench_simulate.py 10000 --seed 7 --keep var/bench-sources

Prints people per second, rows written per table and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.simulated import simulate


def peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("people", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", type=Path, help="write here instead of a temporary folder")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-simulate-") as tmp:
        out = args.keep or Path(tmp)
        start = time.perf_counter()
        manifest = simulate(out, people=args.people, seed=args.seed)
        elapsed = time.perf_counter() - start
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())

    total_rows = 0
    print(f"people            {args.people:>12,}")
    print(f"elapsed           {elapsed:>12.1f} s")
    print(f"people/second     {args.people / elapsed:>12,.0f}")
    for system, tables in manifest["row_counts"].items():
        for table, rows in tables.items():
            total_rows += rows
            print(f"{system + '.' + table:<34} {rows:>12,}")
    print(f"ground truth rows {manifest['ground_truth']['records']:>12,}")
    print(f"rows written      {total_rows:>12,}  ({total_rows / elapsed:,.0f} rows/s)")
    print(f"output size       {size / 2**20:>12,.1f} MiB")
    print(f"peak RSS          {peak_rss_mib():>12,.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
