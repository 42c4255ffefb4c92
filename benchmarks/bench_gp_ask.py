#!/usr/bin/env python3
"""Time per ask of the ``bayesian`` strategy with 300 observations in 6 dimensions, vs Optuna's GPSampler.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_gp_ask.py [--n 300] [--asks 20]

Both samplers are given the same 300 results of Hartmann-6 (uniform random points), then asked
``1 + --asks`` times, each ask told before the next. The first ask is reported on its own: there
hpcore fits its chain of hyperparameter fits over the given results once (what a resumed or
warm-started job pays once). The other asks include the refits, amortised as in a running job.
Prints a markdown table with the first ask's time, the mean, median and largest time of the others,
and the ratio of the means. Optuna is skipped (with a note) when it or torch is not installed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from functions import hartmann6  # noqa: E402

import hpcore  # noqa: E402


def history(n: int, seed: int = 0) -> list[list[float]]:
    return np.random.default_rng(seed).random((n, 6)).tolist()


def time_hpcore(n: int, asks: int) -> list[float]:
    space = hpcore.SearchSpace({f"x{i}": hpcore.Float(0.0, 1.0) for i in range(6)})
    tuner = hpcore.create_tuner("bayesian", space, seed=0)
    for x in history(n):
        tuner.observe({f"x{i}": v for i, v in enumerate(x)}, hartmann6(x))
    times = []
    for _ in range(1 + asks):
        t0 = time.perf_counter()
        trial = tuner.ask()
        times.append(time.perf_counter() - t0)
        tuner.tell(trial, hartmann6([trial.params[f"x{i}"] for i in range(6)]))
    return times


def time_optuna(n: int, asks: int) -> list[float] | None:
    try:
        import optuna
        import torch  # noqa: F401
    except ImportError:
        return None
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    dists = {f"x{i}": optuna.distributions.FloatDistribution(0.0, 1.0) for i in range(6)}
    study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=0))
    for x in history(n):
        study.add_trial(optuna.trial.create_trial(params={f"x{i}": v for i, v in enumerate(x)},
                                                  distributions=dists, value=hartmann6(x)))
    times = []
    for _ in range(1 + asks):
        t0 = time.perf_counter()
        tr = study.ask(dists)
        times.append(time.perf_counter() - t0)
        study.tell(tr, hartmann6([tr.params[f"x{i}"] for i in range(6)]))
    return times


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300, help="observations before timing")
    ap.add_argument("--asks", type=int, default=20, help="asks timed (each told before the next)")
    a = ap.parse_args(argv)
    rows = [("hpcore bayesian", time_hpcore(a.n, a.asks)), ("optuna GPSampler", time_optuna(a.n, a.asks))]
    print(f"{a.n} observations, 6 dimensions (Hartmann-6), 1 + {a.asks} asks each told before the next")
    print("| sampler | first ask ms | mean ms/ask | median ms/ask | max ms/ask |")
    print("|---|---|---|---|---|")
    for label, t in rows:
        if t is None:
            print(f"| {label} | not installed | | | |")
        else:
            rest = t[1:]
            print(f"| {label} | {1000 * t[0]:.1f} | {1000 * statistics.mean(rest):.1f} "
                  f"| {1000 * statistics.median(rest):.1f} | {1000 * max(rest):.1f} |")
    if rows[1][1] is not None:
        ratio = statistics.mean(rows[0][1][1:]) / statistics.mean(rows[1][1][1:])
        print(f"\nhpcore / optuna mean time per ask after the first: {ratio:.2f}")


if __name__ == "__main__":
    main()
