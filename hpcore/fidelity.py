"""What an early-stopped trial's curve says about its final value, for the strategy.

A trial stopped at step 3 reported a step-3 value; told to a model-based strategy as if it were a
final result, it reads as a bad configuration even when it would have ended well, and the values
of trials stopped at different steps make the objective look rough. The job therefore tells the
strategy, for a stopped trial, an estimate of its final value: its value at the step it reached
plus the median improvement that the trials which ran to the end made from that step to their end
(an additive model of the objective over configuration and resource, fitted on the finished
curves). The record of the trial keeps the value it really reported; only the strategy's
observation is the estimate. With fewer than ``min_curves`` finished curves beyond the step, the
value is told as it is.
"""

from __future__ import annotations

import bisect
import math
import statistics
from typing import Any

from hpcore.trial import TrialState

__all__ = ["FinalEstimate", "told_value"]


class FinalEstimate:
    """Estimates stopped trials' final values from the curves of the trials that completed.

    Fed the same stream as the stopper (:meth:`report` for each finite objective report,
    :meth:`finish` when a trial ends), in process and on resume alike.

    Args:
        min_curves: Completed curves that went beyond a step needed to estimate from it.

    Example:
        >>> fe = FinalEstimate(min_curves=2)
        >>> for t, final in enumerate((0.3, 0.2)):
        ...     for step in range(1, 11):
        ...         fe.report(t, step, final + 1.0 / step)
        ...     fe.finish(t, TrialState.COMPLETED)
        >>> round(fe.final(2, 2, 0.9), 3)  # at step 2 the others still had 0.5 - 0.1 to go
        0.5
    """

    def __init__(self, min_curves: int = 3) -> None:
        self.min_curves = min_curves
        self._curves: dict[int, tuple[list[int], list[float]]] = {}
        self._done: list[int] = []

    def report(self, trial_id: int, step: int, value: float) -> None:
        """A finite objective at ``step`` of ``trial_id`` (steps growing)."""
        steps, values = self._curves.setdefault(trial_id, ([], []))
        if math.isfinite(value) and (not steps or step > steps[-1]):
            steps.append(step)
            values.append(float(value))

    def finish(self, trial_id: int, state: TrialState) -> None:
        """A trial ended; a completed one with at least two reports becomes a reference curve."""
        curve = self._curves.get(trial_id)
        if state is TrialState.COMPLETED and curve is not None and len(curve[0]) >= 2 and trial_id not in self._done:
            self._done.append(trial_id)

    def final(self, trial_id: int, step: int | None, value: float) -> float:
        """The estimated final value of a trial stopped at ``step`` with ``value``."""
        if step is None or not math.isfinite(value):
            return value
        gains = []
        for r in self._done:
            steps, values = self._curves[r]
            if steps[-1] <= step:
                continue
            i = bisect.bisect_right(steps, step)
            if i == 0:
                continue
            gains.append(values[-1] - values[i - 1])
        if len(gains) < self.min_curves:
            return value
        return value + statistics.median(gains)


def told_value(fidelity: FinalEstimate, objectives: Any, trial_id: int, state: TrialState, step: int | None,
               value: float | None, metrics: dict[str, float]) -> Any:
    """The result a strategy is told for a finished trial (``objectives.result_value``), with a
    stopped trial's single objective replaced by :meth:`FinalEstimate.final` (several objectives
    and constraints are told as they are)."""
    result = objectives.result_value(value, metrics)
    if state is TrialState.STOPPED and isinstance(result, float) and len(objectives.names) == 1:
        return fidelity.final(trial_id, step, result)
    return result
