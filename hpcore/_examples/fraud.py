"""``hpcore example fraud``: tune a linear learner to maximise validation AUC on card fraud data.

Runs 25 trials with the ``bayesian`` strategy and ``median`` early stopping over learning rate,
beta1, beta2 and epochs (SageMaker Linear Learner's Adam settings), then compares the untuned
default configuration with the tuned one and scores the best model on the held-out test split.
The job is stored in SQLite (rerunning the same command resumes it) and every trial keeps its
model next to it: the best one comes back with ``result.best.load_model()`` (a
:class:`~hpcore.algorithms.linear_learner.LinearModel`, which scores raw rows) and
``hpcore best STORE --export DIR`` copies it out.

With ``--tradeoff`` the job has two objectives, validation AUC (maximised) and the model's size
(how many of the columns it uses, plus its bias; minimised), and prints the Pareto front: the
models that no other one beats on both.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from hpcore import plugins
from hpcore.algorithms.linear_learner import OBJECTIVE, LinearLearner, linear_learner_space
from hpcore.datasets.fraud import auc
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
    p.add_argument("--keep", default="3", help="trials that keep their model: a number, 'all' or 'none' "
                                            "(default 3, the best ones)")
    p.add_argument("--data", default=None, help="your own CSV (for example creditcard.csv) instead of generated data")
    p.add_argument("--target", default="Class", help="the 0/1 label column of --data (default Class)")
    p.add_argument("--rows", type=int, default=100_000, help="rows of the generated data (default 100000)")
    p.add_argument("--strategy", default="bayesian", help="search strategy (default bayesian)")
    p.add_argument("--tradeoff", action="store_true",
                   help="two objectives: validation AUC against model size (columns used); prints the front")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def run(trials: int = 25, seed: int = 0, store: str | None = None, data: str | None = None,
        target: str = "Class", rows: int = 100_000, strategy: str = "bayesian",
        progress: bool = True, tradeoff: bool = False,
        keep: int | str = "all") -> tuple[TuningResult, LinearLearner]:
    """Runs the tuning job (the Python-API form of the example); returns the result and trainer.

    With ``tradeoff`` the objectives are validation AUC and ``model_size`` (see the module doc).
    """
    train = LinearLearner(rows=rows, seed=seed, data=data, target=target)
    strategy, stopper = choose_methods(strategy, "median")
    source = os.path.basename(data) if data else f"generated{rows}"
    if tradeoff:
        space = linear_learner_space(n_features=train.dataset().x_train.shape[1])
        goal: dict[str, Any] = {"objective": [OBJECTIVE, "model_size"], "direction": ["maximize", "minimize"]}
    else:
        space, goal = linear_learner_space(), {"objective": OBJECTIVE, "direction": "maximize"}
    job = TuningJob(train, space, **goal, strategy=strategy, max_trials=trials, early_stopping=stopper,
                    store=store, name=f"fraud-{source}-seed{seed}{'-tradeoff' if tradeoff else ''}", seed=seed,
                    progress=progress, keep_artifacts=keep)
    return job.run(), train


def _front(result: TuningResult, started: float) -> int:
    """Prints the trade-off a ``--tradeoff`` job found."""
    front = sorted(result.pareto_front(), key=lambda r: r.metrics["model_size"])
    counts = ", ".join(f"{n} {state}" for state, n in sorted(result.counts().items()))
    print(f"\n{len(result.trials)} trials ({counts}) in {time.monotonic() - started:.0f}s")
    if not front:
        print("no trial produced both objectives; see the store for errors", file=sys.stderr)
        return 1
    print(f"Pareto front: {len(front)} models no other trial beats on both validation AUC and size")
    print("\n  trial  columns used  validation AUC  learning rate  epochs")
    for r in front:
        print(f"  {r.id:>5}  {int(r.metrics['model_size']) - 1:>12}  {r.metrics[OBJECTIVE]:>14.4f}  "
              f"{r.params['learning_rate']:>13.3g}  {r.params['epochs']:>6}")
    return 0


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
    aim = f"maximising {OBJECTIVE}" + (" and minimising model_size (columns used)" if args.tradeoff else "")
    print(f"Fraud detection: linear learner (logistic regression, Adam), {aim}")
    print(f"Data: {args.data or 'generated card transactions'}: {data.describe()}")
    keep: int | str = int(args.keep) if args.keep.isdigit() else args.keep
    result, trainer = run(args.trials, args.seed, args.store, args.data, args.target, args.rows,
                          args.strategy, progress=not args.no_progress, tradeoff=args.tradeoff, keep=keep)
    if args.tradeoff:
        code = _front(result, started)
        print(f"\nStore: {args.store}")
        return code
    best = result.best_or_none
    if best is None:
        print("no trial produced a validation AUC; see the store for errors", file=sys.stderr)
        return 1
    space = linear_learner_space()
    default = trainer.final_model(space.defaults())
    model = best.load_model()  # the best trial's own model, kept by the job: no retraining
    tuned = {split: auc(getattr(data, f"y_{split}"), model.decision_function(getattr(data, f"x_{split}"),
                                                                              standardized=True))
             for split in ("val", "test")}
    counts = ", ".join(f"{n} {state}" for state, n in sorted(result.counts().items()))
    print(f"\n{len(result.trials)} trials ({counts}) in {time.monotonic() - started:.0f}s")
    print(f"Best hyperparameters (trial {best.id}):")
    print(_table([(k, f"{v:.6g}" if isinstance(v, float) else str(v)) for k, v in best.params.items()]))
    print("\n  configuration        validation AUC   test AUC")
    print(f"  default (untuned)    {default['validation_auc']:.4f}           {default['test_auc']:.4f}")
    print(f"  tuned (best trial)   {tuned['val']:.4f}           {tuned['test']:.4f}")
    print(f"\nStore: {args.store}   best model: {best.artifact_dir}")
    print(f"Load it with hpcore.TuningResult.from_store({args.store!r}, {result.name!r}).best.load_model(), "
          f"or copy it out with: hpcore best {args.store} --name {result.name} --export DIR")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
