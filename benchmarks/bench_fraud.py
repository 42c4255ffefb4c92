"""Fraud example: hpcore (bayesian + median stopping) against Optuna's TPE (+ median pruner).

Both tune the same training function (:class:`hpcore.algorithms.linear_learner.LinearLearner`) on
the same generated data, with the same budget of trials and the same ranges (Optuna gets
``1 - beta`` on a log scale, which is what hpcore's ``reverse_log`` scale means), for 5 seeds. The
untuned default configuration is trained once per seed. Reported: validation AUC of the default,
best validation AUC found by each tuner, and the test AUC of each tuner's best configuration
retrained.

Run:
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/bench_fraud.py
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np
from seeds import parse_seeds

from hpcore import TuningJob
from hpcore._examples.fraud import choose_methods
from hpcore.algorithms.linear_learner import OBJECTIVE, LinearLearner, linear_learner_space


class _OptunaReporter:
    """hpcore's reporter interface on top of an Optuna trial, so the training function is shared."""

    threads = 1

    def __init__(self, trial: Any) -> None:
        self.trial = trial

    def report(self, step: int, **metrics: float) -> bool:
        self.trial.report(metrics[OBJECTIVE], step)
        return self.trial.should_prune()


def run_optuna(train: LinearLearner, trials: int, seed: int) -> dict[str, Any]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: Any) -> float:
        params = {
            "learning_rate": trial.suggest_float("learning_rate", 1e-5, 1.0, log=True),
            "beta_1": 1.0 - trial.suggest_float("one_minus_beta_1", 0.001, 0.5, log=True),
            "beta_2": 1.0 - trial.suggest_float("one_minus_beta_2", 1e-5, 0.1, log=True),
            "epochs": trial.suggest_int("epochs", 1, 30),
        }
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


def run_hpcore(train: LinearLearner, trials: int, seed: int, strategy: str, stopper: str) -> dict[str, Any]:
    job = TuningJob(train, linear_learner_space(), objective=OBJECTIVE, direction="maximize", strategy=strategy,
                    max_trials=trials, early_stopping=stopper, seed=seed, progress=False)
    best = job.run().best
    assert best is not None
    return {"value": best.value, "params": best.params}


def _mean_se(xs: list[float]) -> str:
    a = np.asarray(xs)
    se = a.std(ddof=1) / math.sqrt(len(a)) if len(a) > 1 else float("nan")
    return f"{a.mean():.4f} ± {se:.4f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=parse_seeds, default=parse_seeds("100-104"),
                   help="seeds: a count, a range (100-104, the default: held out) or a list")
    p.add_argument("--trials", type=int, default=25)
    p.add_argument("--rows", type=int, default=100_000)
    args = p.parse_args()
    strategy, stopper = choose_methods("bayesian", "median")
    print(f"hpcore: strategy={strategy}, early_stopping={stopper}; Optuna: TPESampler + MedianPruner; "
          f"{args.trials} trials each, {args.rows} rows\n")
    cols: dict[str, list[float]] = {k: [] for k in ("default", "hpcore", "optuna", "hp_test", "op_test", "def_test")}
    header = ("| seed | default val AUC | hpcore val AUC | Optuna TPE val AUC | default test | hpcore test "
              "| Optuna test | hpcore s | Optuna s |")
    lines = [header, "|" + "---|" * 9]
    for seed in args.seeds:
        train = LinearLearner(rows=args.rows, seed=seed)
        default = train.final_model(linear_learner_space().defaults())
        t0 = time.monotonic()
        hp = run_hpcore(train, args.trials, seed, strategy, stopper)
        t1 = time.monotonic()
        op = run_optuna(train, args.trials, seed)
        t2 = time.monotonic()
        hp_test = train.final_model(hp["params"])["test_auc"]
        op_test = train.final_model(op["params"])["test_auc"]
        for k, v in (("default", default["validation_auc"]), ("hpcore", hp["value"]), ("optuna", op["value"]),
                     ("def_test", default["test_auc"]), ("hp_test", hp_test), ("op_test", op_test)):
            cols[k].append(v)
        lines.append(f"| {seed} | {default['validation_auc']:.4f} | {hp['value']:.4f} | {op['value']:.4f} | "
                     f"{default['test_auc']:.4f} | {hp_test:.4f} | {op_test:.4f} | {t1 - t0:.0f} | {t2 - t1:.0f} |")
        print(lines[-1], flush=True)
    lines.append(f"| mean ± s.e. | {_mean_se(cols['default'])} | {_mean_se(cols['hpcore'])} | "
                 f"{_mean_se(cols['optuna'])} | {_mean_se(cols['def_test'])} | {_mean_se(cols['hp_test'])} | "
                 f"{_mean_se(cols['op_test'])} | | |")
    beats = sum(h > d for h, d in zip(cols["hpcore"], cols["default"]))
    hp_mean, op = float(np.mean(cols["hpcore"])), np.asarray(cols["optuna"])
    op_se = op.std(ddof=1) / math.sqrt(len(op)) if len(op) > 1 else 0.0
    print("\n" + "\n".join(lines))
    print(f"\nhpcore tuned > default on {beats}/{len(cols['hpcore'])} seeds; "
          f"hpcore mean {hp_mean:.4f} vs Optuna mean - 1 s.e. {op.mean() - op_se:.4f}: "
          f"{'goal met' if hp_mean >= op.mean() - op_se else 'goal NOT met'}")


if __name__ == "__main__":
    main()
