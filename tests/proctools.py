"""What the process tests share: whether a process runs, waiting for a condition with a bound, and
killing a job midway."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable

import pytest

from hpcore.store import Store
from hpcore.trial import TrialRecord


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


def trial_states(db: str) -> dict[int, str]:
    """The state of every trial in the SQLite store ``db``, by trial id (read without the Store)."""
    with sqlite3.connect(db) as con:
        return dict(con.execute("SELECT id, state FROM trials"))


def kill_mid_job(proc: subprocess.Popen, db: str, timeout: float) -> dict[int, TrialRecord]:
    """SIGKILLs ``proc``'s process group once its job has two completed trials and one running.

    Returns:
        The trials in the store after the kill, by id. Fails the test when that point is not
        reached within ``timeout`` seconds.
    """
    def midway() -> bool:
        try:
            states = list(trial_states(db).values()) if os.path.exists(db) else []
        except sqlite3.OperationalError:  # created, not yet initialised, or locked for a moment
            return False
        return states.count("completed") >= 2 and "running" in states

    try:
        reached = wait_until(midway, timeout, step=0.05)
        if not reached:
            pytest.fail("the job did not reach two finished trials in time")
        os.killpg(proc.pid, signal.SIGKILL)  # the controller and every process it started
        proc.wait(10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    store = Store(db, read_only=True)
    try:
        return {t.id: t for t in store.trials("default")}
    finally:
        store.close()
