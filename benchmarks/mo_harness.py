"""What ``bench_multiobjective.py`` and ``bench_constrained.py`` share: the ask/tell loops of every
contender, the translation of constraints for Optuna, the command line, the process pool and the
pieces of the report.

Every contender runs on its library's defaults, seeded with the run's seed: ``hpcore:<strategy>``
through ``hpcore.create_tuner(strategy, space, direction=..., seed=..., constraints=[...])``;
``optuna:gp``, ``optuna:tpe``, ``optuna:nsga2`` and ``optuna:random`` through an Optuna study
with ``GPSampler``, ``TPESampler``, ``NSGAIISampler`` or ``RandomSampler(seed=)``. Optuna is given
the constraints in its convention (:func:`optuna_constraints`) through ``Trial.set_constraint``
before each tell, the way Optuna 5 asks for them (its ``constraints_func`` argument is deprecated
there); an Optuna without it (4.x) gets them as ``constraints_func``. The time of every ask (for Optuna, with
the suggestions of the trial's parameters) and of every tell is measured.

A script importing this module sets the thread variables first (one thread per process).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np
from compare import parse_seeds
from conditional_problems import optuna_params
from table import _mean_ranks, _outcome

import hpcore
from hpcore.objectives import Constraint

# Most expensive first, so that the processes finish together.
COST = {"optuna:gp": 0, "hpcore:bayesian": 1, "optuna:tpe": 2, "optuna:nsga2": 3}
HEAD, PEER = "hpcore:bayesian", "optuna:gp"
Evaluate = Callable[[dict[str, Any]], tuple[list[float], dict[str, float]]]
_WORST = 1e300  # stands for "no value" (a run without a feasible trial) in ranks and wins


def missing_library(contender: str) -> str | None:
    """Why a contender cannot run here (its library is not installed), or None."""
    need = {"optuna": ("optuna",), "optuna:gp": ("optuna", "torch")}
    for module in need.get(contender, need.get(contender.split(":")[0], ())):
        try:
            __import__(module)
        except Exception as exc:  # noqa: BLE001 - an import can fail in many ways
            return f"{contender.split(':')[0]} not installed: {type(exc).__name__}: {exc}"
    return None


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

        torch.set_num_threads(1)
    cls = {"gp": "GPSampler", "tpe": "TPESampler", "nsga2": "NSGAIISampler", "random": "RandomSampler"}[which]
    return optuna.create_study(sampler=getattr(optuna.samplers, cls)(**kwargs), directions=directions)


# --- command line and process pool ---------------------------------------------------------------

def add_arguments(ap: argparse.ArgumentParser, problems: Sequence[str], contenders: Sequence[str], budget: int,
                  results: str) -> None:
    """The options every such benchmark takes."""
    ap.add_argument("--seeds", default="100-109",
                    help="a range (100-129), a list (0,3,7) or a count (10: 0-9); default: held-out 100-109")
    ap.add_argument("--problems", default=",".join(problems), help=f"comma-separated, from {','.join(problems)}")
    ap.add_argument("--contenders", default=",".join(contenders), help="comma-separated, from the default")
    ap.add_argument("--budget", type=int, default=budget, help="trials per run")
    ap.add_argument("--jobs", type=int, default=1, help="processes running side by side")
    ap.add_argument("--json", help=f"every run (default benchmarks/results/{results}-{{design,heldout}}.json)")
    ap.add_argument("--md", help="the report (default: the --json path with .md)")
    ap.add_argument("--reference", type=int, metavar="TRIALS",
                    help="only print the long-run reference values of the problems (seed 0)")


def check_arguments(ap: argparse.ArgumentParser, a: argparse.Namespace, problems: Sequence[str],
                    contenders: Sequence[str]) -> tuple[list[int], list[str], list[str]]:
    """The seeds, problems and contenders asked for; a usage error for anything else."""
    try:
        seeds = parse_seeds(a.seeds)
        names = [n.strip() for n in a.problems.split(",") if n.strip()]
        chosen = [c.strip() for c in a.contenders.split(",") if c.strip()]
        if not names or any(n not in problems for n in names) or len(set(names)) < len(names):
            raise ValueError(f"--problems {a.problems!r}: choose, once each, from {','.join(problems)}")
        if not chosen or any(c not in contenders for c in chosen) or len(set(chosen)) < len(chosen):
            raise ValueError(f"--contenders {a.contenders!r}: choose, once each, from {','.join(contenders)}")
        if a.budget < 1 or a.jobs < 1:
            raise ValueError("--budget and --jobs must be >= 1")
    except ValueError as exc:
        ap.error(str(exc))
    return seeds, names, chosen


def run_all(a: argparse.Namespace, seeds: list[int], names: list[str], contenders: list[str], results: str,
            run_one: Callable[..., dict[str, Any]], meta: dict[str, Any],
            report: Callable[[dict[str, Any], list[dict[str, Any]]], str]) -> int:
    """Runs every (contender, problem, seed) in ``--jobs`` processes, slowest contenders first, then
    writes the JSON file (``meta`` and every run) and the markdown report, and prints the report."""
    from compare import environment

    skipped = {c: why for c in contenders if (why := missing_library(c))}
    for c, why in skipped.items():
        print(f"# skipping {c}: {why}", file=sys.stderr, flush=True)
    running = [c for c in contenders if c not in skipped]
    kind = "heldout" if min(seeds) >= 100 else "design" if max(seeds) < 100 else "mixed"
    json_path = a.json or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", f"{results}-{kind}.json")
    md_path = a.md or os.path.splitext(json_path)[0] + ".md"
    meta = {"args": {"contenders": running, "functions": names, "seeds": seeds, "budget": a.budget, "batch": 1,
                     "jobs": a.jobs}, "skipped": skipped, **meta, **environment()}
    tasks = [(c, n, s) for c in sorted(running, key=lambda c: COST.get(c, 9)) for s in seeds for n in names]
    runs: list[dict[str, Any]] = []
    t0 = time.time()
    with ProcessPoolExecutor(max_workers=a.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(run_one, c, n, s, a.budget) for c, n, s in tasks]
        for i, fut in enumerate(as_completed(futures), 1):
            runs.append(fut.result())
            if i % 25 == 0 or i == len(futures):
                print(f"# {i}/{len(futures)} runs, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    meta["wall_s"] = round(time.time() - t0, 1)
    order = {c: i for i, c in enumerate(running)}
    runs.sort(key=lambda r: (order[r["contender"]], r["function"], r["seed"]))
    os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
    with open(json_path, "w") as fh:
        json.dump({"meta": meta, "runs": runs}, fh, allow_nan=False)
    text = report(meta, runs)
    with open(md_path, "w") as fh:
        fh.write(text + "\n")
    print(text)
    return 0


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


def footer_lines(meta: dict[str, Any]) -> list[str]:
    """The skipped contenders and the environment: versions, machine, threads, jobs, wall time."""
    lines = [f"Skipped {c}: {why}." for c, why in meta.get("skipped", {}).items()]
    v, m = meta["versions"], meta["machine"]
    lines += ["", f"hpcore {v.get('hpcore')} ({meta.get('hpcore_commit')}), optuna {v.get('optuna')}, "
              f"scikit-learn {v.get('scikit-learn')}, torch {v.get('torch')}, numpy {v.get('numpy')}, "
              f"python {v.get('python')}; {m['cpu']}, {m['cores']} cores, 1 thread per process, "
              f"--jobs {meta['args']['jobs']}, {meta.get('wall_s')} s."]
    return lines
