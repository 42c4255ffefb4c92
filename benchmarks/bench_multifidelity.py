"""Bayesian optimization with early stopping: how many steps to reach the best value found without it.

On the real learning curves of ``bench_early_stopping.py`` (``digits-mlp``, ``xgboost-rounds``; 27
epochs or rounds per full run), for each seed, hpcore's ``bayesian`` strategy runs 40 trials
without early stopping: its best completed value and its total steps are the reference. Then
``bayesian`` with an early-stopping rule (``auto`` by default) runs up to ``--budget`` trials, and
the steps it has consumed when a completed trial first reaches (or beats) that best value are
counted. The figure is their ratio to the reference's steps (the goal: at most 0.6); a seed on
which the reference is never reached counts as the budget's steps, and is flagged.

    OMP_NUM_THREADS=1 python benchmarks/bench_multifidelity.py --seeds 100-104 [--rules auto asha] [--json PATH]

The stopped trials reach the GP at their estimated final values (``hpcore.fidelity``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from typing import Any

from bench_early_stopping import seed_list
from es_families import xgboost_problem
from es_problems import EPOCHS, Problem, digits_problem

import hpcore

TRIALS = 40


def run(problem: Problem, seed: int, rule: str, trials: int) -> list[tuple[int, float | None]]:
    """``(steps so far, best completed value so far)`` after each trial, in the order they ended."""
    steps = 0
    history: list[tuple[int, float | None]] = []
    best: float | None = None
    better = (lambda a, b: a < b) if problem.direction == "minimize" else (lambda a, b: a > b)

    def train(params: dict[str, Any], reporter: hpcore.Reporter) -> dict[str, float]:
        nonlocal steps
        value = float("nan")
        for epoch in range(1, EPOCHS + 1):
            value = problem.curve(params, seed, epoch)
            steps += 1
            if reporter.report(epoch, **{problem.objective: value}):
                break
        return {problem.objective: value}

    def ended(record: Any) -> None:
        nonlocal best
        if record.state.value == "completed" and record.value is not None and (best is None or
                                                                                better(record.value, best)):
            best = record.value
        history.append((steps, best))

    class Watch:
        @hpcore.hookimpl
        def hpcore_trial_finish(self, job: Any, trial: Any, record: Any) -> None:
            ended(record)

    watch = Watch()
    from hpcore import plugins

    plugins.register(watch, name=f"mf-watch-{id(watch)}")
    try:
        hpcore.TuningJob(train, problem.space, objective=problem.objective, direction=problem.direction,
                         strategy="bayesian", early_stopping=rule, max_trials=trials, seed=seed,
                         progress=False).run()
    finally:
        plugins.unregister(watch)
    return history


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=seed_list, default=seed_list("100-104"))
    ap.add_argument("--rules", nargs="+", default=["auto"])
    ap.add_argument("--budget", type=int, default=80, help="trials of the runs with early stopping")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    rows = []
    for problem in (digits_problem(), xgboost_problem()):
        for seed in args.seeds:
            ref = run(problem, seed, "none", TRIALS)
            ref_steps, ref_best = ref[-1]
            for rule in args.rules:
                hist = run(problem, seed, rule, args.budget)
                better = (lambda a, b: a <= b) if problem.direction == "minimize" else (lambda a, b: a >= b)
                hit = next((s for s, b in hist if b is not None and better(b, ref_best)), None)
                row = {"problem": problem.name, "seed": seed, "rule": rule, "reference_steps": ref_steps,
                       "reference_best": ref_best, "steps": hit if hit is not None else hist[-1][0],
                       "reached": hit is not None, "best": hist[-1][1]}
                row["ratio"] = row["steps"] / ref_steps
                rows.append(row)
                print(json.dumps(row), flush=True)
    print("\n| problem | rule | seeds | steps to the reference's best / its steps: median (each seed) | reached |")
    print("|---|---|---|---|---|")
    for name in dict.fromkeys(r["problem"] for r in rows):
        for rule in args.rules:
            rs = [r for r in rows if r["problem"] == name and r["rule"] == rule]
            each = ", ".join(f"{r['ratio']:.2f}" + ("" if r["reached"] else "+") for r in rs)
            print(f"| {name} | {rule} | {len(rs)} | {statistics.median(r['ratio'] for r in rs):.2f} ({each}) | "
                  f"{sum(r['reached'] for r in rs)} of {len(rs)} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
