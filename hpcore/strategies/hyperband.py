"""Hyperband (Li et al., 2018) run asynchronously: random configurations spread over ASHA brackets.

The strategy draws configurations at random (as SageMaker's Hyperband does) and gives each trial a
bracket; the stopper it makes (:meth:`HyperbandStrategy.make_stopper`) runs one rung ladder per
bracket. A trial's bracket is a pure function of its id, so the strategy, the stopper and a resumed
job always agree on it without sharing state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from hpcore.errors import ConfigError
from hpcore.hookspec import hookimpl
from hpcore.space import SearchSpace
from hpcore.stopping.asha import RungLadder, is_finite, rung_levels
from hpcore.stopping.basic import Stopper
from hpcore.strategies.base import Strategy
from hpcore.trial import TrialState

__all__ = ["HyperbandStopper", "HyperbandStrategy", "bracket_schedule"]


def bracket_schedule(n_brackets: int, reduction_factor: int) -> list[int]:
    """One cycle of bracket numbers, each bracket as often as Hyperband's budget split gives it.

    Bracket ``b`` (0 = the most aggressive, its first rung at ``min_resource``) receives
    ``ceil(B / (s + 1) * η**s)`` configurations with ``s = B - 1 - b`` and ``B`` brackets, the counts
    of the original Hyperband. The slots are interleaved evenly (bracket ``b``'s ``j``-th slot sits
    at ``(j + 1/2) / count_b`` of the cycle) so that a job of any length samples every bracket.

    Example:
        >>> bracket_schedule(3, 3)
        [0, 1, 0, 2, 0, 1, 0, 0, 1, 2, 0, 1, 0, 0, 2, 1, 0]
    """
    slots: list[tuple[float, int]] = []
    for b in range(n_brackets):
        s = n_brackets - 1 - b
        count = math.ceil(n_brackets / (s + 1) * reduction_factor**s)
        slots.extend(((j + 0.5) / count, b) for j in range(count))
    return [b for _, b in sorted(slots)]


class HyperbandStopper(Stopper):
    """The stopping half of Hyperband: trial ``i`` races in bracket ``schedule[i % len(schedule)]``.

    Bracket ``b`` is an ASHA ladder whose rungs are the levels ``min_resource * η**k`` below
    ``max_resource`` from the ``b``-th on; with all brackets (the default) the last one has no rung
    and runs every trial to ``max_resource``. A report beyond ``max_resource`` stops the trial (its
    budget is spent).

    Args:
        direction: ``"minimize"`` or ``"maximize"``.
        min_resource: The first rung of the most aggressive bracket.
        max_resource: The full budget of a trial (required).
        reduction_factor: ``η``: rungs are ``η`` times apart and keep about ``1/η`` of the trials.
        min_trials: Other trials that must have reached a rung before it can stop anyone.
        brackets: Keep only this many brackets, the most aggressive ones (``None``: all ``L + 1``
            of them for ``L`` rung levels). ``floor(log(max_resource / min_resource, η)) + 1`` gives
            Optuna's ``HyperbandPruner`` brackets, which is one less than all when the ratio is not
            a power of ``η`` (the bracket that never stops is left out).
        interval_steps: Decide only every this many steps (a rung reached in between is judged at
            the next decision step).

    Raises:
        ConfigError: Without ``max_resource``, for inconsistent resources, or for ``brackets``
            outside 1 to ``L + 1``.

    Example:
        >>> s = HyperbandStopper(direction="minimize", min_resource=1, max_resource=9)
        >>> [ladder.levels for ladder in s.ladders]
        [[1, 3], [3], []]
        >>> s.bracket_of(0), s.report(0, 1, 0.5)
        (0, None)
    """

    name = "hyperband"

    def __init__(self, direction: str = "minimize", min_resource: int = 1, max_resource: int | None = None,
                 reduction_factor: int = 3, min_trials: int = 0, brackets: int | None = None,
                 **options: Any) -> None:
        super().__init__(direction, **options)
        if max_resource is None:
            raise ConfigError("hyperband needs max_resource: the steps (epochs) of a full training run")
        levels = rung_levels(min_resource, max_resource, reduction_factor)
        if brackets is None:
            brackets = len(levels) + 1
        if int(brackets) != brackets or not 1 <= brackets <= len(levels) + 1:
            raise ConfigError(f"hyperband: brackets={brackets!r}: use an integer from 1 to {len(levels) + 1} "
                              f"(the {len(levels)} rung levels {levels} make {len(levels) + 1} brackets)")
        self.min_resource, self.max_resource, self.reduction_factor = min_resource, max_resource, reduction_factor
        self.ladders = [RungLadder(levels[b:], reduction_factor, self.better, min_trials=min_trials,
                                   label=f"hyperband bracket {b}") for b in range(int(brackets))]
        self.schedule = bracket_schedule(len(self.ladders), reduction_factor)
        self._last: dict[int, int] = {}

    def bracket_of(self, trial_id: int) -> int:
        """The bracket of a trial (0 stops earliest)."""
        return self.schedule[trial_id % len(self.schedule)]

    def report(self, trial_id: int, step: int, value: float) -> str | None:
        last = self._last.get(trial_id)
        if not is_finite(value) or (last is not None and step <= last):
            return None
        self._last[trial_id] = step
        if not self.checks(trial_id, step):  # a rung passed between two checks is judged at the next one
            return None
        reason = self.ladders[self.bracket_of(trial_id)].record(trial_id, step, value)
        if reason is None and step > self.max_resource:  # type: ignore[operator]
            reason = f"hyperband: step {step} is past max_resource={self.max_resource}"
        return reason

    def finish(self, trial_id: int, state: TrialState, value: float | None) -> None:
        return None


class HyperbandStrategy(Strategy):
    """Random configurations, early-stopped by asynchronous Hyperband brackets.

    Use it with ``early_stopping="none"``: the job then takes its stopper from
    :meth:`make_stopper`. Each trial is drawn uniformly at random (a stopped trial is replaced by a
    new random one, as in SageMaker) and assigned a bracket by its id; see :class:`HyperbandStopper`
    and ``docs/early-stopping.md``.

    Args:
        space: The search space.
        direction: ``"minimize"`` or ``"maximize"``.
        seed: Makes the configurations reproducible.
        min_resource: Steps every trial of the most aggressive bracket gets before its first rung.
        max_resource: Steps of a full training run (required).
        reduction_factor: ``η`` (at least 2).
        min_trials: Other trials that must have reached a rung before it can stop anyone.
        brackets: Keep only this many brackets, the most aggressive ones (default: all); see
            :class:`HyperbandStopper`.

    Raises:
        ConfigError: When ``max_resource`` is missing, the resources are inconsistent or
            ``brackets`` is out of range.

    Example:
        >>> from hpcore import Float, SearchSpace
        >>> s = HyperbandStrategy(SearchSpace({"lr": Float(0.001, 0.1)}), seed=0, max_resource=27)
        >>> trial = s.ask()
        >>> s.bracket_of(trial.id), s.make_stopper().ladders[0].levels
        (0, [1, 3, 9])
    """

    name = "hyperband"

    def __init__(self, space: SearchSpace, direction: str | Sequence[str] = "minimize", seed: int | None = None,
                 min_resource: int = 1, max_resource: int | None = None, reduction_factor: int = 3,
                 min_trials: int = 0, brackets: int | None = None, constraints: Sequence[str] | None = None) -> None:
        super().__init__(space, direction, seed, constraints)
        self.stopper_options = {"min_resource": min_resource, "max_resource": max_resource,
                                "reduction_factor": reduction_factor, "min_trials": min_trials,
                                "brackets": brackets}
        self._template = self.make_stopper()  # validates the options now, not at the first report

    def suggest(self, trial_id: int, rng: np.random.Generator) -> dict[str, Any]:
        return self.space.sample(rng)

    def bracket_of(self, trial_id: int) -> int:
        """The bracket trial ``trial_id`` runs in."""
        return self._template.bracket_of(trial_id)

    def make_stopper(self) -> HyperbandStopper:
        """A fresh stopper holding this strategy's brackets (the job calls it once per run)."""
        return HyperbandStopper(direction=self.direction, **self.stopper_options)


@hookimpl
def hpcore_add_strategies() -> dict[str, Any]:
    return {"hyperband": HyperbandStrategy}
