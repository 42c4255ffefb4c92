"""Parameter importance, hpcore next to Optuna's fANOVA and PED-ANOVA, against the true shares.

    python benchmarks/bench_importance.py [--seeds 0-9] [--trials 60] [--json PATH]

Each function's true importance is known: the first-order Sobol index of each parameter (the
variance of the objective's mean given that parameter, over the uniform distribution of the search
space's encoding), normalised to sum to one, the quantity hpcore's importance estimates. For each
seed, hpcore's random strategy draws ``--trials`` configurations; the three estimators read the same
trials: hpcore's ``importance_values`` (a functional ANOVA of its numpy forest), Optuna's
``FanovaImportanceEvaluator`` (the same decomposition on scikit-learn's forest) and
``PedAnovaImportanceEvaluator`` (how differently the best 10 % of trials are spread than all of them:
a *local* importance, not a share of variance). Reported: the mean absolute error of each method's
shares against the truth, and how often it ranks the truly most important parameter first.
Nothing is tuned here: there are no settings to choose, so no design seeds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna

import hpcore
from hpcore.plot import importance_values

Function = Callable[[dict[str, Any]], float]

SPACE = hpcore.SearchSpace({"a": hpcore.Float(0.0, 1.0), "b": hpcore.Float(0.0, 1.0),
                            "c": hpcore.Categorical(["x", "y"]), "d": hpcore.Float(1e-3, 1.0, scale="log")})
DISTRIBUTIONS = {"a": optuna.distributions.FloatDistribution(0.0, 1.0),
                 "b": optuna.distributions.FloatDistribution(0.0, 1.0),
                 "c": optuna.distributions.CategoricalDistribution(["x", "y"]),
                 "d": optuna.distributions.FloatDistribution(1e-3, 1.0, log=True)}

FUNCTIONS: dict[str, Function] = {
    # A dominant bowl, a weak bowl, a categorical step, and d (log range) doing nothing.
    "bowls": lambda p: 4 * (p["a"] - 0.5) ** 2 + (p["b"] - 0.5) ** 2 + 0.25 * (p["c"] == "y"),
    # Linear in a and b, with d mattering on its log scale.
    "additive": lambda p: 2 * p["a"] + p["b"] + 0.3 * np.log10(p["d"]),
    # An interaction: a and b matter mostly together (their main effects are a part of it).
    "interaction": lambda p: 4 * p["a"] * p["b"] + 0.5 * (p["c"] == "x"),
}


def true_shares(f: Function, n_grid: int = 32, n_mc: int = 1000, seed: int = 0) -> dict[str, float]:
    """First-order Sobol indices over the unit-cube encoding, normalised to sum to one."""
    rng = np.random.default_rng(seed)
    names = list(SPACE)
    base = rng.uniform(size=(n_mc, len(names)))
    main = {}
    for j, name in enumerate(names):
        means = []
        for g in (np.arange(n_grid) + 0.5) / n_grid:
            pts = base.copy()
            pts[:, j] = g
            means.append(np.mean([f(SPACE.decode(u)) for u in pts]))
        main[name] = float(np.var(means))
    total = sum(main.values())
    return {n: v / total for n, v in main.items()}


def estimates(f: Function, seed: int, trials: int) -> dict[str, dict[str, float]]:
    result = hpcore.TuningJob(f, SPACE, objective="loss", strategy="random", max_trials=trials, seed=seed,
                              progress=False).run()
    result.space = SPACE
    study = optuna.create_study()
    for t in result.trials:
        study.add_trial(optuna.trial.create_trial(params=t.params, distributions=DISTRIBUTIONS, value=t.value))
    out = {"hpcore": importance_values(result)}
    for name, ev in (("optuna fANOVA", optuna.importance.FanovaImportanceEvaluator(seed=seed)),
                     ("optuna PED-ANOVA", optuna.importance.PedAnovaImportanceEvaluator())):
        imp = optuna.importance.get_param_importances(study, evaluator=ev, normalize=True)
        out[name] = {n: float(imp.get(n, 0.0)) for n in SPACE}
    return out


def main(argv: list[str] | None = None) -> None:
    from seeds import parse_seeds as seed_list

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=seed_list, default=seed_list("0-9"))
    ap.add_argument("--trials", type=int, default=60)
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    table: dict[str, Any] = {"seeds": args.seeds, "trials": args.trials, "functions": {}}
    print("| function | truth | method | mean abs. error of the shares | most important first | mean shares |")
    print("|---|---|---|---|---|---|")
    for fname, f in FUNCTIONS.items():
        truth = true_shares(f)
        top = max(truth, key=truth.get)
        runs = [estimates(f, s, args.trials) for s in args.seeds]
        rows = {}
        for method in runs[0]:
            err = statistics.fmean(np.mean([abs(r[method][n] - truth[n]) for n in truth]) for r in runs)
            first = sum(max(r[method], key=r[method].get) == top for r in runs)
            mean = {n: statistics.fmean(r[method][n] for r in runs) for n in truth}
            rows[method] = {"mae": err, "top_first": first, "mean": mean}
            shown = ", ".join(f"{n} {v:.2f}" for n, v in truth.items())
            print(f"| {fname} | {shown} | {method} | {err:.3f} | {first} of {len(runs)} | "
                  + ", ".join(f"{n} {v:.2f}" for n, v in mean.items()) + " |")
        table["functions"][fname] = {"truth": truth, "methods": rows}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(table, fh, indent=1)


if __name__ == "__main__":
    main()
