"""One pipeline run at a time on a home: the lock `mdm run`, the UI, schedules and sensors share.

Two runs on one home would fight over the DuckDB warehouse (one writing process), the landing
batches and the serving snapshot, and both fail on the warehouse lock far from the cause. The
lock is `<home>/run.lock`, held with `flock` for the whole run; the file holds the holder's run
id, pid, start time and command, so a refused run can say which one is running. The kernel
releases a `flock` when its process ends however it ends (`kill -9` included), so a lock left
by a dead run never blocks the next one; the pid in the file is checked too, so the message
never names a process that is gone.

The lock is re-entrant within a process: `mdm run` takes it before Dagster starts, and the
run's resources take it again in the same process (the UI's runs each have their own process
and take it there).
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

LOCK_FILE = "run.lock"
WAIT_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class RunHolder:
    """Who holds a home's run lock."""

    run_id: str
    pid: int
    started_at: str  # local time, seconds
    command: str

    def describe(self) -> str:
        return f"run {self.run_id} (pid {self.pid}, started {self.started_at}, `{self.command}`)"


class RunLockBusy(RuntimeError):
    """Another run holds the home; the message names it."""

    def __init__(self, home: Path, holder: RunHolder | None) -> None:
        self.home = home
        self.holder = holder
        running = holder.describe() if holder else "another run (its details are not readable)"
        super().__init__(f"{home} is in use by {running}")


@dataclass
class _Held:
    fd: int
    depth: int
    holder: RunHolder


_held: dict[Path, _Held] = {}
_registry = threading.Lock()


def lock_path(home: Path) -> Path:
    return Path(home).resolve() / LOCK_FILE


def this_command() -> str:
    """The command line of this process, short enough for one line."""
    command = shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "python"
    return command if len(command) <= 120 else command[:117] + "..."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def current_holder(home: Path) -> RunHolder | None:
    """The run holding `home` (as its lock file says), None when none is alive."""
    path = lock_path(home)
    try:
        text = path.read_text(encoding="utf-8")
        document = json.loads(text) if text.strip() else None
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict):
        return None
    try:
        holder = RunHolder(
            run_id=str(document["run_id"]),
            pid=int(document["pid"]),
            started_at=str(document["started_at"]),
            command=str(document["command"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    return holder if _alive(holder.pid) else None


def _try_lock(path: Path) -> int | None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def acquire(
    home: Path,
    *,
    run_id: str,
    command: str | None = None,
    wait: bool = False,
    timeout: float | None = None,
    on_wait: Callable[[RunHolder | None], None] | None = None,
) -> RunHolder:
    """Take `home`'s run lock for `run_id`, or raise `RunLockBusy` naming the holder.

    With `wait`, wait for the holder to finish instead (up to `timeout` seconds; `on_wait` is
    called once, with the holder, when the wait begins). Re-entrant within a process.
    """
    path = lock_path(home)
    deadline = None if timeout is None else time.monotonic() + timeout
    told = False
    while True:
        with _registry:
            held = _held.get(path)
            if held is not None:
                held.depth += 1
                return held.holder
            fd = _try_lock(path)
            if fd is not None:
                holder = RunHolder(
                    run_id=run_id,
                    pid=os.getpid(),
                    started_at=datetime.now().isoformat(sep=" ", timespec="seconds"),
                    command=command or this_command(),
                )
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps(asdict(holder)).encode("utf-8"), 0)
                _held[path] = _Held(fd, 1, holder)
                return holder
        running = current_holder(home)
        if not wait or (deadline is not None and time.monotonic() >= deadline):
            raise RunLockBusy(Path(home).resolve(), running)
        if not told and on_wait is not None:
            on_wait(running)
        told = True
        time.sleep(WAIT_POLL_SECONDS)


def release(home: Path) -> None:
    """Give back one hold of `home`'s run lock (the last one unlocks it)."""
    path = lock_path(home)
    with _registry:
        held = _held.get(path)
        if held is None:
            return
        held.depth -= 1
        if held.depth > 0:
            return
        del _held[path]
        try:
            os.ftruncate(held.fd, 0)
        finally:
            os.close(held.fd)  # closing the descriptor releases the flock


@contextmanager
def run_lock(
    home: Path,
    *,
    run_id: str,
    command: str | None = None,
    wait: bool = False,
    timeout: float | None = None,
    on_wait: Callable[[RunHolder | None], None] | None = None,
) -> Iterator[RunHolder]:
    """`acquire` for the duration of a block."""
    holder = acquire(
        home, run_id=run_id, command=command, wait=wait, timeout=timeout, on_wait=on_wait
    )
    try:
        yield holder
    finally:
        release(home)
