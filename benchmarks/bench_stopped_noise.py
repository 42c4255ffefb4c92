"""How the ``bayesian`` strategy should weigh early-stopped trials: exact partial values or noisier ones.

An early-stopped trial reaches the GP with its last reported objective, a value measured at an
earlier step than the completed trials' values. ``hpcore.strategies.bayesian.STOPPED_NOISE`` is the
extra variance (standardised units) such an observation gets; 0 fits partial values exactly. This
script runs the ``bayesian`` strategy with early stopping on the two problems of
``bench_early_stopping.py`` (``synthetic`` learning curves, ``digits-mlp`` real training, 27 epochs
per full run) for each value of ``--noise`` and prints, per problem and stopping rule, the mean and
median best completed objective and the mean number of epochs over the seeds. Rules: hpcore's
``median`` (its default) and ``median_per_step``, the rule of Optuna's ``MedianPruner``
(hpcore's ``median`` with ``running_average=False, completed_only=True``); both with ``min_trials=3``,
``warmup_steps=1``. Run::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/bench_stopped_noise.py \\
        [--problems synthetic digits-mlp] [--seeds 12] [--trials 30] [--noise 0 0.25]

Results (history): ``docs/benchmarks-log.md``, "hpcore callbacks vs Optuna integration callbacks".
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_adapters_vs_optuna as adapters  # noqa: E402
import bench_early_stopping as es  # noqa: E402

import hpcore  # noqa: E402
from hpcore.strategies import bayesian  # noqa: E402

RULES: dict[str, dict[str, Any]] = {"median": {}, "median_per_step": adapters.OPTUNA_RULE}


def run(problem: es.Problem, seed: int, stopper: str, trials: int) -> tuple[float, int]:
    """One tuning job; returns its best completed objective and the epochs it trained."""
    steps = 0

    def train(params: dict[str, Any], reporter: hpcore.Reporter) -> dict[str, float]:
        nonlocal steps
        value = float("nan")
        for epoch in range(1, es.EPOCHS + 1):
            value = problem.curve(params, seed, epoch)
            steps += 1
            if reporter.report(epoch, **{problem.objective: value}):
                break
        return {problem.objective: value}

    job = hpcore.TuningJob(train, problem.space, objective=problem.objective, direction=problem.direction,
                           strategy="bayesian", early_stopping="median",
                           stopper_options={"min_trials": 3, "warmup_steps": 1, **RULES[stopper]},
                           max_trials=trials, seed=seed, progress=False)
    best = job.run().best
    assert best is not None and best.value is not None
    return float(best.value), steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", choices=["synthetic", "digits-mlp"],
                        default=["synthetic", "digits-mlp"])
    parser.add_argument("--stoppers", nargs="+", choices=["median", "median_per_step"],
                        default=["median_per_step", "median"])
    parser.add_argument("--seeds", type=int, default=12, help="seeds 0 .. N-1")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--noise", nargs="+", type=float, default=[0.0, bayesian.STOPPED_NOISE])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("hpcore").setLevel(logging.ERROR)
    print("| problem | rule | STOPPED_NOISE | best (mean) | best (median) | epochs (mean) |")
    print("|---|---|---:|---:|---:|---:|")
    for name in args.problems:
        problem = es.SYNTHETIC if name == "synthetic" else es.digits_problem()
        for stopper in args.stoppers:
            for noise in args.noise:
                bayesian.STOPPED_NOISE = noise
                runs = [run(problem, seed, stopper, args.trials) for seed in range(args.seeds)]
                bests = [b for b, _ in runs]
                print(f"| {name} ({problem.objective}, {problem.direction}) | {stopper} | {noise:g} | "
                      f"{statistics.fmean(bests):.4f} | {statistics.median(bests):.4f} | "
                      f"{statistics.fmean(s for _, s in runs):.1f} |", flush=True)


if __name__ == "__main__":
    main()
