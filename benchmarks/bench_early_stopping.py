"""Early stopping and Hyperband, hpcore next to Optuna: defaults first, then equal grids chosen on design seeds.

Two problems, both with 27 epochs per full training run (``es_problems.py``):

* ``synthetic``: a family of learning curves (validation loss, minimised) whose speed, plateau and
  overfitting depend on the hyperparameters, with seeded noise;
* ``digits-mlp``: a real training, scikit-learn's ``MLPClassifier`` on the digits data, one
  ``partial_fit`` pass per epoch, validation accuracy maximised.

For each seed, hpcore's random strategy draws the 40 configurations; every method then runs those
same configurations in the same order (Optuna gets them through ``enqueue_trial``), on the same
curves, so the methods differ only in when they stop. MLP training is deterministic, so each
configuration is trained once, epoch by epoch as far as any method asks, and its curve is replayed
for the others (the steps each method consumes are counted as if it had trained them itself).

Seeds come in two sets. The *design* seeds (synthetic 0-59, digits-mlp 0-9) are the ones looked at
while the rules, their options and the grids below were chosen; the grid settings are chosen on
some of them (by default synthetic 0-29, digits-mlp 0-4). The *report* seeds (by default synthetic
100-129, digits-mlp 100-109) were not looked at before. The benchmark reports, on the report seeds:

1. each library's defaults (hpcore ``median`` and ``asha`` with no options, ``hyperband`` with
   ``max_resource=27``, which it requires; Optuna ``MedianPruner()``, ``SuccessiveHalvingPruner()``,
   ``HyperbandPruner()``);
2. per library and rule, the setting of an equal-size grid (27 median settings each, 9 successive
   halving and 9 Hyperband settings each) that saves the most steps while its quality stays within
   1% of no stopping on the *design* seeds, measured on the report seeds.

Quality is measured twice against no stopping: the best observed final value of any trial
(``best vs none``), and the true (noise-free) final value of the configuration each library returns
(``result.best``, ``study.best_trial``; ``true vs none``), which the observed measure's winner's
curse does not affect. Every figure is deterministic for given versions (Optuna's study names are
fixed, so its Hyperband brackets are too): a rerun gives the same tables.

Run::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/bench_early_stopping.py \\
        [--design-seeds 0-29] [--seeds 100-129] [--mlp-design-seeds 0-4] [--mlp-seeds 100-109] [--json PATH]
    python benchmarks/bench_early_stopping.py --print PATH   # the tables again, from the JSON
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
import warnings
from dataclasses import dataclass
from typing import Any

import optuna
from es_families import FAMILIES, xgboost_problem
from es_problems import EPOCHS, SYNTHETIC, DigitsMLP, Problem, digits_problem, near_best

import hpcore

TRIALS = 40
RULES = ("median", "asha", "hyperband")
Setting = dict[str, Any]
BASE = [{"min_trials": n, "warmup_steps": w} for n in (3, 5, 10) for w in (0, 1, 2)]
HALVING = [{"min_resource": r, "reduction_factor": e} for r in (1, 3, 9) for e in (3, 2, 4)]
PERCENTILES = (55, 60)
# The grids, the same size for both libraries. hpcore's median rule is its default rule (running
# averages, every trial that reached the step) at the median and at the same two percentiles as
# Optuna's PercentilePruner; Optuna's are MedianPruner and PercentilePruner.
GRIDS: dict[str, list[Setting]] = {
    "median": BASE + [{**s, "percentile": p} for p in PERCENTILES for s in BASE],
    "asha": [{**s, "max_resource": EPOCHS} for s in HALVING],
    "hyperband": [{**s, "max_resource": EPOCHS} for s in HALVING],
}
# hpcore's auto rule (no Optuna counterpart): its grid has 9 settings, as asha's and hyperband's.
GRIDS["auto"] = [{"threshold": t, "warmup": w} for t in (0.02, 0.05, 0.1) for w in (0.1, 0.15, 0.2)]
# The defaults: what a user gets without options (Hyperband needs the length of a full run).
DEFAULTS: dict[str, Setting] = {"median": {}, "asha": {}, "hyperband": {"max_resource": EPOCHS}, "auto": {}}
OPTUNA_NAMES = {"median": "MedianPruner", "asha": "SuccessiveHalvingPruner", "hyperband": "HyperbandPruner"}
# The two quality measures, each against the same library without stopping.
MEASURES = {"loss": "best vs none", "tloss": "true vs none"}


# Constructed families (their seeds: --design-seeds, --seeds) and real trainings (--mlp-*-seeds).
PROBLEMS: dict[str, Problem | None] = {p.name: p for p in [SYNTHETIC, *FAMILIES]} | {"digits-mlp": None,
                                                                                     "xgboost-rounds": None}


def seed_list(text: str) -> list[int]:
    """``"100-129"`` or ``"0,3,5-7"`` as a list of seeds."""
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def span(seeds: list[int]) -> str:
    return f"{seeds[0]}-{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) else ",".join(map(str, seeds))


# -- runners ------------------------------------------------------------------------------------
@dataclass
class Run:
    steps: int
    best: float  # the best last observed value of any trial, completed or stopped
    params: list[dict[str, Any]]
    true: float  # the noise-free value of the returned configuration at the last step it reached


def run_hpcore(problem: Problem, seed: int, rule: str, setting: Setting) -> Run:
    steps = 0
    last: dict[int, float] = {}
    reached: dict[int, int] = {}

    def train(params: dict[str, Any], reporter: hpcore.Reporter) -> dict[str, float]:
        nonlocal steps
        value = math.nan
        for epoch in range(1, EPOCHS + 1):
            value = problem.curve(params, seed, epoch)
            steps += 1
            if reporter.report(epoch, **{problem.objective: value}):
                break
        last[reporter.trial_id], reached[reporter.trial_id] = value, epoch
        return {problem.objective: value}

    strategy, stopper, sopts, topts = "random", rule, dict(setting), {}
    if rule == "hyperband":
        strategy, stopper, sopts, topts = "hyperband", "none", {}, sopts
    job = hpcore.TuningJob(train, problem.space, objective=problem.objective, direction=problem.direction,
                           strategy=strategy, early_stopping=stopper, stopper_options=sopts, strategy_options=topts,
                           max_trials=TRIALS, seed=seed, progress=False)
    result = job.run()
    pick = min if problem.direction == "minimize" else max
    ret = result.best_or_none  # hpcore's rule: the best completed trial (the best stopped one if none completed)
    assert ret is None or ret.value == last[ret.id], "trial ids of the result and of the reporter differ"
    true = problem.true(ret.params, seed, reached[ret.id]) if ret else math.nan
    return Run(steps, pick(last.values()), [r.params for r in sorted(result.trials, key=lambda r: r.id)], true)


def optuna_pruner(rule: str, setting: Setting) -> optuna.pruners.BasePruner:
    if rule == "none":
        return optuna.pruners.NopPruner()
    if not setting:
        return {"median": optuna.pruners.MedianPruner, "asha": optuna.pruners.SuccessiveHalvingPruner,
                "hyperband": optuna.pruners.HyperbandPruner}[rule]()
    if rule == "median":
        # hpcore's warm-up exempts steps <= warmup_steps; Optuna's exempts steps < n_warmup_steps.
        args = {"n_startup_trials": setting["min_trials"], "n_warmup_steps": setting["warmup_steps"] + 1}
        if "percentile" in setting:
            return optuna.pruners.PercentilePruner(setting["percentile"], **args)
        return optuna.pruners.MedianPruner(**args)
    if rule == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=setting["min_resource"],
                                                      reduction_factor=setting["reduction_factor"])
    return optuna.pruners.HyperbandPruner(min_resource=setting["min_resource"], max_resource=EPOCHS,
                                          reduction_factor=setting["reduction_factor"])


def run_optuna(problem: Problem, seed: int, rule: str, setting: Setting, configs: list[dict[str, Any]]) -> Run:
    steps = 0
    last: list[float] = []

    def objective(trial: optuna.Trial) -> float:
        nonlocal steps
        params = problem.optuna_params(trial)
        assert params == configs[trial.number], "Optuna must run the enqueued configuration"
        value = math.nan
        for epoch in range(1, EPOCHS + 1):
            value = problem.curve(params, seed, epoch)
            steps += 1
            trial.report(value, epoch)
            if trial.should_prune():
                last.append(value)
                raise optuna.TrialPruned()
        last.append(value)
        return value

    # A fixed study name: HyperbandPruner assigns trials to brackets by a hash of it.
    study = optuna.create_study(direction=problem.direction, sampler=optuna.samplers.RandomSampler(seed=seed),
                                pruner=optuna_pruner(rule, setting), study_name=f"seed-{seed}")
    for params in configs:
        study.enqueue_trial(params)
    study.optimize(objective, n_trials=len(configs))
    pick = min if problem.direction == "minimize" else max
    try:  # Optuna's rule: the best completed trial (pruned ones never count; an error if none completed)
        ret = study.best_trial
        true = problem.true(configs[ret.number], seed, ret.last_step or EPOCHS)
    except ValueError:
        true = math.nan
    return Run(steps, pick(last), configs, true)


# -- statistics ---------------------------------------------------------------------------------
Key = tuple[str, str, str]  # (library, rule, setting label)
Stats = dict[str, float]


def label(setting: Setting | None) -> str:
    if setting is None:
        return "defaults"
    return ", ".join(f"{k}={v}" for k, v in setting.items() if k != "max_resource") or "-"


def loss_of_quality(problem: Problem, value: float, reference: float) -> float:
    """How much worse ``value`` is than ``reference``, in percent of it (negative: better)."""
    sign = 1.0 if problem.direction == "minimize" else -1.0
    return 100.0 * sign * (value - reference) / abs(reference)


def stats_of(problem: Problem, runs: list[Run], ref: list[Run]) -> Stats:
    """Steps, steps saved and both quality losses (mean, standard error, worst seed) against ``ref``."""
    out: Stats = {"steps": statistics.mean(r.steps for r in runs),
                  "saved": 100.0 * (1.0 - sum(r.steps for r in runs) / sum(b.steps for b in ref))}
    for m, attr in (("loss", "best"), ("tloss", "true")):
        losses = [loss_of_quality(problem, getattr(r, attr), getattr(b, attr)) for r, b in zip(runs, ref, strict=True)]
        out[m], out[m + "_worst"] = statistics.mean(losses), max(losses)
        out[m + "_se"] = statistics.stdev(losses) / math.sqrt(len(losses)) if len(losses) > 1 else 0.0
    return out


class Bench:
    """Runs methods on one problem's seeds, each seed's configurations drawn once by hpcore's random strategy."""

    def __init__(self, problem: Problem, seeds: list[int]) -> None:
        self.problem, self.seeds = problem, seeds
        self.none: dict[str, list[Run]] = {"hpcore": [], "optuna": []}
        self.configs: dict[int, list[dict[str, Any]]] = {}
        for seed in seeds:
            base = run_hpcore(problem, seed, "none", {})  # first: it trains every configuration fully
            self.configs[seed] = base.params
            self.none["hpcore"].append(base)
            self.none["optuna"].append(run_optuna(problem, seed, "none", {}, base.params))

    def stats(self, lib: str, rule: str, setting: Setting) -> Stats:
        runner = run_hpcore if lib == "hpcore" else (
            lambda p, s, r, st: run_optuna(p, s, r, st, self.configs[s]))
        return stats_of(self.problem, [runner(self.problem, s, rule, setting) for s in self.seeds], self.none[lib])


def choose(grid_stats: list[tuple[Setting, Stats]], measure: str) -> tuple[Setting, Stats] | None:
    """The setting that saves the most steps with ``measure`` within 1% of none (seed mean), if any."""
    ok = [(s, st) for s, st in grid_stats if st[measure] <= 1.0]
    return max(ok, key=lambda t: t[1]["saved"]) if ok else None


def evaluate(problem: Problem, design: list[int], report: list[int]) -> dict[str, Any]:
    """Defaults on the report seeds; grids on the design seeds; the chosen settings on the report seeds."""
    out: dict[str, Any] = {"problem": problem.name, "direction": problem.direction, "design_seeds": design,
                           "report_seeds": report, "defaults": [], "chosen": []}
    rep = Bench(problem, report)
    out["near_best"] = near_best(problem, rep.configs)
    for lib in ("hpcore", "optuna"):
        for rule in RULES + (("auto",) if lib == "hpcore" else ()):
            out["defaults"].append({"lib": lib, "rule": rule, "setting": DEFAULTS[rule] if lib == "hpcore" else {},
                                    "report": rep.stats(lib, rule, DEFAULTS[rule] if lib == "hpcore" else {})})
    # Every Optuna setting of the grids on the report seeds: does any save more than auto at no more loss?
    auto = out["defaults"][len(RULES)]["report"]
    out["optuna_all"] = [{"rule": rule, "setting": st, "report": rep.stats("optuna", rule, st)}
                         for rule in RULES for st in GRIDS[rule]]
    out["auto_dominated_by"] = {m: sum(o["report"][m] <= auto[m] and o["report"]["saved"] > auto["saved"]
                                       for o in out["optuna_all"]) for m in MEASURES}
    des = Bench(problem, design)
    for rule in RULES + ("auto",):
        for lib in ("hpcore", "optuna") if rule != "auto" else ("hpcore",):
            grid_stats = [(s, des.stats(lib, rule, s)) for s in GRIDS[rule]]
            for measure in MEASURES:
                pick = choose(grid_stats, measure)
                out["chosen"].append({"lib": lib, "rule": rule, "measure": measure, "grid": len(grid_stats),
                                      "setting": pick[0] if pick else None, "design": pick[1] if pick else None,
                                      "report": rep.stats(lib, rule, pick[0]) if pick else None})
    return out


# -- tables -------------------------------------------------------------------------------------
def method(lib: str, rule: str, setting: Setting | None) -> str:
    if lib == "hpcore":
        return rule
    if rule == "median" and setting and "percentile" in setting:
        return "PercentilePruner"
    return OPTUNA_NAMES[rule]


def cells(s: Stats | None) -> str:
    if s is None:
        return "| | | |"
    return (f"| {s['saved']:.1f}% | {s['loss']:+.2f} ± {s['loss_se']:.2f}% / {s['loss_worst']:+.2f}% "
            f"| {s['tloss']:+.2f} ± {s['tloss_se']:.2f}% / {s['tloss_worst']:+.2f}% |")


QUALITY = "best vs none: mean ± se / worst seed | true vs none: mean ± se / worst seed |"


def tables(res: dict[str, Any]) -> str:
    arrow = "lower" if res["direction"] == "minimize" else "higher"
    design, report = span(res["design_seeds"]), span(res["report_seeds"])
    lines = [f"**{res['problem']}** ({arrow} is better; {TRIALS} trials x {EPOCHS} epochs; design seeds {design}, "
             f"report seeds {report}; configurations per report seed within 1% of the best final one: "
             f"{res['near_best']:.1f} of {TRIALS})", "",
             f"Defaults, report seeds {report}:", "",
             "| library | method | setting | saved vs none | " + QUALITY, "|---|---|---|---:|---:|---:|"]
    for d in res["defaults"]:
        setting = "defaults" + "".join(f", {k}={v}" for k, v in d["setting"].items())
        lines.append(f"| {d['lib']} | {method(d['lib'], d['rule'], d['setting'])}() | {setting} {cells(d['report'])}")
    dom = res.get("auto_dominated_by")
    if dom is not None:
        lines += ["", f"Optuna settings (of {len(res['optuna_all'])}, every grid) that save more than `auto`'s "
                  f"defaults at no more loss, report seeds: {dom['loss']} (best vs none), {dom['tloss']} "
                  "(true vs none)."]
    for measure, what in MEASURES.items():
        lines += ["", f"Equal grids, chosen on design seeds {design} (most steps saved with {what} within 1%), "
                  f"reported on seeds {report}:", "",
                  "| library | method | setting (of grid size) | design: saved, " + what + " | report: saved vs none | "
                  + QUALITY, "|---|---|---|---:|---:|---:|---:|"]
        for c in (c for c in res["chosen"] if c["measure"] == measure):
            d = c["design"]
            design_cell = f"{d['saved']:.1f}%, {d[measure]:+.2f}%" if d else "(none within 1%)"
            lines.append(f"| {c['lib']} | {method(c['lib'], c['rule'], c['setting'])} | {label(c['setting'])} "
                         f"({c['grid']}) | {design_cell} {cells(c['report'])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design-seeds", type=seed_list, default=seed_list("0-29"), help="synthetic, e.g. 0-59")
    parser.add_argument("--seeds", type=seed_list, default=seed_list("100-129"), help="synthetic report seeds")
    parser.add_argument("--mlp-design-seeds", type=seed_list, default=seed_list("0-4"))
    parser.add_argument("--mlp-seeds", type=seed_list, default=seed_list("100-109"), help="digits-mlp report seeds")
    parser.add_argument("--problems", nargs="+", choices=list(PROBLEMS), default=list(PROBLEMS))
    parser.add_argument("--json", metavar="PATH", help="also write every figure to PATH")
    parser.add_argument("--print", metavar="PATH", dest="print_path", help="only print the tables of a JSON file")
    args = parser.parse_args(argv)
    if args.print_path:
        with open(args.print_path) as f:
            print("\n\n".join(tables(r) for r in json.load(f)["results"]))
        return
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    started = time.perf_counter()
    results = []
    real = {"digits-mlp": digits_problem(), "xgboost-rounds": xgboost_problem()}
    for name in args.problems:
        problem = PROBLEMS[name] or real[name]
        constructed = PROBLEMS[name] is not None
        design, report = (args.design_seeds, args.seeds) if constructed else (args.mlp_design_seeds, args.mlp_seeds)
        results.append(evaluate(problem, design, report))
        print(tables(results[-1]), end="\n\n", flush=True)
    mlp = real["digits-mlp"]
    trainer = mlp.curve
    assert isinstance(trainer, DigitsMLP)
    info = {"hpcore": hpcore.__version__, "optuna": optuna.__version__, "seconds": time.perf_counter() - started,
            "mlp_epochs_trained": trainer.epochs_trained}
    print(f"hpcore {info['hpcore']}, Optuna {info['optuna']}; MLP epochs trained {trainer.epochs_trained}; "
          f"total {info['seconds']:.0f} s.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"info": info, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
