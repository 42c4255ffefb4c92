"""Test doubles for plugin and adapter authors: a deterministic stopper you can register for a test.

Example:
    >>> import hpcore
    >>> from hpcore.testing import stop_at_step
    >>> def train(params, reporter):
    ...     for step in range(1, 10):
    ...         if reporter.report(step, loss=params["x"]):
    ...             return None
    >>> with stop_at_step() as seen:
    ...     result = hpcore.TuningJob(train, {"x": {"type": "float", "min": 0, "max": 1}}, objective="loss",
    ...                               strategy="random", max_trials=1, early_stopping="stop_at_step",
    ...                               stopper_options={"at": 3}, progress=False).run()
    >>> result.trials[0].state.value, result.trials[0].step, [s for _, s, _ in seen]
    ('stopped', 3, [1, 2, 3])
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from hpcore import plugins
from hpcore.hookspec import hookimpl
from hpcore.stopping.basic import Stopper

__all__ = ["StopAtStep", "stop_at_step"]


class StopAtStep(Stopper):
    """Stops every trial at its first report at a step ``>= at``; records each report it saw.

    The reports of every instance go to the class-level list :attr:`seen` as
    ``(trial_id, step, value)``, since the job creates the instance itself.

    Example:
        >>> s = StopAtStep(at=2)
        >>> s.report(0, 1, 0.5) is None, s.report(0, 2, 0.4)
        (True, 'test stop at step 2')
    """

    name = "stop_at_step"
    seen: list[tuple[int, int, float]] = []

    def __init__(self, direction: str = "minimize", at: int = 3) -> None:
        super().__init__(direction)
        self.at = at

    def report(self, trial_id: int, step: int, value: float) -> str | None:
        StopAtStep.seen.append((trial_id, step, value))
        return f"test stop at step {self.at}" if step >= self.at else None


class _Plugin:
    def __init__(self, name: str) -> None:
        self.name = name

    @hookimpl
    def hpcore_add_stoppers(self) -> dict[str, Any]:
        return {self.name: StopAtStep}


@contextlib.contextmanager
def stop_at_step(name: str = "stop_at_step") -> Iterator[list[tuple[int, int, float]]]:
    """Registers :class:`StopAtStep` as stopper ``name`` for the duration; yields its report list."""
    plugin = _Plugin(name)
    plugins.register(plugin, name=f"hpcore-testing-{name}-{id(plugin)}")
    StopAtStep.seen.clear()
    try:
        yield StopAtStep.seen
    finally:
        plugins.unregister(plugin)
