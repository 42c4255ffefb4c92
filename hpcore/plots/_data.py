"""What the plots and the advice read from a result: scored trials, the space, the curves."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hpcore.errors import SearchSpaceError
from hpcore.plots._forest import Effects, main_effects
from hpcore.results import TuningResult
from hpcore.space import Categorical, Float, Int, Param, SearchSpace
from hpcore.trial import TrialRecord, TrialState

__all__ = ["active_mask", "best_so_far", "bootstrap", "curves_of", "declared_space", "effects_of", "encoded",
           "importance_intervals", "resampled", "scored", "space_of"]


def _finite(r: TrialRecord) -> bool:
    return isinstance(r.value, (int, float)) and math.isfinite(r.value)


def scored(result: TuningResult, stopped: bool = False) -> list[TrialRecord]:
    """Trials with a finite objective, by id: the completed ones (and early-stopped ones if asked).

    An early-stopped trial's value is the last one it reported, measured on a smaller budget than a
    completed trial's, so models of the objective (importance, advice) leave it out by default.
    """
    states = (TrialState.COMPLETED, TrialState.STOPPED) if stopped else (TrialState.COMPLETED,)
    return [r for r in result.trials if r.state in states and _finite(r)]


def _infer_param(values: list[Any]) -> Param:
    nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(nums) != len(values) or not nums:
        return Categorical(list(dict.fromkeys(map(str, values))) or ["-"])
    lo, hi = float(min(nums)), float(max(nums))
    if lo == hi:
        hi = lo + 1.0
    # Values spread over orders of magnitude were almost certainly searched on a log scale.
    log = lo > 0 and hi / lo >= 100
    if all(isinstance(v, int) for v in nums):
        return Int(int(lo), int(hi), scale="log" if log else "linear")
    return Float(lo, hi, scale="log" if log else "linear")


def declared_space(result: TuningResult) -> SearchSpace | None:
    """The space the job declared: the result's own, else the one stored with the job, else None."""
    if result.space is None and result.store:
        from hpcore.store import Store

        store = Store(result.store, read_only=True)
        try:
            cfg = (store.load_job(result.name) or {}).get("config", {})
        finally:
            store.close()
        if cfg.get("space"):
            result.space = SearchSpace.from_dict(cfg["space"])
    return result.space


def space_of(result: TuningResult) -> SearchSpace:
    """The declared space (:func:`declared_space`), else one inferred from the trials.

    An inferred space spans the observed values (log scale when they span two decades or more) and
    puts every parameter in the ``model`` category.
    """
    space = declared_space(result)
    if space is not None:
        return space
    names: list[str] = []
    for r in result.trials:
        names += [n for n in r.params if n not in names]
    return SearchSpace({n: _infer_param([r.params[n] for r in result.trials if n in r.params]) for n in names})


def curves_of(result: TuningResult) -> dict[int, list[tuple[int, dict[str, float]]]]:
    """Intermediate reports per trial: the result's own, else read from its store (empty if none)."""
    if result.curves is not None:
        return result.curves
    if not result.store:
        return {}
    loaded = TuningResult.from_store(result.store, result.name)
    result.curves = loaded.curves
    return result.curves or {}


def _encode_one(param: Param, value: Any) -> float:
    if value is None:
        return float("nan")
    try:
        # Values outside today's range (a warm-started or edited job) are clipped to its edge.
        return float(param.encode(value))
    except (SearchSpaceError, TypeError, ValueError):
        return float("nan")


def encoded(space: SearchSpace, trials: list[TrialRecord]) -> np.ndarray:
    """``(n_trials, n_params)`` coordinates in the unit cube (the strategies' encoding), NaN if missing."""
    out = np.full((len(trials), len(space)), np.nan)
    for i, r in enumerate(trials):
        for j, (name, param) in enumerate(space.items()):
            if name in r.params:
                out[i, j] = _encode_one(param, r.params[name])
    return out


def active_mask(space: SearchSpace, U: np.ndarray) -> np.ndarray:
    """``(m, d)``: which coordinates of the ``(m, d)`` unit-cube points are active (``space.decode``'s rule)."""
    cond = space.conditions
    names = list(space)
    mask = np.ones(U.shape, dtype=bool)
    for name in cond.order:
        for parent, allowed in cond.allowed.get(name, {}).items():
            j, p = names.index(parent), space[parent]
            if isinstance(p, Categorical):
                idx = np.minimum((np.clip(U[:, j], 0.0, 1.0) * len(p.values)).astype(int), len(p.values) - 1)
            else:
                idx = np.array([(p.decode(float(u)) - p.min) // p.step for u in U[:, j]])  # type: ignore[union-attr]
            mask[:, names.index(name)] &= mask[:, j] & np.isin(idx, list(allowed))
    return mask


def best_so_far(values: list[float], direction: str) -> list[float]:
    """The running best of a sequence of objective values."""
    pick = min if direction == "minimize" else max
    out: list[float] = []
    for v in values:
        out.append(v if not out else pick(out[-1], v))
    return out


def effects_of(result: TuningResult, seed: int = 0) -> Effects:
    """The forest's main effects for a result (completed trials; early-stopped ones too if < 4 completed)."""
    space = space_of(result)
    trials = scored(result)
    if len(trials) < 4:
        trials = scored(result, stopped=True)
    X = encoded(space, trials)
    y = np.array([float(r.value) for r in trials])  # type: ignore[arg-type]
    active = (lambda U: active_mask(space, U)) if space.conditions.allowed else None
    return main_effects(X, y, list(space), seed=seed, active=active)


def resampled(result: TuningResult, rng: np.random.Generator) -> TuningResult:
    """The result with its scored trials drawn again with replacement (a bootstrap sample)."""
    from dataclasses import replace

    trials = scored(result)
    if len(trials) < 4:
        trials = scored(result, stopped=True)
    if not trials:
        return result
    pick = rng.integers(0, len(trials), len(trials))
    return replace(result, trials=[trials[i] for i in pick], space=space_of(result))


def bootstrap(result: TuningResult, n_boot: int = 20, seed: int = 0) -> list[tuple[TuningResult, Effects]]:
    """``n_boot`` resamples of the trials (:func:`resampled`), each with its main effects (forests seeded apart)."""
    rng = np.random.default_rng(seed)
    out = []
    for b in range(n_boot):
        again = resampled(result, rng)
        out.append((again, effects_of(again, seed=seed + 1 + b)))
    return out


def importance_intervals(result: TuningResult, level: float = 0.8, n_boot: int = 20, seed: int = 0,
                         runs: list[tuple[TuningResult, Effects]] | None = None) -> dict[str, tuple[float, float]]:
    """Each parameter's importance as a bootstrap interval: ``level`` (80 %) of the importances
    estimated on ``n_boot`` resamples of the trials (or the given :func:`bootstrap` ``runs``) fall
    inside it.

    An interval says how much the estimate depends on which trials happened to run: with 15
    trials it is wide, with 100 narrow.
    """
    runs = runs if runs is not None else bootstrap(result, n_boot, seed)
    if not runs:
        return {}
    imp = np.array([e.importance for _, e in runs])
    lo, hi = np.quantile(imp, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return {n: (float(a), float(b)) for n, a, b in zip(runs[0][1].names, lo, hi, strict=True)}
