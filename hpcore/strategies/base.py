"""The strategy contract: ask for configurations, tell their results, in any order.

Lifecycle of a strategy (every built-in and plugin strategy follows it):

1. ``ask()`` returns a :class:`~hpcore.trial.Trial` with a fresh id and a valid configuration; the
   trial is *pending* until told. Any number of asks may be outstanding.
2. ``tell(trial, value)`` records the objective of a pending trial (any order). A value of ``None``,
   NaN or infinity, or ``state="failed"``, records a failure: the configuration is known to have been
   tried, without a usable objective. With several objectives the value is a list (one per
   objective); with constraints, ``metrics=`` gives the constrained metrics.
3. ``observe(params, value)`` adds a result that was not asked here (warm start, resume).
4. ``enqueue(params)`` makes the next ask return those parameters (a default or known-good setting).

Subclasses implement :meth:`Strategy.suggest` only; they see every observation through
``self.observations`` (values always *minimised*: a maximised objective is negated) and the pending
trials through ``self.pending``. A strategy that models only one objective optimises the first one
(``Observation.loss``) among feasible results; :class:`~hpcore.strategies.bayesian.BayesianStrategy`
models every objective and constraint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpcore._threads import blas_threads
from hpcore.checks import check_seed
from hpcore.errors import ConfigError, MetricError, SearchSpaceError
from hpcore.objectives import Constraint
from hpcore.pareto import nondominated
from hpcore.space import SearchSpace
from hpcore.trial import Trial, TrialState

__all__ = ["Observation", "Strategy", "check_direction", "check_directions"]


def check_direction(direction: str) -> str:
    if direction not in ("minimize", "maximize"):
        raise ConfigError(f"direction={direction!r}: use 'minimize' or 'maximize'")
    return direction


def check_directions(direction: str | Sequence[str]) -> list[str]:
    """One direction, or a list of them (several objectives), checked."""
    if isinstance(direction, str):
        return [check_direction(direction)]
    directions = list(direction)
    if not directions:
        raise ConfigError("direction=[]: give one direction per objective")
    return [check_direction(d) for d in directions]


@dataclass
class Observation:
    """One told result.

    Attributes:
        loss: The (first) objective turned into a value to minimise; None if the trial failed.
        losses: Every objective turned into a value to minimise (None if failed).
        violations: One per constraint, how far its metric is beyond the bound (at most 0: within
            it); empty without constraints.
        feasible: Whether every constraint holds.
    """

    trial_id: int | None
    params: dict[str, Any]
    x: np.ndarray
    loss: float | None
    state: TrialState
    losses: tuple[float, ...] | None = None
    violations: tuple[float, ...] = ()
    feasible: bool = True


class Strategy:
    """Base class of search strategies.

    Args:
        space: The search space.
        direction: ``"minimize"`` (default) or ``"maximize"``; a list of them for several
            objectives (:meth:`tell` then takes one value per objective).
        seed: Makes the sequence of suggestions reproducible: the same seed and the same results
            give the same trials. Each trial draws from its own stream derived from ``(seed, id)``,
            so a resumed job proposes what an uninterrupted one would have.
        constraints: ``"METRIC OP NUMBER"`` strings (:class:`~hpcore.objectives.Constraint`); each
            :meth:`tell` of a usable result then gives those metrics in ``metrics=``.

    Attributes:
        direction: The first objective's direction (the one early stopping follows).
        directions: One direction per objective.

    Example:
        >>> from hpcore import Float, SearchSpace, create_tuner
        >>> tuner = create_tuner("random", SearchSpace({"x": Float(-1, 1)}), seed=0)
        >>> trial = tuner.ask()
        >>> tuner.tell(trial, trial.params["x"] ** 2)
        >>> len(tuner.observations)
        1
    """

    name = "base"

    def __init__(self, space: SearchSpace, direction: str | Sequence[str] = "minimize", seed: int | None = None,
                 constraints: Sequence[str | Constraint] | None = None) -> None:
        if not isinstance(space, SearchSpace):
            space = SearchSpace(space)
        self.space = space
        self.directions = check_directions(direction)
        self.direction = self.directions[0]
        if isinstance(constraints, str):
            constraints = [constraints]
        self.constraints = [Constraint.parse(c) for c in (constraints or [])]
        self.seed = check_seed(seed)  # numpy would only refuse a bad seed at the first ask
        self._entropy = self.seed if self.seed is not None else int(np.random.SeedSequence().entropy % (2**63))
        self._signs = np.array([1.0 if d == "minimize" else -1.0 for d in self.directions])
        self._sign = float(self._signs[0])
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
            fixed = self._queue.pop(0)
            try:
                params = self.space.validate(fixed)
            except SearchSpaceError:  # a partial configuration: the strategy proposes the others
                with blas_threads():
                    proposal = self.suggest(trial_id, self.rng_for(trial_id))
                params = self.space.complete(fixed, proposal)
        else:
            with blas_threads():
                params = self.space.validate(self.suggest(trial_id, self.rng_for(trial_id)))
        self._next_id += 1
        trial = Trial(trial_id, params)
        self.pending[trial_id] = trial
        return trial

    def tell(self, trial: Trial | int, value: float | Sequence[float] | None = None,
             state: TrialState | str | None = None, metrics: Mapping[str, Any] | None = None) -> None:
        """Records the result of a pending trial.

        Args:
            trial: The trial (or its id) returned by :meth:`ask`.
            value: Its objective (a list, one per objective, with several); ``None``, NaN or
                infinite marks it failed.
            state: ``completed`` (default when a value is given), ``stopped`` (early-stopped, the
                value is its last intermediate objective) or ``failed``.
            metrics: The constrained metrics' values (other entries are ignored).

        Raises:
            KeyError: When the trial is not pending here.
            ConfigError: For a value with another number of objectives.
            MetricError: When a constrained metric is missing from ``metrics``.
        """
        trial_id = trial if isinstance(trial, int) else trial.id
        if trial_id not in self.pending:
            raise KeyError(f"trial {trial_id} is not pending in this {self.name} strategy "
                           f"(pending: {sorted(self.pending)})")
        obs = self._observation(trial_id, self.pending[trial_id].params, value, state, metrics)
        t = self.pending.pop(trial_id)
        t.state, t.value = obs.state, value if obs.loss is not None else None
        self.observations.append(obs)
        self.on_tell(obs)

    def observe(self, params: dict[str, Any], value: float | Sequence[float] | None,
                state: TrialState | str | None = None, trial_id: int | None = None,
                metrics: Mapping[str, Any] | None = None) -> None:
        """Adds a result that was not asked from this strategy (warm start, resume)."""
        params = self.space.validate(params)
        obs = self._observation(trial_id, params, value, state, metrics)
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
        """Makes a coming :meth:`ask` return these parameters (checked now); a partial configuration
        gets the others from :meth:`suggest` when it is asked."""
        self._queue.append(self.space.check_partial(params))

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

    def feasible(self) -> list[Observation]:
        """Usable observations that satisfy every constraint, completed ones if any (else stopped)."""
        ok = [o for o in self.completed() if o.feasible]
        done = [o for o in ok if o.state is TrialState.COMPLETED]
        return done or ok

    def best(self) -> Observation | None:
        """The feasible observation with the lowest loss (None when there is none).

        Raises:
            ConfigError: With several objectives, where :meth:`pareto_front` is the answer.
        """
        if len(self.directions) > 1:
            raise ConfigError(f"best() needs one objective and this tuner has {len(self.directions)}; "
                              "use pareto_front() for the non-dominated results")
        done = self.feasible()
        return min(done, key=lambda o: o.loss) if done else None  # type: ignore[arg-type,return-value]

    def pareto_front(self) -> list[Observation]:
        """The feasible observations that no other feasible one dominates, in the order told."""
        done = self.feasible()
        if not done:
            return []
        mask = nondominated(np.array([o.losses for o in done], dtype=float))
        return [o for o, keep in zip(done, mask, strict=True) if keep]

    def _losses(self, value: Any) -> tuple[float, ...] | None:
        """The told value as one loss per objective; None when it is not a usable result."""
        n = len(self.directions)
        if value is None:
            return None
        if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
            values = [value]
        elif isinstance(value, (list, tuple, np.ndarray)):
            values = list(value)
        else:
            raise ConfigError(f"value={value!r}: tell a number{' per objective' if n > 1 else ''} or None")
        if len(values) != n:
            raise ConfigError(f"value={value!r} has {len(values)} entries for {n} objective(s); "
                              f"tell one value per objective, in the order of direction={self.directions!r}")
        try:
            floats = [float(v) for v in values]
        except (TypeError, ValueError):
            raise ConfigError(f"value={value!r}: every objective value must be a number") from None
        if not all(math.isfinite(v) for v in floats):
            return None
        return tuple(float(s * v) for s, v in zip(self._signs, floats, strict=True))

    def _violations(self, trial_id: int | None, metrics: Mapping[str, Any] | None) -> tuple[float, ...] | None:
        """One violation per constraint; None when a constrained metric is not finite."""
        if not self.constraints:
            return ()
        metrics = metrics or {}
        missing = [c.metric for c in self.constraints if c.metric not in metrics]
        if missing:
            raise MetricError(f"trial {trial_id}: the constrained metric(s) {', '.join(missing)} are missing from "
                              f"metrics= (it gave: {', '.join(sorted(metrics)) or 'nothing'}); "
                              "tell(trial, value, metrics={...}) with every constrained metric")
        out = []
        for c in self.constraints:
            try:
                v = float(metrics[c.metric])
            except (TypeError, ValueError):
                return None
            if not math.isfinite(v):
                return None
            out.append(c.violation(v))
        return tuple(out)

    def _observation(self, trial_id: int | None, params: dict[str, Any], value: Any,
                     state: TrialState | str | None, metrics: Mapping[str, Any] | None = None) -> Observation:
        try:
            st = TrialState(state) if state is not None else None
        except ValueError:
            raise ConfigError(f"state={state!r}: use one of {[s.value for s in TrialState]}") from None
        losses = self._losses(value)
        violations: tuple[float, ...] | None = ()
        if losses is not None and st not in (TrialState.FAILED, TrialState.TIMED_OUT, TrialState.RUNNING):
            violations = self._violations(trial_id, metrics)
            if violations is None:  # a constrained metric that is not a finite number: a failure
                losses, violations = None, ()
        if st is None:
            st = TrialState.COMPLETED if losses is not None else TrialState.FAILED
        if st in (TrialState.FAILED, TrialState.TIMED_OUT, TrialState.RUNNING) or losses is None:
            losses, violations = None, ()
            st = st if st is not TrialState.COMPLETED and st is not TrialState.STOPPED else TrialState.FAILED
        feasible = losses is not None and all(c.holds(v) for c, v in zip(self.constraints, violations, strict=True))
        try:
            x = self.space.encode(params)
        except (KeyError, SearchSpaceError) as exc:
            raise SearchSpaceError(f"trial {trial_id}: parameters do not fit the space: {exc}") from None
        return Observation(trial_id, dict(params), x, None if losses is None else losses[0], st, losses,
                           violations, feasible)
