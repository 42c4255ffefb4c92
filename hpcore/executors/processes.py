"""Runs trials in a pool of worker processes on this machine.

Each worker is a long-lived process (started with ``spawn`` by default) that runs one trial at a
time and talks to the controller over its own pipe: reports go up, stop decisions come down, and the
outcome goes up at the end. A worker that dies (killed, out of memory, a crash in native code) is
noticed at once: its trial ends as ``crash`` and a fresh worker takes its place. A trial past its
timeout is killed with its worker. Each worker caps its thread pools to the cores it was given.

Workers never outlive the controller: one whose controller dies, even by SIGKILL, ends at once
(:func:`hpcore._lifeline.die_with_parent`), and so do the programs its trial started. At shutdown
(the job's end, Ctrl-C, SIGTERM) idle workers are told to exit and busy ones get SIGTERM, which
interrupts their trial as Ctrl-C would; those still alive after ``stop_timeout`` are killed.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any

from hpcore import _lifeline
from hpcore._threads import thread_env, threads_per_trial
from hpcore.errors import ConfigError
from hpcore.executors._interrupts import sigterm_interrupts
from hpcore.executors.base import Executor, Outcome, ReportFn, Task, describe, run_trial
from hpcore.hookspec import hookimpl

__all__ = ["ProcessExecutor"]

_env_lock = threading.Lock()


def _worker_main(conn: Connection, train: Callable[..., Any], parent: int, pdeathsig: bool) -> None:
    parent_process = mp.parent_process()
    _lifeline.die_with_parent(parent, parent_process.sentinel if parent_process else None, pdeathsig)
    sigterm_interrupts()  # the controller's SIGTERM at shutdown interrupts the trial, as Ctrl-C would
    try:
        _serve(conn, train)
    except KeyboardInterrupt:  # Ctrl-C or the controller stopping this worker: nothing more to run
        return


def _serve(conn: Connection, train: Callable[..., Any]) -> None:
    conn.send(("ready", os.getpid()))
    while True:
        try:
            msg = conn.recv()
        except EOFError:  # the controller went away
            return
        if msg[0] == "exit":
            return
        task: Task = msg[1]

        def send(step: int, metrics: dict[str, float], _id: int = task.trial_id) -> bool:
            conn.send(("report", _id, step, metrics))
            reply = conn.recv()
            return bool(reply[1])

        outcome = run_trial(train, task, send)
        try:
            conn.send(("done", outcome))
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            outcome.result, outcome.kind = None, "error"
            outcome.error = f"the training function returned a value that cannot be sent back: {exc}"
            conn.send(("done", outcome))


class _Worker:
    def __init__(self, ctx: Any, train: Callable[..., Any], threads: int) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        # PR_SET_PDEATHSIG follows the thread that starts the worker: ask for it only from the main
        # thread (or the fork server's), which lives as long as the controller.
        pdeathsig = ctx.get_start_method() == "forkserver" or threading.current_thread() is threading.main_thread()
        self.process = ctx.Process(target=_worker_main, args=(child, train, os.getpid(), pdeathsig), daemon=True)
        with _env_lock:  # libraries read their thread caps at import, in the child: set them first
            saved = {k: os.environ.get(k) for k in thread_env(threads)}
            os.environ.update(thread_env(threads))
            try:
                self.process.start()
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
        child.close()
        self.task: Task | None = None
        self.started = 0.0
        self.ready = False

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class ProcessExecutor(Executor):
    """Runs up to ``max_parallel`` trials at once, each in its own worker process.

    The training function must be importable by the workers: define it at module level (in a
    script, guard the job with ``if __name__ == "__main__":``), not as a lambda or closure.

    Args:
        max_parallel: Number of worker processes.
        trial_timeout: Seconds before a trial is killed and recorded as timed out.
        threads: CPU threads per trial (default: cores // max_parallel, at least 1).
        start_method: ``spawn`` (default, safest), ``forkserver`` or ``fork``.
        startup_timeout: Seconds a worker may take to import the training function.
        stop_timeout: Seconds the workers get at shutdown to end their trials before they are killed.

    Example:
        >>> ex = ProcessExecutor(max_parallel=2)  # doctest: +SKIP
        >>> ex.start(my_module.train, on_report=lambda t, s, m: False)  # doctest: +SKIP
    """

    name = "process"

    def __init__(self, max_parallel: int = 2, trial_timeout: float | None = None, threads: int | None = None,
                 start_method: str = "spawn", startup_timeout: float = 120.0, stop_timeout: float = 10.0) -> None:
        if int(max_parallel) < 1:
            raise ConfigError(f"max_parallel={max_parallel!r}: use at least 1")
        if start_method not in mp.get_all_start_methods():
            raise ConfigError(f"start_method={start_method!r}: use one of {mp.get_all_start_methods()}")
        self.max_parallel = int(max_parallel)
        self.trial_timeout = trial_timeout
        self.threads = threads or threads_per_trial(self.max_parallel)
        if not (isinstance(stop_timeout, (int, float)) and stop_timeout >= 0):
            raise ConfigError(f"stop_timeout={stop_timeout!r}: use a number of seconds >= 0")
        self.startup_timeout = startup_timeout
        self.stop_timeout = float(stop_timeout)
        self._ctx = mp.get_context(start_method)
        self._workers: list[_Worker] = []
        self._train: Callable[..., Any] | None = None
        self._on_report: ReportFn | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self, train: Callable[..., Any], on_report: ReportFn) -> None:
        self._train, self._on_report = train, on_report
        try:
            pickle.dumps(train)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise ConfigError(
                f"the training function {describe(train)} cannot be sent to worker processes ({exc}); "
                "define it at module level in an importable module (not a lambda or a nested function), "
                "or use executor='inprocess'"
            ) from None
        self._workers = [self._spawn() for _ in range(self.max_parallel)]
        deadline = time.monotonic() + self.startup_timeout
        for w in self._workers:
            self._await_ready(w, deadline)

    def _spawn(self) -> _Worker:
        assert self._train is not None
        return _Worker(self._ctx, self._train, self.threads)

    def _await_ready(self, w: _Worker, deadline: float) -> None:
        while not w.ready:
            if w.conn.poll(max(0.0, min(0.2, deadline - time.monotonic()))):
                try:
                    w.conn.recv()
                    w.ready = True
                    return
                except EOFError:
                    pass
            if not w.process.is_alive() or time.monotonic() > deadline:
                code = w.process.exitcode
                self.shutdown()
                raise ConfigError(
                    f"a worker process could not load the training function {describe(self._train)} "
                    f"(exit code {code}); make sure its module is importable from the workers "
                    "(on sys.path, no side effects at import, scripts guarded by if __name__ == '__main__':)"
                )

    def shutdown(self) -> None:
        """Idle workers are told to exit, busy ones get SIGTERM; all are killed after ``stop_timeout``."""
        workers, self._workers = self._workers, []
        for w in workers:
            try:
                if not w.process.is_alive():
                    continue
                if w.task is None:
                    w.conn.send(("exit",))
                else:
                    os.kill(w.process.pid, signal.SIGTERM)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + self.stop_timeout
        for w in workers:
            w.process.join(timeout=max(0.0, deadline - time.monotonic()))
            w.kill()

    # -- scheduling ---------------------------------------------------------------------------
    def free_slots(self) -> int:
        return sum(1 for w in self._workers if w.task is None)

    def running(self) -> list[int]:
        return [w.task.trial_id for w in self._workers if w.task is not None]

    def submit(self, task: Task) -> None:
        if task.threads is None:
            task.threads = self.threads
        for w in self._workers:
            if w.task is None:
                w.task, w.started = task, time.time()
                w.conn.send(("task", task))
                return
        raise RuntimeError("no free worker: check free_slots() before submit()")

    def poll(self, timeout: float) -> list[Outcome]:
        assert self._on_report is not None, "start() first"
        out: list[Outcome] = []
        busy = [w for w in self._workers if w.task is not None]
        if not busy:
            time.sleep(min(timeout, 0.01))
            return out
        wait_for = timeout
        if self.trial_timeout is not None:
            nearest = min(w.started + self.trial_timeout for w in busy) - time.time()
            wait_for = max(0.0, min(timeout, nearest))
        ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=wait_for)
        for w in busy:
            if w.conn in ready or w.process.sentinel in ready:
                self._drain(w, out)
        if self.trial_timeout is not None:
            now = time.time()
            for i, w in enumerate(self._workers):
                if w.task is not None and now - w.started > self.trial_timeout:
                    out.append(self._end(i, "timeout", f"trial ran longer than trial_timeout={self.trial_timeout}s"))
        return out

    def _drain(self, w: _Worker, out: list[Outcome]) -> None:
        assert self._on_report is not None
        while w.task is not None:
            try:
                if not w.conn.poll():
                    if not w.process.is_alive():
                        raise EOFError
                    return
                msg = w.conn.recv()
            except (EOFError, OSError):
                code = w.process.exitcode
                w.process.join(timeout=1)
                code = w.process.exitcode if code is None else code
                out.append(self._end(self._workers.index(w), "crash",
                                     f"the worker process running the trial died (exit code {code})"))
                return
            if msg[0] == "report":
                stop = self._on_report(msg[1], msg[2], msg[3])
                try:
                    w.conn.send(("decision", stop))
                except (OSError, BrokenPipeError):
                    continue  # the worker died; the next recv reports it
            elif msg[0] == "done":
                outcome: Outcome = msg[1]
                w.task = None
                out.append(outcome)

    def _end(self, index: int, kind: str, error: str) -> Outcome:
        w = self._workers[index]
        assert w.task is not None
        task = w.task
        w.kill()
        fresh = self._spawn()
        self._await_ready(fresh, time.monotonic() + self.startup_timeout)
        self._workers[index] = fresh
        return Outcome(task.trial_id, task.attempt, kind, error=error, started=w.started, finished=time.time())


@hookimpl
def hpcore_add_executors() -> dict[str, Any]:
    return {"process": ProcessExecutor}
