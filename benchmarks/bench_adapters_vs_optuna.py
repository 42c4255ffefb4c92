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
  ``optuna_integration``;
* **hpcore, asha** (``hpcore-asha``) against **Optuna, successive halving** (``optuna-asha``): the same
  samplers with successive halving instead of the median rule: hpcore ``early_stopping="asha"``
  (``min_resource=R``, ``reduction_factor=3``, ``max_resource`` = the task's max epochs/rounds) and
  Optuna ``SuccessiveHalvingPruner(min_resource=R, reduction_factor=3, min_early_stopping_rate=0)``.
  ``R = W + 1`` (the first step the median variants may stop at). Optuna's callbacks report 0-based
  epochs/iterations, so the pruner is given each trial with its steps counted from 1 (the number of
  epochs/rounds run, :class:`OneBasedSteps`): both libraries then judge a trial right after epoch/round
  ``R``, ``3R``, ``9R`` ... (``--check-rungs SEED`` replays hpcore's reports into Optuna's pruner and
  compares the stops). ``optuna-asha-0based`` is the pruner on the callbacks' 0-based steps as is
  (its rungs one step later: after ``R + 1``, ``3R + 1`` ...).

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
        [--seeds 0 1 2 3 4] [--variants hpcore-per-step hpcore optuna hpcore-asha optuna-asha]

It prints one Markdown table per framework (one row per seed and variant, then the means: best
objective, steps, stopped trials; for each hpcore row whether its best is equal or better than
that of the Optuna variant with the same rule, whether it used no more steps, and both), then per hpcore
variant the number of seeds on which it is equal-or-better with no more steps. Results and analysis:
``docs/benchmarks.md``, "hpcore callbacks vs Optuna integration callbacks".
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import logging
import math
import os
import statistics
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import optuna  # noqa: E402
from vs_optuna_tasks import DEFAULTS, KERAS_NOISE, TASKS, Task, suggest  # noqa: E402

import hpcore  # noqa: E402
from hpcore.strategies import bayesian  # noqa: E402

#: hpcore's ``median`` stopper with Optuna's ``MedianPruner`` rule: values at the step, completed trials only.
OPTUNA_RULE: dict[str, Any] = {"running_average": False, "completed_only": True}


def asha_options(task: Task, min_resource: int | None = None) -> dict[str, int]:
    """Successive halving for ``task``: first rung ``R = W + 1`` (the first step a median rule may stop at)."""
    return {"min_resource": min_resource or task.warmup + 1, "reduction_factor": 3, "max_resource": task.steps}


class OneBasedSteps(optuna.pruners.BasePruner):
    """Shows ``pruner`` each trial with its steps counted from 1, as hpcore's callbacks count them.

    Optuna's integration callbacks report the 0-based epoch / iteration: after ``k`` epochs the trial's
    last step is ``k - 1``, so ``SuccessiveHalvingPruner(min_resource=R)`` would judge it after ``R + 1``,
    ``3R + 1`` ... epochs. Through this wrapper it sees step ``k`` after ``k`` epochs, and judges after
    ``R``, ``3R``, ``9R`` ... epochs, at the rungs of hpcore's ``asha`` with the same ``min_resource``.
    The study's trials keep their 0-based steps; only the pruner's view is shifted.
    """

    def __init__(self, pruner: optuna.pruners.BasePruner) -> None:
        self.pruner = pruner

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        shifted = copy.copy(trial)
        shifted.intermediate_values = {step + 1: v for step, v in trial.intermediate_values.items()}
        return self.pruner.prune(study, shifted)


def optuna_pruner(variant: str, task: Task, min_resource: int | None) -> optuna.pruners.BasePruner:
    if variant == "optuna":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=task.warmup)
    opts = asha_options(task, min_resource)
    halving = optuna.pruners.SuccessiveHalvingPruner(min_resource=opts["min_resource"], reduction_factor=3,
                                                     min_early_stopping_rate=0)
    return OneBasedSteps(halving) if variant == "optuna-asha" else halving


@dataclass
class Run:
    best: float
    steps: float  # epochs / rounds run, over all trials (a mean over seeds in the last row)
    stopped: int  # trials stopped / pruned
    seconds: float
    #: per trial, in the order run: (steps it ran, its objective if it completed, else None)
    history: list[tuple[int, float | None]] = field(default_factory=list)


def hpcore_job(task: Task, seed: int, variant: str, min_resource: int | None = None,
               store: str | None = None) -> hpcore.TuningJob:
    def train(params: dict[str, Any], reporter: hpcore.Reporter) -> None:
        task.fit(params, task.hpcore_callback())  # returns nothing: the objective is the last report

    rule, options = "median", {"min_trials": 3, "warmup_steps": task.warmup}
    if variant == "hpcore-per-step":
        options.update(OPTUNA_RULE)
    elif variant == "hpcore-asha":
        rule, options = "asha", asha_options(task, min_resource)
    return hpcore.TuningJob(train, task.space, objective=task.objective, direction=task.direction,
                            strategy="bayesian", early_stopping=rule, stopper_options=options,
                            max_trials=task.trials, seed=seed, progress=False, store=store)


def run_hpcore(task: Task, seed: int, variant: str, min_resource: int | None = None) -> Run:
    t0 = time.perf_counter()
    result = hpcore_job(task, seed, variant, min_resource).run()
    best = result.best
    assert best is not None and best.value is not None
    stopped = sum(r.state == hpcore.TrialState.STOPPED for r in result.trials)
    history = [(r.step or 0, r.value if r.state == hpcore.TrialState.COMPLETED else None)
               for r in sorted(result.trials, key=lambda r: r.id)]
    return Run(float(best.value), sum(r.step or 0 for r in result.trials), stopped, time.perf_counter() - t0,
               history)


def run_optuna(task: Task, seed: int, n_startup: int, variant: str = "optuna",
               min_resource: int | None = None) -> Run:
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup)
    study = optuna.create_study(direction=task.direction, sampler=sampler,
                                pruner=optuna_pruner(variant, task, min_resource))

    def objective(trial: optuna.Trial) -> float:
        return task.fit(suggest(trial, task.space), task.optuna_callback(trial))

    t0 = time.perf_counter()
    study.optimize(objective, n_trials=task.trials)
    seconds = time.perf_counter() - t0
    # Optuna's callbacks report 0-based epochs/iterations: a trial whose last step is k ran k + 1.
    steps = sum(t.last_step + 1 for t in study.trials if t.last_step is not None)
    history = [(t.last_step + 1 if t.last_step is not None else 0,
                t.value if t.state == optuna.trial.TrialState.COMPLETE else None) for t in study.trials]
    return Run(float(study.best_value), steps,
               sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials), seconds, history)


def check_rungs(task: Task, seed: int, min_resource: int | None = None) -> list[str]:
    """Replays hpcore's ``asha`` reports of one seed into Optuna's pruner, as its callbacks would report them.

    Runs ``hpcore-asha``, then feeds each trial's reports, in trial order and at 0-based steps, to a
    study with the ``optuna-asha`` pruner (and to one with ``optuna-asha-0based``), asking
    ``should_prune`` after each. Returns one line per trial: hpcore's end (stopped at step k /
    completed), each pruner's, and whether they agree.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "job.db")
        hpcore_job(task, seed, "hpcore-asha", min_resource, store=path).run()
        result = hpcore.TuningResult.from_store(path)
    assert result.curves is not None
    studies = {v: optuna.create_study(direction=task.direction, pruner=optuna_pruner(v, task, min_resource))
               for v in ("optuna-asha", "optuna-asha-0based")}
    lines, agree = [], 0
    for record in sorted(result.trials, key=lambda r: r.id):
        ends = {"hpcore": f"{'stopped' if record.state == hpcore.TrialState.STOPPED else 'completed'} {record.step}"}
        for v, study in studies.items():
            trial, end = study.ask(), None
            for step, metrics in result.curves.get(record.id, []):
                trial.report(metrics[task.objective], step - 1)  # the integration callbacks' 0-based step
                if trial.should_prune():
                    end = f"stopped {step}"
                    break
            study.tell(trial, state=optuna.trial.TrialState.PRUNED) if end else study.tell(trial, record.value)
            # hpcore's reports end where it stopped: a pruner that had not stopped by then is "past" it.
            ends[v] = end or (f"completed {step}" if step == task.steps else f"past {step}")
        agree += ends["hpcore"] == ends["optuna-asha"]
        lines.append(f"trial {record.id}: " + ", ".join(f"{k} {e}" for k, e in ends.items())
                     + ("" if ends["hpcore"] == ends["optuna-asha"] else "  <-- differs"))
    return [*lines, f"hpcore asha and Optuna's pruner (1-based view) agree on {agree} of {len(lines)} trials"]


# Variant -> (short label for the tables, what it is, the Optuna variant an hpcore variant is compared with).
VARIANTS = {"hpcore-per-step": ("hpcore, Optuna's rule", "hpcore's sampler with the median rule of Optuna's "
                                  "MedianPruner (running_average=False, completed_only=True)", "optuna"),
            "hpcore": ("hpcore, default median", "hpcore's sampler with its default median rule (SageMaker's: "
                                                 "running averages, every trial that reached the step)", "optuna"),
            "optuna": ("Optuna", "TPESampler + MedianPruner", ""),
            "hpcore-asha": ("hpcore, asha", "hpcore's sampler with early_stopping='asha' (min_resource=R, "
                                            "reduction_factor=3, max_resource=max steps)", "optuna-asha"),
            "optuna-asha": ("Optuna, successive halving", "TPESampler + SuccessiveHalvingPruner(min_resource=R, "
                                                          "reduction_factor=3) on 1-based steps", ""),
            "optuna-asha-0based": ("Optuna, successive halving, 0-based", "the same pruner on the callbacks' "
                                                                           "0-based steps (rungs one step later)",
                                   "")}
DEFAULT_VARIANTS = ["hpcore-per-step", "hpcore", "optuna", "hpcore-asha", "optuna-asha"]


def reference(v: str, runs: dict[str, list[Run]]) -> str | None:
    """The Optuna variant ``v`` is compared with, when it was run."""
    ref = VARIANTS[v][2]
    return ref if ref in runs else None


def equal_or_better(h: Run, o: Run, direction: str) -> bool:
    return h.best >= o.best if direction == "maximize" else h.best <= o.best


def reach(run: Run, target: float, direction: str) -> int | None:
    """Steps ``run`` had consumed when a completed trial first equalled or beat ``target`` (None if never)."""
    used = 0
    for steps, value in run.history:
        used += steps
        if value is not None and (value >= target if direction == "maximize" else value <= target):
            return used
    return None


def best_within(run: Run, budget: int, direction: str) -> float | None:
    """The best value of the completed trials that ``run`` had finished within ``budget`` steps."""
    used, best = 0, None
    for steps, value in run.history:
        used += steps
        if used > budget:
            break
        if value is not None and (best is None or (value > best if direction == "maximize" else value < best)):
            best = value
    return best


def reaches(h: Run, o: Run, direction: str) -> bool:
    """Whether ``h`` reached ``o``'s final best having used no more steps than ``o`` did in all."""
    needed = reach(h, o.best, direction)
    return needed is not None and needed <= o.steps


def verdict(h: Run, o: Run, direction: str) -> str:
    return "yes" if equal_or_better(h, o, direction) and h.steps <= o.steps else "**no**"


def table(task: Task, seeds: list[int], runs: dict[str, list[Run]], min_resource: int) -> str:
    """One row per seed and variant, then the means; each hpcore row is compared with its Optuna variant."""
    s = task.step_name
    names = list(runs)
    compare = any(reference(v, runs) for v in names)
    asha = any("asha" in v for v in names)
    lines = [f"**{task.framework}**: {task.trials} trials, at most {task.steps} {s} each "
             f"({task.trials * task.steps} {s} without stopping), warm-up {task.warmup}"
             + (f", successive halving min_resource {min_resource}" if asha else "")
             + f", objective {task.objective} ({task.direction})",
             "",
             f"| seed | variant | best | {s} | stopped | time s |"
             + (" best >= Optuna's | no more steps | both | reached Optuna's best within its steps |"
                if compare else ""),
             "|---|---|---:|---:|---:|---:|" + ("---|---|---|---|" if compare else "")]

    def row(label: str, v: str, r: Run, o: Run | None, fmt: str, stopped: float) -> str:
        cells = [label, VARIANTS[v][0], f"{r.best:.4f}", format(r.steps, fmt), format(stopped, fmt),
                 f"{r.seconds:.0f}"]
        if compare:
            needed = None if o is None or not r.history else reach(r, o.best, task.direction)
            cells += (["", "", "", ""] if o is None else
                      ["yes" if equal_or_better(r, o, task.direction) else "no",
                       "yes" if r.steps <= o.steps else "no", verdict(r, o, task.direction),
                       "" if not r.history else "no" if needed is None else
                       f"{'yes' if needed <= o.steps else 'no'} ({needed} {s})"])
        return "| " + " | ".join(cells) + " |"

    def ref_run(v: str, i: int) -> Run | None:
        ref = reference(v, runs)
        return runs[ref][i] if ref else None

    for i, seed in enumerate(seeds):
        lines += [row(str(seed), v, runs[v][i], ref_run(v, i), ".0f", runs[v][i].stopped) for v in names]
    means = {v: Run(statistics.fmean(r.best for r in runs[v]), statistics.fmean(r.steps for r in runs[v]),
                    0, statistics.fmean(r.seconds for r in runs[v])) for v in names}
    for v in names:
        ref = reference(v, runs)
        lines.append(row("**mean**", v, means[v], means[ref] if ref else None, ".1f",
                         statistics.fmean(r.stopped for r in runs[v])))
    lines.append("")
    for v in names:
        ref = reference(v, runs)
        if ref is None:
            continue
        ok = sum(verdict(h, o, task.direction) == "yes" for h, o in zip(runs[v], runs[ref], strict=True))
        ratio = means[v].steps / means[ref].steps if means[ref].steps else math.nan
        lines.append(f"- {VARIANTS[v][0]} vs {VARIANTS[ref][0]}: equal-or-better best with no more steps on {ok} "
                     f"of {len(seeds)} seeds; mean best {means[v].best:.4f} vs {means[ref].best:.4f}, "
                     f"mean {s} {means[v].steps:.1f} vs {means[ref].steps:.1f} ({ratio:.2f}x).")
        got = sum(reaches(h, o, task.direction) for h, o in zip(runs[v], runs[ref], strict=True))
        back = sum(reaches(o, h, task.direction) for h, o in zip(runs[v], runs[ref], strict=True))
        lines.append(f"- {VARIANTS[v][0]} reached {VARIANTS[ref][0]}'s final best within {VARIANTS[ref][0]}'s "
                     f"total {s} on {got} of {len(seeds)} seeds; the other way round on {back}.")
        # The same budget of steps for both: per seed, the smaller of the two totals.
        pairs = [(best_within(h, min(h.steps, o.steps), task.direction),
                  best_within(o, min(h.steps, o.steps), task.direction))
                 for h, o in zip(runs[v], runs[ref], strict=True) if h.history and o.history]
        pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
        if pairs:
            wins = sum(a >= b if task.direction == "maximize" else a <= b for a, b in pairs)
            lines.append(f"- at equal {s} (per seed the smaller of the two totals, trials finished within it): "
                         f"mean best {statistics.fmean(a for a, _ in pairs):.4f} vs "
                         f"{statistics.fmean(b for _, b in pairs):.4f}; equal or better on {wins} of {len(pairs)} "
                         "seeds.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", nargs="+", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=DEFAULT_VARIANTS,
                        help="; ".join(f"{k}: {d}" for k, (_, d, _) in VARIANTS.items()))
    parser.add_argument("--trials", type=int, default=None, help="override every task's trial budget")
    parser.add_argument("--steps", type=int, default=None, help="override every task's max epochs/rounds")
    parser.add_argument("--warmup", type=int, default=None,
                        help="override every task's warm-up W of the median rules (no stop at steps <= W)")
    parser.add_argument("--min-resource", type=int, default=None,
                        help="successive halving's first rung R (default: the task's warm-up + 1)")
    parser.add_argument("--check-rungs", type=int, default=None, metavar="SEED",
                        help="only replay hpcore's asha reports of this seed into Optuna's pruner and compare")
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
        if args.warmup is not None:
            task = dataclasses.replace(task, warmup=args.warmup)
        min_resource = asha_options(task, args.min_resource)["min_resource"]
        if args.check_rungs is not None:
            print(f"# {name}, seed {args.check_rungs}, min_resource {min_resource}:")
            print("\n".join(check_rungs(task, args.check_rungs, args.min_resource)), flush=True)
            continue
        n_startup = bayesian.BayesianStrategy(task.space, direction=task.direction).n_initial
        runs: dict[str, list[Run]] = {v: [] for v in args.variants}
        for seed in args.seeds:
            for v in args.variants:
                r = (run_optuna(task, seed, n_startup, v, args.min_resource) if v.startswith("optuna")
                     else run_hpcore(task, seed, v, args.min_resource))
                print(f"# {name} seed {seed} {v}: best {r.best:.4f}, {r.steps} steps, {r.stopped} stopped, "
                      f"{r.seconds:.0f} s", flush=True)
                runs[v].append(r)
        print(f"\n{table(task, args.seeds, runs, min_resource)}\n\n(TPE and hpcore start-up trials: {n_startup})\n",
              flush=True)


if __name__ == "__main__":
    main()
