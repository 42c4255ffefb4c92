"""Autopilot vs FLAML's AutoML vs an untuned HistGradientBoosting, on repeated held-out splits.

Each dataset is split several times (75% training, 25% held out, stratified for classification,
one split per ``--splits`` seed); on every split the autopilot and FLAML get the same wall-clock
budget on the training part, one after the other, and HistGradientBoosting runs at its defaults.
All scores are computed on the held-out rows by the same functions (``hpcore.autopilot.metrics.score``,
scikit-learn's metrics). Reported: mean and standard deviation over the splits, and on how many
splits the autopilot is at or above FLAML. The autopilot's candidates and budget rules were built on
split seed 0; seeds from 100 on were not looked at while building them. Run with one thread per
library::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 KERAS_BACKEND=torch \\
        python benchmarks/bench_autopilot.py --budget 30 --splits 100-104 --json autopilot.json
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd
from seeds import parse_seeds

from hpcore.autopilot import run
from hpcore.autopilot.data import features_frame
from hpcore.autopilot.ensemble import ENSEMBLE
from hpcore.autopilot.metrics import DIRECTIONS, score
from hpcore.autopilot.search import make_candidates

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


def _predictions(model: object, test: pd.DataFrame, classes: list[str]) -> np.ndarray:
    """What the metric scores: probabilities with columns in ``classes`` order, or values."""
    if classes:  # the model's classes are the target's own labels: reorder its columns as ``classes``
        order = [list(map(str, model.classes_)).index(c) for c in classes]
        return model.predict_proba(test)[:, order]
    return model.predict(test)


def one_split(name: str, df: pd.DataFrame, target: str, problem: str, seed: int, budget: float) -> dict:
    """The three contenders on one split; returns their held-out scores and times."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    metric = {"binary": "auc", "multiclass": "accuracy", "regression": "r2"}[problem]
    train, test = split(df, target, problem, seed)
    classes = sorted({str(v) for v in df[target]}, key=lambda c: float(c)) if problem != "regression" else []
    y_test = labels(test[target], classes) if classes else test[target].to_numpy(dtype=float)
    x_train, x_test = train.drop(columns=[target]), test.drop(columns=[target])
    res: dict = {"dataset": name, "rows": len(df), "metric": metric, "split": seed}

    t = time.monotonic()
    ap_result = run(train, target, problem_type=problem, objective=metric, max_runtime=budget, output=None,
                    log=None, seed=seed)
    res["autopilot"] = score(metric, y_test, _predictions(ap_result.model, test, classes))
    res["autopilot_s"] = time.monotonic() - t
    res["autopilot_best"] = ap_result.card.candidate
    # The same search's best single candidate (it is the model itself unless the ensemble won).
    single = next(r for r in ap_result.leaderboard if r["candidate"] != ENSEMBLE)
    res["single_best"] = single["candidate"]
    res["single"] = res["autopilot"]
    if ap_result.card.candidate == ENSEMBLE:
        analysis = ap_result.analysis
        candidate = {c.name: c for c in make_candidates(analysis)}[single["candidate"]]
        fitted = candidate.pipeline(analysis, single["params"], seed=seed).fit(
            features_frame(train, analysis), train[target].to_numpy() if classes else train[target].astype(float))
        res["single"] = score(metric, y_test, _predictions(fitted, test, classes))

    t = time.monotonic()
    try:
        from flaml import AutoML

        automl = AutoML()
        task = "regression" if problem == "regression" else "classification"
        y_fit = labels(train[target], classes) if classes else train[target].to_numpy(dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            automl.fit(x_train, y_fit, task=task, metric=FLAML_METRIC[metric], time_budget=budget,
                       n_jobs=1, seed=seed, verbose=0)
        pred = automl.predict_proba(x_test) if classes else automl.predict(x_test)
        res["flaml"] = score(metric, y_test, pred)
        res["flaml_best"] = automl.best_estimator
    except ImportError as exc:
        res["flaml"], res["flaml_best"] = float("nan"), f"not installed: {exc}"
    res["flaml_s"] = time.monotonic() - t

    t = time.monotonic()
    if classes:
        hgb = HistGradientBoostingClassifier(random_state=seed).fit(x_train, labels(train[target], classes))
        res["hgb"] = score(metric, y_test, hgb.predict_proba(x_test))
    else:
        hgb = HistGradientBoostingRegressor(random_state=seed).fit(x_train, train[target])
        res["hgb"] = score(metric, y_test, hgb.predict(x_test))
    res["hgb_s"] = time.monotonic() - t
    return res


def summary(rows: list[dict]) -> str:
    """The markdown table: per dataset, mean ± standard deviation over the splits, and the wins."""
    out = ["| dataset | rows | metric | splits | autopilot | FLAML | HGB defaults | autopilot's best single "
           "candidate | autopilot >= FLAML | autopilot's winners |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name in dict.fromkeys(r["dataset"] for r in rows):
        rs = [r for r in rows if r["dataset"] == name]
        ge = (lambda a, b: a >= b) if DIRECTIONS[rs[0]["metric"]] == "maximize" else (lambda a, b: a <= b)
        cells = [f"{np.mean([r[k] for r in rs]):.4f} ± {np.std([r[k] for r in rs]):.4f}"
                 if all(k in r for r in rs) else "-" for k in ("autopilot", "flaml", "hgb", "single")]
        wins = sum(ge(r["autopilot"], r["flaml"]) for r in rs)
        winners = ", ".join(f"{k} {v}" for k, v in sorted(
            {b: sum(r["autopilot_best"] == b for r in rs) for b in {r["autopilot_best"] for r in rs}}.items()))
        out.append(f"| {name} | {rs[0]['rows']} | {rs[0]['metric']} | {len(rs)} | {' | '.join(cells)} | "
                   f"{wins}/{len(rs)} | {winners} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--budget", type=float, default=30.0, help="seconds per contender per split")
    ap.add_argument("--splits", type=parse_seeds, default=parse_seeds("100-104"),
                    help="split seeds (default 100-104: not used while building the autopilot)")
    ap.add_argument("--fraud-rows", type=int, default=20_000)
    ap.add_argument("--only", nargs="*", help="dataset names to run")
    ap.add_argument("--json", help="write every split's scores to this file")
    args = ap.parse_args()
    rows = []
    for name, df, target, problem in datasets(args.fraud_rows):
        if args.only and name not in args.only:
            continue
        for seed in args.splits:
            res = one_split(name, df, target, problem, seed, args.budget)
            rows.append(res)
            print(f"{name} split {seed}: autopilot {res['autopilot']:.4f} ({res['autopilot_best']}, "
                  f"best single {res['single']:.4f}, "
                  f"{res['autopilot_s']:.0f} s)  flaml {res['flaml']:.4f} ({res['flaml_best']}, "
                  f"{res['flaml_s']:.0f} s)  hgb {res['hgb']:.4f} ({res['hgb_s']:.1f} s)", flush=True)
            if args.json:
                with open(args.json, "w") as fh:
                    json.dump({"budget": args.budget, "splits": args.splits, "rows": rows}, fh, indent=1)
    print()
    print(summary(rows))


if __name__ == "__main__":
    main()
