"""Early stopping and Hyperband: training steps saved and best objective kept, hpcore next to Optuna.

Two problems, both with 27 epochs per full training run:

* ``synthetic``: a family of learning curves (validation loss, minimised) whose speed, plateau and
  overfitting depend on the hyperparameters, with seeded noise;
* ``digits-mlp``: a real training, scikit-learn's ``MLPClassifier`` on the digits data, one
  ``partial_fit`` pass per epoch, validation accuracy maximised.

For each seed, hpcore's random strategy draws the 40 configurations; every method then runs those
same configurations in the same order (Optuna gets them through ``enqueue_trial``), on the same
curves, so the methods differ only in when they stop. hpcore's median rule also runs each variant
of its options (``running_average``, ``completed_only``, ``compare``) over the grid, and hpcore's
Hyperband also runs with Optuna's brackets (``brackets``) where they differ from its own. The problems
and the measure of how much their learning curves cross are in ``es_problems.py``. MLP training is
deterministic, so each configuration is trained once, epoch by epoch as far as any method asks, and
its curve is replayed for the others (the steps each method consumes are counted as if it had trained them itself).

Quality is measured twice against no stopping: the best observed final value of any trial, and the
true (noise-free) final value of the configuration each library returns (``result.best``,
``study.best_trial``), which the observed measure's winner's curse does not affect.

Run::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/bench_early_stopping.py
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
from es_problems import EPOCHS, SYNTHETIC, DigitsMLP, Problem, crossing, digits_problem, near_best

import hpcore
from hpcore.stopping.asha import rung_levels

TRIALS = 40
Setting = dict[str, Any]
# Each rule runs over a small grid of settings; Optuna's pruner gets the same grid. The first
# entry is the rule's default, the one the first table shows.
GRIDS: dict[str, list[Setting]] = {
    "median": [{"min_trials": n, "warmup_steps": w} for n in (3, 5, 10) for w in (0, 1, 2)],
    "asha": [{"min_resource": r, "reduction_factor": e} for r in (1, 3, 9) for e in (3, 2, 4)],
}
GRIDS["hyperband"] = GRIDS["asha"]
# hpcore's median rule also runs each variant of its options over that grid (Optuna has no such
# options: its MedianPruner is the variant running_average=False, completed_only=True).
MEDIAN_VARIANTS: list[Setting] = [
    {}, {"running_average": False}, {"completed_only": True},
    {"running_average": False, "completed_only": True}, {"compare": "running_average"},
    {"compare": "running_average", "completed_only": True}]
# Percentiles other than the median (50): hpcore's default rule and Optuna's rule with each, and
# Optuna's PercentilePruner with the same ones.
PERCENTILES = (55, 60)
MEDIAN_VARIANTS += [{**v, "percentile": p} for v in ({}, {"running_average": False, "completed_only": True})
                    for p in PERCENTILES]


def optuna_brackets(setting: Setting) -> int:
    """Optuna's HyperbandPruner bracket count, floor(log(max / min, eta)) + 1, in integers."""
    k, level = 0, setting["min_resource"]
    while level * setting["reduction_factor"] <= EPOCHS:
        k, level = k + 1, level * setting["reduction_factor"]
    return k + 1


def grid(lib: str, rule: str) -> list[Setting]:
    if lib == "hpcore" and rule == "median":
        return [{**s, **v} for v in MEDIAN_VARIANTS for s in GRIDS["median"]]
    if rule == "median":
        return GRIDS["median"] + [{**s, "percentile": p} for p in PERCENTILES for s in GRIDS["median"]]
    if lib == "hpcore" and rule == "hyperband":
        # hpcore's brackets, and Optuna's where they differ (27 / min_resource not a power of eta).
        return GRIDS[rule] + [{**s, "brackets": optuna_brackets(s)} for s in GRIDS[rule]
                              if optuna_brackets(s) < len(rung_levels(s["min_resource"], EPOCHS,
                                                                      s["reduction_factor"])) + 1]
    return GRIDS[rule]
OPTUNA_NAMES = {"median": "MedianPruner / PercentilePruner", "asha": "SuccessiveHalvingPruner",
                "hyperband": "HyperbandPruner"}


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
    if rule in ("asha", "hyperband"):
        sopts["max_resource"] = EPOCHS
    if rule == "hyperband":
        strategy, stopper, sopts, topts = "hyperband", "none", {}, sopts
    job = hpcore.TuningJob(train, problem.space, objective=problem.objective, direction=problem.direction,
                           strategy=strategy, early_stopping=stopper, stopper_options=sopts, strategy_options=topts,
                           max_trials=TRIALS, seed=seed, progress=False)
    result = job.run()
    pick = min if problem.direction == "minimize" else max
    ret = result.best  # hpcore's rule: the best completed trial (the best stopped one if none completed)
    assert ret is None or ret.value == last[ret.id], "trial ids of the result and of the reporter differ"
    true = problem.true(ret.params, seed, reached[ret.id]) if ret else math.nan
    return Run(steps, pick(last.values()), [r.params for r in sorted(result.trials, key=lambda r: r.id)], true)


def optuna_pruner(rule: str, setting: Setting) -> optuna.pruners.BasePruner:
    if rule == "none":
        return optuna.pruners.NopPruner()
    if rule == "median" and "percentile" in setting:
        return optuna.pruners.PercentilePruner(setting["percentile"], n_startup_trials=setting["min_trials"],
                                               n_warmup_steps=setting["warmup_steps"] + 1)
    if rule == "median":
        # hpcore's warm-up exempts steps <= warmup_steps; Optuna's exempts steps < n_warmup_steps.
        return optuna.pruners.MedianPruner(n_startup_trials=setting["min_trials"],
                                           n_warmup_steps=setting["warmup_steps"] + 1)
    if rule == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=setting["min_resource"],
                                                      reduction_factor=setting["reduction_factor"])
    assert rule == "hyperband"
    return optuna.pruners.HyperbandPruner(min_resource=setting["min_resource"], max_resource=EPOCHS,
                                          reduction_factor=setting["reduction_factor"])


def run_optuna(problem: Problem, seed: int, rule: str, setting: Setting,
               configs: list[dict[str, Any]]) -> Run:
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

    study = optuna.create_study(direction=problem.direction, sampler=optuna.samplers.RandomSampler(seed=seed),
                                pruner=optuna_pruner(rule, setting))
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


# -- the comparison -----------------------------------------------------------------------------
Key = tuple[str, str, str]  # (library, rule, setting)


def label(setting: Setting) -> str:
    return ", ".join(f"{k}={v}" for k, v in setting.items()) or "-"


def loss_of_quality(problem: Problem, best: float, reference: float) -> float:
    """How much worse ``best`` is than ``reference``, in percent of it (negative: better)."""
    sign = 1.0 if problem.direction == "minimize" else -1.0
    return 100.0 * sign * (best - reference) / abs(reference)


Stats = dict[Key, dict[str, float]]


Runs = dict[Key, list[Run]]


def compare(problem: Problem, seeds: list[int]) -> tuple[Runs, dict[int, list[dict[str, Any]]]]:
    """Runs every method on every seed; returns their runs (one per seed) and each seed's configurations."""
    runs: Runs = {}
    configs: dict[int, list[dict[str, Any]]] = {}
    for seed in seeds:
        base = run_hpcore(problem, seed, "none", {})  # first: it trains every configuration fully
        configs[seed] = base.params
        runs.setdefault(("hpcore", "none", "-"), []).append(base)
        runs.setdefault(("optuna", "none", "-"), []).append(run_optuna(problem, seed, "none", {}, base.params))
        for rule in GRIDS:
            for setting in grid("hpcore", rule):
                runs.setdefault(("hpcore", rule, label(setting)), []).append(
                    run_hpcore(problem, seed, rule, setting))
            for setting in grid("optuna", rule):
                runs.setdefault(("optuna", rule, label(setting)), []).append(
                    run_optuna(problem, seed, rule, setting, base.params))
    return runs, configs


def summarize(problem: Problem, runs: Runs, part: slice = slice(None)) -> Stats:
    """Steps, steps saved and quality of every method over the seeds of ``part`` (all by default)."""
    stats: Stats = {}
    for key, all_runs in runs.items():
        rs, ref = all_runs[part], runs[(key[0], "none", "-")][part]
        losses = [loss_of_quality(problem, r.best, b.best) for r, b in zip(rs, ref, strict=True)]
        tlosses = [loss_of_quality(problem, r.true, b.true) for r, b in zip(rs, ref, strict=True)]
        stats[key] = {"steps": statistics.mean(r.steps for r in rs),
                      "saved": 100.0 * (1.0 - sum(r.steps for r in rs) / sum(b.steps for b in ref)),
                      "best": statistics.mean(r.best for r in rs),
                      "loss": statistics.mean(losses), "worst": max(losses),
                      "true": statistics.mean(r.true for r in rs),
                      "tloss": statistics.mean(tlosses), "tworst": max(tlosses)}
    return stats


# The two quality measures: the best observed final value of any trial, and the true (noise-free)
# final value of the configuration the library returns, each against the same library without stopping.
MEASURES = {"loss": "best vs none", "tloss": "true vs none"}


def selection_table(stats: Stats, measure: str, pick: Stats | None = None) -> list[str]:
    """Per library and rule, the setting that saves the most steps within 1% of none by ``measure``,
    chosen on ``pick`` (``stats`` by default) and reported from ``stats``."""
    lines = list(HEADER)
    for rule in GRIDS:
        for lib in ("hpcore", "optuna"):
            k = frontier(pick or stats, lib, rule, measure=measure)
            lines.append(row(k, stats[k]) if k else f"| {lib} | {method_name(lib, rule)} | (none within 1%) "
                         "| | | | | | |")
    return lines


def held_out_table(problem: Problem, seeds: list[int], runs: Runs, measure: str) -> list[str]:
    """Equal quality with the setting chosen on the first half of the seeds, measured on the second."""
    half = len(seeds) // 2
    pick, check = summarize(problem, runs, slice(0, half)), summarize(problem, runs, slice(half, None))
    return [f"Held out: the setting is chosen on seeds {seeds[0]}-{seeds[half - 1]} (most steps saved with "
            f"{MEASURES[measure]} within 1%) and measured on seeds {seeds[half]}-{seeds[-1]}:", "",
            *selection_table(check, measure, pick)]


def method_name(lib: str, rule: str, setting: str = "") -> str:
    if lib == "optuna" and rule == "median" and setting:
        return "PercentilePruner" if "percentile=" in setting else "MedianPruner"
    return OPTUNA_NAMES.get(rule, rule) if lib == "optuna" else rule


def row(key: Key, s: dict[str, float]) -> str:
    return (f"| {key[0]} | {method_name(*key)} | {key[2]} | {s['steps']:.0f} | {s['saved']:.1f}% | "
            f"{s['best']:.4f} | {s['loss']:+.2f}% / {s['worst']:+.2f}% | "
            f"{s['true']:.4f} | {s['tloss']:+.2f}% / {s['tworst']:+.2f}% |")


HEADER = ["| library | method | setting | steps | saved vs none | best final objective | "
          "best vs none: mean / worst seed | true objective of the returned configuration | "
          "true vs none: mean / worst seed |", "|---|---|---|---:|---:|---:|---:|---:|---:|"]


def frontier(stats: Stats, lib: str, rule: str, variant: str | None = None, measure: str = "loss") -> Key | None:
    """The setting that saves the most steps with quality within 1% of none by ``measure`` (seed mean).

    ``variant`` restricts hpcore's median grid to one variant of its options (``label`` of it).
    """
    ok = [k for k in stats if k[:2] == (lib, rule) and stats[k][measure] <= 1.0
          and (variant is None or variant_of(k[2]) == variant)]
    return max(ok, key=lambda k: stats[k]["saved"]) if ok else None


def variant_of(setting: str) -> str:
    """The options of a median setting beyond min_trials and warmup_steps (``-`` for the default rule)."""
    return ", ".join(setting.split(", ")[2:]) or "-"


def variant_table(stats: Stats) -> list[str]:
    lines = ["hpcore's median rule, each variant of its options over the grid (min_trials x warmup_steps):",
             "", "| options | min_trials=3, warmup_steps=0: saved, best vs none (mean / worst) | "
             "best in grid within 1%: setting, saved, best vs none (mean / worst) |", "|---|---|---|"]
    for v in MEDIAN_VARIANTS:
        d = stats[("hpcore", "median", label({**GRIDS["median"][0], **v}))]
        k = frontier(stats, "hpcore", "median", label(v))
        best = (f"{', '.join(k[2].split(', ')[:2])}: {stats[k]['saved']:.1f}%, {stats[k]['loss']:+.2f}% / "
                f"{stats[k]['worst']:+.2f}%" if k else "(none within 1%)")
        lines.append(f"| {label(v)} | {d['saved']:.1f}%, {d['loss']:+.2f}% / {d['worst']:+.2f}% | {best} |")
    return lines


def crossing_table(problem: Problem, configs: dict[int, list[dict[str, Any]]]) -> list[str]:
    lines = [f"How early rankings predict the final one ({problem.name}, {len(configs)} seeds x {TRIALS} "
             "configurations):", "", "| epoch | Spearman rho with the final objective | rank of the final best "
             "(0 first, 1 last) | final top 5 in the worse half |", "|---:|---:|---:|---:|"]
    for e, c in crossing(problem, configs).items():
        lines.append(f"| {e} | {c['rho']:.3f} | {c['best_rank']:.3f} | {100 * c['top5_behind']:.0f}% |")
    return lines + ["", f"Configurations per seed whose final objective is within 1% of the best one: "
                    f"{near_best(problem, configs):.1f} of {TRIALS}."]


def tables(problem: Problem, seeds: list[int], runs: Runs, configs: dict[int, list[dict[str, Any]]]) -> str:
    stats = summarize(problem, runs)
    arrow = "lower" if problem.direction == "minimize" else "higher"
    lines = [f"**{problem.name}** ({problem.objective}, {arrow} is better; {TRIALS} trials x {EPOCHS} epochs; "
             f"seeds {seeds[0]}-{seeds[-1]}; means over seeds)", "", "Default settings:", "", *HEADER]
    defaults = [("none", "-")] + [(rule, label(grid[0])) for rule, grid in GRIDS.items()]
    for lib in ("hpcore", "optuna"):
        lines += [row((lib, r, st), stats[(lib, r, st)]) for r, st in defaults]
    for measure, what in (("loss", "its best stays"), ("tloss", "the true objective of its returned "
                                                       "configuration stays")):
        lines += ["", f"Equal quality ({MEASURES[measure]}): per library and rule, the setting of the grid that "
                  f"saves the most steps while {what} within 1% of none:", "", *selection_table(stats, measure)]
        if len(seeds) >= 10:
            lines += ["", *held_out_table(problem, seeds, runs, measure)]
    lines += ["", *variant_table(stats), "", *crossing_table(problem, configs)]
    return "\n".join(lines)


def verdicts(results: list[tuple[Problem, Stats]]) -> str:
    """The targets, each under both quality measures (see ``MEASURES``)."""
    names = [p.name for p, _ in results]
    lines = ["| target | quality measure | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for rule, which, m in [(r, w, m) for r in ("median", "asha") for w in ("default", "best in grid")
                           for m in MEASURES]:
        cells = []
        for _, st in results:
            k = (("hpcore", rule, label(GRIDS[rule][0])) if which == "default"
                 else frontier(st, "hpcore", rule, measure=m))
            if k is None:
                cells.append("NOT met (no setting within 1%)")
                continue
            s = st[k]
            ok = s["saved"] >= 50.0 and s[m] <= 1.0
            cells.append(f"{'met' if ok else 'NOT met'} ({s['saved']:.0f}% saved, {s[m]:+.2f}%)")
        lines.append(f"| `{rule}` ({which}) saves >= 50% of the steps within 1% of none | {MEASURES[m]} | " +
                     " | ".join(cells) + " |")
    # The median rule twice: over all its options, and with its default options (SageMaker's rule);
    # Hyperband over both bracket sets, and with its own (all brackets) only.
    for (rule, variant, what), m in [(t, m) for t in [
            ("median", None, "`median`"), ("median", "-", "`median` (default options)"), ("asha", None, "`asha`"),
            ("hyperband", None, "`hyperband`"), ("hyperband", "-", "`hyperband` (all brackets)")] for m in MEASURES]:
        cells = []
        for _, st in results:
            a, b = frontier(st, "hpcore", rule, variant, m), frontier(st, "optuna", rule, measure=m)
            sa = st[a]["saved"] if a else float("nan")
            sb = st[b]["saved"] if b else float("nan")
            ok = a is not None and (b is None or sa >= sb)
            cells.append(f"{'met' if ok else 'NOT met'} ({sa:.0f}% vs {sb:.0f}% saved)")
        lines.append(f"| {what} saves at least as much as {OPTUNA_NAMES[rule]} at equal quality | "
                     f"{MEASURES[m]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic-seeds", type=int, default=20)
    parser.add_argument("--mlp-seeds", type=int, default=5)
    parser.add_argument("--json", metavar="PATH", help="also write every method's statistics to PATH")
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    started = time.perf_counter()
    results = []
    mlp = digits_problem()
    for problem, n in ((SYNTHETIC, args.synthetic_seeds), (mlp, args.mlp_seeds)):
        if n <= 0:
            continue
        seeds = list(range(n))
        runs, configs = compare(problem, seeds)
        results.append((problem, summarize(problem, runs)))
        print(tables(problem, seeds, runs, configs), end="\n\n", flush=True)
    print(verdicts(results), end="\n\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({p.name: [[*k, st] for k, st in stats.items()] for p, stats in results}, f, indent=1)
    trainer = mlp.curve
    assert isinstance(trainer, DigitsMLP)
    print(f"Grids: median {GRIDS['median']}, for hpcore with each of the options {MEDIAN_VARIANTS}; "
          f"asha and hyperband {GRIDS['asha']}, max_resource={EPOCHS} (hyperband also with Optuna's brackets). "
          "Optuna: MedianPruner(n_startup_trials=min_trials, n_warmup_steps=warmup_steps + 1) and "
          f"PercentilePruner(percentile, same arguments) for percentile in {PERCENTILES}, "
          "SuccessiveHalvingPruner(min_resource, reduction_factor), HyperbandPruner(min_resource, "
          f"max_resource={EPOCHS}, reduction_factor). MLP epochs actually trained: {trainer.epochs_trained} "
          f"in {trainer.seconds:.0f} s; total {time.perf_counter() - started:.0f} s.")


if __name__ == "__main__":
    main()
