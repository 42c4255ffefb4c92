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

A trial whose controller is gone does not hold its worker: the scheduler releases the tasks of a
client that disconnected (killed, or shut down), and a watcher thread that sees the trial's task
no longer wanted interrupts the trial with :class:`ControllerGone` (raised in the trial's thread,
where ``except Exception`` does not catch it). A trial that does not return within
``orphan_timeout`` seconds (stuck in native code, or swallowing the exception) has its worker
process ended, for its nanny to start a fresh one; a worker without a nanny logs a warning.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from hpcore._threads import available_cores
from hpcore.executors.base import Outcome, Task, run_trial

__all__ = ["SUPERSEDED", "ControllerGone", "host_cores", "load_check", "reply_queue_name", "run_task"]

log = logging.getLogger("hpcore")

SUPERSEDED = "hpcore:superseded"
# How often a trial waiting for an answer checks that the controller still wants it: a controller
# that died (or shut down) releases its tasks, and the trial then stops instead of waiting forever.
WAIT_CHECK_SECONDS = 5.0
# How often the watcher of a running trial checks the same while the trial computes.
WATCH_SECONDS = 0.5


class ControllerGone(BaseException):
    """Raised inside a trial whose controller is gone or no longer wants it (a BaseException, so
    that ``except Exception`` in the training code lets it through)."""


class _Watch:
    """Interrupts the trial running in this thread once its task is no longer wanted."""

    def __init__(self, worker: Any, key: str, orphan_timeout: float) -> None:
        self.worker, self.key, self.orphan_timeout = worker, key, orphan_timeout
        self.thread = threading.get_ident()
        self.lock = threading.Lock()
        self.armed = True  # the thread runs the trial's own code: an interruption may be raised there
        self.ended = threading.Event()
        threading.Thread(target=self._watch, name=f"hpcore-watch-{key}", daemon=True).start()

    def _watch(self) -> None:
        while not self.ended.wait(WATCH_SECONDS):
            if _still_wanted(self.worker, self.key):
                continue
            with self.lock:
                if not self.armed or self.ended.is_set():
                    continue  # hpcore's own code: it notices by itself, in _answer
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.thread),
                                                           ctypes.py_object(ControllerGone))
            if not self.ended.wait(self.orphan_timeout):
                self._free_worker()
            return

    def _free_worker(self) -> None:
        if getattr(self.worker, "nanny", None):
            log.warning("hpcore: trial task %s outlived its controller by %gs without returning; ending this "
                        "worker process for its nanny to restart it", self.key, self.orphan_timeout)
            os._exit(1)
        log.warning("hpcore: trial task %s outlived its controller by %gs without returning; this worker has "
                    "no nanny to restart it, so its thread stays busy until the trial returns",
                    self.key, self.orphan_timeout)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """While hpcore's own code runs (a report waiting for its answer), nothing is raised."""
        with self.lock:
            self.armed = False
        try:
            yield
        finally:
            with self.lock:
                self.armed = True

    def disarm(self) -> None:
        with self.lock:
            self.armed = False


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


def run_task(train: Callable[..., Any], task: Task, topic: str, key: str, shares: dict[str, int],
             orphan_timeout: float = 30.0) -> Outcome | str:
    """The Dask task: announces itself, then runs the trial relaying reports and decisions.

    Returns the trial's :class:`Outcome`, or :data:`SUPERSEDED` when the controller refused the
    start (this key already started once, on a worker that died) or is gone.
    """
    from distributed import Queue, get_worker

    worker = get_worker()
    replies = Queue(reply_queue_name(key))
    watch = _Watch(worker, key, orphan_timeout)
    try:
        try:
            with watch.paused():
                worker.log_event(topic, ["start", key, worker.address, os.getpid()])
                if _answer(replies, worker, key) is not True:
                    return SUPERSEDED
            if task.threads is None:
                task.threads = _threads_here(worker, shares)

            def send(step: int, metrics: dict[str, float]) -> bool:
                with watch.paused():
                    worker.log_event(topic, ["report", key, step, metrics])
                    stop = _answer(replies, worker, key)
                return True if stop is None else bool(stop)

            return run_trial(train, task, send)
        finally:
            watch.disarm()  # an interruption already on its way is raised here, at the latest
    except ControllerGone:
        return SUPERSEDED
    finally:
        watch.ended.set()
        replies.close()
