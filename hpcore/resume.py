"""Opening a job in its store: creating it, or resuming it when the stored setup allows.

A store can hold a job made by another training function, strategy or seed than the one now
asking for it (``tuning.db`` is everyone's first store name): its results would then be returned
as this job's. Resuming compares the whole setup; what may not change (the space, the objective,
its direction) is always refused, and what may change on purpose (the training function, the
strategy, the seed) only with ``resume="continue"``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from hpcore.errors import StoreError
from hpcore.fidelity import FinalEstimate, told_value
from hpcore.objectives import Objectives
from hpcore.space import SearchSpace
from hpcore.stopping import Stopper
from hpcore.store import Store
from hpcore.strategies import Strategy
from hpcore.trial import Trial, TrialRecord

__all__ = ["open_job", "replay"]

log = logging.getLogger("hpcore")

def open_job(store: Store, name: str, space: SearchSpace, config: dict[str, Any], resume: str = "auto") -> None:
    """Creates job ``name`` in ``store``, or marks the stored one running again after checking it.

    Raises:
        StoreError: When the stored job has another space, objective or direction; or another
            training function, strategy or seed and ``resume`` is not ``continue``; or exists at all
            and ``resume`` is ``never``. The message names each difference and the fix.

    Example:
        >>> store = Store(None)
        >>> space = SearchSpace({"x": {"type": "float", "min": 0.0, "max": 1.0}})
        >>> setup = {"space": space.to_dict(), "objective": "loss", "direction": "minimize",
        ...          "strategy": "random", "seed": 0, "train": "train:fit"}
        >>> open_job(store, "demo", space, setup)
        >>> open_job(store, "demo", space, dict(setup, seed=1))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        hpcore.errors.StoreError: ... seed changed from 0 to 1. Run this job under another name= or store, ...
    """
    stored = store.load_job(name)
    if stored is None:
        store.create_job(name, config)
        return
    where = f"store {store.path!r} holds job {name!r}"
    if resume == "never":
        raise StoreError(f"{where} already (resume='never'): run this job under another name= or store, "
                         "or use resume='auto' to resume it")
    old = stored["config"]
    diffs = space.differences(SearchSpace.from_dict(old["space"]))
    diffs += [f"{key} changed from {old.get(key)!r} to {config[key]!r}" for key in ("objective", "direction")
              if old.get(key) != config[key]]
    if old.get("constraints", []) != config.get("constraints", []):
        diffs.append(f"constraints changed from {old.get('constraints', [])!r} to {config.get('constraints', [])!r}")
    if diffs:
        raise StoreError(f"{where} with a different setup: {'; '.join(diffs)}. Resume it with the same search "
                         "space and objective, or start a new job with name=... or another store")
    # An address in an old store's train (before objects were named by class) identifies nothing.
    changed = [f"{key} changed from {old[key]!r} to {config[key]!r}" for key in ("train", "strategy", "seed")
               if key in old and old[key] != config[key] and " object at 0x" not in str(old[key])]
    if changed and resume != "continue":
        raise StoreError(f"{where}, whose results come from another setup: {'; '.join(changed)}. Run this job "
                         "under another name= or store, or pass resume='continue' to go on with the stored "
                         "job and its results")
    if changed:
        log.warning("job %s continues with a new setup: %s", name, "; ".join(changed))
        store.update_config(name, config)
    store.set_job_status(name, "running")


def replay(store: Store, name: str, space: SearchSpace, objectives: Objectives, strategy: Strategy,
           stopper: Stopper, checkpoint_step: Callable[[int], int | None] = lambda trial_id: None,
           fidelity: FinalEstimate | None = None,
           ) -> tuple[list[TrialRecord], list[tuple[TrialRecord, int | None]]]:
    """Feeds a stored job's results to a fresh strategy and stopper; returns (finished, interrupted).

    Finished trials are replayed in the order they finished, each with its reports first, as the
    job saw them. Interrupted trials become pending, to run again, each with the step of its last
    checkpoint (``checkpoint_step(trial_id)``, None without one): its reports up to that step are
    kept (and given to the stopper), the later ones dropped, as the trial continues from there.
    ``fidelity`` gets the same reports and ends, and a stopped trial's estimated final value is
    what the strategy observes, as when the job ran.
    """
    fidelity = fidelity if fidelity is not None else FinalEstimate()
    # JSON gives lists where the space declares tuples: trials get the declared choices back.
    records = [replace(r, params=space.restore(r.params)) for r in store.trials(name)]
    finished = sorted((r for r in records if r.state.finished), key=lambda r: (r.finished or 0, r.id))
    reports: dict[int, list[tuple[int, int, dict[str, float]]]] = {}
    for trial, attempt, step, metrics in store.reports(name):
        reports.setdefault(trial, []).append((attempt, step, metrics))

    def feed(r: TrialRecord, upto: float) -> None:
        for attempt, step, metrics in reports.get(r.id, []):
            v = metrics.get(objectives.names[0])
            if attempt == r.attempt and step <= upto and v is not None and math.isfinite(v):
                fidelity.report(r.id, step, v)
                stopper.report(r.id, step, v)

    for r in finished:
        feed(r, math.inf)
        stopper.finish(r.id, r.state, r.value)
        fidelity.finish(r.id, r.state)
        strategy.observe(r.params, told_value(fidelity, objectives, r.id, r.state, r.step, r.value, r.metrics),
                         r.state, trial_id=r.id, metrics=r.metrics)
    interrupted = []
    for r in records:
        if r.state.finished:
            continue
        carried = checkpoint_step(r.id)
        store.drop_reports(name, r.id, r.attempt, after=carried)
        if carried is not None:
            feed(r, carried)
        strategy.add_pending(Trial(r.id, r.params))
        interrupted.append((r, carried))
    return finished, interrupted
