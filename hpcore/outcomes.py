"""Turning what a trial gave back into its objective, and the job's completion criteria."""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

from hpcore.objectives import Objectives
from hpcore.results import best_of
from hpcore.trial import TrialRecord, TrialState

__all__ = ["FailFast", "completion_reasons", "failure_warning", "objective_from", "recordable"]


def objective_from(result: Any, objectives: Objectives | str,
                   reported: dict[str, float]) -> tuple[float | None, dict[str, Any], str | None]:
    """Returns ``(value, final metrics, error)`` from a trial's return value and last report.

    A number is the objective (of a job with one objective); a dict must hold every objective and
    constrained metric; ``None`` (or a dict without one of them) takes the last reported value.
    ``value`` is the first objective's; the metrics hold every objective and constrained metric.
    Anything else, a missing metric or a non-finite one gives an error message naming what the
    trial did give.

    Example:
        >>> objective_from({"auc": 0.9, "loss": 0.3}, "auc", {})
        (0.9, {'auc': 0.9, 'loss': 0.3}, None)
        >>> objective_from(None, "auc", {"auc": 0.8})[0]
        0.8
        >>> print(objective_from({"acc": 0.7}, "auc", {})[2])  # doctest: +ELLIPSIS
        objective 'auc' is missing from what the trial returned and reported (it gave: acc); ...
    """
    goal = objectives if isinstance(objectives, Objectives) else Objectives(objectives)
    first = goal.names[0]
    if isinstance(result, bool):
        return None, {}, f"the training function returned {result!r}, not a number or a dict of metrics"
    if isinstance(result, numbers.Real):
        if len(goal.metrics_needed()) > 1:
            return None, {first: result}, (f"the training function returned a number; return a dict of metrics "
                                           f"holding {', '.join(goal.metrics_needed())}")
        metrics: dict[str, Any] = {first: result}
    elif isinstance(result, dict):
        metrics = dict(result)
    elif result is None:
        metrics = {}
    else:
        return None, {}, (f"the training function returned {type(result).__name__}; return a number, "
                          f"a dict of metrics holding {first!r}, or None after reporting {first!r}")
    for name in goal.metrics_needed():
        if metrics.get(name) is None and name in reported:
            metrics[name] = reported[name]
    missing = goal.missing(metrics)
    if missing:
        names = sorted(set(metrics) | set(reported))
        kind = "objective" if missing[0] in goal.names else "constrained metric"
        fix = "set objective= to one of those" if kind == "objective" else "fix the constraint's metric name"
        return None, metrics, (f"{kind} {missing[0]!r} is missing from what the trial returned and reported "
                               f"(it gave: {', '.join(names) or 'nothing'}); return it or {fix}")
    for name in goal.metrics_needed():
        kind = "objective" if name in goal.names else "constrained metric"
        value = metrics[name]
        try:
            value = float(value)
        except OverflowError:
            return None, recordable(metrics, keep=name), f"{kind} {name!r} is too large for a float ({_brief(value)})"
        except (TypeError, ValueError):
            return None, recordable(metrics, keep=name), f"{kind} {name!r} is {_brief(value)}, not a number"
        if not math.isfinite(value):
            return None, recordable(metrics, keep=name), f"{kind} {name!r} is {value} (not finite)"
        metrics[name] = value
    return metrics[first], recordable(metrics), None


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _number(value: Any) -> float | None:
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 0) == 0:
        value = value.item()  # numpy and torch scalars
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        return float(value)
    except OverflowError:
        return None


MAX_LIST = 1000  # a metric may be a list of numbers (per-class scores) up to this length


def recordable(metrics: dict[str, Any], keep: str | None = None) -> dict[str, Any]:
    """The metrics the store can keep and give back; each one dropped is named in a warning.

    Kept: numbers (numpy and torch scalars as plain floats), booleans, strings, None, and lists or
    arrays of up to 1,000 numbers (as lists of floats). Dropped: anything else (an object, a nested
    dict, a number too large for a float). ``keep`` names a metric whose value is shown as text
    instead of dropped (the objective of a failed trial, so the record says what it was).

    Example:
        >>> import numpy as np
        >>> recordable({"loss": np.float32(0.5), "per_class": np.array([0.9, 0.8]), "note": "ok"})
        {'loss': 0.5, 'per_class': [0.9, 0.8], 'note': 'ok'}
    """
    out: dict[str, Any] = {}
    dropped = []
    for k, v in metrics.items():
        k = str(k)
        if v is None or isinstance(v, (bool, str)):
            out[k] = v
            continue
        number = _number(v)
        if number is not None:
            out[k] = number
            continue
        items = v.tolist() if hasattr(v, "tolist") and callable(v.tolist) else v
        if isinstance(items, (list, tuple)) and len(items) <= MAX_LIST:
            numbers_ = [_number(x) for x in items]
            if all(x is not None for x in numbers_):
                out[k] = numbers_
                continue
        if k == keep:
            out[k] = _brief(v)
            continue
        dropped.append(f"{k} ({type(v).__name__})")
    if dropped:
        warnings.warn(f"metrics not recorded (not a number, a string or a list of numbers): {', '.join(dropped)}",
                      stacklevel=3)
    return out


def completion_reasons(job: Any, done: list[TrialRecord]) -> list[tuple[str, bool]]:
    """The completion criteria of ``job`` that hold, as ``(reason, hard)``.

    ``hard`` criteria (target reached) also ask running trials to stop; the others only stop new
    trials from starting. Criteria: ``target``; ``max_trials_without_improvement`` finished trials in a
    row (in finishing order) that did not beat the best by more than ``min_improvement`` (relative);
    ``complete_on_convergence`` with the strategy's ``converged()``.
    """
    out: list[tuple[str, bool]] = []
    if job.objectives.several:  # target and patience are refused with several objectives (check_settings)
        done = []
    direction, objective = job.objectives.directions[0], job.objectives.names[0]
    sign = 1.0 if direction == "minimize" else -1.0
    best = best_of(done, direction, job.objectives.constraints)
    if best is not None and job.target is not None and sign * best.value <= sign * job.target:  # type: ignore[operator]
        out.append((f"target {objective}={job.target:g} reached by trial {best.id}", True))
    patience = job.max_trials_without_improvement
    if patience and len(done) > patience:
        since, best_so_far = 0, None
        for r in sorted(done, key=lambda r: (r.finished or 0, r.id)):
            v = r.value if r.state in (TrialState.COMPLETED, TrialState.STOPPED) else None
            if v is not None and not job.objectives.is_feasible(r.metrics):
                v = None
            if v is not None and (best_so_far is None
                                  or sign * v < sign * best_so_far - job.min_improvement * abs(best_so_far)):
                best_so_far, since = v, 0
            else:
                since += 1
        if since >= patience:
            out.append((f"best {objective} not improved for {since} trials", False))
    if job.complete_on_convergence and job.strategy is not None and job.strategy.converged():
        out.append((f"the {job.strategy_name} strategy converged", False))
    return out


def error_line(error: str | None) -> str:
    """The line of an error that names it (a traceback's last line: ``ValueError: ...``)."""
    lines = [line.strip() for line in (error or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no message)"


class FailFast:
    r"""Sees a job that cannot go on: its trials all fail with the same error.

    Trips once ``limit`` trials have finished in this run, every one of them failed, all with the
    same error line; any other outcome (a success, another error, a timeout) disarms it for the run.

    Example:
        >>> ff = FailFast(2)
        >>> bad = TrialRecord(0, {}, TrialState.FAILED, error="Traceback ...\nZeroDivisionError: division by zero")
        >>> ff.note(bad), ff.note(bad)
        (False, True)
        >>> ff.message("default").splitlines()[0]
        "job 'default' stopped: 2 trials in a row failed with the same error: ZeroDivisionError: division by zero"
    """

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.errors: list[str] | None = [] if limit else None

    def note(self, record: TrialRecord) -> bool:
        """Takes one finished trial; True when this one trips the check."""
        if self.errors is None or self.tripped:
            return False
        if record.state is not TrialState.FAILED or (self.errors and error_line(record.error)
                                                       != error_line(self.errors[0])):
            self.errors = None
            return False
        self.errors.append(record.error or "")
        return self.tripped

    @property
    def tripped(self) -> bool:
        return self.errors is not None and self.limit is not None and len(self.errors) >= self.limit

    def message(self, job: str) -> str:
        assert self.errors, "nothing failed"
        return (f"job {job!r} stopped: {len(self.errors)} trials in a row failed with the same error: "
                f"{error_line(self.errors[0])}\n\n{self.errors[0].rstrip()}\n\n"
                "Fix the training function and run the job again to resume it (fail_fast=None turns this off)")


def failure_warning(record: TrialRecord, first: bool) -> str | None:
    r"""The warning for a trial that failed or timed out (None for any other outcome): the error's
    last line, and with ``first`` (the run's first failure) the whole traceback under it.

    Example:
        >>> bad = TrialRecord(4, {"x": 1}, TrialState.FAILED, error="Traceback ...\nValueError: x too big")
        >>> failure_warning(bad, first=False)
        "trial 4 failed: ValueError: x too big (params {'x': 1})"
    """
    if record.state not in (TrialState.FAILED, TrialState.TIMED_OUT):
        return None
    text = f"trial {record.id} {record.state}: {error_line(record.error)} (params {record.params})"
    if first and record.error and record.error.strip() != error_line(record.error):
        text += "\n" + record.error.rstrip()
    return text
