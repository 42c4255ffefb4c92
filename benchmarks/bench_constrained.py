#!/usr/bin/env python3
"""Constraints: hpcore's strategies and Optuna's samplers on the same constrained problems and seeds.

    python benchmarks/bench_constrained.py --seeds 0-9 --jobs 2          # design seeds
    python benchmarks/bench_constrained.py --seeds 100-129 --jobs 2      # held-out seeds

The problems are in ``benchmarks/mo_problems.py`` (Branin in a disk, a quadratic whose feasible
region is 6.8 % of a 5-dimensional box, and extremely randomised trees under a node budget on
bundled data): one minimised objective and constraints written as hpcore takes them, ``"METRIC
OP NUMBER"``. Optuna is given the same constraints as ``constraints_func`` (its convention: a
value at most 0 is feasible; ``"m <= b"`` becomes ``m - b``, ``"m >= b"`` becomes ``b - m``).

Contenders, each on its library's defaults seeded with the run's seed (``mo_harness.py``):
``hpcore:bayesian``, ``hpcore:random``, ``optuna:gp`` (``GPSampler``) and ``optuna:tpe``
(``TPESampler``), both with ``constraints_func``.

A run's score is its best value among feasible trials, as a regret from the best feasible value
(exact, or a long run's for the trees); a run without a feasible trial has none and ranks last.
The report (``--md``, and ``--json`` with every run) gives per problem the median regret and its
interquartile range, the share of feasible trials per contender, the runs that found no feasible
trial, the mean rank of the medians, the seed-by-seed wins of hpcore:bayesian, whether its median
is at or below GPSampler's, and the mean time per ask and its ratio to GPSampler's. Each process
is limited to one OpenMP/BLAS/torch thread before numpy is imported.
"""

from __future__ import annotations

import one_thread  # noqa: F401  (first: before numpy)

# isort: split
import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_HERE, os.path.dirname(_HERE)]

import mo_harness as h  # noqa: E402
import runner  # noqa: E402
from mo_problems import CONSTRAINED, feasible  # noqa: E402
from seeds import seed_text  # noqa: E402

CONTENDERS = ["hpcore:bayesian", "hpcore:random", "optuna:gp", "optuna:tpe"]


def run_one(contender: str, name: str, seed: int, budget: int) -> dict[str, Any]:
    """One contender on one problem and seed: the record kept in the JSON file."""
    warnings.filterwarnings("ignore")
    problem = CONSTRAINED[name]
    values: list[float] = []
    ok: list[bool] = []
    configs: list[dict[str, Any]] = []

    def evaluate(params: dict[str, Any]) -> tuple[list[float], dict[str, float]]:
        v, metrics = problem.f(problem.space.validate(params))  # raises for a parameter out of the space
        values.append(v)
        ok.append(feasible(problem.constraints, metrics))
        configs.append(params)
        return [v], metrics

    t0 = time.perf_counter()
    ask_s, tell_s = h.run_loop(contender, problem.space, budget, seed, ["minimize"], problem.constraints, evaluate)
    trace: list[float | None] = []
    best: float | None = None
    for v, good in zip(values, ok):
        if good and (best is None or v < best):
            best = v
        trace.append(best)
    where = [i for i in range(len(values)) if ok[i]]
    i = min(where, key=values.__getitem__) if where else None
    return {"contender": contender, "function": name, "seed": seed, "budget": budget, "batch": 1,
            "best": best, "regret": None if best is None else max(best - problem.minimum, 0.0),
            "below_reference": best is not None and best < problem.minimum - 1e-12,
            "n_feasible": len(where), "feasible_share": len(where) / len(values),
            "first_feasible": where[0] + 1 if where else None,
            "best_params": None if i is None else {k: v if isinstance(v, int) else float(v)
                                                   for k, v in configs[i].items()},
            "trace": trace, "ask_ms": 1000 * ask_s / budget, "tell_ms": 1000 * tell_s / budget,
            "wall_s": time.perf_counter() - t0}


def reference(trials: int, names: list[str]) -> None:
    """Prints the best feasible value of a long hpcore random search and Optuna TPE run (seed 0)."""
    for name in names:
        for c in ("hpcore:random", "optuna:tpe"):
            r = run_one(c, name, 0, trials)
            print(f"{name}: {c} {trials} trials: best feasible {r['best']!r} at {r['best_params']} "
                  f"({r['n_feasible']} feasible)", flush=True)


def report(meta: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    """The markdown report of one run of the benchmark (see the module docstring)."""
    args = meta["args"]
    labels = [c for c in args["contenders"] if any(r["contender"] == c for r in runs)]
    names = [n for n in args["functions"] if any(r["function"] == n for r in runs)]
    regret, share = h.scores(runs, "regret"), h.scores(runs, "feasible_share")
    med = {k: h.quartiles(list(v.values()))[0] for k, v in regret.items()}
    lines = [f"# Constraints: {args['budget']} trials, seeds {seed_text(sorted(args['seeds']))}", "",
             "Median regret of the best feasible value [25th, 75th percentile] (inf: no feasible trial):", "",
             "| problem | constraints | regret from | " + " | ".join(labels) + " |",
             "|---|---|---|" + "---|" * len(labels)]
    for n in names:
        how, best = meta["regret_from"][n]
        cells = ["{:.3g} [{:.3g}, {:.3g}]".format(*h.quartiles(list(regret[(c, n)].values())))
                 if (c, n) in regret else "" for c in labels]
        lines.append(f"| {n} | {', '.join(meta['constraints'][n])} | {how} {best:.6g} | " + " | ".join(cells) + " |")
    lines += ["", "Mean share of feasible trials, and runs without any feasible trial:", "",
              "| problem | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for n in names:
        cells = [f"{np.mean(list(share[(c, n)].values())):.0%}, "
                 f"{sum(v == float('inf') for v in regret[(c, n)].values())} of {len(regret[(c, n)])} none"
                 if (c, n) in share else "" for c in labels]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    none = [f"{r['contender']} {r['function']} seed {r['seed']}" for r in runs if r["best"] is None]
    lines += ["", f"Runs without a feasible trial: {len(none)}" + (f" ({'; '.join(none)})." if none else "."),
              h.rank_line(h.mean_ranks(med, labels, names, lower_better=True)), ""]
    lines += h.wtl_lines(regret, labels, names, lower_better=True, what="lower regret")
    versus = h.versus_line(med, names, lower_better=True, phrase="regret at or below", target="2 of 3")
    lines += ["", *([versus, ""] if versus else [])]
    lines += h.timing_lines(runs, labels)
    below = [f"{r['contender']} {r['function']} seed {r['seed']} ({r['best']:.6g})" for r in runs
             if r["below_reference"]]
    lines.append(f"Runs below the best feasible value: {len(below)}" + (f" ({'; '.join(below)})." if below else "."))
    return "\n".join(lines + h.footer_lines(meta))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    runner.add_arguments(ap, list(CONSTRAINED), CONTENDERS, budget=50, results="constrained")
    a = ap.parse_args(argv)
    seeds, names, contenders = runner.check_arguments(ap, a, list(CONSTRAINED), CONTENDERS)
    if a.reference:
        reference(a.reference, names)
        return 0
    meta = {"regret_from": {n: [CONSTRAINED[n].regret_from, CONSTRAINED[n].minimum] for n in names},
            "constraints": {n: list(CONSTRAINED[n].constraints) for n in names}}
    return runner.run_all(a, seeds, names, contenders, "constrained", run_one, meta, report, h.COST)


if __name__ == "__main__":
    sys.exit(main())
