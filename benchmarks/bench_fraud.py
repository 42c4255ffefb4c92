"""Fraud example: what tuning gains over the defaults; hpcore (bayesian + median) against Optuna TPE.

Both tune the same training function (:class:`hpcore.algorithms.linear_learner.LinearLearner`) on
the same generated data, with the same budget of trials and the same ranges (Optuna gets
``1 - beta`` on a log scale, which is what hpcore's ``reverse_log`` scale means), one seed after
the other (each seed generates its own data). The untuned default configuration is trained once
per seed. Reported: validation and test AUC of the default and of each tuner's best configuration
(retrained, as a deployed model would be), and the gain of each tuner over the defaults with its
spread over the seeds. The generator and the larger space were designed on seeds 0-4; the
default seeds, 100-104, are held out.

Run:
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/bench_fraud.py \
        --space default --json benchmarks/results/fraud-default.json
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

import numpy as np
from seeds import parse_seeds

from hpcore._examples.fraud import choose_methods, run
from hpcore.algorithms.linear_learner import OBJECTIVE, LinearLearner, linear_learner_space


class _OptunaReporter:
    """hpcore's reporter interface on top of an Optuna trial, so the training function is shared."""

    threads = 1

    def __init__(self, trial: Any) -> None:
        self.trial = trial

    def report(self, step: int, **metrics: float) -> bool:
        self.trial.report(metrics[OBJECTIVE], step)
        return self.trial.should_prune()


def run_optuna(train: LinearLearner, trials: int, seed: int, large: bool) -> dict[str, Any]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: Any) -> float:
        params = {
            "learning_rate": trial.suggest_float("learning_rate", 1e-5, 1.0, log=True),
            "beta_1": 1.0 - trial.suggest_float("one_minus_beta_1", 0.001, 0.5, log=True),
            "beta_2": 1.0 - trial.suggest_float("one_minus_beta_2", 1e-5, 0.1, log=True),
            "epochs": trial.suggest_int("epochs", 1, 30),
        }
        if large:  # the same ranges and scales as linear_learner_space(large=True)
            params["weight_decay"] = trial.suggest_float("weight_decay", 0.0, 0.01)
            params["l1"] = trial.suggest_float("l1", 0.0, 0.001)
            params["pos_weight"] = trial.suggest_float("pos_weight", 1.0, 300.0, log=True)
            params["batch_size"] = trial.suggest_int("batch_size", 100, 5000, log=True)
        trial.set_user_attr("params", params)
        value = train(params, _OptunaReporter(trial))[OBJECTIVE]
        if trial.should_prune():
            raise optuna.TrialPruned()
        return value

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna.pruners.MedianPruner())
    study.optimize(objective, n_trials=trials)
    best = study.best_trial
    return {"value": best.value, "params": best.user_attrs["params"]}


def run_hpcore(rows: int, trials: int, seed: int, space: str) -> dict[str, Any]:
    """The example's own job (:func:`hpcore._examples.fraud.run`), keeping no models."""
    result, _ = run(trials=trials, seed=seed, rows=rows, progress=False, keep="none", space=space)
    best = result.best
    assert best is not None
    return {"value": best.value, "params": best.params}


def _mean_se(xs: list[float]) -> str:
    a = np.asarray(xs)
    se = a.std(ddof=1) / math.sqrt(len(a)) if len(a) > 1 else float("nan")
    return f"{a.mean():.4f} ± {se:.4f}"


def _gain(xs: list[float]) -> str:
    a = np.asarray(xs)
    return f"{a.mean():+.4f} ± {a.std(ddof=1):.4f} ({int((a > 0).sum())}/{len(a)})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=parse_seeds, default=parse_seeds("100-104"),
                   help="seeds: a count, a range (100-104, the default: held out) or a list")
    p.add_argument("--trials", type=int, default=25)
    p.add_argument("--rows", type=int, default=50_000)
    p.add_argument("--space", choices=("default", "large"), default="default")
    p.add_argument("--json", default=None, help="write the per-seed results to this file")
    args = p.parse_args()
    strategy, stopper = choose_methods("bayesian", "median")
    large = args.space == "large"
    print(f"hpcore: strategy={strategy}, early_stopping={stopper}; Optuna: TPESampler + MedianPruner; "
          f"{args.space} space, {args.trials} trials each, {args.rows} rows\n")
    keys = ("default", "hpcore", "optuna", "def_test", "hp_test", "op_test")
    cols: dict[str, list[float]] = {k: [] for k in keys}
    header = ("| seed | default val AUC | hpcore val AUC | Optuna TPE val AUC | default test | hpcore test "
              "| Optuna test | hpcore s | Optuna s |")
    lines, records = [header, "|" + "---|" * 9], []
    for seed in args.seeds:
        train = LinearLearner(rows=args.rows, seed=seed)
        default = train.final_model(linear_learner_space().defaults())
        t0 = time.monotonic()
        hp = run_hpcore(args.rows, args.trials, seed, args.space)
        t1 = time.monotonic()
        op = run_optuna(train, args.trials, seed, large)
        t2 = time.monotonic()
        hp_final, op_final = train.final_model(hp["params"]), train.final_model(op["params"])
        row = {"default": default["validation_auc"], "hpcore": hp_final["validation_auc"],
               "optuna": op_final["validation_auc"], "def_test": default["test_auc"],
               "hp_test": hp_final["test_auc"], "op_test": op_final["test_auc"]}
        for k in keys:
            cols[k].append(row[k])
        records.append({"seed": seed, **row, "hpcore_params": hp["params"], "optuna_params": op["params"],
                        "hpcore_s": t1 - t0, "optuna_s": t2 - t1})
        lines.append(f"| {seed} | {row['default']:.4f} | {row['hpcore']:.4f} | {row['optuna']:.4f} | "
                     f"{row['def_test']:.4f} | {row['hp_test']:.4f} | {row['op_test']:.4f} | {t1 - t0:.0f} | "
                     f"{t2 - t1:.0f} |")
        print(lines[-1], flush=True)
    lines.append("| mean ± s.e. | " + " | ".join(_mean_se(cols[k]) for k in keys) + " | | |")
    print("\n" + "\n".join(lines))
    pairs = (("hpcore val", "hpcore", "default"), ("hpcore test", "hp_test", "def_test"),
             ("Optuna val", "optuna", "default"), ("Optuna test", "op_test", "def_test"))
    gains = {name: [t - d for t, d in zip(cols[k], cols[base])] for name, k, base in pairs}
    print("\ngain over the defaults, mean ± std over seeds (seeds with a gain):")
    for name, xs in gains.items():
        print(f"  {name:<12} {_gain(xs)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"space": args.space, "trials": args.trials, "rows": args.rows, "seeds": args.seeds,
                       "runs": records}, f, indent=1)


if __name__ == "__main__":
    main()
