"""Tunes gradient-boosted trees (XGBoost): tree shape, learning rate/regularisation and row/column sampling.

The data is generated here: 2,000 rows of 20 features, a binary label depending non-linearly on a few
of them. Every trial is a 3-fold ``xgb.cv``; the callback reports the mean validation AUC over the
folds after each round, so poor trials are stopped early. Run it with
``python examples/xgboost_trees/tune.py`` (about a minute on 2 CPU cores) or ``--trials 2 --rounds 20``.
"""

from __future__ import annotations

import argparse
import functools
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import xgboost as xgb  # noqa: E402

import hpcore  # noqa: E402
import hpcore_xgboost  # noqa: E402
from hpcore_xgboost import TuningCallback  # noqa: E402


def make_data(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows of 20 features; the label mixes an interaction, a threshold and noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 20))
    logit = 1.5 * x[:, 0] * x[:, 1] + 2.0 * (x[:, 2] > 0.5) - x[:, 3] ** 2 + 0.5 * rng.normal(size=n)
    return x, (logit > np.median(logit)).astype(int)


def space() -> hpcore.SearchSpace:
    return hpcore.SearchSpace({
        # model: the trees
        "max_depth": hpcore.Int(2, 8, category="model"),
        "min_child_weight": hpcore.Float(0.5, 20.0, scale="log", category="model"),
        # optimizer: the boosting step and its regularisation (preset names, see hpcore_xgboost.booster_params)
        "lr": hpcore.Float(0.02, 0.5, scale="log", category="optimizer"),
        "weight_decay": hpcore.Float(1e-3, 10.0, scale="log", category="optimizer"),
        # data: which rows and columns each tree sees
        "subsample": hpcore.Float(0.5, 1.0, category="data"),
        "colsample_bytree": hpcore.Float(0.3, 1.0, category="data"),
    })


def train(params: dict, reporter: hpcore.Reporter, rounds: int = 150) -> None:
    x, y = make_data()
    booster = {"objective": "binary:logistic", "eval_metric": "auc", "nthread": 1, "tree_method": "hist",
               "max_depth": params["max_depth"], "min_child_weight": params["min_child_weight"],
               "subsample": params["subsample"], "colsample_bytree": params["colsample_bytree"],
               **hpcore_xgboost.booster_params(params)}
    xgb.cv(booster, xgb.DMatrix(x, label=y), num_boost_round=rounds, nfold=3, seed=0,
           callbacks=[TuningCallback(monitor="test-auc")])
    # Returning nothing: the objective is the last mean test AUC the callback reported.


def main(argv: list[str] | None = None) -> hpcore.TuningResult:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--parallel", type=int, default=1, help="trials at once (one per CPU core)")
    args = parser.parse_args(argv)
    job = hpcore.TuningJob(functools.partial(train, rounds=args.rounds), space(), objective="test-auc",
                           direction="maximize", strategy="random", max_trials=args.trials,
                           max_parallel=args.parallel, early_stopping="median", seed=0, progress=False)
    result = job.run()
    print(result.summary())
    return result


if __name__ == "__main__":
    main()
