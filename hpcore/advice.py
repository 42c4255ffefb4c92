"""Advice on the ranges of a next job, from the trials of this one (SageMaker's tuning guidance).

Four rules, at most one advice per parameter, checked in this order:

* **fix**: the parameter has no measurable influence: its importance (see
  :func:`hpcore.plot.importance_values`) is below ``FIX_IMPORTANCE`` (5 %) *and* its main effect moves
  the predicted objective by less than ``FIX_EFFECT`` (10 %) of the observed spread. Fixing it at the
  best trial's value shrinks the search for the others. Needs two parameters or more, at least
  :func:`fix_min_trials` completed trials (20, or 5 per parameter in larger spaces); its message gives
  the importance's 80 % bootstrap interval.
* **log scale**: a ``linear`` numeric range with ``min > 0`` spanning ``LOG_DECADES`` (2) decades or
  more (an ``auto`` range that wide already starts on a log scale, see ``Param.unit_scale``), where
  either the best trial lies in the lowest ``EDGE`` (10 %) of the range and at least half of the good
  trials in the lowest ``2 * EDGE`` (the optimum is in its bottom decade or below: the case where a
  linear range would be widened) or a quadratic in ``log(x)`` explains at least ``LOG_R2_GAIN`` (0.15)
  more of the objective's variance than a quadratic in ``x`` (and at least ``LOG_R2_MIN``, 0.4). On a
  linear scale such a range wastes most trials on its top decade.
* **widen**: the best trial lies in the outer ``EDGE`` (10 %) of a numeric range (on its search scale)
  and at least half of the good trials in the outer ``2 * EDGE`` on the same side: the optimum may
  lie beyond the bound.
* **narrow**: all good trials (``NARROW_MIN_GOOD``, 4, or more) lie within ``NARROW_WIDTH`` (20 %) of
  a numeric range, away from its edges, with worse trials on both sides of them, while the trials
  covered at least ``NARROW_COVERAGE`` (60 %) of it.

*Good trials* are the three best completed trials and any other whose objective is within
``GOOD_TOLERANCE`` (10 %) of the gap between the best value and the 90th-percentile worst one (a
percentile, so one diverged trial does not make every other trial look good). No advice is given
with fewer than ``MIN_TRIALS`` (8) completed trials, and the range rules need the declared space
(the job's store or ``result.space``).

**How sure.** Every advice is checked again on ``BOOTSTRAP`` (20) resamples of the completed trials
(drawn with replacement, each with its own forest): ``evidence["support"]`` is the share of resamples
where the same rule gives the same advice, and the message says it ("holds in 17 of 20 resamples of
the trials"). Advice that holds on few resamples rests on a handful of trials: read it as a hint.

A conditional parameter (declared with ``when=``) is judged on the completed trials where it was
active only: its importance, effect, best and good trials come from those trials (none when fewer
than ``MIN_TRIALS``), and its advice names them: ``'momentum' (active in 9 of 24 trials,
optimizer='sgd')``. The trials where it did not exist never make it look uninfluential. A *parent*
(a parameter some ``when=`` names) is never advised fixed while the best results of its values differ
by ``FIX_EFFECT`` of the spread or more: its averaged effect can hide that one branch is better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpcore.ranges import AUTO_LOG_RATIO
from hpcore.results import TuningResult
from hpcore.space import Categorical, Float, Int, Param

__all__ = ["Advice", "advise", "fix_min_trials"]

MIN_TRIALS = 8
GOOD_TOLERANCE = 0.1
EDGE = 0.1
NARROW_WIDTH = 0.2
NARROW_COVERAGE = 0.6
NARROW_MIN_GOOD = 4
LOG_DECADES = math.log10(AUTO_LOG_RATIO)  # 2: an auto range this wide already starts on a log scale
LOG_R2_GAIN = 0.15
LOG_R2_MIN = 0.4
FIX_IMPORTANCE = 0.05
FIX_EFFECT = 0.1
FIX_MIN_TRIALS = 20
FIX_PER_PARAM = 5
BOOTSTRAP = 20


def fix_min_trials(n_params: int) -> int:
    """Completed trials below which no parameter is advised fixed: ``FIX_MIN_TRIALS`` (20), and
    ``FIX_PER_PARAM`` (5) per parameter in larger spaces. With fewer, "no measurable influence"
    mostly means "not measured yet"."""
    return max(FIX_MIN_TRIALS, FIX_PER_PARAM * n_params)


@dataclass
class Advice:
    """One suggestion about one parameter's range.

    Attributes:
        kind: ``widen``, ``narrow``, ``log_scale`` or ``fix``.
        param: The parameter's name.
        message: The suggestion and its evidence, in one sentence.
        evidence: The numbers behind it (positions on the search scale are fractions of the range).
        suggestion: What to change: ``{"min": ...}``/``{"max": ...}``, ``{"scale": "log"}`` or ``{"value": ...}``.

    Example:
        >>> a = Advice("fix", "seed", "fix 'seed'", {"importance": 0.01}, {"value": 3})
        >>> str(a)
        "fix 'seed'"
    """

    kind: str
    param: str
    message: str
    evidence: dict[str, float] = field(default_factory=dict)
    suggestion: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "param": self.param, "message": self.message, "evidence": self.evidence,
                "suggestion": self.suggestion}


def _g(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _r2_quadratic(x: np.ndarray, y: np.ndarray) -> float:
    x = (x - x.min()) / (np.ptp(x) or 1.0)
    A = np.column_stack([np.ones_like(x), x, x * x])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    ss = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - A @ coef) ** 2)) / ss if ss > 0 else 0.0


def _decode(param: Param, u: float) -> Any:
    v = param.decode(u)
    return float(f"{v:.4g}") if isinstance(v, float) else v


def _beyond(param: Float | Int, upper: bool) -> Any:
    """A bound half a range (one decade on a log scale) beyond the current one, or None."""
    lo, hi = param.min, param.max
    if param.unit_scale == "log":
        new = hi * 10 if upper else lo / 10
    elif param.scale == "reverse_log":
        new = 1 - (1 - hi) / 10 if upper else max(0.0, lo - (hi - lo) / 2)
    else:
        new = hi + (hi - lo) / 2 if upper else lo - (hi - lo) / 2
        if not upper and lo >= 0:
            new = max(new, 0.0)  # a range declared non-negative most likely cannot go below zero
    if isinstance(param, Int):
        new = int(math.ceil(new) if upper else math.floor(new))
        new = max(new, 1) if param.unit_scale == "log" else new
    else:
        new = float(f"{new:.4g}")
    return None if new == (hi if upper else lo) else new


def advise(result: TuningResult, effects: Any = None, bootstrap: int = BOOTSTRAP, seed: int = 0,
           resamples: list[Any] | None = None) -> list[Advice]:
    """Range advice for a job's result; see the module documentation for the rules and thresholds.

    Args:
        result: The job's result (with its store or ``space`` for the range rules).
        effects: Precomputed main effects (``hpcore.plots._data.effects_of``), to fit the forest once.
        bootstrap: Resamples of the trials each advice is checked on (0: none); its ``support`` is
            the share where the same rule gives the same advice.
        seed: Seeds the resamples.
        resamples: Precomputed resamples and their effects (``hpcore.plots._data.bootstrap``),
            instead of ``bootstrap`` new ones.

    Returns:
        The advice, one per parameter at most, in the space's order.
    """
    from hpcore.plots._data import bootstrap as resample
    from hpcore.plots._data import effects_of, importance_intervals

    eff = effects if effects is not None else effects_of(result)
    out = _advise(result, eff)
    if not out or (bootstrap <= 0 and not resamples):
        return out
    runs = resamples if resamples is not None else resample(result, bootstrap, seed)
    held: dict[tuple[str, str], int] = {}
    for again, eff_b in runs:
        for a in _advise(again, eff_b):
            held[(a.kind, a.param)] = held.get((a.kind, a.param), 0) + 1
    # The job's advice again, now with how sure each one is (the rules are cheap; the forests are not refit).
    return _advise(result, eff, importance_intervals(result, runs=runs), held, len(runs))


def _advise(result: TuningResult, eff: Any, intervals: dict[str, tuple[float, float]] | None = None,
            held: dict[tuple[str, str], int] | None = None, n_runs: int = 0) -> list[Advice]:
    """The rules on one set of trials (the job's, or a resample of them). With the bootstrap's
    importance ``intervals`` and ``held`` (how many of its ``n_runs`` resamples gave each advice),
    each advice says how sure it is."""
    from hpcore.plots._data import declared_space, encoded, scored

    done = scored(result)
    if len(done) < MIN_TRIALS:
        return []
    space = declared_space(result)
    sign = 1.0 if result.direction == "minimize" else -1.0
    out: list[Advice] = []
    names = list(space) if space is not None else eff.names
    U_all = encoded(space, done) if space is not None else None
    for j, name in enumerate(names):
        # A conditional parameter is judged on the trials that hold it, and its advice says so.
        rows = [i for i, r in enumerate(done) if name in r.params]
        if len(rows) < MIN_TRIALS:
            continue
        trials = [done[i] for i in rows]
        loss = sign * np.array([float(r.value) for r in trials])  # type: ignore[arg-type]
        best_i, good = _best_and_good(loss)
        label, scope = repr(name), {}
        if len(rows) < len(done):
            cond = space.conditions.describe(name) if space is not None and name in space else ""
            label = f"{name!r} (active in {len(rows)} of {len(done)} trials{', ' + cond if cond else ''})"
            scope = {"active_trials": float(len(rows)), "trials": float(len(done))}
        k = eff.names.index(name) if name in eff.names else -1
        imp, move = (float(eff.importance[k]), eff.effect_range(k)) if k >= 0 else (1.0, math.inf)
        spread = eff.spread_of(k) if k >= 0 else eff.spread
        if (len(names) >= 2 and len(done) >= fix_min_trials(len(names)) and spread > 0 and imp < FIX_IMPORTANCE
                and move < FIX_EFFECT * spread
                and not _branches_differ(space, name, trials, loss, FIX_EFFECT * spread)):
            value = trials[best_i].params.get(name)
            evidence = {"importance": imp, "effect": move, "spread": spread, **scope}
            interval = ""
            if intervals and name in intervals:
                lo, hi = intervals[name]
                interval = f" (80% bootstrap interval {lo:.1%} to {hi:.1%})"
                evidence.update(importance_low=lo, importance_high=hi)
            out.append(Advice("fix", name, (
                f"fix {label} (for example at {_g(value)}, its value in the best trial): no measurable influence; "
                f"importance {imp:.1%}{interval}, and across its range it moves the predicted {result.objective} by "
                f"{move:.3g}, {move / spread:.1%} of the observed spread {spread:.3g}"),
                evidence, {"value": value}))
            continue
        if space is None or U_all is None or isinstance(space[name], Categorical):
            continue
        param = space[name]
        assert isinstance(param, (Float, Int))
        advice = _range_advice(name, label, param, U_all[rows, j], trials, loss, best_i, good)
        if advice is not None:
            advice.evidence.update(scope)
            out.append(advice)
    if held is not None and n_runs:
        for a in out:
            k = held.get((a.kind, a.param), 0)
            a.evidence["support"] = k / n_runs
            a.message += f"; holds in {k} of {n_runs} resamples of the trials"
    return out


def _branches_differ(space: Any, name: str, trials: list[Any], loss: np.ndarray, tolerance: float) -> bool:
    """Whether the best results of a parent's values differ by more than ``tolerance``.

    A parent of conditional parameters chooses which parameters exist; its main effect averages over
    its children's values, which can hide that one branch reaches much better results than another.
    Such a parent has an influence, whatever its averaged effect says.
    """
    if space is None or not any(name in p.when for p in space.values()):
        return False
    best: dict[str, float] = {}
    for r, v in zip(trials, loss):
        key = repr(r.params.get(name))
        best[key] = min(best.get(key, math.inf), float(v))
    return len(best) >= 2 and max(best.values()) - min(best.values()) > tolerance


def _best_and_good(loss: np.ndarray) -> tuple[int, np.ndarray]:
    """The best trial's index and the good trials' indices (see the module doc)."""
    best_i = int(np.argmin(loss))
    gap = float(np.percentile(loss, 90) - loss[best_i])
    # The three best trials are always good, so a sharp optimum still has a few witnesses.
    good = np.union1d(np.flatnonzero(loss - loss[best_i] <= GOOD_TOLERANCE * gap), np.argsort(loss)[:3])
    return best_i, good


def _range_advice(name: str, label: str, param: Float | Int, u: np.ndarray, done: list[Any], loss: np.ndarray,
                  best_i: int, good: np.ndarray) -> Advice | None:
    """The log-scale, widen or narrow advice for one numeric range, or None."""
    ug = u[good]
    x = np.array([float(r.params[name]) for r in done])
    n_good = len(good)
    if param.unit_scale == "linear" and param.min > 0 and math.log10(param.max / param.min) >= LOG_DECADES:
        low = param.min + EDGE * (param.max - param.min)
        r2_lin, r2_log = _r2_quadratic(x, loss), _r2_quadratic(np.log(x), loss)
        n_low = int(np.sum(x[good] <= param.min + 2 * EDGE * (param.max - param.min)))
        crowded = bool(x[best_i] <= low and n_low >= n_good / 2)
        if crowded or (r2_log - r2_lin >= LOG_R2_GAIN and r2_log >= LOG_R2_MIN):
            decades = math.log10(param.max / param.min)
            why = (f"the best trial ({name} = {_g(float(x[best_i]))}) lies in its lowest {EDGE:.0%} "
                   f"(<= {low:.3g}) and {n_low} of {n_good} good trials in its lowest {2 * EDGE:.0%}")
            if not crowded:
                why = f"{n_low} of {n_good} good trials lie in its lowest {2 * EDGE:.0%}"
            return Advice("log_scale", name, (
                f"search {label} on a log scale: its range [{_g(param.min)}, {_g(param.max)}] spans "
                f"{decades:.1f} decades, {why}, and a quadratic in log({name}) explains {r2_log:.0%} of the "
                f"objective's variance against {r2_lin:.0%} in {name}"),
                {"decades": decades, "good_in_lowest": float(n_low), "good": float(n_good),
                 "r2_log": r2_log, "r2_linear": r2_lin}, {"scale": "log"})
    ub = u[best_i]
    for upper in (False, True):
        at_edge = ub >= 1 - EDGE if upper else ub <= EDGE
        near = int(np.sum(ug >= 1 - 2 * EDGE) if upper else np.sum(ug <= 2 * EDGE))
        new = _beyond(param, upper)
        if at_edge and near >= n_good / 2 and new is not None:
            bound, side = ("max", "top") if upper else ("min", "bottom")
            return Advice("widen", name, (
                f"widen {label} beyond its {bound} {_g(getattr(param, bound))} (try {bound} = {_g(new)}): the "
                f"best trial ({name} = {_g(done[best_i].params[name])}) lies in the {side} {EDGE:.0%} of the "
                f"range and {near} of {n_good} good trials in the {side} {2 * EDGE:.0%}"),
                {"best_position": float(ub), "good_near_edge": float(near), "good": float(n_good)},
                {bound: new})
    width, cover = float(np.ptp(ug)), float(np.ptp(u))
    # Worse trials on both sides of the good ones: else they may just be the most extreme tried.
    bracketed = bool(np.any(u < ug.min()) and np.any(u > ug.max()))
    if (n_good >= NARROW_MIN_GOOD and width <= NARROW_WIDTH and cover >= NARROW_COVERAGE and bracketed
            and ug.min() > EDGE and ug.max() < 1 - EDGE):
        lo_u, hi_u = max(0.0, ug.min() - width / 2 - 0.02), min(1.0, ug.max() + width / 2 + 0.02)
        lo, hi = _decode(param, lo_u), _decode(param, hi_u)
        return Advice("narrow", name, (
            f"narrow {label} to about [{_g(lo)}, {_g(hi)}]: all {n_good} good trials lie in "
            f"[{_g(float(x[good].min()))}, {_g(float(x[good].max()))}], {width:.0%} of the range "
            f"[{_g(param.min)}, {_g(param.max)}] (on its {param.scale} scale), which the trials covered "
            f"{cover:.0%} of"),
            {"good_width": width, "coverage": cover, "good": float(n_good)}, {"min": lo, "max": hi})
    return None
