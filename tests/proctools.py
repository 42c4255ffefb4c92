"""What the process tests share: whether a process runs, and waiting for a condition with a bound."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable


def running(pid: int) -> bool:
    """Whether ``pid`` runs: it exists and is not a zombie (read from /proc where there is one)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return not os.path.isdir("/proc/self")  # no /proc here: kill(pid, 0) is all there is


def wait_until(condition: Callable[[], object], timeout: float, step: float = 0.1) -> bool:
    """Polls ``condition`` until it holds or ``timeout`` seconds have passed; returns whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


def stop_all(proc: subprocess.Popen, pids: object) -> None:
    """Kills what a test started: the processes ``pids`` still running, then ``proc``'s process group."""
    for pid in pids:  # type: ignore[attr-defined]
        if running(pid):
            os.kill(pid, signal.SIGKILL)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
