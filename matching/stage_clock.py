"""Seconds per named stage of one call, for the timings the engine and the runs report."""

from __future__ import annotations

import time


class StageClock:
    """Each `lap(stage)` records the wall and CPU seconds (this process, every thread) since
    the previous lap, or since the clock was made."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def lap(self, stage: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.seconds[stage], self.cpu_seconds[stage] = wall - self._wall, cpu - self._cpu
        self._wall, self._cpu = wall, cpu
