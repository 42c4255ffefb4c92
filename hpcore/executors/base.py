"""The executor contract: where and how trials run.

The controller (the :class:`~hpcore.TuningJob`) is the only writer of the job's state. An executor
runs training functions and streams two kinds of messages back to it, always on the controller's
thread: intermediate reports, through the ``on_report(trial_id, step, metrics) -> stop`` callback
given to :meth:`Executor.start` (whose answer goes back to the trial), and finished trials, as the
:class:`Outcome` values :meth:`Executor.poll` returns.

An executor plugin subclasses :class:`Executor` and registers a factory with
``hpcore_add_executors``; ``tests/executor_contract.py`` is the suite every executor must pass.
"""

from __future__ import annotations

import inspect
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hpcore._threads import limit_threads
from hpcore.executors._interrupts import watch_sigint
from hpcore.reporter import Reporter
from hpcore.trialfiles import TrialFiles

__all__ = ["Executor", "Outcome", "Task", "describe", "run_trial"]

ReportFn = Callable[[int, int, dict[str, float]], bool]


@dataclass
class Task:
    """One run of a trial: its id, parameters, attempt number, CPU threads and artifact folder."""

    trial_id: int
    params: dict[str, Any]
    attempt: int = 0
    threads: int | None = None
    artifacts: str | None = None  # the trial's folder or URL (None: a temporary folder)


@dataclass
class Outcome:
    """How a run ended.

    ``kind`` is ``ok`` (the function returned ``result``), ``error`` (it raised: ``error`` holds the
    traceback), ``crash`` (its worker died) or ``timeout``. ``last_step``/``last_metrics`` are its
    last intermediate report.
    """

    trial_id: int
    attempt: int
    kind: str
    result: Any = None
    error: str | None = None
    last_step: int | None = None
    last_metrics: dict[str, float] = field(default_factory=dict)
    started: float = 0.0
    finished: float = 0.0


def describe(fn: Any) -> str:
    """``module:qualname`` of a callable, for messages and a job's stored setup.

    An object with ``__call__`` is named by its class, with its ``repr`` where the class defines
    one (a :class:`~hpcore.script.CommandTrainer` shows its command), never by its address.
    """
    mod = getattr(fn, "__module__", None) or "?"
    name = getattr(fn, "__qualname__", None)
    if not isinstance(name, str):
        cls = type(fn)
        name = cls.__qualname__ if cls.__repr__ is object.__repr__ else repr(fn)
    return f"{mod}:{name}"


def _plain(value: Any) -> Any:
    """Makes numpy/torch scalars plain numbers so results pickle and store cleanly."""
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 0) == 0:
        try:
            return value.item()
        except (TypeError, ValueError):
            return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _arity(train: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(train).parameters.values()
    except (TypeError, ValueError):
        return 2
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind is p.VAR_POSITIONAL for p in params) or len(positional) >= 2:
        return 2
    return 1


def run_trial(train: Callable[..., Any], task: Task, send: Callable[[int, dict[str, float]], bool] | None) -> Outcome:
    """Runs ``train(params, reporter)`` (or ``train(params)``) for one task, catching its errors.

    The trial fails when the function raises, and also when it calls ``sys.exit()`` or raises
    ``KeyboardInterrupt`` itself; only the user's Ctrl-C (a SIGINT to this process) propagates, as
    an interrupted trial is not a failed one.
    """
    files = TrialFiles(task.artifacts) if task.artifacts is not None else None
    reporter = Reporter(task.trial_id, dict(task.params), send=send, attempt=task.attempt, threads=task.threads,
                        files=files)
    started = time.time()
    kind, result, error = "ok", None, None
    with limit_threads(task.threads), reporter, watch_sigint() as sigint:
        try:
            result = train(dict(task.params)) if _arity(train) == 1 else train(dict(task.params), reporter)
        except SystemExit as exc:
            kind, error = "error", (f"{traceback.format_exc()}the training function called sys.exit({exc.code!r}) "
                                    "(argparse does on a bad option); its trial failed")
        except KeyboardInterrupt:
            if sigint.pressed:
                raise
            kind, error = "error", (f"{traceback.format_exc()}the training function raised KeyboardInterrupt "
                                    "without a Ctrl-C; its trial failed")
        except Exception:
            kind, error = "error", traceback.format_exc()
    if files is not None and kind == "ok":
        try:
            files.sync()  # an URL's files are uploaded before the trial counts as done
        except Exception:
            kind, error = "error", (f"{traceback.format_exc()}the trial's files could not be uploaded to "
                                    f"{files.location}")
    last = {k: v for k, v in reporter.last_metrics.items() if not math.isnan(v)}
    return Outcome(task.trial_id, task.attempt, kind, _plain(result), error, reporter.last_step,
                   last, started, time.time())


class Executor:
    """Runs trials; see the module docstring for the contract.

    Example:
        >>> from hpcore.executors.inprocess import InProcessExecutor
        >>> ex = InProcessExecutor()
        >>> ex.start(lambda p, r: p["x"] * 2, on_report=lambda t, s, m: False)
        >>> ex.submit(Task(0, {"x": 2}))
        >>> [o.result for o in ex.poll(timeout=1.0)]
        [4]
        >>> ex.shutdown()
    """

    name = "base"
    max_parallel = 1

    def start(self, train: Callable[..., Any], on_report: ReportFn) -> None:
        """Prepares to run ``train``; ``on_report`` is called on the controller thread."""
        raise NotImplementedError

    def free_slots(self) -> int:
        """How many more tasks can be submitted now."""
        raise NotImplementedError

    def submit(self, task: Task) -> None:
        raise NotImplementedError

    def poll(self, timeout: float) -> list[Outcome]:
        """Waits up to ``timeout`` seconds, relaying reports, and returns the runs that ended."""
        raise NotImplementedError

    def running(self) -> list[int]:
        """Ids of the trials submitted and not yet returned by :meth:`poll`."""
        raise NotImplementedError

    def shutdown(self) -> None:
        """Stops the workers; tasks still running are abandoned (their trials stay ``running``)."""
