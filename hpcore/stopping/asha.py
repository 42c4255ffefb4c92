"""ASHA: asynchronous successive halving (Li et al., 2020), as a stopping rule, and its rungs.

A :class:`RungLadder` holds the levels ``min_resource * reduction_factor**k`` below ``max_resource``
and, for each level, the objective every trial had when it first got there. ASHA (one ladder) and
Hyperband (one ladder per bracket, see :mod:`hpcore.strategies.hyperband`) both decide through
:meth:`RungLadder.record`.

The recorded values are a set per level, filled by each trial's own reports in its own step order:
they do not depend on how the reports of different trials were interleaved. That is what lets a
resumed job rebuild the ladder by replaying each finished trial's reports one trial after another.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from hpcore.errors import ConfigError
from hpcore.hookspec import hookimpl
from hpcore.stopping.basic import Stopper
from hpcore.trial import TrialState

__all__ = ["AshaStopper", "RungLadder", "rung_levels"]


def rung_levels(min_resource: int, max_resource: int | None, reduction_factor: int,
                limit: int = 64) -> list[int]:
    """The rung levels ``min_resource * reduction_factor**k`` that lie below ``max_resource``.

    Without ``max_resource`` the ladder is cut at ``limit`` levels (far beyond any real training).

    Raises:
        ConfigError: For a ``min_resource`` below 1, a ``reduction_factor`` below 2, or a
            ``max_resource`` below ``min_resource``.

    Example:
        >>> rung_levels(1, 27, 3)
        [1, 3, 9]
    """
    if int(min_resource) != min_resource or min_resource < 1:
        raise ConfigError(f"min_resource={min_resource!r}: use an integer of at least 1")
    if int(reduction_factor) != reduction_factor or reduction_factor < 2:
        raise ConfigError(f"reduction_factor={reduction_factor!r}: use an integer of at least 2")
    if max_resource is not None and (int(max_resource) != max_resource or max_resource < min_resource):
        raise ConfigError(f"max_resource={max_resource!r}: use an integer of at least min_resource={min_resource}")
    levels: list[int] = []
    level = int(min_resource)
    while len(levels) < limit and (max_resource is None or level < max_resource):
        levels.append(level)
        level *= int(reduction_factor)
    return levels


class RungLadder:
    """Asynchronous successive halving over a fixed list of rung levels.

    When a trial first reports a step at or beyond a level, its value at that report is recorded at
    the level; it continues only when at most ``k - 1`` of the values recorded there (by any trial,
    running or ended, itself included in the count ``n``) are strictly better, where
    ``k = max(1, n // reduction_factor)``. While fewer than ``min_trials`` other trials have been
    recorded at a level, the trial continues there without comparison.

    Args:
        levels: Increasing rung levels (steps).
        reduction_factor: Keep about one trial in ``reduction_factor`` at each rung.
        better: ``better(a, b)`` is True when ``a`` is strictly better than ``b``.
        min_trials: Other trials needed at a rung before it can stop anyone.
        label: Prefix of the reasons (``asha``, ``hyperband bracket 1``).

    Example:
        >>> ladder = RungLadder([1, 3], 2, better=lambda a, b: a < b)
        >>> ladder.record(0, 1, 0.5) is None, ladder.record(1, 1, 0.4) is None
        (True, True)
        >>> ladder.record(2, 1, 0.9)
        'rung: 0.9 at step 1 is not in the best 1 of 3 values at rung 1 (step 1); cutoff 0.4'
    """

    def __init__(self, levels: list[int], reduction_factor: int, better: Callable[[float, float], bool],
                 min_trials: int = 0, label: str = "rung") -> None:
        if int(min_trials) != min_trials or min_trials < 0:
            raise ConfigError(f"min_trials={min_trials!r}: use an integer of at least 0")
        self.levels = list(levels)
        self.reduction_factor = int(reduction_factor)
        self.better = better
        self.min_trials = int(min_trials)
        self.label = label
        self.recorded: list[dict[int, float]] = [{} for _ in self.levels]
        self._next: dict[int, int] = {}

    def record(self, trial_id: int, step: int, value: float) -> str | None:
        """Records a report; returns the reason to stop, or None.

        A report that skips several levels is recorded at each of them, lowest first, and the first
        level the trial fails at decides.
        """
        k = self._next.get(trial_id, 0)
        while k < len(self.levels) and step >= self.levels[k]:
            rung = self.recorded[k]
            rung[trial_id] = value
            self._next[trial_id] = k + 1
            reason = self._judge(k, trial_id, step, value)
            if reason is not None:
                return reason
            k += 1
        return None

    def _judge(self, k: int, trial_id: int, step: int, value: float) -> str | None:
        rung = self.recorded[k]
        n = len(rung)
        if n - 1 < self.min_trials:
            return None
        keep = max(1, n // self.reduction_factor)
        ahead = sorted((v for t, v in rung.items() if t != trial_id and self.better(v, value)),
                       key=_sort_key(self.better))
        if len(ahead) < keep:
            return None
        return (f"{self.label}: {value:.6g} at step {step} is not in the best {keep} of {n} values at rung "
                f"{k + 1} (step {self.levels[k]}); cutoff {ahead[keep - 1]:.6g}")

    def rung_of(self, trial_id: int) -> int | None:
        """The highest level a trial reached, or None."""
        k = self._next.get(trial_id, 0)
        return self.levels[k - 1] if k else None


def _sort_key(better: Callable[[float, float], bool]) -> Callable[[float], float]:
    # Best first whatever the direction: better(0, 1) tells whether smaller is better.
    return (lambda v: v) if better(0.0, 1.0) else (lambda v: -v)


def is_finite(value: float) -> bool:
    """True for a real, finite number (a stopper ignores NaN and infinities)."""
    try:
        return math.isfinite(value)
    except TypeError:
        return False


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
        interval_steps: Decide only every this many steps: a rung reached between two decision
            steps is judged at the next one, with the value reported there.

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
        if not self.checks(trial_id, step):  # a rung passed between two checks is judged at the next one
            return None
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
