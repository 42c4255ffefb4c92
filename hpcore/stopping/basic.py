"""The stopper contract and the ``none`` stopper."""

from __future__ import annotations

from typing import Any

from hpcore.hookspec import hookimpl
from hpcore.strategies.base import check_direction
from hpcore.trial import TrialState

__all__ = ["NoStopper", "Stopper"]


class Stopper:
    """Decides, at each intermediate report, whether a trial should stop.

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
    def __init__(self, direction: str = "minimize") -> None:
        self.direction = check_direction(direction)

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
