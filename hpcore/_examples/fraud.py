"""``hpcore example fraud``: tune a linear learner to maximise validation AUC on card fraud data.

Runs 25 trials with the ``bayesian`` strategy and ``median`` early stopping over learning rate,
beta1, beta2 and epochs (SageMaker Linear Learner's Adam settings; ``--space large`` adds weight
decay, L1, the positive-class weight and the mini-batch size), then compares the untuned default
configuration with the tuned one on the validation and the later, held-out test period. It does
so ``--repeats`` times (5 by default) on data generated from consecutive seeds and prints the gain
of tuning with its spread over the runs. Each run is a job in the SQLite store (rerunning the same
command resumes them) and every trial keeps its model next to it: the best one comes back with
``result.best.load_model()`` (a :class:`~hpcore.algorithms.linear_learner.LinearModel`, which
scores raw rows) and ``hpcore best STORE --export DIR`` copies it out.

With ``--tradeoff`` the job has two objectives, validation AUC (maximised) and the model's size
(how many of the columns it uses, plus its bias; minimised), and prints the Pareto front: the
models that no other one beats on both.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpcore import plugins
from hpcore.algorithms.linear_learner import OBJECTIVE, LinearLearner, linear_learner_space
from hpcore.datasets.fraud import auc
from hpcore.job import TuningJob
from hpcore.models import ModelNotFound
from hpcore.results import TuningResult

__all__ = ["Outcome", "choose_methods", "main", "outcome", "run"]


def choose_methods(strategy: str = "bayesian", stopper: str = "median") -> tuple[str, str]:
    """``(strategy, stopper)``, falling back to ``random``/``none`` with a notice when not registered."""
    if strategy not in plugins.registry("strategies"):
        print(f"note: strategy {strategy!r} is not available in this build; using 'random'", file=sys.stderr)
        strategy = "random"
    if stopper not in plugins.registry("stoppers"):
        print(f"note: early stopping {stopper!r} is not available in this build; using 'none'", file=sys.stderr)
        stopper = "none"
    return strategy, stopper


SPACES = ("default", "large")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hpcore example fraud", description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=25, help="number of trials per run (default 25)")
    p.add_argument("--seed", type=int, default=0, help="seeds the data, its split, training and the search "
                                                        "of the first run; run k uses seed + k")
    p.add_argument("--repeats", type=int, default=None,
                   help="tuning runs, each on its own seed, for the spread of the gain (default 5; 1 with --tradeoff)")
    p.add_argument("--space", choices=SPACES, default="default",
                   help="default: learning rate, betas, epochs; large: also weight decay, L1, "
                        "positive-class weight and mini-batch size")
    p.add_argument("--store", default=os.path.join("hpcore-runs", "fraud.db"), help="SQLite store of the jobs")
    p.add_argument("--keep", default="3", help="trials that keep their model: a number, 'all' or 'none' "
                                            "(default 3, the best ones)")
    p.add_argument("--data", default=None, help="your own CSV (for example creditcard.csv) instead of generated data")
    p.add_argument("--target", default="Class", help="the 0/1 label column of --data (default Class)")
    p.add_argument("--rows", type=int, default=50_000, help="rows of the generated data (default 50000)")
    p.add_argument("--strategy", default="bayesian", help="search strategy (default bayesian)")
    p.add_argument("--tradeoff", action="store_true",
                   help="two objectives: validation AUC against model size (columns used); prints the front")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def run(trials: int = 25, seed: int = 0, store: str | None = None, data: str | None = None,
        target: str = "Class", rows: int = 50_000, strategy: str = "bayesian",
        progress: bool = True, tradeoff: bool = False,
        keep: int | str = "all", space: str = "default") -> tuple[TuningResult, LinearLearner]:
    """Runs one tuning job (the Python-API form of the example); returns the result and trainer.

    With ``tradeoff`` the objectives are validation AUC and ``model_size`` (see the module doc);
    ``space`` is ``"default"`` or ``"large"`` (see :func:`linear_learner_space`).
    """
    if space not in SPACES:
        raise ValueError(f"space={space!r}: use one of {', '.join(SPACES)}")
    train = LinearLearner(rows=rows, seed=seed, data=data, target=target)
    strategy, stopper = choose_methods(strategy, "median")
    source = os.path.basename(data) if data else f"generated{rows}"
    large = space == "large"
    if tradeoff:
        ranges = linear_learner_space(n_features=train.dataset().x_train.shape[1], large=large)
        goal: dict[str, Any] = {"objective": [OBJECTIVE, "model_size"], "direction": ["maximize", "minimize"]}
    else:
        ranges, goal = linear_learner_space(large=large), {"objective": OBJECTIVE, "direction": "maximize"}
    name = f"fraud-{source}-seed{seed}{'-large' if large else ''}{'-tradeoff' if tradeoff else ''}"
    job = TuningJob(train, ranges, **goal, strategy=strategy, max_trials=trials, early_stopping=stopper,
                    store=store, name=name, seed=seed, progress=progress, keep_artifacts=keep)
    return job.run(), train


@dataclass(frozen=True)
class Outcome:
    """One run of the example: the untuned defaults against the best trial's own model.

    Attributes:
        seed: The run's seed.
        default_val: Validation AUC of the default configuration.
        default_test: Test AUC of the default configuration.
        tuned_val: Validation AUC of the best trial's model.
        tuned_test: Test AUC of the best trial's model.
        params: The best trial's hyperparameters.
        trial: The best trial's id.

    Example:
        >>> o = Outcome(0, 0.90, 0.88, 0.93, 0.90, {"learning_rate": 0.03}, 7)
        >>> round(o.gain_val, 3), round(o.gain_test, 3)
        (0.03, 0.02)
    """

    seed: int
    default_val: float
    default_test: float
    tuned_val: float
    tuned_test: float
    params: dict[str, Any]
    trial: int

    @property
    def gain_val(self) -> float:
        """Validation AUC gained by tuning."""
        return self.tuned_val - self.default_val

    @property
    def gain_test(self) -> float:
        """Test AUC gained by tuning."""
        return self.tuned_test - self.default_test


def outcome(result: TuningResult, trainer: LinearLearner, seed: int) -> Outcome | None:
    """Scores the default configuration and the best trial's model; None when no trial finished.

    The model is the one the trial kept; when the job kept none (``keep="none"``), the best
    configuration is trained again, which gives the same model (training is seeded).
    """
    best = result.best_or_none
    if best is None:
        return None
    data = trainer.dataset()
    default = trainer.final_model(linear_learner_space().defaults())
    try:
        model = best.load_model()  # the best trial's own model, kept by the job: no retraining
    except ModelNotFound:
        again = trainer.final_model(dict(best.params))
        tuned = {"val": again["validation_auc"], "test": again["test_auc"]}
    else:
        tuned = {split: auc(getattr(data, f"y_{split}"), model.decision_function(getattr(data, f"x_{split}"),
                                                                                  standardized=True))
                 for split in ("val", "test")}
    return Outcome(seed, default["validation_auc"], default["test_auc"], tuned["val"], tuned["test"],
                   dict(best.params), best.id)


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


def _value(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _spread(xs: list[float]) -> str:
    a = np.asarray(xs)
    return f"{a.mean():+.4f} ± {a.std(ddof=1):.4f}" if len(a) > 1 else f"{a.mean():+.4f}"


def _report(outcomes: list[Outcome]) -> None:
    """Prints each run's AUCs and best hyperparameters, then the gain's mean and spread."""
    names = list(outcomes[0].params)
    widths = [max(len(n), *(len(_value(o.params[n])) for o in outcomes)) for n in names]
    print("\n  run  seed  trial  default val  tuned val  default test  tuned test  "
          + "  ".join(f"{n:>{w}}" for n, w in zip(names, widths)))
    for k, o in enumerate(outcomes, 1):
        print(f"  {k:>3}  {o.seed:>4}  {o.trial:>5}  {o.default_val:>11.4f}  {o.tuned_val:>9.4f}  "
              f"{o.default_test:>12.4f}  {o.tuned_test:>10.4f}  "
              + "  ".join(f"{_value(o.params[n]):>{w}}" for n, w in zip(names, widths)))
    print("\nGain of tuning over the defaults" + (f" (mean ± std over {len(outcomes)} runs)" if len(outcomes) > 1
                                                  else " (one run: use --repeats 5 for its spread)"))
    print(f"  validation AUC  {_spread([o.gain_val for o in outcomes])}   "
          f"(better on {sum(o.gain_val > 0 for o in outcomes)} of {len(outcomes)})")
    print(f"  test AUC        {_spread([o.gain_test for o in outcomes])}   "
          f"(better on {sum(o.gain_test > 0 for o in outcomes)} of {len(outcomes)})")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``hpcore example fraud``; returns the exit code."""
    args = _parser().parse_args(argv)
    repeats = args.repeats if args.repeats is not None else (1 if args.tradeoff else 5)
    if args.trials < 1 or args.rows < 1000 or repeats < 1:
        print("hpcore example fraud: use --trials >= 1, --rows >= 1000 and --repeats >= 1", file=sys.stderr)
        return 2
    if args.tradeoff and repeats > 1:
        print("hpcore example fraud: --tradeoff prints one Pareto front; use --repeats 1 with it", file=sys.stderr)
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
    print(f"Fraud detection: linear learner (logistic regression, Adam), {aim}, {args.space} space")
    print(f"Data: {args.data or 'generated card transactions'}: {data.describe()}")
    keep: int | str = int(args.keep) if args.keep.isdigit() else args.keep
    outcomes, names = [], []
    for seed in range(args.seed, args.seed + repeats):
        if repeats > 1:
            print(f"\nRun {seed - args.seed + 1} of {repeats} (seed {seed}): {args.trials} trials", flush=True)
        result, trainer = run(args.trials, seed, args.store, args.data, args.target, args.rows, args.strategy,
                              progress=not args.no_progress, tradeoff=args.tradeoff, keep=keep, space=args.space)
        if args.tradeoff:
            code = _front(result, started)
            print(f"\nStore: {args.store}")
            return code
        done = outcome(result, trainer, seed)
        if done is None:
            print(f"seed {seed}: no trial produced a validation AUC; see the store for errors", file=sys.stderr)
            return 1
        outcomes.append(done)
        names.append(result.name)
        counts = ", ".join(f"{n} {state}" for state, n in sorted(result.counts().items()))
        print(f"{len(result.trials)} trials ({counts}); best validation AUC {done.tuned_val:.4f} "
              f"(default {done.default_val:.4f})")
    _report(outcomes)
    print(f"\n{repeats * args.trials} trials in {time.monotonic() - started:.0f}s. Store: {args.store}, "
          f"jobs {', '.join(names)}")
    if keep == "none" or keep == 0:
        print("No model was kept (--keep none): the tuned scores above come from training the best "
              "configuration again")
    else:
        print(f"Load a best model with hpcore.TuningResult.from_store({args.store!r}, {names[0]!r})"
              f".best.load_model(), or copy it out with: hpcore best {args.store} --name {names[0]} --export DIR")
    return 0
