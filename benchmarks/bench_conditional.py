#!/usr/bin/env python3
"""Conditional search spaces: hpcore's strategies, Optuna's samplers and SMAC3 side by side in one run.

    python benchmarks/bench_conditional.py --seeds 0-9 --jobs 2          # design seeds
    python benchmarks/bench_conditional.py --seeds 100-129 --jobs 2      # held-out seeds
    python benchmarks/table.py benchmarks/results/conditional-design.json  # the tables again

The problems are in ``benchmarks/conditional_problems.py``; each is declared once as an hpcore
space with ``when=`` conditions and translated generically for the other libraries: for Optuna a
define-by-run objective that suggests, parents first, only the parameters whose conditions hold
(same ranges, same linear or log scales); for SMAC3 a ConfigSpace with an ``EqualsCondition`` or
``InCondition`` per parent (an ``AndConjunction`` for several). Every objective checks that it
got exactly the active parameters (an inactive one stops the benchmark).

Contenders, each on its library's defaults seeded with the run's seed: ``hpcore:bayesian``,
``hpcore:random``, ``optuna:tpe`` (``TPESampler(multivariate=True, group=True)``), ``optuna:gp``
(``GPSampler()``) and ``smac:hpo`` (SMAC3's ``HyperparameterOptimizationFacade``, seeded, yet the
only contender whose runs differ from one run to the next); a contender whose library is not
installed is skipped with the reason.

The report (``--md``, and ``--json`` with every run) gives per problem the median simple regret
and its interquartile range, the mean rank, whether hpcore:bayesian is at or below
optuna:tpe, and the mean time per ask (with the tell, too) and its ratio to GPSampler's. Each
process is limited to one OpenMP/BLAS/torch thread before numpy is imported.
"""

from __future__ import annotations

import one_thread  # first: before numpy, here and in every worker process

# isort: split
import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_HERE, os.path.dirname(_HERE)]

import runner  # noqa: E402
from conditional_problems import PROBLEMS, CondProblem, evaluate, optuna_params, smac_configspace, smac_params  # noqa: E402
from seeds import seed_text  # noqa: E402
from table import _mean_ranks, format_tables  # noqa: E402

import hpcore  # noqa: E402

CONTENDERS = ["hpcore:bayesian", "hpcore:random", "optuna:tpe", "optuna:gp", "smac:hpo"]
_COST = {"optuna:gp": 0, "hpcore:bayesian": 1, "smac:hpo": 2, "optuna:tpe": 3}  # slowest first
Objective = Callable[[dict[str, Any]], float]
Loop = Callable[[CondProblem, int, int, Objective], tuple[float, float]]


def loop_hpcore(strategy: str) -> Loop:
    def run(problem: CondProblem, budget: int, seed: int, f: Objective) -> tuple[float, float]:
        logging.getLogger("hpcore").setLevel(logging.ERROR)
        tuner = hpcore.create_tuner(strategy, problem.space, direction="minimize", seed=seed)
        ask_s = tell_s = 0.0
        for _ in range(budget):
            t0 = time.perf_counter()
            trial = tuner.ask()
            t1 = time.perf_counter()
            v = f(dict(trial.params))
            t2 = time.perf_counter()
            tuner.tell(trial, v)
            ask_s, tell_s = ask_s + t1 - t0, tell_s + time.perf_counter() - t2
        return ask_s, tell_s
    return run


def loop_optuna(sampler: str) -> Loop:
    def run(problem: CondProblem, budget: int, seed: int, f: Objective) -> tuple[float, float]:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        if sampler == "gp":
            import torch

            one_thread.limit_torch(torch)
            chosen = optuna.samplers.GPSampler(seed=seed)
        else:
            chosen = optuna.samplers.TPESampler(multivariate=True, group=True, seed=seed)
        study = optuna.create_study(sampler=chosen, direction="minimize")
        ask_s = tell_s = 0.0
        for _ in range(budget):
            t0 = time.perf_counter()
            trial = study.ask()
            params = optuna_params(problem.space, trial)  # the define-by-run suggestions: part of the ask
            t1 = time.perf_counter()
            v = f(params)
            t2 = time.perf_counter()
            study.tell(trial, v)
            ask_s, tell_s = ask_s + t1 - t0, tell_s + time.perf_counter() - t2
        return ask_s, tell_s
    return run


def loop_smac(problem: CondProblem, budget: int, seed: int, f: Objective) -> tuple[float, float]:
    from smac import HyperparameterOptimizationFacade, Scenario
    from smac.runhistory.dataclasses import TrialValue

    logging.getLogger("smac").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as out:
        scenario = Scenario(smac_configspace(problem.space, seed), deterministic=True, n_trials=budget,
                            seed=seed, output_directory=out)
        smac = HyperparameterOptimizationFacade(scenario, lambda config, seed=0: 0.0, overwrite=True,
                                                logging_level=logging.ERROR)
        ask_s = tell_s = 0.0
        for _ in range(budget):
            t0 = time.perf_counter()
            info = smac.ask()
            t1 = time.perf_counter()
            v = f(smac_params(problem.space, info.config))
            t2 = time.perf_counter()
            smac.tell(info, TrialValue(cost=v))
            ask_s, tell_s = ask_s + t1 - t0, tell_s + time.perf_counter() - t2
    return ask_s, tell_s


LOOPS: dict[str, Loop] = {"hpcore:bayesian": loop_hpcore("bayesian"), "hpcore:random": loop_hpcore("random"),
                          "optuna:tpe": loop_optuna("tpe"), "optuna:gp": loop_optuna("gp"), "smac:hpo": loop_smac}


def run_one(contender: str, name: str, seed: int, budget: int) -> dict[str, Any]:
    """One contender on one problem and seed: the record kept in the JSON file."""
    warnings.filterwarnings("ignore")
    problem = PROBLEMS[name]
    values: list[float] = []
    configs: list[dict[str, Any]] = []

    def f(params: dict[str, Any]) -> float:
        v = evaluate(problem, params)  # raises when a parameter is inactive or an active one missing
        values.append(v)
        configs.append(params)
        return v

    t0 = time.perf_counter()
    ask_s, tell_s = LOOPS[contender](problem, budget, seed, f)
    trace, best = [], float("inf")
    for v in values:
        best = min(best, v)
        trace.append(best)
    i = min(range(len(values)), key=values.__getitem__)
    return {"contender": contender, "function": name, "seed": seed, "budget": budget, "batch": 1,
            "regret": max(best - problem.minimum, 0.0), "best": best, "below_reference": best < problem.minimum,
            "best_params": {k: (v if isinstance(v, (str, bool)) else float(v)) for k, v in configs[i].items()},
            "trace": trace, "checked": len(values), "ask_ms": 1000 * ask_s / len(values),
            "tell_ms": 1000 * tell_s / len(values), "wall_s": time.perf_counter() - t0}


def reference(trials: int, names: list[str]) -> None:
    """Prints the best value of a long hpcore random search and Optuna TPE run (seed 0) per problem."""
    for name in names:
        bests = {c: run_one(c, name, 0, trials) for c in ("hpcore:random", "optuna:tpe")}
        for c, r in bests.items():
            print(f"{name}: {c} {trials} trials: best {r['best']!r} at {r['best_params']}", flush=True)


def _q(values: list[float], q: float) -> float:
    return float(np.quantile(values, q))


def report(meta: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    """The markdown report of one run of the benchmark (see the module docstring)."""
    args = meta["args"]
    labels = [c for c in args["contenders"] if any(r["contender"] == c for r in runs)]
    names = [n for n in args["functions"] if any(r["function"] == n for r in runs)]
    regret = {(r["contender"], r["function"]): [] for r in runs}
    for r in runs:
        regret[(r["contender"], r["function"])].append(r["regret"])
    lines = [f"# Conditional search spaces: {args['budget']} trials, seeds {seed_text(sorted(args['seeds']))}", ""]
    lines += [format_tables(runs, labels, args["budget"], 1, names), ""]
    lines += ["Median simple regret [25th, 75th percentile] per problem:", "",
              "| problem | regret from | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels)]
    ranks: dict[str, list[float]] = {c: [] for c in labels}
    for n in names:
        med = [float(np.median(regret[(c, n)])) if (c, n) in regret else float("nan") for c in labels]
        if not any(np.isnan(med)):
            for c, rk in zip(labels, _mean_ranks(med)):
                ranks[c].append(rk)
        how = meta["regret_from"][n]
        cells = [f"{np.median(regret[(c, n)]):.3g} [{_q(regret[(c, n)], .25):.3g}, {_q(regret[(c, n)], .75):.3g}]"
                 if (c, n) in regret else "" for c in labels]
        lines.append(f"| {n} | {how[0]} {how[1]:.4g} | " + " | ".join(cells) + " |")
    lines.append("")
    mean_rank = {c: float(np.mean(ranks[c])) for c in labels if ranks[c]}
    if mean_rank:
        best = min(mean_rank.values())
        lines.append("Mean rank of the medians (1 = best): " + ", ".join(
            f"{c} {v:.2f}" + (" (best)" if v == best else "") for c, v in mean_rank.items()) + ".")
    head, tpe = "hpcore:bayesian", "optuna:tpe"
    if head in labels and tpe in labels:
        at_or_below = [n for n in names if (head, n) in regret and (tpe, n) in regret
                       and np.median(regret[(head, n)]) <= np.median(regret[(tpe, n)]) * (1 + 1e-9) + 1e-300]
        lines.append(f"{head} median regret at or below {tpe} (TPESampler(multivariate=True, group=True)) on "
                     f"{len(at_or_below)} of {len(names)} problems (target: 4 of 5): "
                     + ", ".join(f"{n} {'yes' if n in at_or_below else 'no'}" for n in names) + ".")
    ask = {c: float(np.mean([r["ask_ms"] for r in runs if r["contender"] == c])) for c in labels}
    both = {c: float(np.mean([r["ask_ms"] + r["tell_ms"] for r in runs if r["contender"] == c])) for c in labels}
    lines += ["", "| mean time per trial | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels),
              "| ask ms | " + " | ".join(f"{ask[c]:.1f}" for c in labels) + " |",
              "| ask + tell ms | " + " | ".join(f"{both[c]:.1f}" for c in labels) + " |", ""]
    if head in labels and "optuna:gp" in labels:
        lines.append(f"{head} / optuna:gp mean time per ask: {ask[head] / ask['optuna:gp']:.2f} (ask + tell: "
                     f"{both[head] / both['optuna:gp']:.2f}; target <= 0.5).")
    below = [f"{r['contender']} {r['function']} seed {r['seed']} ({r['best']:.4g})" for r in runs
             if r.get("below_reference")]
    lines.append(f"Runs below the reference value: {len(below)}" + (f" ({'; '.join(below)})." if below else "."))
    lines.append(f"Objective calls checked to hold exactly the active parameters: {sum(r['checked'] for r in runs)} "
                 "(an inactive or missing parameter stops the benchmark).")
    for c, why in meta.get("skipped", {}).items():
        lines.append(f"Skipped {c}: {why}.")
    v, m = meta["versions"], meta["machine"]
    lines += ["", f"hpcore {v.get('hpcore')} ({meta.get('hpcore_commit')}), optuna {v.get('optuna')}, "
              f"smac {v.get('smac')}, scikit-learn {v.get('scikit-learn')}, torch {v.get('torch')}, numpy "
              f"{v.get('numpy')}, python {v.get('python')}; {m['cpu']}, {m['cores']} cores, 1 thread per process, "
              f"--jobs {args['jobs']}, {meta.get('wall_s')} s."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    runner.add_arguments(ap, list(PROBLEMS), CONTENDERS, budget=50, results="conditional", budget_flag="--trials")
    a = ap.parse_args(argv)
    seeds, names, contenders = runner.check_arguments(ap, a, list(PROBLEMS), CONTENDERS)
    if a.reference:
        reference(a.reference, names)
        return 0
    meta = {"regret_from": {n: [PROBLEMS[n].regret_from, PROBLEMS[n].minimum] for n in names}}
    return runner.run_all(a, seeds, names, contenders, "conditional", run_one, meta, report, _COST)


if __name__ == "__main__":
    sys.exit(main())
