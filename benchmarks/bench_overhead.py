"""Per-trial overhead of the job loop: hpcore vs Optuna, same empty objective, side by side.

    python benchmarks/bench_overhead.py --trials 300 --rounds 3

An empty training function, the random strategy and a durable SQLite store (hpcore: WAL, every state
change committed before it is acted on; Optuna: its RDB storage on SQLite). Rounds alternate between
the two so that both see the same machine load; the table gives the median per-trial time and the
ratio. Needs `optuna` (pip install 'hpcore[bench]').
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import hpcore


def empty(params, reporter):
    return 0.0


def run_hpcore(trials: int, folder: str, store: bool) -> float:
    space = hpcore.SearchSpace({"x": hpcore.Float(0, 1), "n": hpcore.Int(1, 10), "c": hpcore.Categorical(["a", "b"])})
    path = os.path.join(folder, f"hp-{time.perf_counter_ns()}.db") if store else None
    t0 = time.perf_counter()
    hpcore.TuningJob(empty, space, strategy="random", max_trials=trials, store=path, seed=0, progress=False).run()
    return (time.perf_counter() - t0) / trials


def run_optuna(trials: int, folder: str, store: bool) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = f"sqlite:///{os.path.join(folder, f'op-{time.perf_counter_ns()}.db')}" if store else None

    def objective(trial):
        trial.suggest_float("x", 0, 1)
        trial.suggest_int("n", 1, 10)
        trial.suggest_categorical("c", ["a", "b"])
        return 0.0

    t0 = time.perf_counter()
    study = optuna.create_study(storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=trials)
    return (time.perf_counter() - t0) / trials


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for store in (True, False):
            hp, op = [], []
            for _ in range(a.rounds):
                hp.append(run_hpcore(a.trials, folder, store))
                op.append(run_optuna(a.trials, folder, store))
            rows.append((store, statistics.median(hp), statistics.median(op)))
    print(f"{a.trials} trials, {a.rounds} alternating rounds, empty objective, random search; median per trial")
    print("| storage | hpcore ms/trial | Optuna ms/trial | Optuna / hpcore |")
    print("|---|---|---|---|")
    for store, hp_s, op_s in rows:
        label = "SQLite file (durable)" if store else "in memory"
        print(f"| {label} | {1000 * hp_s:.2f} | {1000 * op_s:.2f} | {op_s / hp_s:.1f}x |")


if __name__ == "__main__":
    main()
