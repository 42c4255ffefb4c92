"""Autopilot vs FLAML's AutoML vs an untuned HistGradientBoosting, on held-out data.

Each dataset is split once (75% training, 25% held out, stratified for classification, seed 0).
The autopilot and FLAML get the same wall-clock budget on the training part; HistGradientBoosting
runs at its defaults. All scores are computed on the held-out rows by the same functions
(``hpcore.autopilot.metrics.score``). Run with one thread per library::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 KERAS_BACKEND=torch \\
        python benchmarks/bench_autopilot.py --budget 75
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from hpcore.autopilot import run
from hpcore.autopilot.metrics import DIRECTIONS, score

FLAML_METRIC = {"auc": "roc_auc", "accuracy": "accuracy", "r2": "r2"}


def datasets(fraud_rows: int) -> list[tuple[str, pd.DataFrame, str, str]]:
    from sklearn import datasets as sk

    from hpcore.datasets.fraud import make_fraud

    out = []
    for name, loader, problem in (("breast_cancer", sk.load_breast_cancer, "binary"),
                                  ("wine", sk.load_wine, "multiclass"),
                                  ("digits", sk.load_digits, "multiclass"),
                                  ("diabetes", sk.load_diabetes, "regression")):
        frame = loader(as_frame=True).frame
        out.append((name, frame, "target", problem))
    x, y, cols = make_fraud(rows=fraud_rows, seed=0)
    fraud = pd.DataFrame(x, columns=cols)
    fraud["Class"] = y.astype(int)
    out.append(("fraud", fraud, "Class", "binary"))
    return out


def split(df: pd.DataFrame, target: str, problem: str, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    strat = df[target] if problem != "regression" else None
    return train_test_split(df, test_size=0.25, random_state=seed, stratify=strat)


def labels(series: pd.Series, classes: list[str]) -> np.ndarray:
    lookup = {c: i for i, c in enumerate(classes)}
    return np.array([lookup[str(v)] for v in series])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--budget", type=float, default=75.0, help="seconds per contender per dataset")
    ap.add_argument("--fraud-rows", type=int, default=20_000)
    ap.add_argument("--only", nargs="*", help="dataset names to run")
    args = ap.parse_args()
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    rows = []
    for name, df, target, problem in datasets(args.fraud_rows):
        if args.only and name not in args.only:
            continue
        metric = {"binary": "auc", "multiclass": "accuracy", "regression": "r2"}[problem]
        train, test = split(df, target, problem)
        classes = sorted({str(v) for v in df[target]}, key=lambda c: float(c)) if problem != "regression" else []
        y_test = labels(test[target], classes) if classes else test[target].to_numpy(dtype=float)
        x_train, x_test = train.drop(columns=[target]), test.drop(columns=[target])
        res: dict[str, object] = {"dataset": name, "rows": len(df), "metric": metric}

        t = time.monotonic()
        ap_result = run(train, target, problem_type=problem, objective=metric, max_runtime=args.budget,
                        output=None, log=None)
        pipe = ap_result.pipeline
        pred = pipe.predict_proba(test) if classes else pipe.predict(test)
        res["autopilot"] = score(metric, y_test, pred)
        res["autopilot_s"] = time.monotonic() - t
        res["autopilot_best"] = pipe.candidate

        t = time.monotonic()
        try:
            from flaml import AutoML

            automl = AutoML()
            task = "regression" if problem == "regression" else "classification"
            y_fit = labels(train[target], classes) if classes else train[target].to_numpy(dtype=float)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                automl.fit(x_train, y_fit, task=task, metric=FLAML_METRIC[metric], time_budget=args.budget,
                           n_jobs=1, seed=0, verbose=0)
            pred = automl.predict_proba(x_test) if classes else automl.predict(x_test)
            res["flaml"] = score(metric, y_test, pred)
            res["flaml_best"] = automl.best_estimator
        except ImportError as exc:
            res["flaml"], res["flaml_best"] = float("nan"), f"not installed: {exc}"
        res["flaml_s"] = time.monotonic() - t

        t = time.monotonic()
        if classes:
            hgb = HistGradientBoostingClassifier(random_state=0).fit(x_train, labels(train[target], classes))
            res["hgb"] = score(metric, y_test, hgb.predict_proba(x_test))
        else:
            hgb = HistGradientBoostingRegressor(random_state=0).fit(x_train, train[target])
            res["hgb"] = score(metric, y_test, hgb.predict(x_test))
        res["hgb_s"] = time.monotonic() - t
        rows.append(res)
        print(f"{name}: autopilot {res['autopilot']:.4f} ({res['autopilot_best']}, {res['autopilot_s']:.0f} s)  "
              f"flaml {res['flaml']:.4f} ({res['flaml_best']}, {res['flaml_s']:.0f} s)  "
              f"hgb {res['hgb']:.4f} ({res['hgb_s']:.1f} s)", flush=True)

    print("\n| dataset | rows | metric | autopilot (best candidate) | FLAML (best learner) | HGB defaults | "
          "autopilot >= FLAML | autopilot > HGB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        better = (lambda a, b: a >= b) if DIRECTIONS[str(r["metric"])] == "maximize" else (lambda a, b: a <= b)
        print(f"| {r['dataset']} | {r['rows']} | {r['metric']} | {r['autopilot']:.4f} ({r['autopilot_best']}) | "
              f"{r['flaml']:.4f} ({r['flaml_best']}) | {r['hgb']:.4f} | "
              f"{'yes' if better(r['autopilot'], r['flaml']) else 'no'} | "
              f"{'yes' if better(r['autopilot'], r['hgb']) and r['autopilot'] != r['hgb'] else 'no'} |")


if __name__ == "__main__":
    main()
