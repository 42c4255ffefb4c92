"""The worker side of the ``dask`` executor: one trial run as one Dask task.

Everything here runs inside a Dask worker process, so this module must be importable there (hpcore
installed on the workers) and imports ``distributed`` only inside its functions.

The channel to the controller, both ways through the scheduler (no port on the controller needed):

* up, a list ``[kind, key, ...]`` logged as an event on a topic the controller subscribes to
  (``Worker.log_event`` rides the worker's existing batched stream: no round trip, pushed to the
  controller as it arrives). ``start`` announces the run; ``report`` carries ``(step, metrics)``.
* down, the controller's answer on a ``distributed.Queue`` named after the task: for ``start``,
  True to go ahead or False when this is a second run of the same task (Dask re-ran it after its
  worker died: the controller has already counted that as a crash and submits a retry); for
  ``report``, the stop decision.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from hpcore._threads import available_cores
from hpcore.executors.base import Outcome, Task, run_trial

__all__ = ["SUPERSEDED", "host_cores", "load_check", "reply_queue_name", "run_task"]

SUPERSEDED = "hpcore:superseded"
# How often a trial waiting for an answer checks that the controller still wants it: a controller
# that died (or shut down) releases its tasks, and the trial then stops instead of waiting forever.
WAIT_CHECK_SECONDS = 5.0


def reply_queue_name(key: str) -> str:
    return f"{key}-replies"


def host_cores() -> int:
    """Cores this worker process may use (run on each worker by the controller at start)."""
    return available_cores()


def load_check(payload: bytes) -> str | None:
    """Unpickles the training function on a worker; returns why it cannot, or None."""
    from distributed.protocol.pickle import loads

    try:
        loads(payload)
    except Exception as exc:  # noqa: BLE001 - any import-time failure of the user's module is the answer
        return f"{type(exc).__name__}: {exc}"
    return None


def _still_wanted(worker: Any, key: str) -> bool:
    ts = worker.state.tasks.get(key)
    return ts is not None and ts.state not in ("cancelled", "released", "forgotten")


def _answer(replies: Any, worker: Any, key: str) -> Any:
    """Waits for the controller's answer; None when the controller no longer wants this task."""
    while True:
        try:
            return replies.get(timeout=WAIT_CHECK_SECONDS)
        except (TimeoutError, asyncio.TimeoutError):
            if not _still_wanted(worker, key):
                return None


def _threads_here(worker: Any, shares: dict[str, int]) -> int:
    """The worker's share of its host's cores: cores // worker threads on the host."""
    from distributed.comm import get_address_host

    share = shares.get(get_address_host(worker.address))
    return share if share else max(1, available_cores() // max(1, worker.state.nthreads))


def run_task(train: Callable[..., Any], task: Task, topic: str, key: str, shares: dict[str, int]) -> Outcome | str:
    """The Dask task: announces itself, then runs the trial relaying reports and decisions.

    Returns the trial's :class:`Outcome`, or :data:`SUPERSEDED` when the controller refused the
    start (this key already started once, on a worker that died).
    """
    from distributed import Queue, get_worker

    worker = get_worker()
    replies = Queue(reply_queue_name(key))
    try:
        worker.log_event(topic, ["start", key, worker.address, os.getpid()])
        if _answer(replies, worker, key) is not True:
            return SUPERSEDED
        if task.threads is None:
            task.threads = _threads_here(worker, shares)

        def send(step: int, metrics: dict[str, float]) -> bool:
            worker.log_event(topic, ["report", key, step, metrics])
            stop = _answer(replies, worker, key)
            return True if stop is None else bool(stop)

        return run_trial(train, task, send)
    finally:
        replies.close()
