"""The API's background drain of the record inbox (`connectors.record_inbox`).

A post queued during a batch run is applied by that run at its end; this task is the other
half of the rule: a queued post is applied even when no run drains it (the run failed before
its publish step, or the post arrived while another online write held the home). Every
`INTERVAL_SECONDS`, and at once after a direct write (the home was just free), it tries the
home's lock without waiting and applies what is queued; a busy home is tried again next time.
Each worker of `mdm api` runs one: the run lock lets one of them drain at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi.concurrency import run_in_threadpool

from connectors import run_lock
from connectors.record_inbox import drain
from connectors.settings import Settings

log = logging.getLogger(__name__)

#: How often the inbox is looked at when nothing wakes the task (one indexed count when empty).
INTERVAL_SECONDS = 5.0


class InboxDrainer:
    def __init__(self, settings: Settings, interval_seconds: float = INTERVAL_SECONDS) -> None:
        self.settings = settings
        self.interval_seconds = interval_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="record-inbox-drain")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def drain_once(self) -> None:
        try:
            await run_in_threadpool(drain, self.settings, wait_seconds=0.0)
        except run_lock.RunLockBusy:
            pass  # a run (which drains at its end) or another writer holds the home
        except Exception as error:  # the task must outlive a bad moment of the stores
            log.warning("record inbox drain failed (%s); tried again later", type(error).__name__)

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval_seconds)
            self._wake.clear()
            await self.drain_once()
