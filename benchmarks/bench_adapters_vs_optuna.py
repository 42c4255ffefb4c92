"""hpcore's trainer callbacks against Optuna's integration callbacks, with the same configurations on both sides.

For each framework (Lightning, Keras 3 on torch, XGBoost) one small tuning task, taken from the
examples (``vs_optuna_tasks.py``), is tuned per seed. So that a difference is the callback's and the
stopper's, and not the sampler's, the *same-sampler* pairs run the same configurations in the same
order on both sides: hpcore's ``random`` strategy draws them from the seed, and Optuna's objective
trains exactly those (trial ``n`` trains configuration ``n``). Every fit is deterministic (fixed
data and model seeds, one thread), so the two libraries see the same learning curves, reported to
each through its own callback (hpcore's ``TuningCallback``; ``optuna_integration``'s
``PyTorchLightningPruningCallback``, ``KerasPruningCallback``, ``XGBoostPruningCallback``).

Variants (``--variants``), with ``W`` the task's warm-up and ``R = W + 1``:

* ``hpcore-per-step`` against ``optuna``: hpcore ``early_stopping="median"`` with
  ``running_average=False, completed_only=True, min_trials=3, warmup_steps=W`` (the rule of Optuna's
  ``MedianPruner``) against ``MedianPruner(n_startup_trials=3, n_warmup_steps=W)``;
* ``hpcore-asha`` against ``optuna-asha``: hpcore ``asha`` (``min_resource=R, reduction_factor=3,
  max_resource`` = the task's steps) against ``SuccessiveHalvingPruner(min_resource=R,
  reduction_factor=3)``, shown each trial with steps counted from 1 as hpcore's callbacks count them
  (:class:`OneBasedSteps`; Optuna's callbacks report 0-based epochs); ``optuna-asha-0based`` is the
  pruner on the 0-based steps as is;
* ``hpcore`` against ``optuna``: hpcore's default median rule (running averages, every trial that
  reached the step), same ``min_trials`` and warm-up: here the *rule* differs too;
* ``hpcore-defaults`` against ``optuna-defaults``: both libraries' defaults, samplers included
  (``TuningJob(strategy="bayesian", early_stopping="median")`` without options against
  ``TPESampler(seed)`` with ``MedianPruner()``); the samplers differ, so this pair does not compare callbacks.

Per pair it reports mean best objective (each library's own: its best completed trial), mean steps
(epochs or rounds run), and, for the same-sampler pairs, the trials that ended at the same step on
both sides: a trial's end is its last step and whether it completed; identical callbacks and rules
end every trial alike. Run::

    OMP_NUM_THREADS=1 KERAS_BACKEND=torch python benchmarks/bench_adapters_vs_optuna.py \\
        [--frameworks lightning keras xgboost] [--seeds 100-102] [--variants ...] [--json PATH]
    python benchmarks/bench_adapters_vs_optuna.py --print PATH [PATH ...]   # the tables again
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import logging
import os
import statistics
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import optuna  # noqa: E402
from bench_early_stopping import seed_list, span  # noqa: E402
from vs_optuna_tasks import DEFAULTS, KERAS_NOISE, TASKS, Task, suggest  # noqa: E402

import hpcore  # noqa: E402

#: hpcore's ``median`` stopper with Optuna's ``MedianPruner`` rule: values at the step, completed trials only.
OPTUNA_RULE: dict[str, Any] = {"running_average": False, "completed_only": True}

# Variant -> what it is. PAIRS: (hpcore variant, Optuna variant, what the pair compares).
VARIANTS = {
    "hpcore-per-step": "hpcore random + median(running_average=False, completed_only=True, min_trials=3, "
                       "warmup_steps=W)",
    "optuna": "the same configurations + MedianPruner(n_startup_trials=3, n_warmup_steps=W)",
    "hpcore-asha": "hpcore random + asha(min_resource=R, reduction_factor=3, max_resource=max steps)",
    "optuna-asha": "the same configurations + SuccessiveHalvingPruner(min_resource=R, reduction_factor=3), 1-based",
    "optuna-asha-0based": "the same, on the callbacks' 0-based steps",
    "hpcore": "hpcore random + its default median rule (min_trials=3, warmup_steps=W)",
    "hpcore-defaults": "TuningJob defaults: bayesian + early_stopping='median', no options",
    "optuna-defaults": "create_study defaults: TPESampler(seed) + MedianPruner()",
}
PAIRS = [("hpcore-per-step", "optuna", "same configurations, same rule (MedianPruner's)"),
         ("hpcore-asha", "optuna-asha", "same configurations, successive halving, same rungs"),
         ("hpcore-asha", "optuna-asha-0based", "same configurations, successive halving, Optuna's 0-based rungs"),
         ("hpcore", "optuna", "same configurations, hpcore's default median rule vs MedianPruner"),
         ("hpcore-defaults", "optuna-defaults", "both libraries' defaults (samplers differ)")]
DEFAULT_VARIANTS = ["hpcore-per-step", "optuna", "hpcore-asha", "optuna-asha", "hpcore-defaults", "optuna-defaults"]


class OneBasedSteps(optuna.pruners.BasePruner):
    """Shows ``pruner`` each trial with its steps counted from 1, as hpcore's callbacks count them.

    Optuna's integration callbacks report the 0-based epoch / iteration: after ``k`` epochs the trial's
    last step is ``k - 1``, so ``SuccessiveHalvingPruner(min_resource=R)`` would judge it after ``R + 1``,
    ``3R + 1`` ... epochs. Through this wrapper it judges after ``R``, ``3R``, ``9R`` ... epochs, at the
    rungs of hpcore's ``asha`` with the same ``min_resource``; the study's trials keep their 0-based steps.
    """

    def __init__(self, pruner: optuna.pruners.BasePruner) -> None:
        self.pruner = pruner

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        shifted = copy.copy(trial)
        shifted.intermediate_values = {step + 1: v for step, v in trial.intermediate_values.items()}
        return self.pruner.prune(study, shifted)


def optuna_pruner(variant: str, task: Task) -> optuna.pruners.BasePruner:
    if variant == "optuna":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=task.warmup)
    if variant == "optuna-defaults":
        return optuna.pruners.MedianPruner()
    halving = optuna.pruners.SuccessiveHalvingPruner(min_resource=task.warmup + 1, reduction_factor=3,
                                                     min_early_stopping_rate=0)
    return OneBasedSteps(halving) if variant == "optuna-asha" else halving


@dataclass
class Run:
    best: float
    steps: int  # epochs / rounds run, over all trials
    stopped: int  # trials stopped / pruned
    seconds: float
    #: per trial, in the order run: (steps it ran, whether it completed)
    ends: list[tuple[int, bool]] = field(default_factory=list)


def hpcore_job(task: Task, seed: int, variant: str, train: Any = None) -> hpcore.TuningJob:
    def fit(params: dict[str, Any], reporter: hpcore.Reporter) -> None:
        task.fit(params, task.hpcore_callback())  # returns nothing: the objective is the last report

    strategy, rule, options = "random", "median", {"min_trials": 3, "warmup_steps": task.warmup}
    if variant == "hpcore-per-step":
        options.update(OPTUNA_RULE)
    elif variant == "hpcore-asha":
        rule, options = "asha", {"min_resource": task.warmup + 1, "reduction_factor": 3, "max_resource": task.steps}
    elif variant == "hpcore-defaults":
        strategy, options = "bayesian", {}
    return hpcore.TuningJob(train or fit, task.space, objective=task.objective, direction=task.direction,
                            strategy=strategy, early_stopping=rule, stopper_options=options,
                            max_trials=task.trials, seed=seed, progress=False)


def configurations(task: Task, seed: int) -> list[dict[str, Any]]:
    """The configurations hpcore's random strategy draws for ``seed``, in trial order (no training)."""
    result = hpcore_job(task, seed, "hpcore-per-step", train=lambda params: 0.0).run()
    return [r.params for r in sorted(result.trials, key=lambda r: r.id)]


def run_hpcore(task: Task, seed: int, variant: str, configs: list[dict[str, Any]]) -> Run:
    t0 = time.perf_counter()
    result = hpcore_job(task, seed, variant).run()
    trials = sorted(result.trials, key=lambda r: r.id)
    if variant != "hpcore-defaults":
        assert [r.params for r in trials] == configs, "hpcore's random strategy must draw the same configurations"
    assert result.best is not None and result.best.value is not None
    return Run(float(result.best.value), sum(r.step or 0 for r in trials),
               sum(r.state == hpcore.TrialState.STOPPED for r in trials), time.perf_counter() - t0,
               [(r.step or 0, r.state == hpcore.TrialState.COMPLETED) for r in trials])


def run_optuna(task: Task, seed: int, variant: str, configs: list[dict[str, Any]]) -> Run:
    if variant == "optuna-defaults":
        sampler: optuna.samplers.BaseSampler = optuna.samplers.TPESampler(seed=seed)
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)  # never asked: trial n trains configuration n
    study = optuna.create_study(direction=task.direction, sampler=sampler, pruner=optuna_pruner(variant, task))

    def objective(trial: optuna.Trial) -> float:
        params = suggest(trial, task.space) if variant == "optuna-defaults" else configs[trial.number]
        return task.fit(params, task.optuna_callback(trial))

    t0 = time.perf_counter()
    study.optimize(objective, n_trials=task.trials)
    seconds = time.perf_counter() - t0
    # Optuna's callbacks report 0-based epochs/iterations: a trial whose last step is k ran k + 1.
    ends = [(t.last_step + 1 if t.last_step is not None else 0, t.state == optuna.trial.TrialState.COMPLETE)
            for t in study.trials]
    return Run(float(study.best_value), sum(s for s, _ in ends),
               sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials), seconds, ends)


def summary(task: Task, seeds: list[int], runs: dict[str, list[Run]]) -> dict[str, Any]:
    """Per variant the means; per pair (both run) the means side by side and the trials that ended alike."""
    out: dict[str, Any] = {"framework": task.framework, "trials": task.trials, "steps": task.steps,
                           "step_name": task.step_name, "warmup": task.warmup, "objective": task.objective,
                           "seeds": seeds, "variants": {}, "pairs": []}
    for v, rs in runs.items():
        out["variants"][v] = {"best": statistics.fmean(r.best for r in rs),
                              "steps": statistics.fmean(r.steps for r in rs),
                              "stopped": statistics.fmean(r.stopped for r in rs),
                              "seconds": statistics.fmean(r.seconds for r in rs),
                              "per_seed": [dataclasses.asdict(r) for r in rs]}
    for h, o, what in PAIRS:
        if h not in runs or o not in runs:
            continue
        same = o != "optuna-defaults"
        alike = sum(a == b for hr, orr in zip(runs[h], runs[o], strict=True) for a, b in zip(hr.ends, orr.ends))
        better = sum(hr.best >= orr.best if task.direction == "maximize" else hr.best <= orr.best
                     for hr, orr in zip(runs[h], runs[o], strict=True))
        out["pairs"].append({"hpcore": h, "optuna": o, "what": what, "alike": alike if same else None,
                             "of": task.trials * len(seeds), "equal_or_better_best": better})
    return out


def table(s: dict[str, Any]) -> str:
    step = s["step_name"]
    lines = [f"**{s['framework']}**: {s['trials']} trials of at most {s['steps']} {step} "
             f"({s['trials'] * s['steps']} without stopping), warm-up W={s['warmup']}, {s['objective']} (maximised), "
             f"seeds {span(s['seeds'])}", "",
             f"| pair | hpcore: mean best / {step} / stopped | Optuna: mean best / {step} / stopped | "
             "trials ending at the same step | seeds hpcore's best >= Optuna's |", "|---|---:|---:|---:|---:|"]
    for p in s["pairs"]:
        a, b = s["variants"][p["hpcore"]], s["variants"][p["optuna"]]
        alike = "-" if p["alike"] is None else f"{p['alike']} of {p['of']}"
        lines.append(f"| {p['what']} (`{p['hpcore']}` / `{p['optuna']}`) | {a['best']:.4f} / {a['steps']:.1f} / "
                     f"{a['stopped']:.1f} | {b['best']:.4f} / {b['steps']:.1f} / {b['stopped']:.1f} | {alike} | "
                     f"{p['equal_or_better_best']} of {len(s['seeds'])} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", nargs="+", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--seeds", type=seed_list, default=seed_list("100-102"), help="e.g. 100-102")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=DEFAULT_VARIANTS,
                        help="; ".join(f"{k}: {d}" for k, d in VARIANTS.items()))
    parser.add_argument("--trials", type=int, default=None, help="override every task's trial budget")
    parser.add_argument("--steps", type=int, default=None, help="override every task's max epochs/rounds")
    parser.add_argument("--keras-noise", type=float, default=KERAS_NOISE,
                        help="extra noise on the Keras task's images (0: the example's data as is)")
    parser.add_argument("--json", metavar="PATH", help="also write every figure to PATH")
    parser.add_argument("--print", nargs="+", metavar="PATH", dest="print_paths",
                        help="only print the tables of JSON files")
    args = parser.parse_args()
    if args.print_paths:
        for path in args.print_paths:
            with open(path) as f:
                print("\n\n".join(table(s) for s in json.load(f)["results"]), end="\n\n")
        return
    optuna.logging.set_verbosity(optuna.logging.WARNING), warnings.filterwarnings("ignore")
    logging.getLogger("hpcore").setLevel(logging.ERROR)
    results = []
    for name in args.frameworks:
        trials, steps = DEFAULTS[name]
        extra = {"noise": args.keras_noise} if name == "keras" else {}
        task = TASKS[name](args.trials or trials, args.steps or steps, **extra)
        runs: dict[str, list[Run]] = {v: [] for v in args.variants}
        for seed in args.seeds:
            configs = configurations(task, seed)
            for v in args.variants:
                r = (run_optuna(task, seed, v, configs) if v.startswith("optuna")
                     else run_hpcore(task, seed, v, configs))
                print(f"# {name} seed {seed} {v}: best {r.best:.4f}, {r.steps} steps, {r.stopped} stopped, "
                      f"{r.seconds:.0f} s", flush=True)
                runs[v].append(r)
        results.append(summary(task, args.seeds, runs))
        print(f"\n{table(results[-1])}\n", flush=True)
    if args.json:
        info = {"hpcore": hpcore.__version__, "optuna": optuna.__version__, "variants": VARIANTS}
        with open(args.json, "w") as f:
            json.dump({"info": info, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
