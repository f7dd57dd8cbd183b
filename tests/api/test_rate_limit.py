"""The lookup budget is one per principal across the API's worker processes.

`SharedTokenBuckets` keeps the buckets in a memory-mapped file; these tests take tokens from
two real processes at once and count what both got together.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from golden_record_api.rate_limit import SharedTokenBuckets, TokenBuckets

# A refill too slow to matter during a test: the budget is the burst.
SLOW = 0.001


def _take_many(path: str, burst: int, attempts: int, start: object, results: object) -> None:
    buckets = SharedTokenBuckets(Path(path), SLOW, burst)
    start.wait()  # type: ignore[attr-defined]
    granted = sum(buckets.take("key:crm-sync") == 0.0 for _ in range(attempts))
    results.put(granted)  # type: ignore[attr-defined]
    buckets.close()


def test_two_processes_share_one_budget(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    path = tmp_path / "run" / "lookup_buckets.bin"
    workers = [
        context.Process(target=_take_many, args=(str(path), 50, 200, start, results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    start.set()
    granted = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)

    # 50 tokens between them, not 50 each (per-process buckets would grant 100).
    assert sum(granted) == 50
    assert all(worker.exitcode == 0 for worker in workers)


def test_per_process_buckets_are_the_fallback_that_does_not_share(tmp_path: Path) -> None:
    # What MDM_LOOKUP_RATE_SHARED=false gives: each worker its own bucket.
    first, second = TokenBuckets(SLOW, 3), TokenBuckets(SLOW, 3)
    assert sum(b.take("a") == 0.0 for b in (first, second) for _ in range(3)) == 6


def test_shared_buckets_allow_a_burst_then_refill_at_the_rate(tmp_path: Path) -> None:
    now = [100.0]
    path = tmp_path / "buckets.bin"
    buckets = SharedTokenBuckets(path, per_minute=6, burst=2, clock=lambda: now[0])
    again = SharedTokenBuckets(path, per_minute=6, burst=2, clock=lambda: now[0])

    assert [buckets.take("a"), again.take("a")] == [0.0, 0.0]  # one bucket, two handles
    assert buckets.take("a") == pytest.approx(10.0)  # one token per 10 s
    assert again.take("b") == 0.0  # every principal has its own bucket
    now[0] += 10
    assert again.take("a") == 0.0
    assert buckets.take("a") > 0
    # Other limits on the same file are another bucket, not a reading of these tokens.
    assert SharedTokenBuckets(path, per_minute=6, burst=5, clock=lambda: now[0]).take("a") == 0
    for handle in (buckets, again):
        handle.close()


def test_a_crowded_table_reuses_the_slot_idle_longest(tmp_path: Path) -> None:
    now = [0.0]
    buckets = SharedTokenBuckets(tmp_path / "b.bin", SLOW, 1, slots=4, clock=lambda: now[0])
    for subject in "abcd":
        now[0] += 1
        assert buckets.take(subject) == 0.0
    now[0] += 1
    assert buckets.take("e") == 0.0  # took the slot of the idlest principal
    assert buckets.take("e") > 0  # and keeps its own budget there
    buckets.close()


def test_the_file_is_made_at_the_first_take_not_before(tmp_path: Path) -> None:
    path = tmp_path / "run" / "lookup_buckets.bin"
    buckets = SharedTokenBuckets(path, SLOW, 1)
    assert not path.exists()
    buckets.take("a")
    assert path.exists()
    buckets.close()
