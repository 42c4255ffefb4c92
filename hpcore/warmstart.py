"""Reading the trials of earlier jobs, for warm start."""

from __future__ import annotations

import logging
from typing import Any

from hpcore.errors import ConfigError
from hpcore.objectives import Objectives
from hpcore.results import TuningResult
from hpcore.store import Store
from hpcore.trial import TrialRecord

__all__ = ["active_params", "load_parent_trials", "warm_start"]

log = logging.getLogger("hpcore")


def _parse(parent: Any) -> tuple[str, str] | TuningResult:
    if isinstance(parent, TuningResult):
        return parent
    if isinstance(parent, dict):
        return str(parent["store"]), str(parent.get("name", "default"))
    if isinstance(parent, (list, tuple)) and len(parent) == 2:
        return str(parent[0]), str(parent[1])
    if isinstance(parent, str):
        path, _, name = parent.partition("::")
        return path, name or "default"
    raise ConfigError(f"warm_start entry {parent!r}: use a store path, 'path::job', (path, job) or a TuningResult")


def load_parent_trials(parents: list[Any], objective: str | list[str], direction: str | list[str]) -> list[TrialRecord]:
    """The finished trials of each parent job, checked to optimise the same objective and direction.

    Raises:
        ConfigError: When a parent store or job is missing, or optimises another objective.

    Example:
        >>> load_parent_trials([], "loss", "minimize")
        []
    """
    out: list[TrialRecord] = []
    for parent in parents:
        item = _parse(parent)
        if isinstance(item, TuningResult):
            obj, dirn, records, label = item.objective, item.direction, item.trials, f"result {item.name!r}"
        else:
            path, name = item
            store = Store(path, read_only=True)
            try:
                job = store.load_job(name)
                if job is None:
                    names = [j["name"] for j in store.jobs()]
                    raise ConfigError(f"warm_start: store {path!r} has no job {name!r} (jobs: {names})")
                obj, dirn = job["config"].get("objective"), job["config"].get("direction")
                records, label = store.trials(name), f"job {name!r} in {path!r}"
            finally:
                store.close()
        if obj != objective or dirn != direction:
            raise ConfigError(f"warm_start: {label} optimises {obj!r} ({dirn}), this job {objective!r} "
                              f"({direction}); a parent must share the objective and direction")
        out += [r for r in records if r.state.finished]
    return out


def active_params(space: Any, params: dict[str, Any]) -> dict[str, Any]:
    """An earlier trial's parameters as this space holds them: declared choices, inactive ones left out.

    A parent job without conditions stored a value for every parameter; where this space makes one
    inactive (``momentum`` of an ``adam`` trial) the value is dropped, so the trial still fits.
    Names this space does not know are kept, for the space to refuse.

    Example:
        >>> from hpcore import Categorical, Float, SearchSpace
        >>> space = SearchSpace({"opt": Categorical(["adam", "sgd"]),
        ...                      "momentum": Float(0.0, 0.9, when={"opt": "sgd"})})
        >>> active_params(space, {"opt": "adam", "momentum": 0.5})
        {'opt': 'adam'}
    """
    params = space.restore(params)
    if not space.conditions.allowed:
        return params
    act = set(space.active(params))
    return {n: v for n, v in params.items() if n in act or n not in space}


def warm_start(strategy: Any, strategy_name: str, parents: list[Any], kind: str, objectives: Objectives) -> None:
    """Feeds the finished trials of earlier jobs to ``strategy``.

    ``identical``: each becomes an observation (values outside the current space are skipped, with a
    warning; parameters this space makes inactive are left out, see :func:`active_params`);
    ``transfer``: they go to ``strategy.transfer`` and inform its model only.

    Raises:
        ConfigError: For ``transfer`` with a strategy that has no ``transfer`` method.
    """
    objective, direction = objectives.objective, objectives.direction
    records = load_parent_trials(parents, objective, direction)  # type: ignore[arg-type]
    if kind == "transfer" and objectives.several:
        raise ConfigError("warm_start_type='transfer' informs one objective's model; with several objectives "
                          "use warm_start_type='identical'")
    if kind == "transfer":
        transfer = getattr(strategy, "transfer", None)
        if not callable(transfer):
            raise ConfigError(f"strategy {strategy_name!r} cannot use warm_start_type='transfer'; "
                              "use strategy='bayesian' or warm_start_type='identical'")
        transfer([(active_params(strategy.space, r.params), r.value) for r in records if r.value is not None],
                 direction)
        return
    skipped = 0
    for r in records:
        try:
            strategy.observe(active_params(strategy.space, r.params), objectives.result_value(r.value, r.metrics),
                             r.state, metrics=r.metrics)
        except (KeyError, ValueError):
            skipped += 1
    if skipped:
        log.warning("warm start: %d earlier trial(s) do not fit this search space and were skipped", skipped)
