"""ASHA: asynchronous successive halving (Li et al., 2020), as a stopping rule."""

from __future__ import annotations

from typing import Any

from hpcore.hookspec import hookimpl
from hpcore.stopping.basic import Stopper
from hpcore.stopping.rungs import RungLadder, is_finite, rung_levels
from hpcore.trial import TrialState

__all__ = ["AshaStopper"]


class AshaStopper(Stopper):
    """Keeps about one trial in ``reduction_factor`` at each rung, without waiting for the others.

    The rungs are the steps ``min_resource * reduction_factor**k`` below ``max_resource``. When a trial
    first reports a step at or beyond a rung, the value of that report is recorded there and compared
    with every value recorded at that rung so far (by trials running, completed or stopped): with
    ``n`` values (its own included), it continues when fewer than ``max(1, n // reduction_factor)``
    of the others are strictly better, and is stopped otherwise. The first trials to reach a rung
    are compared with few others, which is ASHA's trade: no trial ever waits for a full rung. A trial
    reporting a step beyond ``max_resource`` is stopped there (the resource budget is spent).

    Args:
        direction: ``"minimize"`` or ``"maximize"`` (the job's direction).
        min_resource: The first rung: no trial is stopped by a comparison before this step.
        max_resource: The full budget of a trial; rungs lie below it. ``None``: unbounded rungs.
        reduction_factor: ``η``; rungs are ``η`` times apart and keep about ``1/η`` of the trials.
        min_trials: Other trials that must have reached a rung before it can stop anyone.

    Raises:
        ConfigError: For inconsistent resources or factors.

    Example:
        >>> s = AshaStopper(direction="maximize", min_resource=1, max_resource=9, reduction_factor=3)
        >>> s.rungs
        [1, 3]
        >>> [s.report(t, 1, v) for t, v in enumerate([0.6, 0.8, 0.7])][:2]
        [None, None]
        >>> s.report(3, 1, 0.5)
        'asha: 0.5 at step 1 is not in the best 1 of 4 values at rung 1 (step 1); cutoff 0.8'
    """

    name = "asha"
    label = "asha"

    def __init__(self, direction: str = "minimize", min_resource: int = 1, max_resource: int | None = None,
                 reduction_factor: int = 3, min_trials: int = 0, **options: Any) -> None:
        super().__init__(direction, **options)
        self.min_resource = min_resource
        self.max_resource = max_resource
        self.reduction_factor = reduction_factor
        self.rungs = rung_levels(min_resource, max_resource, reduction_factor)
        self.ladder = RungLadder(self.rungs, reduction_factor, self.better, min_trials=min_trials,
                                 label=self.label)
        self._last: dict[int, int] = {}

    def report(self, trial_id: int, step: int, value: float) -> str | None:
        last = self._last.get(trial_id)
        if not is_finite(value) or (last is not None and step <= last):
            return None
        self._last[trial_id] = step
        reason = self.ladder.record(trial_id, step, value)
        if reason is None and self.max_resource is not None and step > self.max_resource:
            reason = f"{self.label}: step {step} is past max_resource={self.max_resource}"
        return reason

    def finish(self, trial_id: int, state: TrialState, value: float | None) -> None:
        # Recorded rung values stay: a trial that ended still sets the cutoff for later ones.
        return None


@hookimpl
def hpcore_add_stoppers() -> dict[str, Any]:
    return {"asha": AshaStopper}
