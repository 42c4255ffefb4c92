"""The result of a tuning job: every trial, the best one, and a table of them."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from hpcore.errors import ConfigError, NoBestTrial
from hpcore.objectives import Constraint, Objectives, satisfies
from hpcore.pareto import nondominated
from hpcore.trial import TrialRecord, TrialState

if TYPE_CHECKING:  # the space module is only needed for the type hint
    from hpcore.advice import Advice
    from hpcore.space import SearchSpace

__all__ = ["TuningResult", "best_of", "feasible", "job_status"]


def feasible(record: TrialRecord, constraints: Sequence[Constraint]) -> bool:
    """Whether the trial's final metrics satisfy every constraint (a missing metric does not)."""
    return satisfies(record.metrics, constraints)


def best_of(records: list[TrialRecord], direction: str,
            constraints: Sequence[Constraint] = ()) -> TrialRecord | None:
    """The best completed trial (or, if none completed, the best early-stopped one) among those
    that satisfy every constraint."""
    sign = 1.0 if direction == "minimize" else -1.0
    for states in ((TrialState.COMPLETED,), (TrialState.STOPPED,)):
        done = [r for r in records if r.state in states and r.value is not None and math.isfinite(r.value)
                and feasible(r, constraints)]
        if done:
            return min(done, key=lambda r: (sign * r.value, r.id))  # type: ignore[operator]
    return None


def job_status(result: TuningResult) -> str:
    """The job's status in its store now (``running``, ``completed``, ``interrupted``...); ``finished``
    for a result without a store."""
    if not result.store:
        return "finished"
    from hpcore.store import Store

    store = Store(result.store, read_only=True)
    try:
        return str((store.load_job(result.name) or {}).get("status", "?"))
    finally:
        store.close()


@dataclass
class TuningResult:
    """What a job found.

    Attributes:
        trials: Every trial of the job, by id.
        objective: The objective metric's name (a list of names with several objectives).
        direction: ``minimize`` or ``maximize`` (a list, one per objective, with several).
        name: The job's name in its store.
        store: The store's path (None for an in-memory store).
        end_reason: Why the job ended (budget used, target reached, runtime, ...).
        space: The job's search space, when known (:meth:`from_store` fills it; plots and advice
            read ranges, scales and categories from it).
        curves: Intermediate reports per trial id, ``[(step, metrics), ...]`` of its last attempt,
            when loaded (:meth:`from_store` fills it; the learning-curve plot needs it).
        constraints: The job's constraints, ``"METRIC OP NUMBER"`` strings.
        setup: What the job ran with, when known: ``strategy``, ``early_stopping``, ``seed`` and
            ``hpcore`` (the version); reports name them in their title.

    Example:
        >>> from hpcore.trial import TrialRecord, TrialState
        >>> r = TuningResult([TrialRecord(0, {"x": 1}, TrialState.COMPLETED, 0.5),
        ...                   TrialRecord(1, {"x": 2}, TrialState.COMPLETED, 0.2)], "loss", "minimize")
        >>> r.best.params
        {'x': 2}
    """

    trials: list[TrialRecord]
    objective: str
    direction: str
    name: str = "default"
    store: str | None = None
    end_reason: str = ""
    diagnostics: list[str] = field(default_factory=list)
    space: SearchSpace | None = field(default=None, repr=False)
    curves: dict[int, list[tuple[int, dict[str, float]]]] | None = field(default=None, repr=False)
    constraints: list[str] = field(default_factory=list)
    setup: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_store(cls, path: str, name: str | None = None, curves: bool = True) -> TuningResult:
        """Reads a job back from its store (read-only: safe while the job runs), with space and curves.

        Args:
            path: The job's SQLite file.
            name: The job's name; by default the only (or first created) job of the store.
            curves: Also read the intermediate reports (learning curves).

        Raises:
            StoreError: When the file does not exist or cannot be read.
            HpcoreError: When the store holds no job, or no job of that name.
        """
        from hpcore.errors import HpcoreError
        from hpcore.space import SearchSpace
        from hpcore.store import Store

        store = Store(path, read_only=True)
        try:
            jobs = [j["name"] for j in store.jobs()]
            if not jobs:
                raise HpcoreError(f"store {path!r} holds no job yet")
            if name is None:
                name = jobs[0]
            elif name not in jobs:
                raise HpcoreError(f"store {path!r} has no job {name!r}; jobs: {', '.join(jobs)}")
            cfg = (store.load_job(name) or {}).get("config", {})
            space = SearchSpace.from_dict(cfg["space"]) if cfg.get("space") else None
            curve_map: dict[int, list[tuple[int, dict[str, float]]]] | None = None
            if curves:
                last: dict[int, int] = {}
                curve_map = {}
                # Reports of an earlier attempt are stale once a retry starts; keep the last attempt only.
                for trial, attempt, step, metrics in store.reports(name):
                    if attempt > last.get(trial, -1):
                        last[trial] = attempt
                        curve_map[trial] = []
                    if attempt == last[trial]:
                        curve_map[trial].append((step, metrics))
            return cls(store.trials(name), cfg.get("objective", "objective"), cfg.get("direction", "minimize"),
                       name, path, space=space, curves=curve_map, constraints=list(cfg.get("constraints", [])),
                       setup={k: cfg.get(k) for k in ("strategy", "early_stopping", "seed", "hpcore") if k in cfg})
        finally:
            store.close()

    @property
    def objectives(self) -> Objectives:
        """The objectives, their directions and the constraints (``.names``, ``.directions``, ``.constraints``)."""
        return Objectives(self.objective, self.direction, self.constraints)

    @property
    def best(self) -> TrialRecord:
        """The best feasible trial (``.params``, ``.value``, ``.id``): the best completed one, else the
        best early-stopped one.

        Raises:
            NoBestTrial: If no trial produced an objective value (or, with constraints, none is
                feasible); the message counts the trials by state and quotes the first failure.
                :attr:`best_or_none` asks without raising.
            ConfigError: With several objectives, where :meth:`pareto_front` is the result.
        """
        best = self.best_or_none
        if best is None:
            raise NoBestTrial(self._why_no_best())
        return best

    @property
    def best_or_none(self) -> TrialRecord | None:
        """:attr:`best`, or None where it would raise :class:`~hpcore.errors.NoBestTrial`."""
        goal = self.objectives
        if goal.several:
            raise ConfigError(f"result.best needs one objective and this job has {len(goal.names)} "
                              f"({', '.join(goal.names)}); use result.pareto_front() for the trials no other "
                              "trial beats on every objective")
        return best_of(self.trials, goal.directions[0], goal.constraints)

    def _why_no_best(self) -> str:
        counts = ", ".join(f"{n} {state}" for state, n in self.counts().items() if n) or "no trials"
        text = f"job {self.name!r} has no best trial: {counts}"
        failed = [r for r in self.trials if r.state is TrialState.FAILED and r.error]
        if failed:
            last = failed[0].error.strip().splitlines()[-1]
            text += f"; the first failure (trial {failed[0].id}): {last}"
        elif self.constraints and any(r.state is TrialState.COMPLETED for r in self.trials):
            text += f"; none satisfies the constraints {', '.join(map(str, self.constraints))}"
        return text + " (result.best_or_none returns None instead of raising)"

    def first_objective(self) -> TuningResult:
        """This result judged on its first objective alone (what the single-objective plots, the
        importance and the range advice of a job with several objectives show); itself otherwise."""
        goal = self.objectives
        if not goal.several:
            return self
        return replace(self, objective=goal.names[0], direction=goal.directions[0])

    def feasible(self, record: TrialRecord) -> bool:
        """Whether a trial satisfies every constraint of the job (always True without constraints)."""
        return feasible(record, self.objectives.constraints)

    def pareto_front(self) -> list[TrialRecord]:
        """The feasible trials that no other feasible trial dominates, by id.

        A trial dominates another when it is at least as good on every objective and better on one.
        Completed trials count (early-stopped ones only when none completed). With one objective the
        front is the best trial (and any tied with it).
        """
        goal = self.objectives
        for states in ((TrialState.COMPLETED,), (TrialState.STOPPED,)):
            done = [r for r in self.trials if r.state in states and self.feasible(r) and goal.losses(r.metrics)]
            if done:
                mask = nondominated(np.array([goal.losses(r.metrics) for r in done], dtype=float))
                return [r for r, keep in zip(done, mask, strict=True) if keep]
        return []

    def counts(self) -> dict[str, int]:
        """Number of trials per state."""
        out: dict[str, int] = {}
        for r in self.trials:
            out[str(r.state)] = out.get(str(r.state), 0) + 1
        return out

    def param_names(self) -> list[str]:
        """Every parameter's name: the space's order when known, then any other a trial holds.

        A conditional parameter is a column even when the first trials do not hold it.
        """
        names = list(self.space) if self.space is not None else []
        for r in self.trials:
            names += [n for n in r.params if n not in names]
        return names

    def rows(self, state: str | None = None) -> list[dict[str, Any]]:
        """One flat dict per trial (see :meth:`TrialRecord.to_row`), optionally of one state.

        Every row has a key for every parameter (:meth:`param_names`): ``None`` where the parameter
        was inactive (a conditional parameter whose condition did not hold), an empty cell in a
        CSV file and NaN in a DataFrame.

        Raises:
            ConfigError: For a state that does not exist (an empty table would hide the typo).
        """
        if state is not None and state not in [s.value for s in TrialState]:
            raise ConfigError(f"state {state!r} does not exist; use one of "
                              f"{', '.join(s.value for s in TrialState)}")
        names = self.param_names()
        goal = self.objectives
        front = {r.id for r in self.pareto_front()} if goal.several else set()
        out = []
        for r in self.trials:
            if state is not None and str(r.state) != state:
                continue
            row = r.to_row()
            head = {k: row.pop(k) for k in ("trial", "state", "value", "step", "retries", "started", "duration")}
            if goal.several:  # one column per objective in place of value
                del head["value"]
                values = {f"value_{n}": r.metrics.get(n) if r.value is not None else None for n in goal.names}
                head = {"trial": head.pop("trial"), "state": head.pop("state")} | values | head
                head["pareto"] = r.id in front
            if goal.constraints:
                head["feasible"] = r.value is not None and self.feasible(r)
            params = {n: row.pop(n, None) for n in names}
            out.append(head | params | row)
        return out

    def dataframe(self, state: str | None = None) -> Any:
        """A pandas DataFrame of the trials (a list of dicts when pandas is not installed).

        An inactive parameter's cell is NaN (None in a column of strings).
        """
        rows = self.rows(state)
        try:
            import pandas as pd
        except ImportError:
            return rows
        return pd.DataFrame(rows)

    def to_csv(self, path: str, state: str | None = None) -> None:
        """Writes the trial table to a CSV file."""
        rows = self.rows(state)
        fields: list[str] = []
        for row in rows:
            fields += [k for k in row if k not in fields]
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)

    def advice(self) -> list[Advice]:
        """Suggestions for the ranges of a next job (widen, narrow, log scale, fix); see :mod:`hpcore.advice`."""
        from hpcore.advice import advise

        return advise(self.first_objective())

    def summary(self) -> str:
        """A short text summary: counts, best value and parameters (the Pareto front with several objectives)."""
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.counts().items()))
        lines = [f"job {self.name!r}: {len(self.trials)} trials ({counts or 'none'})"]
        if self.end_reason:
            lines.append(f"ended: {self.end_reason}")
        goal = self.objectives
        usable = [r for r in self.trials if r.value is not None]
        if goal.constraints:
            n_ok = sum(self.feasible(r) for r in usable)
            lines.append(f"feasible: {n_ok} of {len(usable)} trials with a result "
                         f"({'; '.join(str(c) for c in goal.constraints)})")
            if usable and not n_ok:
                lines.append("no trial is feasible: every trial broke a constraint")
                return "\n".join(lines)
        if goal.several:
            front = self.pareto_front()
            if not front:
                lines.append("no trial produced every objective")
                return "\n".join(lines)
            heads = ", ".join(f"{n} ({d})" for n, d in zip(goal.names, goal.directions, strict=True))
            lines.append(f"Pareto front: {len(front)} trials, {heads}")
            for r in front:
                vals = ", ".join(f"{n} = {r.metrics[n]:.6g}" for n in goal.names)
                lines.append(f"  trial {r.id}: {vals}")
            return "\n".join(lines)
        best = self.best
        if best is None:
            lines.append("no trial produced an objective")
        else:
            lines.append(f"best: trial {best.id}, {self.objective} = {best.value:.6g} ({self.direction})")
            for k, v in best.params.items():
                lines.append(f"  {k} = {v:.6g}" if isinstance(v, float) else f"  {k} = {v!r}")
        return "\n".join(lines)
