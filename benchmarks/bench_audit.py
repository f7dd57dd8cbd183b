"""How much the read audit costs a request, and how fast the chain grows, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/bench_audit.py                       # SQLite in a temp folder
    .venv/bin/python benchmarks/bench_audit.py --postgres postgresql://postgres@127.0.0.1/bench

For each store: `submit` (what a request pays: a put on the bounded queue) in µs per event,
mean, median, p99 and max over `--events` events while the background writer drains;
appends/s through the queued writer (submit all, close, divide by the wall time until the
last row is committed); appends/s of single-row transactions (the cost without batching);
and the time `verify()` takes over the whole chain. The PostgreSQL database must exist and
is left with the rows.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from connectors.audit_log import QueuedAuditWriter, ReadAuditLog, ReadAuditRow


def event(n: int) -> ReadAuditRow:
    return ReadAuditRow(
        occurred_at=datetime.now(UTC),
        subject=f"rm-{n % 50}",
        principal_kind="user",
        role="relationship_manager",
        endpoint="GET /golden-records/{golden_id}",
        golden_ids=(f"G{n % 1_000_000:010d}",),
        clear_fields=("name", "address", "birth_date"),
        purpose="loan review",
        status_code=200,
    )


def bench(url: str, events: int, single: int) -> None:
    log = ReadAuditLog(url)
    writer = QueuedAuditWriter(log, max_queue=events + 1)
    writer.start()
    costs: list[float] = []
    started = time.perf_counter()
    for n in range(events):
        before = time.perf_counter_ns()
        writer.submit(event(n))
        costs.append((time.perf_counter_ns() - before) / 1000)
    writer.close()
    batched = events / (time.perf_counter() - started)
    stats = writer.stats()

    started = time.perf_counter()
    for n in range(single):
        log.append([event(n)])
    one_by_one = single / (time.perf_counter() - started)

    started = time.perf_counter()
    check = log.verify()
    verify_s = time.perf_counter() - started
    log.dispose()

    costs.sort()
    print(f"{log.engine.dialect.name}:")
    print(
        f"  submit: mean {statistics.fmean(costs):.1f} µs, median {costs[len(costs) // 2]:.1f},"
        f" p99 {costs[int(len(costs) * 0.99)]:.1f}, max {costs[-1]:,.0f} µs per event"
        f" ({events} events; dropped {stats.dropped}, failed {stats.failed})"
    )
    print(f"  queued writer: {batched:,.0f} appends/s (batches of up to 500, one transaction each)")
    print(f"  one transaction per row: {one_by_one:,.0f} appends/s ({single} rows)")
    print(f"  verify: {check.rows} rows in {verify_s:.2f} s, ok={check.ok}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--single", type=int, default=500)
    parser.add_argument("--postgres", default=None, help="also bench this PostgreSQL database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bench(f"sqlite:///{Path(folder) / 'ops.sqlite'}", args.events, args.single)
    if args.postgres:
        bench(args.postgres, args.events, args.single)


if __name__ == "__main__":
    main()
