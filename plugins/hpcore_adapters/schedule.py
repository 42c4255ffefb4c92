"""When an adapter checkpoints: every N reports, spaced so that checkpoints stay a small share of training.

A checkpoint is insurance against a lost worker or a killed job, so it should cost little next to
the training it protects. With epochs of seconds a checkpoint every 5 reports costs well under 1%
of the time; with XGBoost rounds of a few milliseconds, serialising a growing booster every 5
rounds can cost 8% or more. :class:`CheckpointSchedule` therefore checkpoints after at least
``every`` reports since the last checkpoint *and* once the training time since it is at least
the last checkpoint's own time divided by ``budget``: checkpoints take at most about ``budget`` of
the time (1% by default), and long epochs still get one every ``every`` reports. ``budget=None``
checkpoints exactly every ``every`` reports.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["DEFAULT_BUDGET", "CheckpointSchedule", "check_budget"]

DEFAULT_BUDGET = 0.01


def check_budget(budget: float | None) -> float | None:
    """``budget`` validated: None, or a share of the training time in (0, 1).

    Example:
        >>> check_budget(0.01), check_budget(None)
        (0.01, None)
    """
    if budget is None:
        return None
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 0 < budget < 1:
        raise ValueError(f"checkpoint_budget={budget!r}: give the largest share of the training time that "
                         "checkpoints may take, between 0 and 1 (0.01: 1%), or None to checkpoint exactly "
                         "every checkpoint_every reports")
    return float(budget)


class CheckpointSchedule:
    """Decides, report by report, whether a callback checkpoints now.

    Args:
        every: At least this many reports between two checkpoints; 0: never.
        budget: The largest share of the training time checkpoints may take; None: no limit.
        clock: The time source (seconds), for tests.

    Example:
        >>> now = [0.0]
        >>> s = CheckpointSchedule(every=2, budget=0.1, clock=lambda: now[0])
        >>> s.begin()
        >>> def report(seconds):
        ...     now[0] += seconds
        ...     return s.due()
        >>> [report(1.0), report(1.0)]          # 2 reports: the first checkpoint is due
        [False, True]
        >>> def save():
        ...     now[0] += 0.5                    # a checkpoint of 0.5 s
        >>> s.timed(save)
        >>> [report(1.0) for _ in range(5)]      # 0.5 s allows one per 5 s of training
        [False, False, False, False, True]
    """

    def __init__(self, every: int, budget: float | None = DEFAULT_BUDGET,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.every = int(every)
        self.budget = check_budget(budget)
        self._clock = clock
        self._reports = 0
        self._since = clock()
        self._cost = 0.0

    def begin(self) -> None:
        """A new fit: counts reports and training time from now, forgets the last checkpoint's cost."""
        self._reports, self._since, self._cost = 0, self._clock(), 0.0

    def due(self) -> bool:
        """Counts one report; whether a checkpoint is due at it."""
        self._reports += 1
        if self.every <= 0 or self._reports < self.every:
            return False
        return self.budget is None or self._cost <= self.budget * (self._clock() - self._since)

    def timed(self, save: Callable[[], Any]) -> Any:
        """Runs ``save`` (the checkpoint), remembers what it cost and starts counting again."""
        start = self._clock()
        try:
            return save()
        finally:
            end = self._clock()
            self._cost, self._since, self._reports = end - start, end, 0
