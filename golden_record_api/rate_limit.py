"""Per-principal token buckets for lookups: an exact lookup confirms a guess, so guessing the
hidden digits of a masked ID or mobile must take far longer than anyone would wait.

In process: each API worker keeps its own buckets, so with N workers a principal gets at most
N times the configured rate — still a few hundred guesses a minute against ten thousand for
the four hidden digits of a mobile, and thousands for the birth date a masked ID hides.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from golden_record_api.principal import get_principal


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
            tokens = min(self.burst, tokens + (now - updated) * self.rate)
            if tokens >= 1.0:
                self._buckets[subject] = (tokens - 1.0, now)
                return 0.0
            self._buckets[subject] = (tokens, now)
            return (1.0 - tokens) / self.rate


async def rate_limited_lookup(request: Request) -> None:
    """429 with `Retry-After` when the principal has used up its lookups."""
    principal = await get_principal(request)
    buckets: TokenBuckets = request.app.state.lookup_buckets
    wait = buckets.take(principal.subject)
    if wait > 0:
        raise HTTPException(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            detail="too many lookups: wait before searching again",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


LookupRateDep = Annotated[None, Depends(rate_limited_lookup)]
