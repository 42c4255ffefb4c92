"""``hpcore example fraud``: tune a linear learner to maximise validation AUC on card fraud data.

Runs 25 trials with the ``bayesian`` strategy and ``median`` early stopping over learning rate,
beta1, beta2 and epochs (SageMaker Linear Learner's Adam settings), then compares the untuned
default configuration with the tuned one and scores the best model on the held-out test split.
The job is stored in SQLite (rerunning the same command resumes it) and the best model is saved
as an ``.npz`` file with its weights and the standardisation fitted on the training split.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import numpy as np

from hpcore import plugins
from hpcore.algorithms.linear_learner import OBJECTIVE, LinearLearner, linear_learner_space
from hpcore.job import TuningJob
from hpcore.results import TuningResult

__all__ = ["choose_methods", "main", "run"]


def choose_methods(strategy: str = "bayesian", stopper: str = "median") -> tuple[str, str]:
    """``(strategy, stopper)``, falling back to ``random``/``none`` with a notice when not registered."""
    if strategy not in plugins.registry("strategies"):
        print(f"note: strategy {strategy!r} is not available in this build; using 'random'", file=sys.stderr)
        strategy = "random"
    if stopper not in plugins.registry("stoppers"):
        print(f"note: early stopping {stopper!r} is not available in this build; using 'none'", file=sys.stderr)
        stopper = "none"
    return strategy, stopper


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hpcore example fraud", description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=25, help="number of trials (default 25)")
    p.add_argument("--seed", type=int, default=0, help="seeds the data, its split, training and the search")
    p.add_argument("--store", default=os.path.join("hpcore-runs", "fraud.db"), help="SQLite store of the job")
    p.add_argument("--out", default=os.path.join("hpcore-runs", "fraud-best.npz"), help="best-model file")
    p.add_argument("--data", default=None, help="your own CSV (for example creditcard.csv) instead of generated data")
    p.add_argument("--target", default="Class", help="the 0/1 label column of --data (default Class)")
    p.add_argument("--rows", type=int, default=100_000, help="rows of the generated data (default 100000)")
    p.add_argument("--strategy", default="bayesian", help="search strategy (default bayesian)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def run(trials: int = 25, seed: int = 0, store: str | None = None, data: str | None = None,
        target: str = "Class", rows: int = 100_000, strategy: str = "bayesian",
        progress: bool = True) -> tuple[TuningResult, LinearLearner]:
    """Runs the tuning job (the Python-API form of the example); returns the result and trainer."""
    train = LinearLearner(rows=rows, seed=seed, data=data, target=target)
    strategy, stopper = choose_methods(strategy, "median")
    source = os.path.basename(data) if data else f"generated{rows}"
    job = TuningJob(train, linear_learner_space(), objective=OBJECTIVE, direction="maximize",
                    strategy=strategy, max_trials=trials, early_stopping=stopper, store=store,
                    name=f"fraud-{source}-seed{seed}", seed=seed, progress=progress)
    return job.run(), train


def _save(path: str, model: dict[str, Any], params: dict[str, Any]) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    np.savez(path, weights=model["weights"], bias=np.float64(model["bias"]), mean=model["mean"],
             scale=model["scale"], columns=np.array(model["columns"]), params=json.dumps(params))


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``hpcore example fraud``; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.trials < 1 or args.rows < 1000:
        print("hpcore example fraud: use --trials >= 1 and --rows >= 1000", file=sys.stderr)
        return 2
    if args.store:
        os.makedirs(os.path.dirname(os.path.abspath(args.store)), exist_ok=True)
    started = time.monotonic()
    trainer = LinearLearner(rows=args.rows, seed=args.seed, data=args.data, target=args.target)
    try:
        data = trainer.dataset()
    except (OSError, ValueError) as exc:
        print(f"hpcore example fraud: {exc}", file=sys.stderr)
        return 2
    print(f"Fraud detection: linear learner (logistic regression, Adam), maximising {OBJECTIVE}")
    print(f"Data: {args.data or 'generated card transactions'}: {data.describe()}")
    result, trainer = run(args.trials, args.seed, args.store, args.data, args.target, args.rows,
                          args.strategy, progress=not args.no_progress)
    best = result.best
    if best is None:
        print("no trial produced a validation AUC; see the store for errors", file=sys.stderr)
        return 1
    space = linear_learner_space()
    default = trainer.final_model(space.defaults())
    tuned = trainer.final_model(best.params)
    _save(args.out, tuned, best.params)
    counts = ", ".join(f"{n} {state}" for state, n in sorted(result.counts().items()))
    print(f"\n{len(result.trials)} trials ({counts}) in {time.monotonic() - started:.0f}s")
    print(f"Best hyperparameters (trial {best.id}):")
    print(_table([(k, f"{v:.6g}" if isinstance(v, float) else str(v)) for k, v in best.params.items()]))
    print("\n  configuration        validation AUC   test AUC")
    print(f"  default (untuned)    {default['validation_auc']:.4f}           {default['test_auc']:.4f}")
    print(f"  tuned (best trial)   {tuned['validation_auc']:.4f}           {tuned['test_auc']:.4f}")
    print(f"\nStore: {args.store}   best model: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
