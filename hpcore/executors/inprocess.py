"""Runs trials one at a time in the calling process and thread."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

from hpcore.errors import ConfigError
from hpcore.executors._interrupts import TrialTimeout, alarm, alarm_deferred, can_alarm
from hpcore.executors.base import Executor, Outcome, ReportFn, Task, run_trial
from hpcore.hookspec import hookimpl

__all__ = ["InProcessExecutor"]


class InProcessExecutor(Executor):
    """Calls the training function directly: no pickling, easiest to debug, one trial at a time.

    A ``trial_timeout`` interrupts the training function where it is (a ``SIGALRM`` timer, raising
    an exception that ``except Exception`` does not catch) when the job runs in the main thread of a
    POSIX process; the trial is recorded as timed out. Elsewhere it is cooperative, with a warning:
    once the time is up, the trial's next ``reporter.report`` returns True. Code stuck inside a
    native call that never returns to Python is not interrupted: use the ``process`` executor for
    a hard timeout.

    Args:
        max_parallel: Must be 1.
        trial_timeout: Seconds a trial may run (cooperative), or None.
        threads: CPU threads per trial (None leaves the process as it is).

    Example:
        >>> ex = InProcessExecutor()
        >>> ex.start(lambda p, r: r.report(1, loss=p["x"]) or p["x"], on_report=lambda t, s, m: False)
        >>> ex.submit(Task(0, {"x": 3.0}))
        >>> ex.poll(0.0)[0].result
        3.0
    """

    name = "inprocess"

    def __init__(self, max_parallel: int = 1, trial_timeout: float | None = None,
                 threads: int | None = None) -> None:
        if max_parallel != 1:
            raise ConfigError(f"executor 'inprocess' runs one trial at a time (max_parallel={max_parallel}); "
                              "use executor='process' for parallel trials")
        self.trial_timeout = trial_timeout
        self.threads = threads
        self._queue: list[Task] = []
        self._train: Callable[..., Any] | None = None
        self._on_report: ReportFn | None = None

    def start(self, train: Callable[..., Any], on_report: ReportFn) -> None:
        self._train, self._on_report = train, on_report
        if self.trial_timeout is not None and not can_alarm():
            warnings.warn(f"trial_timeout={self.trial_timeout:g}s with the in-process executor outside the main "
                          "thread is cooperative: a trial is stopped at its next report, and one that never "
                          "reports runs on; use executor='process' to enforce it", stacklevel=3)

    def free_slots(self) -> int:
        return 0 if self._queue else 1

    def running(self) -> list[int]:
        return [t.trial_id for t in self._queue]

    def submit(self, task: Task) -> None:
        if task.threads is None:
            task.threads = self.threads
        self._queue.append(task)

    def poll(self, timeout: float) -> list[Outcome]:
        if not self._queue:
            time.sleep(min(timeout, 0.01))
            return []
        assert self._train is not None and self._on_report is not None, "start() first"
        task = self._queue[0]
        deadline = None if self.trial_timeout is None else time.monotonic() + self.trial_timeout
        on_report = self._on_report
        timed_out = []
        failed: list[BaseException] = []

        def send(step: int, metrics: dict[str, float]) -> bool:
            # The controller's own failure (its store cannot be written, say) is not the trial's: keep
            # it from the training code, which could catch it or turn it into a failed trial, stop the
            # trial and raise it once the training function has returned.
            try:
                with alarm_deferred():
                    stop = on_report(task.trial_id, step, metrics)
            except Exception as exc:
                failed.append(exc)
                return True
            if not stop and deadline is not None and time.monotonic() > deadline:
                timed_out.append(step)
                return True
            return stop

        started = time.time()
        try:
            with alarm(self.trial_timeout):
                outcome = run_trial(self._train, task, send)
        except TrialTimeout as exc:
            outcome = Outcome(task.trial_id, task.attempt, "timeout", error=str(exc), started=started,
                              finished=time.time())
        finally:
            self._queue.pop(0)
        if failed:
            raise failed[0]
        if timed_out and outcome.kind == "ok":
            outcome.kind = "timeout"
        return [outcome]


@hookimpl
def hpcore_add_executors() -> dict[str, Any]:
    return {"inprocess": InProcessExecutor}
