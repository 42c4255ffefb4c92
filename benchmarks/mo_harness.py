"""What ``bench_multiobjective.py`` and ``bench_constrained.py`` share: the ask/tell loops of every
contender, the translation of constraints for Optuna and the pieces of the report (the command
line and the process pool are ``runner.py``'s).

Every contender runs on its library's defaults, seeded with the run's seed: ``hpcore:<strategy>``
through ``hpcore.create_tuner(strategy, space, direction=..., seed=..., constraints=[...])``;
``optuna:gp``, ``optuna:tpe``, ``optuna:nsga2`` and ``optuna:random`` through an Optuna study
with ``GPSampler``, ``TPESampler``, ``NSGAIISampler`` or ``RandomSampler(seed=)``. Optuna is given
the constraints in its convention (:func:`optuna_constraints`) through ``Trial.set_constraint``
before each tell, the way Optuna 5 asks for them (its ``constraints_func`` argument is deprecated
there); an Optuna without it (4.x) gets them as ``constraints_func``. The time of every ask (for Optuna, with
the suggestions of the trial's parameters) and of every tell is measured.

A script importing this module imports ``one_thread`` first (one thread per process).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import one_thread
from conditional_problems import optuna_params
from table import _mean_ranks, _outcome

import hpcore
from hpcore.objectives import Constraint

# Most expensive first, so that the processes finish together.
COST = {"optuna:gp": 0, "hpcore:bayesian": 1, "optuna:tpe": 2, "optuna:nsga2": 3}
HEAD, PEER = "hpcore:bayesian", "optuna:gp"
Evaluate = Callable[[dict[str, Any]], tuple[list[float], dict[str, float]]]
_WORST = 1e300  # stands for "no value" (a run without a feasible trial) in ranks and wins


def optuna_constraints(constraints: Sequence[str], metrics: Mapping[str, float]) -> list[float]:
    """The constraint values Optuna's ``constraints_func`` returns (at most 0: feasible).

    ``"m <= b"`` gives ``m - b`` and ``"m >= b"`` gives ``b - m`` (the strict forms the same:
    Optuna has no strict constraint, so a value exactly at a strict bound counts as feasible there).

    Example:
        >>> optuna_constraints(["disk <= 50", "total >= 2.6"], {"disk": 60.0, "total": 3.0})
        [10.0, -0.3999999999999999]
    """
    out = []
    for text in constraints:
        c = Constraint.parse(text)
        m = float(metrics[c.metric])
        out.append(m - c.bound if c.op in ("<=", "<") else c.bound - m)
    return out


def run_loop(contender: str, space: hpcore.SearchSpace, budget: int, seed: int, directions: list[str],
             constraints: Sequence[str], evaluate: Evaluate) -> tuple[float, float]:
    """``budget`` trials of one contender; returns the seconds spent in ask and in tell.

    ``evaluate`` takes a configuration and returns its objective values (a list, one per
    direction) and its metrics (the constrained ones, at least).
    """
    library, _, which = contender.partition(":")
    multi = len(directions) > 1
    ask_s = tell_s = 0.0
    if library == "hpcore":
        logging.getLogger("hpcore").setLevel(logging.ERROR)
        tuner = hpcore.create_tuner(which, space, direction=directions if multi else directions[0], seed=seed,
                                    constraints=list(constraints) or None)
        for _ in range(budget):
            t0 = time.perf_counter()
            trial = tuner.ask()
            t1 = time.perf_counter()
            values, metrics = evaluate(dict(trial.params))
            t2 = time.perf_counter()
            tuner.tell(trial, values if multi else values[0], metrics=metrics if constraints else None)
            ask_s, tell_s = ask_s + t1 - t0, tell_s + time.perf_counter() - t2
        return ask_s, tell_s
    study = _optuna_study(which, seed, directions, bool(constraints))
    for _ in range(budget):
        t0 = time.perf_counter()
        trial = study.ask()
        params = optuna_params(space, trial)  # the define-by-run suggestions: part of the ask
        t1 = time.perf_counter()
        values, metrics = evaluate(params)
        t2 = time.perf_counter()
        set_constraints(trial, constraints, metrics)
        study.tell(trial, values if multi else values[0])
        ask_s, tell_s = ask_s + t1 - t0, tell_s + time.perf_counter() - t2
    return ask_s, tell_s


def set_constraints(trial: Any, constraints: Sequence[str], metrics: Mapping[str, float]) -> None:
    """Gives a running Optuna trial its constraint values, one per constraint string (part of the tell)."""
    if not constraints:
        return
    values = optuna_constraints(constraints, metrics)
    if hasattr(trial, "set_constraint"):  # Optuna >= 5: named values, read by every sampler
        for text, v in zip(constraints, values):
            trial.set_constraint(text, v)
    else:  # Optuna 4: the study's constraints_func reads them back
        trial.set_user_attr("constraints", values)


def _constraints_of(trial: Any) -> list[float]:
    return trial.user_attrs["constraints"]


def _optuna_study(which: str, seed: int, directions: list[str], constrained: bool) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    kwargs: dict[str, Any] = {"seed": seed}
    old = not hasattr(optuna.trial.Trial, "set_constraint")
    if constrained and old and which != "random":  # RandomSampler takes no constraints (and needs none)
        kwargs["constraints_func"] = _constraints_of
    if which == "gp":
        import torch

        one_thread.limit_torch(torch)
    cls = {"gp": "GPSampler", "tpe": "TPESampler", "nsga2": "NSGAIISampler", "random": "RandomSampler"}[which]
    return optuna.create_study(sampler=getattr(optuna.samplers, cls)(**kwargs), directions=directions)


# --- the report ----------------------------------------------------------------------------------

Scores = dict[tuple[str, str], dict[int, float]]  # (contender, problem) -> {seed: score}


def scores(runs: list[dict[str, Any]], key: str, missing: float = float("inf")) -> Scores:
    """Each run's ``key`` by contender, problem and seed (``missing`` where it is None)."""
    out: Scores = {}
    for r in runs:
        v = r[key]
        out.setdefault((r["contender"], r["function"]), {})[r["seed"]] = missing if v is None else float(v)
    return out


def quantile(values: Sequence[float], q: float) -> float:
    """numpy's default (linear) quantile, where an infinity (no value) counts as the worst.

    Example:
        >>> quantile([1.0, 2.0, float("inf")], 0.5), quantile([1.0, 2.0, float("inf")], 0.75)
        (2.0, inf)
    """
    v = sorted(float(x) for x in values)
    pos = q * (len(v) - 1)
    lo, frac = int(pos), pos - int(pos)
    if frac == 0:
        return v[lo]
    return v[lo] + (v[lo + 1] - v[lo]) * frac if math.isfinite(v[lo + 1]) else float("inf")


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """Median, 25th and 75th percentile (:func:`quantile`)."""
    return quantile(values, 0.5), quantile(values, 0.25), quantile(values, 0.75)


def _finite(x: float, lower_better: bool) -> float:
    x = x if lower_better else -x
    return min(max(x, -_WORST), _WORST)


def mean_ranks(medians: dict[tuple[str, str], float], labels: list[str], names: list[str],
               lower_better: bool) -> dict[str, float]:
    """The mean over problems of each contender's rank of its median (1 = best, ties share)."""
    ranks: dict[str, list[float]] = {c: [] for c in labels}
    for n in names:
        if all((c, n) in medians for c in labels):
            for c, rk in zip(labels, _mean_ranks([_finite(medians[(c, n)], lower_better) for c in labels])):
                ranks[c].append(rk)
    return {c: float(np.mean(ranks[c])) for c in labels if ranks[c]}


def rank_line(ranks: dict[str, float]) -> str:
    best = min(ranks.values()) if ranks else None
    return "Mean rank of the medians (1 = best): " + ", ".join(
        f"{c} {v:.2f}" + (" (best)" if v == best else "") for c, v in ranks.items()) + "."


def wtl_lines(table: Scores, labels: list[str], names: list[str], lower_better: bool, what: str) -> list[str]:
    """Seed-by-seed wins, ties and losses of hpcore:bayesian against every other contender."""
    if HEAD not in labels or len(labels) < 2:
        return []
    peers = [c for c in labels if c != HEAD]
    lines = [f"Seed-by-seed wins of {HEAD} (W/T/L: {what} than the peer / tie / worse):", "",
             "| problem | " + " | ".join(f"vs {p}" for p in peers) + " |", "|---|" + "---|" * len(peers)]
    for label, group in [(n, [n]) for n in names] + [("all", names)]:
        cells = []
        for p in peers:
            w = t = lost = 0
            for n in group:
                mine, theirs = table.get((HEAD, n), {}), table.get((p, n), {})
                for s in set(mine) & set(theirs):
                    o = _outcome(_finite(mine[s], lower_better), _finite(theirs[s], lower_better))
                    w, t, lost = w + (o > 0), t + (o == 0), lost + (o < 0)
            cells.append(f"{w}/{t}/{lost}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def versus_line(medians: dict[tuple[str, str], float], names: list[str], lower_better: bool, phrase: str,
                target: str) -> str | None:
    """On how many problems hpcore:bayesian's median is at least as good as optuna:gp's (a tie,
    such as neither median run finding a feasible trial, is marked)."""
    shared = [n for n in names if (HEAD, n) in medians and (PEER, n) in medians]
    if not shared:
        return None
    out = {n: _outcome(_finite(medians[(HEAD, n)], lower_better), _finite(medians[(PEER, n)], lower_better))
           for n in shared}
    words = {1: "yes", 0: "yes (tie)", -1: "no"}
    return (f"{HEAD} median {phrase} {PEER} on {sum(o >= 0 for o in out.values())} of {len(shared)} problems "
            f"(target: {target}): " + ", ".join(f"{n} {words[o]}" for n, o in out.items()) + ".")


def timing_lines(runs: list[dict[str, Any]], labels: list[str]) -> list[str]:
    """The mean ask and ask + tell times per trial, and hpcore:bayesian's ratio to optuna:gp's."""
    ask = {c: float(np.mean([r["ask_ms"] for r in runs if r["contender"] == c])) for c in labels}
    both = {c: float(np.mean([r["ask_ms"] + r["tell_ms"] for r in runs if r["contender"] == c])) for c in labels}
    lines = ["| mean time per trial | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels),
             "| ask ms | " + " | ".join(f"{ask[c]:.1f}" for c in labels) + " |",
             "| ask + tell ms | " + " | ".join(f"{both[c]:.1f}" for c in labels) + " |", ""]
    if HEAD in labels and PEER in labels:
        lines.append(f"{HEAD} / {PEER} mean time per ask: {ask[HEAD] / ask[PEER]:.2f} (ask + tell: "
                     f"{both[HEAD] / both[PEER]:.2f}; target <= 0.5).")
    return lines


def _threads(meta: dict[str, Any]) -> str:
    n = meta.get("threads_per_process", 1)
    return "1 thread per process" if n == 1 else "threads at the libraries' defaults (no thread variables)"


def footer_lines(meta: dict[str, Any]) -> list[str]:
    """The skipped contenders and the environment: versions, machine, threads, jobs, wall time."""
    lines = [f"Skipped {c}: {why}." for c, why in meta.get("skipped", {}).items()]
    v, m = meta["versions"], meta["machine"]
    lines += ["", f"hpcore {v.get('hpcore')} ({meta.get('hpcore_commit')}), optuna {v.get('optuna')}, "
              f"scikit-learn {v.get('scikit-learn')}, torch {v.get('torch')}, numpy {v.get('numpy')}, "
              f"python {v.get('python')}; {m['cpu']}, {m['cores']} cores, {_threads(meta)}, "
              f"--jobs {meta['args']['jobs']}, {meta.get('wall_s')} s."]
    for inc in meta.get("included", []):
        lines.append(f"The runs of {', '.join(inc['contenders'])} come from an earlier run ({inc['path']}, hpcore "
                     f"{inc.get('hpcore_commit')}, {inc.get('date')}, {inc.get('wall_s')} s): their losses are "
                     "seeded as here, their times were measured then.")
    return lines
