#!/usr/bin/env python3
"""Several objectives: hpcore's strategies and Optuna's samplers on the same problems, seeds and budget.

    python benchmarks/bench_multiobjective.py --seeds 0-9 --jobs 2          # design seeds
    python benchmarks/bench_multiobjective.py --seeds 100-129 --jobs 2      # held-out seeds

The problems are in ``benchmarks/mo_problems.py`` (ZDT1, ZDT2 and DTLZ2 in 6 dimensions, and a
random forest's ROC AUC against its size on bundled data), every objective minimised. Each is
declared once as an hpcore space; Optuna gets the same ranges and scales define-by-run.

Contenders, each on its library's defaults seeded with the run's seed (``mo_harness.py``):
``hpcore:bayesian``, ``hpcore:random``, ``optuna:gp`` (``GPSampler``), ``optuna:tpe``
(``TPESampler``), ``optuna:nsga2`` (``NSGAIISampler``) and ``optuna:random``; a contender whose
library is not installed is skipped with the reason.

A run's score is the hypervolume of every objective vector it found (``hpcore.pareto.hypervolume``),
bounded by the problem's fixed reference point. The report (``--md``, and ``--json`` with every
run, its objective vectors and its hypervolume after each trial) gives per problem the median
hypervolume, its interquartile range and its ratio to the optimal hypervolume (for the forest: to
a long run's), the mean rank of the medians, the seed-by-seed wins of hpcore:bayesian, whether its
median is at or above GPSampler's, and the mean time per ask and its ratio to GPSampler's. Each
process is limited to one OpenMP/BLAS/torch thread before numpy is imported.
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
from mo_problems import MO_PROBLEMS  # noqa: E402
from seeds import seed_text  # noqa: E402

from hpcore.pareto import hypervolume, hypervolume_history, nondominated  # noqa: E402

CONTENDERS = ["hpcore:bayesian", "hpcore:random", "optuna:gp", "optuna:tpe", "optuna:nsga2", "optuna:random"]


def run_one(contender: str, name: str, seed: int, budget: int) -> dict[str, Any]:
    """One contender on one problem and seed: the record kept in the JSON file."""
    warnings.filterwarnings("ignore")
    problem = MO_PROBLEMS[name]
    losses: list[list[float]] = []

    def evaluate(params: dict[str, Any]) -> tuple[list[float], dict[str, float]]:
        y = problem.f(problem.space.validate(params))  # raises for a parameter out of the space
        losses.append(y)
        return y, {}

    t0 = time.perf_counter()
    ask_s, tell_s = h.run_loop(contender, problem.space, budget, seed, ["minimize"] * len(problem.ref), (), evaluate)
    Y, ref = np.array(losses), np.array(problem.ref)
    hv = hypervolume(Y, ref)
    return {"contender": contender, "function": name, "seed": seed, "budget": budget, "batch": 1,
            "hv": hv, "hv_ratio": hv / problem.best_hv, "above_reference": hv > problem.best_hv * (1 + 1e-9),
            "front_size": int(nondominated(Y).sum()), "hv_trace": hypervolume_history(Y, ref).tolist(),
            "losses": losses, "ask_ms": 1000 * ask_s / budget, "tell_ms": 1000 * tell_s / budget,
            "wall_s": time.perf_counter() - t0}


def reference(trials: int, names: list[str]) -> None:
    """Prints the hypervolume of a long hpcore random search, Optuna TPE run (seed 0) and of both."""
    for name in names:
        ref = np.array(MO_PROBLEMS[name].ref)
        runs = {c: run_one(c, name, 0, trials) for c in ("hpcore:random", "optuna:tpe")}
        for c, r in runs.items():
            worst = np.max(r["losses"], axis=0).tolist()
            print(f"{name}: {c} {trials} trials: hypervolume {r['hv']!r}, worst objective values {worst}",
                  flush=True)
        both = np.array([y for r in runs.values() for y in r["losses"]])
        print(f"{name}: both: hypervolume {hypervolume(both, ref)!r} (reference point {MO_PROBLEMS[name].ref})",
              flush=True)


def report(meta: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    """The markdown report of one run of the benchmark (see the module docstring)."""
    args = meta["args"]
    labels = [c for c in args["contenders"] if any(r["contender"] == c for r in runs)]
    names = [n for n in args["functions"] if any(r["function"] == n for r in runs)]
    hv, ratio = h.scores(runs, "hv"), h.scores(runs, "hv_ratio")
    med = {k: h.quartiles(list(v.values()))[0] for k, v in hv.items()}
    lines = [f"# Several objectives: {args['budget']} trials, seeds {seed_text(sorted(args['seeds']))}", "",
             "Median final hypervolume [25th, 75th percentile] (higher is better):", "",
             "| problem | reference point | best | " + " | ".join(labels) + " |",
             "|---|---|---|" + "---|" * len(labels)]
    for n in names:
        how, best, ref = meta["hv_from"][n], meta["best_hv"][n], meta["ref"][n]
        cells = ["{:.4g} [{:.4g}, {:.4g}]".format(*h.quartiles(list(hv[(c, n)].values()))) if (c, n) in hv else ""
                 for c in labels]
        lines.append(f"| {n} | ({', '.join(f'{x:g}' for x in ref)}) | {how} {best:.4g} | " + " | ".join(cells) + " |")
    lines += ["", "Median hypervolume as a fraction of the best (the optimal one; for a reference, a long run's):",
              "", "| problem | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for n in names:
        cells = [f"{h.quartiles(list(ratio[(c, n)].values()))[0]:.3f}" if (c, n) in ratio else "" for c in labels]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines += ["", h.rank_line(h.mean_ranks(med, labels, names, lower_better=False)), ""]
    lines += h.wtl_lines(hv, labels, names, lower_better=False, what="higher hypervolume")
    versus = h.versus_line(med, names, lower_better=False, phrase="hypervolume at or above", target="3 of 4")
    lines += ["", *([versus, ""] if versus else [])]
    lines += h.timing_lines(runs, labels)
    above = [f"{r['contender']} {r['function']} seed {r['seed']} ({r['hv']:.4g})" for r in runs if r["above_reference"]]
    lines.append(f"Runs above the best hypervolume: {len(above)}" + (f" ({'; '.join(above)})." if above else "."))
    return "\n".join(lines + h.footer_lines(meta))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    runner.add_arguments(ap, list(MO_PROBLEMS), CONTENDERS, budget=60, results="multiobjective")
    a = ap.parse_args(argv)
    seeds, names, contenders = runner.check_arguments(ap, a, list(MO_PROBLEMS), CONTENDERS)
    if a.reference:
        reference(a.reference, names)
        return 0
    meta = {"ref": {n: list(MO_PROBLEMS[n].ref) for n in names}, "best_hv": {n: MO_PROBLEMS[n].best_hv for n in names},
            "hv_from": {n: MO_PROBLEMS[n].hv_from for n in names}}
    return runner.run_all(a, seeds, names, contenders, "multiobjective", run_one, meta, report, h.COST)


if __name__ == "__main__":
    sys.exit(main())
