"""The median stopping rule (SageMaker's ``Auto`` early stopping, Vizier's median rule)."""

from __future__ import annotations

import bisect
import numbers
import statistics
from typing import Any

import numpy as np

from hpcore.errors import ConfigError
from hpcore.hookspec import hookimpl
from hpcore.stopping.asha import is_finite
from hpcore.stopping.basic import Stopper
from hpcore.trial import TrialState

__all__ = ["MedianStopper"]


class _History:
    """One trial's reports in step order, with prefix sums for running averages."""

    __slots__ = ("best", "steps", "sums", "values")

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.values: list[float] = []
        self.sums: list[float] = []
        self.best: float | None = None

    @property
    def last_step(self) -> int | None:
        return self.steps[-1] if self.steps else None

    def add(self, step: int, value: float) -> None:
        self.steps.append(step)
        self.values.append(value)
        self.sums.append((self.sums[-1] if self.sums else 0.0) + value)

    def running_average(self, step: int) -> float | None:
        """Mean of the values reported at steps up to ``step`` (None if the trial has not reached it)."""
        if not self.steps or self.steps[-1] < step:
            return None
        n = bisect.bisect_right(self.steps, step)
        return self.sums[n - 1] / n if n else None

    def value_at(self, step: int) -> float | None:
        """The value reported last at a step ``<= step`` (None if the trial has not reached ``step``)."""
        if not self.steps or self.steps[-1] < step:
            return None
        n = bisect.bisect_right(self.steps, step)
        # The reported value itself: a difference of prefix sums would be off by rounding, and
        # turn ties with the median (common with accuracies) into decisions.
        return self.values[n - 1] if n else None


COMPARE = ("best", "running_average")


class MedianStopper(Stopper):
    """Stops a trial whose best objective so far is worse than the median of the other trials.

    At a report of trial ``t`` at step ``s`` (after the warm-up, ``s > warmup_steps``), the
    comparison set is every *other* trial that has already reported a step ``>= s`` — running,
    completed, stopped or failed alike, in whatever order the trials run. For each of them the
    running average of its objective over its reports at steps ``<= s`` is taken; when there are
    at least ``min_trials`` of them, ``t`` is stopped if the best value it reported so far is
    strictly worse than the median of those running averages. A trial therefore races only the
    trials that got to step ``s`` before it did, which is what "earlier trials" means when trials run
    in parallel and report at different paces. See ``docs/early-stopping.md``.

    Args:
        direction: ``"minimize"`` or ``"maximize"`` (the job's direction).
        warmup_steps: No trial is stopped at a step ``<= warmup_steps``.
        interval_steps: Decide only every this many steps after the warm-up (steps
            ``warmup_steps + k * interval_steps``; a trial reporting less often is decided at its
            first report past one), as Optuna's ``interval_steps``; every report is still recorded.
        min_trials: The rule acts at step ``s`` only when at least this many other trials have
            reached ``s`` (3 by default, as Ray Tune's median stopping rule; see the benchmark in
            ``docs/benchmarks-log.md`` for 5 and 10).
        running_average: True (default, SageMaker's rule) compares with the others' running
            averages up to ``s``; False compares with their values at ``s``, as Optuna's
            ``MedianPruner`` does: stricter when objectives improve during training, so it stops
            more trials and saves more steps, at some risk for slow starters.
        completed_only: False (default) compares with every other trial that reached ``s``; True
            only with the trials that ended ``completed`` (as Vizier and Optuna's ``MedianPruner``),
            so trials that were stopped, failed or are still running never set the median. With
            ``running_average=False`` this is Optuna's ``MedianPruner`` rule on the same reports.
        compare: Which value of ``t`` faces the median: ``"best"`` (default), the best value it
            reported so far; ``"running_average"``, its own running average up to ``s``, the same
            statistic as the others' (no lag in favour of ``t``; use with ``running_average=True``).
        percentile: The threshold as a percentile of the others' values, counted from the best
            (linear interpolation, as Optuna's ``PercentilePruner``): 50 (default) is the median;
            a higher value keeps trials that are slightly worse than the median (55 stops only those
            behind 55% of the others), a lower one stops more.

    Raises:
        ConfigError: For a negative ``warmup_steps``, a ``min_trials`` below 1, an unknown
            ``compare`` or a ``percentile`` outside 0..100.

    Example:
        >>> s = MedianStopper(direction="minimize", min_trials=2)
        >>> for t, v in [(0, 0.5), (1, 0.7)]:
        ...     s.report(t, 1, v)
        >>> s.report(2, 1, 0.9)
        'median: best 0.9 at step 1 is worse than the median 0.6 of 2 trials'
    """

    name = "median"

    def __init__(self, direction: str = "minimize", warmup_steps: int = 0, min_trials: int = 3,
                 running_average: bool = True, completed_only: bool = False, compare: str = "best",
                 percentile: float = 50.0, **options: Any) -> None:
        super().__init__(direction, **options)
        if int(warmup_steps) != warmup_steps or warmup_steps < 0:
            raise ConfigError(f"median stopper: warmup_steps={warmup_steps!r}: use an integer of at least 0")
        if int(min_trials) != min_trials or min_trials < 1:
            raise ConfigError(f"median stopper: min_trials={min_trials!r}: use an integer of at least 1")
        if compare not in COMPARE:
            raise ConfigError(f"median stopper: compare={compare!r}: use one of {', '.join(COMPARE)}")
        if isinstance(percentile, bool) or not isinstance(percentile, numbers.Real) or not 0 <= percentile <= 100:
            raise ConfigError(f"median stopper: percentile={percentile!r}: use a number from 0 to 100 "
                              "(50 is the median)")
        self.warmup_steps = int(warmup_steps)
        self.min_trials = int(min_trials)
        self.running_average = bool(running_average)
        self.completed_only = bool(completed_only)
        self.compare = compare
        self.percentile = float(percentile)
        self._trials: dict[int, _History] = {}
        self._completed: set[int] = set()

    def _statistic(self, h: _History, step: int) -> float | None:
        return h.running_average(step) if self.running_average else h.value_at(step)

    def report(self, trial_id: int, step: int, value: float) -> str | None:
        h = self._trials.setdefault(trial_id, _History())
        # The job filters these out already; a stopper used on its own must not corrupt its state.
        if not is_finite(value) or (h.last_step is not None and step <= h.last_step):
            return None
        h.add(step, value)
        if h.best is None or self.better(value, h.best):
            h.best = value
        if step <= self.warmup_steps or not self.checks(trial_id, step, self.warmup_steps):
            return None
        averages = [a for t, other in self._trials.items()
                    if t != trial_id and (not self.completed_only or t in self._completed)
                    for a in (self._statistic(other, step),) if a is not None]
        if len(averages) < self.min_trials:
            return None
        threshold = self._threshold(averages)
        own = h.best if self.compare == "best" else h.running_average(step)
        assert own is not None
        if self.better(threshold, own):
            kind = "" if self.running_average else " values at this step"
            who = "completed trials" if self.completed_only else "trials"
            what = "best" if self.compare == "best" else "running average"
            where = "the median" if self.percentile == 50.0 else f"the {self.percentile:g}th percentile"
            return (f"median: {what} {own:.6g} at step {step} is worse than {where} {threshold:.6g} "
                    f"of {len(averages)} {who}{kind}")
        return None

    def _threshold(self, values: list[float]) -> float:
        if self.percentile == 50.0:
            return statistics.median(values)
        # Counted from the best: the p-th percentile of losses, the (100 - p)-th of gains.
        q = self.percentile if self.direction == "minimize" else 100.0 - self.percentile
        return float(np.percentile(values, q))

    def finish(self, trial_id: int, state: TrialState, value: float | None) -> None:
        # An ended trial keeps its history: later trials are compared with it at every step it reached
        # (with completed_only, only if it completed).
        self._trials.setdefault(trial_id, _History())
        if state is TrialState.COMPLETED:
            self._completed.add(trial_id)


@hookimpl
def hpcore_add_stoppers() -> dict[str, Any]:
    return {"median": MedianStopper}
