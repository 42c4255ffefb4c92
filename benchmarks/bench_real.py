#!/usr/bin/env python3
"""Real tuning tasks: hpcore's strategies, Optuna's samplers, SMAC3 and HEBO side by side in one run.

    python benchmarks/bench_real.py --seeds 0-9 --jobs 2         # design seeds
    python benchmarks/bench_real.py --seeds 100-109 --jobs 2     # held-out seeds (the default)
    python benchmarks/real_tasks.py                              # the time of one evaluation per task

The tasks (13 scikit-learn models on bundled or generated data, 5 to 10 hyperparameters, every
evaluation deterministic) are in ``benchmarks/real_tasks.py``; each is minimised for ``--trials``
(40) trials per run.

Contenders, each on its library's defaults seeded with the run's seed:

* ``hpcore:bayesian``: the task's declared space (a practitioner's ``linear``/``log`` scales);
* ``hpcore:bayesian-auto``: the same strategy on the ``auto`` space (same bounds, every numeric
  scale ``auto``: the strategy has to learn each dimension's warping from the data);
* ``hpcore:random``: random search in the declared scales (the 0 of the normalised score);
* ``optuna:tpe`` (``TPESampler(multivariate=True, seed=)``), ``optuna:gp`` (``GPSampler(seed=)``)
  and ``smac:hpo`` (SMAC3's ``HyperparameterOptimizationFacade``, as in ``bench_conditional.py``),
  all given the declared scales;
* ``hebo``: not runnable here, so skipped with the reason. The newest HEBO (0.3.6) requires
  ``numpy<1.25`` while this environment has numpy 2.x (installing it would downgrade numpy, and
  pip's resolver backtracks through scikit-learn versions); with numpy and scikit-learn pinned
  pip falls back to HEBO 0.3.2, which installs without changing torch, numpy or scikit-learn but
  fails on import (``pymoo.factory``, gone in pymoo 0.6) and, with pymoo 0.5, on its first tell
  (``DataFrame.append``, gone in pandas 2). The loop (:func:`loop_hebo`, HEBO's
  ``suggest``/``observe`` on a ``DesignSpace`` with ``pow``/``pow_int`` for log ranges) runs
  wherever a working ``hebo`` is importable.

The time of every ask (for Optuna with the suggestions of the trial's parameters, for HEBO with
the translation of its suggestion) and of every tell is measured, as in ``mo_harness.run_loop``.

The report (``--md``, and ``--json`` with every run) gives per task the median best loss of
every contender, and a normalised score: per run ``100 * (R - best) / (R - B)``, where ``B`` is
the best loss any contender found on the task in this benchmark run (all seeds) and ``R``
hpcore:random's mean best loss over the seeds; a contender's score on a task is the MEAN of its
runs' scores over the seeds (0 = as good as random search on average, 100 = the best anyone
found, every seed; should no run beat random search's mean, a run scores 0 at it and -100 above
it). Then the mean score over tasks per contender, the number of tasks where
hpcore:bayesian-auto's score is below 0 (its mean best loss worse than random search's), the
mean over tasks of auto's score minus declared's, the median time of one evaluation per task,
and the mean ask time per contender with its ratio to optuna:gp's. Each process is limited to
one OpenMP/BLAS/torch thread before numpy is imported.
"""

from __future__ import annotations

import one_thread  # first: before numpy, here and in every worker process

# isort: split
import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_HERE, os.path.dirname(_HERE)]

import runner  # noqa: E402
from bench_conditional import loop_smac  # noqa: E402
from conditional_problems import optuna_params  # noqa: E402
from mo_harness import footer_lines, run_loop  # noqa: E402
from real_tasks import TASKS, Task, evaluate  # noqa: E402
from seeds import seed_text  # noqa: E402

import hpcore  # noqa: E402

CONTENDERS = ["hpcore:bayesian", "hpcore:bayesian-auto", "hpcore:random", "optuna:tpe", "optuna:gp", "smac:hpo",
              "hebo"]
_COST = {"hebo": 0, "optuna:gp": 1, "hpcore:bayesian": 2, "hpcore:bayesian-auto": 3, "smac:hpo": 4}  # slowest first
BASE, PEER, AUTO, DECLARED = "hpcore:random", "optuna:gp", "hpcore:bayesian-auto", "hpcore:bayesian"
Objective = Callable[[dict[str, Any]], float]


def loop_tpe(space: hpcore.SearchSpace, budget: int, seed: int, f: Objective) -> tuple[float, float]:
    """Optuna's ``TPESampler(multivariate=True, seed=seed)``; returns the seconds in ask and in tell."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(multivariate=True, seed=seed))
    ask_s = tell_s = 0.0
    for _ in range(budget):
        t0 = time.perf_counter()
        trial = study.ask()
        params = optuna_params(space, trial)  # the define-by-run suggestions: part of the ask
        t1 = time.perf_counter()
        v = f(params)
        t2 = time.perf_counter()
        study.tell(trial, v)
        ask_s, tell_s = ask_s + t1 - t0, tell_s + time.perf_counter() - t2
    return ask_s, tell_s


def _hebo_space(space: hpcore.SearchSpace) -> Any:
    from hebo.design_space.design_space import DesignSpace

    spec = []
    for name, p in space.items():
        if isinstance(p, hpcore.Categorical):
            spec.append({"name": name, "type": "cat", "categories": [str(v) for v in p.values]})
        elif isinstance(p, hpcore.Int):
            spec.append({"name": name, "type": "pow_int" if p.scale == "log" else "int", "lb": p.min, "ub": p.max})
        else:
            spec.append({"name": name, "type": "pow" if p.scale == "log" else "num", "lb": p.min, "ub": p.max})
    return DesignSpace().parse(spec)


def loop_hebo(space: hpcore.SearchSpace, budget: int, seed: int, f: Objective) -> tuple[float, float]:
    """HEBO's ``suggest``/``observe`` (numpy and torch seeded); returns the seconds in ask and in tell."""
    import torch
    from hebo.optimizers.hebo import HEBO

    one_thread.limit_torch(torch)
    np.random.seed(seed)
    torch.manual_seed(seed)
    opt = HEBO(_hebo_space(space))
    ask_s = tell_s = 0.0
    for _ in range(budget):
        t0 = time.perf_counter()
        rec = opt.suggest(n_suggestions=1)
        row = rec.iloc[0].to_dict()
        params = {}
        for name, p in space.items():
            v = row[name]
            if isinstance(p, hpcore.Categorical):
                params[name] = p.values[[str(c) for c in p.values].index(str(v))]
            else:
                x = min(max(float(v), p.min), p.max)
                params[name] = int(round(x)) if isinstance(p, hpcore.Int) else x
        t1 = time.perf_counter()
        v = f(params)
        t2 = time.perf_counter()
        opt.observe(rec, np.array([[v]]))
        ask_s, tell_s = ask_s + t1 - t0, tell_s + time.perf_counter() - t2
    return ask_s, tell_s


def _loop(contender: str, task: Task, budget: int, seed: int, f: Objective) -> tuple[float, float]:
    if contender == AUTO:
        return run_loop(DECLARED, task.auto, budget, seed, ["minimize"], [], lambda p: ([f(p)], {}))
    if contender.startswith("hpcore:") or contender == PEER:
        return run_loop(contender, task.declared, budget, seed, ["minimize"], [], lambda p: ([f(p)], {}))
    if contender == "optuna:tpe":
        return loop_tpe(task.declared, budget, seed, f)
    if contender == "smac:hpo":
        return loop_smac(types.SimpleNamespace(space=task.declared), budget, seed, f)
    return loop_hebo(task.declared, budget, seed, f)


def run_one(contender: str, name: str, seed: int, budget: int) -> dict[str, Any]:
    """One contender on one task and seed: the record kept in the JSON file."""
    warnings.filterwarnings("ignore")
    task = TASKS[name]
    values: list[float] = []
    configs: list[dict[str, Any]] = []
    eval_s: list[float] = []

    def f(params: dict[str, Any]) -> float:
        t0 = time.perf_counter()
        v = evaluate(task, params)
        eval_s.append(time.perf_counter() - t0)
        values.append(v)
        configs.append(params)
        return v

    t0 = time.perf_counter()
    ask_s, tell_s = _loop(contender, task, budget, seed, f)
    trace = list(np.minimum.accumulate(values))
    i = int(np.argmin(values))
    return {"contender": contender, "function": name, "seed": seed, "budget": budget, "batch": 1,
            "best": float(values[i]), "best_params": {k: v if isinstance(v, (str, bool)) or v is None else float(v)
                                                      for k, v in configs[i].items()},
            "trace": [float(x) for x in trace], "ask_ms": 1000 * ask_s / len(values),
            "tell_ms": 1000 * tell_s / len(values), "eval_ms": 1000 * float(np.median(eval_s)),
            "wall_s": time.perf_counter() - t0}


def normalised_scores(runs: list[dict[str, Any]]) -> dict[tuple[str, str], float]:
    """Each (contender, task)'s mean over seeds of ``100 * (R - best) / (R - B)`` (see the module docstring)."""
    out: dict[tuple[str, str], float] = {}
    for n in {r["function"] for r in runs}:
        here = [r for r in runs if r["function"] == n]
        base = [r["best"] for r in here if r["contender"] == BASE]
        if not base:
            continue
        top, ref = min(r["best"] for r in here), float(np.mean(base))
        span = ref - top
        for c in {r["contender"] for r in here}:
            bests = [r["best"] for r in here if r["contender"] == c]
            scores = [100 * (ref - b) / span if span > 1e-12 else (0.0 if b <= top + 1e-12 else -100.0) for b in bests]
            out[(c, n)] = float(np.mean(scores))
    return out


def report(meta: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    """The markdown report of one run of the benchmark (see the module docstring)."""
    args = meta["args"]
    labels = [c for c in args["contenders"] if any(r["contender"] == c for r in runs)]
    names = [n for n in args["functions"] if any(r["function"] == n for r in runs)]
    best: dict[tuple[str, str], list[float]] = {}
    for r in runs:
        best.setdefault((r["contender"], r["function"]), []).append(r["best"])
    score = normalised_scores(runs)
    head = "| task | loss | eval ms | " + " | ".join(labels) + " |"
    rule = "|---|---|---|" + "---|" * len(labels)
    lines = [f"# Real tuning tasks: {args['budget']} trials, seeds {seed_text(sorted(args['seeds']))}", "",
             "Median best loss over the seeds:", "", head, rule]
    evals = {n: float(np.median([r["eval_ms"] for r in runs if r["function"] == n])) for n in names}
    for n in names:
        cells = [f"{np.median(best[(c, n)]):.4g}" if (c, n) in best else "" for c in labels]
        lines.append(f"| {n} | {meta['loss'][n]} | {evals[n]:.0f} | " + " | ".join(cells) + " |")
    lines += ["", f"Normalised score (per run 100 * (R - best) / (R - B), B the best loss any contender found on the "
              f"task over all seeds, R {BASE}'s mean best loss; the mean over seeds):", "",
              "| task | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for n in names:
        lines.append(f"| {n} | " + " | ".join(f"{score[(c, n)]:.1f}" if (c, n) in score else "" for c in labels) + " |")
    mean = {c: float(np.mean([score[(c, n)] for n in names if (c, n) in score])) for c in labels
            if any((c, n) in score for n in names)}
    lines.append("| **mean over tasks** | " + " | ".join(f"**{mean[c]:.1f}**" if c in mean else "" for c in labels)
                 + " |")
    lines.append("")
    if AUTO in labels and BASE in labels:
        below = [n for n in names if (AUTO, n) in score and score[(AUTO, n)] < 0]
        lines.append(f"{AUTO} below {BASE} (mean best loss worse, score < 0) on {len(below)} of {len(names)} tasks"
                     + (f": {', '.join(below)}." if below else "."))
    if AUTO in labels and DECLARED in labels:
        gaps = [score[(AUTO, n)] - score[(DECLARED, n)] for n in names if (AUTO, n) in score and (DECLARED, n) in score]
        lines.append(f"{AUTO} minus {DECLARED} (auto scales minus declared scales), mean score gap over tasks: "
                     f"{np.mean(gaps):+.1f} (better on {sum(g > 0 for g in gaps)}, worse on {sum(g < 0 for g in gaps)} "
                     f"of {len(gaps)} tasks).")
    ask = {c: float(np.mean([r["ask_ms"] for r in runs if r["contender"] == c])) for c in labels}
    both = {c: float(np.mean([r["ask_ms"] + r["tell_ms"] for r in runs if r["contender"] == c])) for c in labels}
    lines += ["", "| mean time per trial | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels),
              "| ask ms | " + " | ".join(f"{ask[c]:.1f}" for c in labels) + " |",
              "| ask + tell ms | " + " | ".join(f"{both[c]:.1f}" for c in labels) + " |"]
    if PEER in labels:
        lines.append(f"| ask / {PEER} ask | " + " | ".join(f"{ask[c] / ask[PEER]:.2f}" for c in labels) + " |")
    lines += [""] + footer_lines(meta)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    runner.add_arguments(ap, list(TASKS), CONTENDERS, budget=40, results="real", budget_flag="--trials")
    a = ap.parse_args(argv)
    seeds, names, contenders = runner.check_arguments(ap, a, list(TASKS), CONTENDERS)
    if a.reference:
        ap.error("--reference: the real tasks have no reference values (the score is relative to the contenders)")
    meta = {"loss": {n: TASKS[n].loss for n in names},
            "score": "per run 100 * (R - best) / (R - B); B = best of any run on the task, R = hpcore:random's "
                     "mean best over seeds; the mean over seeds"}
    return runner.run_all(a, seeds, names, contenders, "real", run_one, meta, report, _COST)


if __name__ == "__main__":
    sys.exit(main())
