"""Per-principal token buckets for lookups: an exact lookup confirms a guess, so guessing the
hidden digits of a masked ID or mobile must take far longer than anyone would wait.

One budget per principal across every API worker process on the machine: `SharedTokenBuckets`
keeps the buckets in a small memory-mapped file (`Settings.rate_limit_path`, under `var/`)
that each worker maps, and takes a token under an exclusive `fcntl` lock on it. A take is a
lock, a probe of a few 32-byte slots and an unlock, microseconds against the lookup's SQLite
reads (measured in benchmarks/bench_api.py's docstring). Per-process `TokenBuckets` remain for
a test's app and as the documented fallback (`MDM_LOOKUP_RATE_SHARED=false`): with N workers a
principal then gets up to N times the rate.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import mmap
import os
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Protocol

from fastapi import Depends, HTTPException, Request, status

from golden_record_api.principal import get_principal


class Buckets(Protocol):
    def take(self, subject: str) -> float: ...


def _refill(tokens: float, updated: float, now: float, rate: float, burst: float) -> float:
    return min(burst, tokens + max(0.0, now - updated) * rate)


class TokenBuckets:
    """`burst` requests at once, refilled at `per_minute`; `take` says how long to wait."""

    def __init__(
        self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # subject → (tokens, updated)

    def take(self, subject: str) -> float:
        """0 if a token was taken, else the seconds until one is there."""
        now = self._clock()
        with self._lock:
            tokens, updated = self._buckets.get(subject, (self.burst, now))
            tokens = _refill(tokens, updated, now, self.rate, self.burst)
            if tokens >= 1.0:
                self._buckets[subject] = (tokens - 1.0, now)
                return 0.0
            self._buckets[subject] = (tokens, now)
            return (1.0 - tokens) / self.rate


MAGIC = b"MDMTB001"
HEADER = struct.Struct("<8sQ")  # magic, slot count
SLOT = struct.Struct("<16sdd")  # key digest, tokens, updated (CLOCK_MONOTONIC seconds)
EMPTY = bytes(16)
DEFAULT_SLOTS = 8192
# Slots probed before a bucket takes over the one idle longest: principals are few (each needs
# credentials), so a long probe means a crowded table, not a cost worth paying per request.
MAX_PROBE = 64


class SharedTokenBuckets:
    """Token buckets shared by every process that maps the same file (see the module doc).

    A bucket is keyed by the principal *and* the limits (`per_minute`, `burst`), so two apps
    configured differently on one file never read each other's tokens as their own. The clock
    is CLOCK_MONOTONIC, which is one clock for every process of the machine.
    """

    def __init__(
        self,
        path: Path,
        per_minute: float,
        burst: int,
        *,
        slots: int = DEFAULT_SLOTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._limits = f"{per_minute!r}/{burst}/"
        self._clock = clock
        self._thread_lock = threading.Lock()  # fcntl locks do not exclude a process's threads
        self._slots_wanted = slots
        self.slots = 0
        self._fd = -1
        self._map: mmap.mmap | None = None

    def _open(self) -> mmap.mmap:
        """Map the file, creating it at the first take (importing the app creates nothing)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.lockf(fd, fcntl.LOCK_EX)
        try:
            if os.fstat(fd).st_size < HEADER.size:
                os.ftruncate(fd, HEADER.size + self._slots_wanted * SLOT.size)
                os.pwrite(fd, HEADER.pack(MAGIC, self._slots_wanted), 0)
            magic, slots = HEADER.unpack(os.pread(fd, HEADER.size, 0))
            if magic != MAGIC:
                raise ValueError(f"{self.path} is not a token-bucket file")
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN)
        self._fd, self.slots = fd, int(slots)
        self._map = mmap.mmap(fd, HEADER.size + self.slots * SLOT.size)
        return self._map

    def close(self) -> None:
        with self._thread_lock:
            if self._map is not None:
                self._map.close()
                os.close(self._fd)
                self._map = None

    def _slot(self, table: mmap.mmap, digest: bytes) -> int:
        """The slot of `digest`: its own, a free one, or the one idle longest. Lock held."""
        start = int.from_bytes(digest[:8], "little") % self.slots
        oldest, oldest_at = start, math.inf
        for step in range(min(MAX_PROBE, self.slots)):
            index = (start + step) % self.slots
            key, _, updated = SLOT.unpack_from(table, HEADER.size + index * SLOT.size)
            if key in (digest, EMPTY):
                return index
            if updated < oldest_at:
                oldest, oldest_at = index, updated
        return oldest

    def take(self, subject: str) -> float:
        """0 if a token was taken, else the seconds until one is there."""
        digest = hashlib.blake2b((self._limits + subject).encode(), digest_size=16).digest()
        with self._thread_lock:
            table = self._map if self._map is not None else self._open()
            fcntl.lockf(self._fd, fcntl.LOCK_EX)
            try:
                now = self._clock()
                offset = HEADER.size + self._slot(table, digest) * SLOT.size
                key, tokens, updated = SLOT.unpack_from(table, offset)
                if key != digest:
                    tokens, updated = self.burst, now
                tokens = _refill(tokens, updated, now, self.rate, self.burst)
                wait = 0.0
                if tokens >= 1.0:
                    tokens -= 1.0
                else:
                    wait = (1.0 - tokens) / self.rate
                SLOT.pack_into(table, offset, digest, tokens, now)
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN)
        return wait


async def rate_limited_lookup(request: Request) -> None:
    """429 with `Retry-After` when the principal has used up its lookups."""
    principal = await get_principal(request)
    buckets: Buckets = request.app.state.lookup_buckets
    wait = buckets.take(principal.subject)
    if wait > 0:
        raise HTTPException(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            detail="too many lookups: wait before searching again",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


LookupRateDep = Annotated[None, Depends(rate_limited_lookup)]
