"""Early stopping and Hyperband: training steps saved and best objective kept, hpcore next to Optuna.

Two problems, both with 27 epochs per full training run:

* ``synthetic``: a family of learning curves (validation loss, minimised) whose speed, plateau and
  overfitting depend on the hyperparameters, with seeded noise;
* ``digits-mlp``: a real training, scikit-learn's ``MLPClassifier`` on the digits data, one
  ``partial_fit`` pass per epoch, validation accuracy maximised.

For each seed, hpcore's random strategy draws the 40 configurations; every method then runs those
same configurations in the same order (Optuna gets them through ``enqueue_trial``), on the same
curves, so the methods differ only in when they stop. MLP training is deterministic, so each
configuration is trained once, epoch by epoch as far as any method asks, and its curve is replayed
for the others (the steps each method consumes are counted as if it had trained them itself).

Run::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/bench_early_stopping.py
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna

import hpcore

EPOCHS = 27
TRIALS = 40
# Each rule runs over a small grid of settings; Optuna's pruner gets the same grid. The first
# entry is the rule's default, the one the first table shows.
GRIDS: dict[str, list[dict[str, int]]] = {
    "median": [{"min_trials": n, "warmup_steps": w} for n in (3, 5, 10) for w in (0, 1, 2)],
    "asha": [{"min_resource": r, "reduction_factor": e} for r in (1, 3, 9) for e in (3, 2, 4)],
}
GRIDS["hyperband"] = GRIDS["asha"]
OPTUNA_NAMES = {"median": "MedianPruner", "asha": "SuccessiveHalvingPruner", "hyperband": "HyperbandPruner"}


# -- problems -----------------------------------------------------------------------------------
@dataclass
class Problem:
    name: str
    space: hpcore.SearchSpace
    objective: str
    direction: str
    curve: Callable[[dict[str, Any], int, int], float]  # (params, seed, epoch) -> objective

    def optuna_params(self, trial: optuna.Trial) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, p in self.space.items():
            if isinstance(p, hpcore.Categorical):
                out[name] = trial.suggest_categorical(name, list(p.values))
            elif isinstance(p, hpcore.Int):
                out[name] = trial.suggest_int(name, p.min, p.max, log=p.is_log)
            else:
                out[name] = trial.suggest_float(name, p.min, p.max, log=p.is_log)
        return out


def _key(params: dict[str, Any], seed: int) -> tuple[Any, ...]:
    return (seed, *sorted(params.items()))


def synthetic_curve(params: dict[str, Any], seed: int, epoch: int) -> float:
    """Validation loss at ``epoch`` of a model with these hyperparameters.

    The learning rate sets the speed (best near 1e-2, unstable above 1e-1), the width the plateau
    (wider is lower), and width without dropout overfits after convergence; dropout slows learning
    but removes the overfitting, so slow starters sometimes end best (curves cross).
    """
    u = math.log10(params["lr"])
    width, dropout = math.log2(params["width"]), params["dropout"]
    speed = (0.6 * math.exp(-((u + 2.0) ** 2)) + 0.02) * (1.0 - 0.6 * dropout)
    plateau = 0.08 + 0.25 * math.exp(-(width - 3.0) / 2.5) + 0.3 * max(0.0, u + 1.0) ** 2
    overfit = 0.12 * (width / 10.0) * (0.7 - dropout) ** 2
    onset = 2.0 / speed
    loss = plateau + (1.0 - plateau) * math.exp(-speed * epoch) + overfit * max(0.0, epoch - onset) / EPOCHS
    rng = np.random.default_rng([seed, zlib.crc32(repr(_key(params, seed)).encode()), epoch])
    return loss + 0.004 * float(rng.standard_normal())


SYNTHETIC = Problem(
    "synthetic", hpcore.SearchSpace({
        "lr": hpcore.Float(1e-4, 1.0, scale="log"),
        "width": hpcore.Int(8, 1024, scale="log"),
        "dropout": hpcore.Float(0.0, 0.7),
    }), "val_loss", "minimize", synthetic_curve)


class DigitsMLP:
    """Trains each configuration once, lazily, epoch by epoch; later methods replay its curve."""

    def __init__(self) -> None:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        x, y = load_digits(return_X_y=True)
        self.x_train, self.x_val, self.y_train, self.y_val = train_test_split(
            x / 16.0, y, test_size=0.3, random_state=0, stratify=y)
        self.cache: dict[tuple[Any, ...], tuple[Any, list[float]]] = {}
        self.epochs_trained = 0
        self.seconds = 0.0

    def __call__(self, params: dict[str, Any], seed: int, epoch: int) -> float:
        from sklearn.neural_network import MLPClassifier

        key = _key(params, seed)
        if key not in self.cache:
            model = MLPClassifier(hidden_layer_sizes=(params["hidden"],), learning_rate_init=params["lr"],
                                  alpha=params["alpha"], batch_size=params["batch_size"], random_state=seed)
            self.cache[key] = (model, [])
        model, accs = self.cache[key]
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # partial_fit's convergence warnings are expected
            while len(accs) < epoch:
                model.partial_fit(self.x_train, self.y_train, classes=np.arange(10))
                accs.append(float(model.score(self.x_val, self.y_val)))
                self.epochs_trained += 1
        self.seconds += time.perf_counter() - started
        return accs[epoch - 1]


def digits_problem() -> Problem:
    return Problem("digits-mlp", hpcore.SearchSpace({
        "lr": hpcore.Float(1e-4, 0.3, scale="log"),
        "hidden": hpcore.Int(8, 128, scale="log"),
        "alpha": hpcore.Float(1e-6, 1e-1, scale="log"),
        "batch_size": hpcore.Categorical([32, 64, 128, 256]),
    }), "val_acc", "maximize", DigitsMLP())


# -- runners ------------------------------------------------------------------------------------
@dataclass
class Run:
    steps: int
    best: float
    params: list[dict[str, Any]]


def run_hpcore(problem: Problem, seed: int, rule: str, setting: dict[str, int]) -> Run:
    steps = 0
    last: dict[int, float] = {}

    def train(params: dict[str, Any], reporter: hpcore.Reporter) -> dict[str, float]:
        nonlocal steps
        value = math.nan
        for epoch in range(1, EPOCHS + 1):
            value = problem.curve(params, seed, epoch)
            steps += 1
            if reporter.report(epoch, **{problem.objective: value}):
                break
        last[reporter.trial_id] = value
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
    return Run(steps, pick(last.values()), [r.params for r in sorted(result.trials, key=lambda r: r.id)])


def optuna_pruner(rule: str, setting: dict[str, int]) -> optuna.pruners.BasePruner:
    if rule == "none":
        return optuna.pruners.NopPruner()
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


def run_optuna(problem: Problem, seed: int, rule: str, setting: dict[str, int],
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
    return Run(steps, pick(last), configs)


# -- the comparison -----------------------------------------------------------------------------
Key = tuple[str, str, str]  # (library, rule, setting)


def label(setting: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in setting.items()) or "-"


def loss_of_quality(problem: Problem, best: float, reference: float) -> float:
    """How much worse ``best`` is than ``reference``, in percent of it (negative: better)."""
    sign = 1.0 if problem.direction == "minimize" else -1.0
    return 100.0 * sign * (best - reference) / abs(reference)


def compare(problem: Problem, seeds: list[int]) -> dict[Key, dict[str, float]]:
    runs: dict[Key, list[Run]] = {}
    for seed in seeds:
        base = run_hpcore(problem, seed, "none", {})  # first: it trains every configuration fully
        runs.setdefault(("hpcore", "none", "-"), []).append(base)
        runs.setdefault(("optuna", "none", "-"), []).append(run_optuna(problem, seed, "none", {}, base.params))
        for rule, grid in GRIDS.items():
            for setting in grid:
                runs.setdefault(("hpcore", rule, label(setting)), []).append(
                    run_hpcore(problem, seed, rule, setting))
                runs.setdefault(("optuna", rule, label(setting)), []).append(
                    run_optuna(problem, seed, rule, setting, base.params))
    stats: dict[Key, dict[str, float]] = {}
    for key, rs in runs.items():
        ref = runs[(key[0], "none", "-")]
        losses = [loss_of_quality(problem, r.best, b.best) for r, b in zip(rs, ref, strict=True)]
        stats[key] = {"steps": statistics.mean(r.steps for r in rs),
                      "saved": 100.0 * (1.0 - sum(r.steps for r in rs) / sum(b.steps for b in ref)),
                      "best": statistics.mean(r.best for r in rs),
                      "loss": statistics.mean(losses), "worst": max(losses)}
    return stats


def method_name(lib: str, rule: str) -> str:
    return OPTUNA_NAMES.get(rule, rule) if lib == "optuna" else rule


def row(key: Key, s: dict[str, float]) -> str:
    return (f"| {key[0]} | {method_name(key[0], key[1])} | {key[2]} | {s['steps']:.0f} | {s['saved']:.1f}% | "
            f"{s['best']:.4f} | {s['loss']:+.2f}% / {s['worst']:+.2f}% |")


HEADER = ["| library | method | setting | steps | saved vs none | best final objective | "
          "best vs none: mean / worst seed |", "|---|---|---|---:|---:|---:|---:|"]


def frontier(stats: dict[Key, dict[str, float]], lib: str, rule: str) -> Key | None:
    """The setting that saves the most steps with the best within 1% of none (on the seed mean)."""
    ok = [k for k in stats if k[:2] == (lib, rule) and stats[k]["loss"] <= 1.0]
    return max(ok, key=lambda k: stats[k]["saved"]) if ok else None


def tables(problem: Problem, seeds: list[int], stats: dict[Key, dict[str, float]]) -> str:
    arrow = "lower" if problem.direction == "minimize" else "higher"
    lines = [f"**{problem.name}** ({problem.objective}, {arrow} is better; {TRIALS} trials x {EPOCHS} epochs; "
             f"seeds {seeds[0]}-{seeds[-1]}; means over seeds)", "", "Default settings:", "", *HEADER]
    defaults = [("none", "-")] + [(rule, label(grid[0])) for rule, grid in GRIDS.items()]
    for lib in ("hpcore", "optuna"):
        lines += [row((lib, r, st), stats[(lib, r, st)]) for r, st in defaults]
    lines += ["", "Equal quality: per library and rule, the setting of the grid that saves the most steps "
              "while its best stays within 1% of none:", "", *HEADER]
    for rule in GRIDS:
        for lib in ("hpcore", "optuna"):
            k = frontier(stats, lib, rule)
            lines.append(row(k, stats[k]) if k else f"| {lib} | {method_name(lib, rule)} | (none within 1%) "
                         "| | | | |")
    return "\n".join(lines)


def verdicts(results: list[tuple[Problem, dict[Key, dict[str, float]]]]) -> str:
    names = [p.name for p, _ in results]
    lines = ["| target | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for rule in ("median", "asha"):
        for which in ("default", "best in grid"):
            cells = []
            for _, st in results:
                k = (("hpcore", rule, label(GRIDS[rule][0])) if which == "default"
                     else frontier(st, "hpcore", rule))
                if k is None:
                    cells.append("NOT met (no setting within 1%)")
                    continue
                s = st[k]
                ok = s["saved"] >= 50.0 and s["loss"] <= 1.0
                cells.append(f"{'met' if ok else 'NOT met'} ({s['saved']:.0f}% saved, {s['loss']:+.2f}%)")
            lines.append(f"| `{rule}` ({which}) saves >= 50% of the steps, best within 1% | " +
                         " | ".join(cells) + " |")
    for rule in GRIDS:
        cells = []
        for _, st in results:
            a, b = frontier(st, "hpcore", rule), frontier(st, "optuna", rule)
            sa = st[a]["saved"] if a else float("nan")
            sb = st[b]["saved"] if b else float("nan")
            ok = a is not None and (b is None or sa >= sb)
            cells.append(f"{'met' if ok else 'NOT met'} ({sa:.0f}% vs {sb:.0f}% saved)")
        lines.append(f"| `{rule}` saves at least as much as {OPTUNA_NAMES[rule]} at equal quality | " +
                     " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic-seeds", type=int, default=10)
    parser.add_argument("--mlp-seeds", type=int, default=5)
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
        stats = compare(problem, seeds)
        results.append((problem, stats))
        print(tables(problem, seeds, stats), end="\n\n", flush=True)
    print(verdicts(results), end="\n\n")
    trainer = mlp.curve
    assert isinstance(trainer, DigitsMLP)
    print(f"Grids: median {GRIDS['median']}; asha and hyperband {GRIDS['asha']}, max_resource={EPOCHS}. "
          "Optuna: MedianPruner(n_startup_trials=min_trials, n_warmup_steps=warmup_steps + 1), "
          "SuccessiveHalvingPruner(min_resource, reduction_factor), HyperbandPruner(min_resource, "
          f"max_resource={EPOCHS}, reduction_factor). MLP epochs actually trained: {trainer.epochs_trained} "
          f"in {trainer.seconds:.0f} s; total {time.perf_counter() - started:.0f} s.")


if __name__ == "__main__":
    main()
