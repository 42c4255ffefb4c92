"""hpcore's trainer callbacks against Optuna's integration callbacks, on the same tuning tasks.

For each framework (Lightning, Keras 3 on torch, XGBoost) one small tuning task, taken from the
examples (``examples/lightning_cnn``, ``examples/keras_cnn``, ``examples/xgboost_trees``: same data
generators and models, a smaller search space; the Keras images get extra noise so that the best
values do not all saturate at 1.0), is tuned per seed with the same budget by three variants:

* **hpcore, Optuna's rule** (``hpcore-per-step``, the main comparison):
  ``hpcore.TuningJob(strategy="bayesian", early_stopping="median")`` with ``stopper_options``
  ``running_average=False, completed_only=True`` and the adapter's ``TuningCallback``: the rule of
  Optuna's ``MedianPruner`` (values at the step, not running averages; completed trials only),
  ``min_trials=3``, ``warmup_steps=W``;
* **hpcore, default median** (``hpcore``): the same with ``early_stopping="median"`` (SageMaker's
  rule: running averages, every trial that reached the step), same ``min_trials`` and warm-up;
* **Optuna** (``optuna``): ``TPESampler(seed)`` + ``MedianPruner(n_startup_trials=3, n_warmup_steps=W)``
  with ``PyTorchLightningPruningCallback`` / ``KerasPruningCallback`` / ``XGBoostPruningCallback`` of
  ``optuna_integration``.

Both see the same search space (same ranges and scales; hpcore's ``reverse_log`` becomes a log-scaled
``1 - x`` in Optuna), the same number of trials, the same maximum epochs/rounds, and the same number of
start-up trials before their model is used (TPE's ``n_startup_trials`` is set to hpcore's
``n_initial``). Every configuration trains deterministically (fixed data and model seeds), so the two
libraries differ only in what they sample and what they stop.

Steps are epochs or boosting rounds actually run. hpcore: ``record.step`` of each trial (its callbacks
count 1, 2, 3 ...). Optuna: ``trial.last_step + 1`` of each trial (its callbacks report the 0-based
epoch / iteration). A warm-up of ``W`` means the same in both: no stop during the first ``W`` steps
(hpcore stops nothing at steps ``<= W``, Optuna nothing at 0-based steps ``< W``). The best objective
is each library's own: the best trial that ran to the end (``result.best``, ``study.best_value``).
Run::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 KERAS_BACKEND=torch \\
        python benchmarks/bench_adapters_vs_optuna.py [--frameworks lightning keras xgboost] \\
        [--seeds 0 1 2 3 4] [--variants hpcore-per-step hpcore optuna]

It prints one Markdown table per framework (one row per seed and variant, then the means: best
objective, steps, stopped trials; for each hpcore row whether its best is equal or better than
Optuna's, whether it used no more steps, and both), then per hpcore variant the number of seeds on
which it is equal-or-better with no more steps. Results and analysis:
``docs/benchmarks.md``, "hpcore callbacks vs Optuna integration callbacks".
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import math
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import optuna  # noqa: E402

import hpcore  # noqa: E402
from hpcore.strategies import bayesian  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
KERAS_NOISE = 0.6  # extra Gaussian noise on the Keras task's images (see keras_task)

# A fit takes the trial's parameters and one callback (hpcore's or Optuna's) and returns the final
# value of the monitored metric.
Fit = Callable[[dict[str, Any], Any], float]


def load_example(name: str) -> ModuleType:
    """Imports ``examples/<name>/tune.py`` under a unique module name (the three files share a name)."""
    spec = importlib.util.spec_from_file_location(f"_example_{name}", EXAMPLES / name / "tune.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Task:
    """One framework's tuning task, runnable through either library."""

    framework: str
    space: hpcore.SearchSpace
    objective: str  # hpcore's name of the monitored metric
    direction: str
    trials: int
    steps: int  # max epochs / boosting rounds per trial
    warmup: int  # no stop after the first ``warmup`` steps
    fit: Fit
    hpcore_callback: Callable[[], Any]
    optuna_callback: Callable[[optuna.Trial], Any]
    step_name: str = "epochs"


def lightning_task(trials: int, epochs: int) -> Task:
    import lightning.pytorch as pl
    import torch
    from optuna_integration import PyTorchLightningPruningCallback

    from hpcore_lightning import TuningCallback

    ex = load_example("lightning_cnn")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    logging.getLogger("lightning.fabric").setLevel(logging.ERROR)
    train_ds, valid_ds = ex.make_images(512, 0), ex.make_images(256, 1)
    # hflip: the Keras task needs one augmentation layer (an empty one fails); the same here.
    fixed = {"depth": 2, "filter_size": 3, "pooling": "max", "init": "he_normal", "hflip": 0.5}

    def fit(params: dict[str, Any], callback: Any) -> float:
        torch.manual_seed(0)
        train_dl = torch.utils.data.DataLoader(train_ds, batch_size=64, shuffle=True)
        valid_dl = torch.utils.data.DataLoader(valid_ds, batch_size=256)
        trainer = pl.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False,
                             enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                             num_sanity_val_steps=0, callbacks=[callback])
        trainer.fit(ex.BarNet({**fixed, **params}), train_dl, valid_dl)
        return float(trainer.callback_metrics["val_acc"])

    space = hpcore.SearchSpace({
        "optimizer": hpcore.Categorical(["adam", "sgd"], category="optimizer"),
        "lr": hpcore.Float(1e-4, 1e-1, scale="log", category="optimizer"),
        "momentum": hpcore.Float(0.5, 0.95, scale="reverse_log", category="optimizer"),
        "filters": hpcore.Int(2, 16, scale="log"),
        "dropout": hpcore.Float(0.0, 0.5, scale="linear"),
    })
    return Task("Lightning 2 (torch)", space, "val_acc", "maximize", trials, epochs, 1, fit,
                lambda: TuningCallback(monitor="val_acc"),
                lambda trial: PyTorchLightningPruningCallback(trial, monitor="val_acc"))


def add_noise(images: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """``images`` plus Gaussian noise of standard deviation ``sigma`` (a harder version of the data)."""
    return images + sigma * np.random.default_rng(seed).normal(size=images.shape).astype(images.dtype)


def keras_task(trials: int, epochs: int, noise: float = KERAS_NOISE) -> Task:
    import keras
    from optuna_integration import KerasPruningCallback

    from hpcore_keras import TuningCallback

    ex = load_example("keras_cnn")
    (x, y), (xv, yv) = ex.make_images(512, 0), ex.make_images(256, 1)
    # With the example's images most configurations reach val_auc 1.0; extra noise keeps them apart.
    x, xv = add_noise(x, noise, 10), add_noise(xv, noise, 11)
    # hflip: hpcore_keras.make_augmentation without augmentation gives an empty Sequential, which fails.
    fixed = {"depth": 2, "filter_size": 3, "pooling": "max", "init": "he_normal", "hflip": 0.5}

    def fit(params: dict[str, Any], callback: Any) -> float:
        keras.utils.set_random_seed(0)
        history = ex.build({**fixed, **params}).fit(x, y, validation_data=(xv, yv), epochs=epochs, batch_size=64,
                                                    verbose=0, callbacks=[callback])
        return float(history.history["val_auc"][-1])

    space = hpcore.SearchSpace({
        "optimizer": hpcore.Categorical(["adam", "sgd"], category="optimizer"),
        "lr": hpcore.Float(1e-4, 1e-1, scale="log", category="optimizer"),
        "momentum": hpcore.Float(0.5, 0.95, scale="reverse_log", category="optimizer"),
        "filters": hpcore.Int(2, 16, scale="log"),
        "dropout": hpcore.Float(0.0, 0.5, scale="linear"),
    })
    name = "Keras 3 (torch backend)" + (f", images with extra noise {noise:g}" if noise > 0 else "")
    return Task(name, space, "val_auc", "maximize", trials, epochs, 1, fit,
                lambda: TuningCallback(monitor="val_auc"),
                lambda trial: KerasPruningCallback(trial, monitor="val_auc"))


def xgboost_task(trials: int, rounds: int) -> Task:
    import xgboost as xgb
    from optuna_integration import XGBoostPruningCallback

    import hpcore_xgboost
    from hpcore_xgboost import TuningCallback

    ex = load_example("xgboost_trees")
    x, y = ex.make_data()
    dtrain = xgb.DMatrix(x, label=y)

    def fit(params: dict[str, Any], callback: Any) -> float:
        booster = {"objective": "binary:logistic", "eval_metric": "auc", "nthread": 1, "tree_method": "hist",
                   "max_depth": params["max_depth"], "min_child_weight": params["min_child_weight"],
                   "subsample": params["subsample"], "colsample_bytree": params["colsample_bytree"],
                   **hpcore_xgboost.booster_params(params)}
        history = xgb.cv(booster, dtrain, num_boost_round=rounds, nfold=3, seed=0, callbacks=[callback])
        return float(history["test-auc-mean"].iloc[-1])

    return Task("XGBoost 3 (hist, 3-fold cv)", ex.space(), "test-auc", "maximize", trials, rounds, 5, fit,
                lambda: TuningCallback(monitor="test-auc"),
                lambda trial: XGBoostPruningCallback(trial, observation_key="test-auc"),
                step_name="rounds")


TASKS: dict[str, Callable[..., Task]] = {"lightning": lightning_task, "keras": keras_task,
                                                "xgboost": xgboost_task}
DEFAULTS = {"lightning": (20, 10), "keras": (20, 10), "xgboost": (30, 200)}  # trials, max steps


def suggest(trial: optuna.Trial, space: hpcore.SearchSpace) -> dict[str, Any]:
    """The same ranges and scales as ``space``, asked from an Optuna trial."""
    out: dict[str, Any] = {}
    for name, p in space.items():
        if isinstance(p, hpcore.Categorical):
            out[name] = trial.suggest_categorical(name, p.values)
        elif isinstance(p, hpcore.Int):
            out[name] = trial.suggest_int(name, p.min, p.max, step=p.step, log=p.scale == "log")
        elif p.scale == "reverse_log":  # uniform in log(1 - x), as hpcore's reverse_log
            out[name] = 1.0 - trial.suggest_float(f"1-{name}", 1.0 - p.max, 1.0 - p.min, log=True)
        else:
            out[name] = trial.suggest_float(name, p.min, p.max, log=p.scale == "log")
    return out


#: hpcore's ``median`` stopper with Optuna's ``MedianPruner`` rule: values at the step, completed trials only.
OPTUNA_RULE: dict[str, Any] = {"running_average": False, "completed_only": True}


@dataclass
class Run:
    best: float
    steps: float  # epochs / rounds run, over all trials (a mean over seeds in the last row)
    stopped: int  # trials stopped / pruned
    seconds: float


def run_hpcore(task: Task, seed: int, rule: dict[str, Any] | None = None) -> Run:
    def train(params: dict[str, Any], reporter: hpcore.Reporter) -> None:
        task.fit(params, task.hpcore_callback())  # returns nothing: the objective is the last report

    job = hpcore.TuningJob(train, task.space, objective=task.objective, direction=task.direction,
                           strategy="bayesian", early_stopping="median",
                           stopper_options={"min_trials": 3, "warmup_steps": task.warmup, **(rule or {})},
                           max_trials=task.trials, seed=seed, progress=False)
    t0 = time.perf_counter()
    result = job.run()
    best = result.best
    assert best is not None and best.value is not None
    stopped = sum(r.state == hpcore.TrialState.STOPPED for r in result.trials)
    return Run(float(best.value), sum(r.step or 0 for r in result.trials), stopped, time.perf_counter() - t0)


def run_optuna(task: Task, seed: int, n_startup: int) -> Run:
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=task.warmup)
    study = optuna.create_study(direction=task.direction, sampler=sampler, pruner=pruner)

    def objective(trial: optuna.Trial) -> float:
        return task.fit(suggest(trial, task.space), task.optuna_callback(trial))

    t0 = time.perf_counter()
    study.optimize(objective, n_trials=task.trials)
    seconds = time.perf_counter() - t0
    # Optuna's callbacks report 0-based epochs/iterations: a trial whose last step is k ran k + 1.
    steps = sum(t.last_step + 1 for t in study.trials if t.last_step is not None)
    return Run(float(study.best_value), steps,
               sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials), seconds)


# Variant -> (short label for the tables, what it is).
VARIANTS = {"hpcore-per-step": ("hpcore, Optuna's rule", "hpcore's sampler with the median rule of Optuna's "
                                  "MedianPruner (running_average=False, completed_only=True)"),
            "hpcore": ("hpcore, default median", "hpcore's sampler with its default median rule (SageMaker's: "
                                                 "running averages, every trial that reached the step)"),
            "optuna": ("Optuna", "TPESampler + MedianPruner")}


def equal_or_better(h: Run, o: Run, direction: str) -> bool:
    return h.best >= o.best if direction == "maximize" else h.best <= o.best


def verdict(h: Run, o: Run, direction: str) -> str:
    return "yes" if equal_or_better(h, o, direction) and h.steps <= o.steps else "**no**"


def table(task: Task, seeds: list[int], runs: dict[str, list[Run]]) -> str:
    """One row per seed and variant, then the means; each hpcore row is compared with Optuna's."""
    s = task.step_name
    names = list(runs)
    compare = "optuna" in runs
    lines = [f"**{task.framework}**: {task.trials} trials, at most {task.steps} {s} each "
             f"({task.trials * task.steps} {s} without stopping), warm-up {task.warmup}, "
             f"objective {task.objective} ({task.direction})",
             "",
             f"| seed | variant | best | {s} | stopped | time s |"
             + (" best >= Optuna's | no more steps | both |" if compare else ""),
             "|---|---|---:|---:|---:|---:|" + ("---|---|---|" if compare else "")]

    def row(label: str, v: str, r: Run, o: Run | None, fmt: str, stopped: float) -> str:
        cells = [label, VARIANTS[v][0], f"{r.best:.4f}", format(r.steps, fmt), format(stopped, fmt),
                 f"{r.seconds:.0f}"]
        if compare:
            cells += (["", "", ""] if o is None or v == "optuna" else
                      ["yes" if equal_or_better(r, o, task.direction) else "no",
                       "yes" if r.steps <= o.steps else "no", verdict(r, o, task.direction)])
        return "| " + " | ".join(cells) + " |"

    for i, seed in enumerate(seeds):
        lines += [row(str(seed), v, runs[v][i], runs["optuna"][i] if compare else None, ".0f", runs[v][i].stopped)
                  for v in names]
    means = {v: Run(statistics.fmean(r.best for r in runs[v]), statistics.fmean(r.steps for r in runs[v]),
                    0, statistics.fmean(r.seconds for r in runs[v])) for v in names}
    for v in names:
        lines.append(row("**mean**", v, means[v], means.get("optuna"), ".1f",
                         statistics.fmean(r.stopped for r in runs[v])))
    lines.append("")
    for v in [v for v in names if v != "optuna"] if compare else []:
        ok = sum(verdict(h, o, task.direction) == "yes" for h, o in zip(runs[v], runs["optuna"], strict=True))
        ratio = means[v].steps / means["optuna"].steps if means["optuna"].steps else math.nan
        lines.append(f"- {VARIANTS[v][0]}: equal-or-better best with no more steps on {ok} of {len(seeds)} "
                     f"seeds; mean best {means[v].best:.4f} vs {means['optuna'].best:.4f}, "
                     f"mean {s} {means[v].steps:.1f} vs {means['optuna'].steps:.1f} ({ratio:.2f}x).")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", nargs="+", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
                        help="; ".join(f"{k}: {d}" for k, (_, d) in VARIANTS.items()))
    parser.add_argument("--trials", type=int, default=None, help="override every task's trial budget")
    parser.add_argument("--steps", type=int, default=None, help="override every task's max epochs/rounds")
    parser.add_argument("--keras-noise", type=float, default=KERAS_NOISE,
                        help="extra noise on the Keras task's images (0: the example's data as is)")
    parser.add_argument("--stopped-noise", type=float, default=bayesian.STOPPED_NOISE,
                        help="extra GP variance of early-stopped trials in hpcore's strategy (0: exact, as before)")
    args = parser.parse_args()
    bayesian.STOPPED_NOISE = args.stopped_noise
    optuna.logging.set_verbosity(optuna.logging.WARNING), warnings.filterwarnings("ignore")
    logging.getLogger("hpcore").setLevel(logging.ERROR)
    for name in args.frameworks:
        trials, steps = DEFAULTS[name]
        extra = {"noise": args.keras_noise} if name == "keras" else {}
        task = TASKS[name](args.trials or trials, args.steps or steps, **extra)
        n_startup = bayesian.BayesianStrategy(task.space, direction=task.direction).n_initial
        runs: dict[str, list[Run]] = {v: [] for v in args.variants}
        for seed in args.seeds:
            for v in args.variants:
                r = (run_optuna(task, seed, n_startup) if v == "optuna"
                     else run_hpcore(task, seed, None if v == "hpcore" else OPTUNA_RULE))
                print(f"# {name} seed {seed} {v}: best {r.best:.4f}, {r.steps} steps, {r.stopped} stopped, "
                      f"{r.seconds:.0f} s", flush=True)
                runs[v].append(r)
        print(f"\n{table(task, args.seeds, runs)}\n\n(TPE and hpcore start-up trials: {n_startup})\n", flush=True)


if __name__ == "__main__":
    main()
