"""The stopper contract and the ``none`` stopper."""

from __future__ import annotations

from typing import Any

from hpcore.errors import ConfigError
from hpcore.hookspec import hookimpl
from hpcore.strategies.base import check_direction
from hpcore.trial import TrialState

__all__ = ["NoStopper", "Stopper"]


class Stopper:
    """Decides, at each intermediate report, whether a trial should stop.

    ``interval_steps`` (every stopper's option) makes a rule decide only once per that many steps,
    through :meth:`checks`; a stopper always records every report.

    The job calls :meth:`report` for every intermediate objective (in the direction of the job: the
    stopper compares with ``self.better``) and :meth:`finish` when a trial ends. On resume the job
    replays the stored reports and finishes in their original order, so a stopper that keeps its
    state from these calls alone resumes consistently.

    Example:
        >>> s = NoStopper(direction="maximize")
        >>> s.report(trial_id=0, step=1, value=0.7) is None
        True
    """

    name = "base"

    # No ``**options`` here: subclasses pass theirs on, and an unknown one is then refused (and
    # hpcore.checks.accepted_options can tell which options a stopper takes).
    def __init__(self, direction: str = "minimize", interval_steps: int = 1) -> None:
        self.direction = check_direction(direction)
        if isinstance(interval_steps, bool) or not isinstance(interval_steps, int) or interval_steps < 1:
            raise ConfigError(f"{self.name} stopper: interval_steps={interval_steps!r}: use an integer of at least 1 "
                              "(1: the rule may stop a trial at every report)")
        self.interval_steps = interval_steps
        self._checked: dict[int, int] = {}

    def checks(self, trial_id: int, step: int, after: int = 0) -> bool:
        """Whether the rule decides for ``trial_id`` at ``step``: once per ``interval_steps`` steps.

        The decision steps are ``after + interval_steps``, ``after + 2 * interval_steps``...; a trial
        whose reports skip one (it reports every few steps) is decided at its first report past it.
        Call it once per report, after the warm-up (``after``).

        Example:
            >>> s = NoStopper(interval_steps=5)
            >>> [step for step in (2, 4, 5, 7, 12, 14, 15) if s.checks(0, step)]
            [5, 12, 15]
        """
        if self.interval_steps == 1:
            return True
        k = (step - after) // self.interval_steps
        if k <= self._checked.get(trial_id, 0):
            return False
        self._checked[trial_id] = k
        return True

    def better(self, a: float, b: float) -> bool:
        """True when ``a`` is strictly better than ``b`` in this job's direction."""
        return a < b if self.direction == "minimize" else a > b

    def report(self, trial_id: int, step: int, value: float) -> str | None:
        """Records an intermediate objective; returns the reason to stop, or None to continue."""
        raise NotImplementedError

    def finish(self, trial_id: int, state: TrialState, value: float | None) -> None:
        """A trial ended (completed, stopped, failed or timed out)."""


class NoStopper(Stopper):
    """Never stops a trial (the default).

    Example:
        >>> NoStopper().report(0, 5, 1.0) is None
        True
    """

    name = "none"

    def report(self, trial_id: int, step: int, value: float) -> str | None:
        return None


@hookimpl
def hpcore_add_stoppers() -> dict[str, Any]:
    return {"none": NoStopper}
