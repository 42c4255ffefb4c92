"""The strategy contract: ask for configurations, tell their results, in any order.

Lifecycle of a strategy (every built-in and plugin strategy follows it):

1. ``ask()`` returns a :class:`~hpcore.trial.Trial` with a fresh id and a valid configuration; the
   trial is *pending* until told. Any number of asks may be outstanding.
2. ``tell(trial, value)`` records the objective of a pending trial (any order). A value of ``None``,
   NaN or infinity, or ``state="failed"``, records a failure: the configuration is known to have been
   tried, without a usable objective.
3. ``observe(params, value)`` adds a result that was not asked here (warm start, resume).
4. ``enqueue(params)`` makes the next ask return those parameters (a default or known-good setting).

Subclasses implement :meth:`Strategy.suggest` only; they see every observation through
``self.observations`` (values always *minimised*: a maximised objective is negated) and the pending
trials through ``self.pending``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpcore.checks import check_seed
from hpcore.errors import ConfigError, SearchSpaceError
from hpcore.space import SearchSpace
from hpcore.trial import Trial, TrialState

__all__ = ["Observation", "Strategy", "check_direction"]


def check_direction(direction: str) -> str:
    if direction not in ("minimize", "maximize"):
        raise ConfigError(f"direction={direction!r}: use 'minimize' or 'maximize'")
    return direction


@dataclass
class Observation:
    """One told result. ``loss`` is the objective turned into a value to minimise (None if failed)."""

    trial_id: int | None
    params: dict[str, Any]
    x: np.ndarray
    loss: float | None
    state: TrialState


class Strategy:
    """Base class of search strategies.

    Args:
        space: The search space.
        direction: ``"minimize"`` (default) or ``"maximize"``.
        seed: Makes the sequence of suggestions reproducible: the same seed and the same results
            give the same trials. Each trial draws from its own stream derived from ``(seed, id)``,
            so a resumed job proposes what an uninterrupted one would have.

    Example:
        >>> from hpcore import Float, SearchSpace, create_tuner
        >>> tuner = create_tuner("random", SearchSpace({"x": Float(-1, 1)}), seed=0)
        >>> trial = tuner.ask()
        >>> tuner.tell(trial, trial.params["x"] ** 2)
        >>> len(tuner.observations)
        1
    """

    name = "base"

    def __init__(self, space: SearchSpace, direction: str = "minimize", seed: int | None = None) -> None:
        if not isinstance(space, SearchSpace):
            space = SearchSpace(space)
        self.space = space
        self.direction = check_direction(direction)
        self.seed = check_seed(seed)  # numpy would only refuse a bad seed at the first ask
        self._entropy = self.seed if self.seed is not None else int(np.random.SeedSequence().entropy % (2**63))
        self._sign = 1.0 if direction == "minimize" else -1.0
        self._next_id = 0
        self.pending: dict[int, Trial] = {}
        self.observations: list[Observation] = []
        self._queue: list[dict[str, Any]] = []

    # -- to implement -------------------------------------------------------------------------
    def suggest(self, trial_id: int, rng: np.random.Generator) -> dict[str, Any]:
        """Returns the configuration for trial ``trial_id``. ``rng`` is that trial's own stream."""
        raise NotImplementedError

    def remaining(self) -> int | None:
        """How many more configurations the strategy can propose (None: unbounded)."""
        return None

    def converged(self) -> bool:
        """True when the strategy expects no further meaningful improvement."""
        return False

    # -- the contract ---------------------------------------------------------------------------
    def ask(self) -> Trial:
        """Proposes the next trial; it stays pending until told."""
        trial_id = self._next_id
        if self._queue:
            params = self._queue.pop(0)
        else:
            params = self.space.validate(self.suggest(trial_id, self.rng_for(trial_id)))
        self._next_id += 1
        trial = Trial(trial_id, params)
        self.pending[trial_id] = trial
        return trial

    def tell(self, trial: Trial | int, value: float | None = None, state: TrialState | str | None = None) -> None:
        """Records the result of a pending trial.

        Args:
            trial: The trial (or its id) returned by :meth:`ask`.
            value: Its objective; ``None``, NaN or infinite marks it failed.
            state: ``completed`` (default when a value is given), ``stopped`` (early-stopped, the
                value is its last intermediate objective) or ``failed``.

        Raises:
            KeyError: When the trial is not pending here.
        """
        trial_id = trial if isinstance(trial, int) else trial.id
        if trial_id not in self.pending:
            raise KeyError(f"trial {trial_id} is not pending in this {self.name} strategy "
                           f"(pending: {sorted(self.pending)})")
        t = self.pending.pop(trial_id)
        obs = self._observation(trial_id, t.params, value, state)
        t.state, t.value = obs.state, value if obs.loss is not None else None
        self.observations.append(obs)
        self.on_tell(obs)

    def observe(self, params: dict[str, Any], value: float | None, state: TrialState | str | None = None,
                trial_id: int | None = None) -> None:
        """Adds a result that was not asked from this strategy (warm start, resume)."""
        params = self.space.validate(params)
        obs = self._observation(trial_id, params, value, state)
        self.observations.append(obs)
        if trial_id is not None:
            self._next_id = max(self._next_id, trial_id + 1)
        self.on_tell(obs)

    def add_pending(self, trial: Trial) -> None:
        """Registers a trial created elsewhere (a resumed, still unfinished trial) as pending."""
        trial.params = self.space.validate(trial.params)
        self.pending[trial.id] = trial
        self._next_id = max(self._next_id, trial.id + 1)

    def enqueue(self, params: dict[str, Any]) -> None:
        """Makes a coming :meth:`ask` return exactly these parameters (validated now)."""
        self._queue.append(self.space.validate(params))

    def on_tell(self, obs: Observation) -> None:
        """Called after every new observation; strategies may update their state here."""

    # -- helpers for subclasses -----------------------------------------------------------------
    def rng_for(self, trial_id: int) -> np.random.Generator:
        return np.random.default_rng([self._entropy, trial_id])

    @property
    def n_asked(self) -> int:
        return self._next_id

    def completed(self) -> list[Observation]:
        """Observations with a usable objective (completed or stopped)."""
        return [o for o in self.observations if o.loss is not None]

    def best(self) -> Observation | None:
        done = [o for o in self.observations if o.loss is not None and o.state is TrialState.COMPLETED]
        done = done or self.completed()
        return min(done, key=lambda o: o.loss) if done else None  # type: ignore[arg-type,return-value]

    def _observation(self, trial_id: int | None, params: dict[str, Any], value: float | None,
                     state: TrialState | str | None) -> Observation:
        try:
            st = TrialState(state) if state is not None else None
        except ValueError:
            raise ConfigError(f"state={state!r}: use one of {[s.value for s in TrialState]}") from None
        ok = value is not None and isinstance(value, (int, float, np.number)) and math.isfinite(value)
        if st is None:
            st = TrialState.COMPLETED if ok else TrialState.FAILED
        if st in (TrialState.FAILED, TrialState.TIMED_OUT, TrialState.RUNNING) or not ok:
            loss = None
            st = st if st is not TrialState.COMPLETED and st is not TrialState.STOPPED else TrialState.FAILED
        else:
            loss = self._sign * float(value)  # type: ignore[arg-type]
        try:
            x = self.space.encode(params)
        except (KeyError, SearchSpaceError) as exc:
            raise SearchSpaceError(f"trial {trial_id}: parameters do not fit the space: {exc}") from None
        return Observation(trial_id, dict(params), x, loss, st)
