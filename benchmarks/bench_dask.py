#!/usr/bin/env python3
"""The ``dask`` executor: parallel speedup, controller overhead, report round trip, parallel BO.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/bench_dask.py

1. Speedup: 20 trials that each sleep 1 s, on a LocalCluster of 1 worker (max_parallel=1) and of 2
   workers (max_parallel=2); the clusters start before the clock does.
2. Controller overhead: 100 trials that return at once (random strategy, in-memory store), wall
   time / trials, with max_parallel=1 on 1 worker (a full submit-run-return cycle per trial) and
   max_parallel=2 on 2 workers; the ``process`` executor beside it for reference.
3. Report round trip: one trial calls ``reporter.report`` 300 times; each call is timed inside the
   trial (worker -> controller -> decision -> worker), with a controller that answers at once
   (bare executor) and inside a TuningJob writing a SQLite store.
4. Parallel BO: the ``bayesian`` strategy on ``benchmarks/functions.py`` through the
   ask/tell API, 4 simulated asynchronous workers (each trial lasts U(0.5, 1.5) time units; the
   earliest to finish is told, then one more trial is asked: results arrive in any order) against
   sequential ask/tell. Per function: r* = median over seeds of the best-so-far regret of
   max_parallel=1 after B trials; N1 (N4) = first trial count at which the median-over-seeds
   best-so-far regret of max_parallel=1 (4) is <= r*. Goal: N4 / N1 <= 1.5 (N4 / B shown too: N1 is
   below B when max_parallel=1 plateaus early). Plus one real run per
   seed of branin on a 4-worker LocalCluster (max_parallel=4, sleep-based trials), counted the same way.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from seeds import parse_seeds, seed_text  # noqa: E402

import hpcore  # noqa: E402
from hpcore.executors.base import Task  # noqa: E402

FUNCTIONS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "functions.py")
_module = None


def load_module():
    """benchmarks/functions.py, loaded by path (this file runs as __main__ on the Dask workers too)."""
    global _module
    if _module is None:
        spec = importlib.util.spec_from_file_location("hpcore_bench_functions", FUNCTIONS_PATH)
        _module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_module)
    return _module


def load_functions() -> dict:
    return load_module().FUNCTIONS


# -- training functions (sent to the workers by value: this file is __main__) ----------------------
def sleep_one_second(params, reporter):
    time.sleep(1.0)
    return params["x"]


def empty(params):
    return params["x"]


def many_reports(params, reporter):
    times = []
    for step in range(1, params["n"] + 1):
        t0 = time.perf_counter()
        reporter.report(step, loss=1.0 / step)
        times.append(time.perf_counter() - t0)
    return {"loss": 0.0, "times": times}


def branin_sleeps(params, reporter):
    time.sleep(0.05 + 0.02 * params["x1"])  # uneven durations: results come back out of order
    fn = load_functions()["branin"][0]
    return fn([params["x0"], params["x1"]])


# -- 1-3: executor timings ----------------------------------------------------------------------------
def cluster(n: int):
    from distributed import Client, LocalCluster

    c = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0")
    return c, Client(c, set_as_default=False)


SPACE = hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0)})


def timed_job(train, n_trials: int, parallel: int, **kw) -> float:
    job = hpcore.TuningJob(train, SPACE, strategy="random", max_trials=n_trials, max_parallel=parallel, seed=0,
                           progress=False, **kw)
    t0 = time.perf_counter()
    result = job.run()
    elapsed = time.perf_counter() - t0
    assert result.counts() == {"completed": n_trials}, result.counts()
    return elapsed


def executor_timings(out: list[str]) -> None:
    c1, client1 = cluster(1)
    c2, client2 = cluster(2)
    try:
        t1 = timed_job(sleep_one_second, 20, 1, executor="dask", executor_options={"client": client1})
        t2 = timed_job(sleep_one_second, 20, 2, executor="dask", executor_options={"client": client2})
        out += ["### Speedup: 20 trials of 1 s sleep", "", "| workers (max_parallel) | wall s | speedup |",
                "|---|---|---|", f"| 1 | {t1:.1f} | 1.00 |", f"| 2 | {t2:.1f} | {t1 / t2:.2f} |", ""]
        e1 = timed_job(empty, 100, 1, executor="dask", executor_options={"client": client1})
        e2 = timed_job(empty, 100, 2, executor="dask", executor_options={"client": client2})
        p2 = timed_job(empty, 100, 2, executor="process")
        out += ["### Controller overhead: 100 empty trials (wall time / trial)", "",
                "| executor | max_parallel | ms / trial |", "|---|---|---|",
                f"| dask (1 worker) | 1 | {1e3 * e1 / 100:.1f} |", f"| dask (2 workers) | 2 | {1e3 * e2 / 100:.1f} |",
                f"| process (reference, includes starting 2 workers) | 2 | {1e3 * p2 / 100:.1f} |", ""]
        bare = bare_round_trips(client2, 300)
        with tempfile.TemporaryDirectory() as tmp:
            job = hpcore.TuningJob(many_reports, {"n": hpcore.Categorical([300])}, objective="loss",
                                   strategy="random", max_trials=1, progress=False, store=os.path.join(tmp, "r.db"),
                                   executor="dask", executor_options={"client": client2})
            in_job = job.run().trials[0].metrics["times"]
        out += ["### Report -> decision round trip (300 reports, timed inside the trial)", "",
                "| controller | median ms | p90 ms | max ms |", "|---|---|---|---|",
                row("bare executor, answers at once", bare), row("TuningJob with a SQLite store", in_job), ""]
    finally:
        for c in (client1, client2, c1, c2):
            c.close()


def row(label: str, times: list[float]) -> str:
    ms = sorted(1e3 * t for t in times)
    return f"| {label} | {statistics.median(ms):.2f} | {ms[int(0.9 * len(ms))]:.2f} | {ms[-1]:.2f} |"


def bare_round_trips(client, n: int) -> list[float]:
    from hpcore.executors.dask import DaskExecutor

    ex = DaskExecutor(max_parallel=1, client=client)
    ex.start(many_reports, on_report=lambda t, s, m: False)
    try:
        ex.submit(Task(0, {"n": n}))
        outcomes = []
        while not outcomes:
            outcomes = ex.poll(1.0)
    finally:
        ex.shutdown()
    return outcomes[0].result["times"]


# -- 4: parallel BO -----------------------------------------------------------------------------------
def make_space(bounds, kinds) -> hpcore.SearchSpace:
    """The problem's ranges, categoricals as their indices (the functions take those)."""
    problem = load_module().Problem(None, bounds, kinds, 0.0)
    return hpcore.SearchSpace(load_module().hpcore_params(problem, choice=int))


def regret_curve(name: str, seed: int, parallel: int, n: int) -> list[float]:
    """Best-so-far regret after each told trial, with ``parallel`` simulated asynchronous workers."""
    fn, bounds, kinds, opt = load_functions()[name]
    tuner = hpcore.create_tuner("bayesian", make_space(bounds, kinds), seed=seed)
    rng = np.random.default_rng(1000 + seed)
    pending, now, asked, values = [], 0.0, 0, []
    while len(values) < n:
        while len(pending) < parallel and asked < n:
            trial = tuner.ask()
            asked += 1
            pending.append((now + rng.uniform(0.5, 1.5), trial.id, trial))
        pending.sort(key=lambda p: (p[0], p[1]))
        now, _, trial = pending.pop(0)
        value = fn([trial.params[f"x{i}"] for i in range(len(bounds))])
        tuner.tell(trial, value)
        values.append(value - opt)
    return list(np.minimum.accumulate(values))


def first_reaching(curve: list[float], target: float) -> int | None:
    return next((i + 1 for i, v in enumerate(curve) if v <= target), None)


def median_curve(curves: list[list[float]]) -> list[float]:
    return list(np.median(np.array(curves), axis=0))


def real_dask_branin(seeds: list[int], n: int) -> list[list[float]]:
    fn, bounds, kinds, opt = load_functions()["branin"]
    c4, client = cluster(4)
    curves = []
    try:
        for seed in seeds:
            result = hpcore.TuningJob(branin_sleeps, make_space(bounds, kinds), strategy="bayesian", max_trials=n,
                                      max_parallel=4, seed=seed, progress=False, executor="dask",
                                      executor_options={"client": client}).run()
            done = sorted(result.trials, key=lambda t: (t.finished, t.id))
            curves.append(list(np.minimum.accumulate([t.value - opt for t in done])))
    finally:
        client.close()
        c4.close()
    return curves


def parallel_bo(out: list[str], seeds: list[int], budget: int, workers: int) -> None:
    names = list(load_functions())
    jobs = [(name, seed, q, budget if q == 1 else 2 * budget) for name in names for seed in seeds
            for q in (1, 4)]
    with ProcessPoolExecutor(workers) as pool:
        curves = dict(zip(jobs, pool.map(regret_curve, *zip(*jobs))))
    out += [f"### Parallel BO: trials to reach max_parallel=1's median regret at B={budget} "
            f"(seeds {seed_text(seeds)}, simulated asynchronous workers)", "",
            "| function | r* (median regret, q=1, B) | N1 | N4 | N4 / N1 | N4 / B |", "|---|---|---|---|---|---|"]
    ratios = []
    for name in names:
        m1 = median_curve([curves[(name, s, 1, budget)] for s in seeds])
        m4 = median_curve([curves[(name, s, 4, 2 * budget)] for s in seeds])
        target = m1[budget - 1]
        n1, n4 = first_reaching(m1, target), first_reaching(m4, target)
        ratio = n4 / n1 if n4 else float("inf")
        ratios.append(ratio)
        shown = f"{ratio:.2f}" if n4 else f"> {2 * budget / n1:.2f}"
        over_b = f"{n4 / budget:.2f}" if n4 else f"> {2:.2f}"
        out.append(f"| {name} | {target:.4g} | {n1} | {n4 or f'> {2 * budget}'} | {shown} | {over_b} |")
    out += ["", f"Functions with N4 / N1 <= 1.5: {sum(r <= 1.5 for r in ratios)} of {len(ratios)}; "
            f"median N4 / N1 = {statistics.median(ratios):.2f}.", ""]
    real = real_dask_branin(seeds, int(1.5 * budget))
    m1 = median_curve([curves[("branin", s, 1, budget)] for s in seeds])
    target = m1[budget - 1]
    mreal = median_curve(real)
    n_real = first_reaching(mreal, target)
    out += [f"Real run, branin on a 4-worker LocalCluster (max_parallel=4, seeds {seed_text(seeds)}, "
            f"{int(1.5 * budget)} trials, counted in completion order): median regret {mreal[-1]:.4g} at the end; "
            f"reaches r* = "
            f"{target:.4g} at trial {n_real or 'never'} (N1 = {first_reaching(m1, target)}).", ""]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=parse_seeds, default=parse_seeds("100-129"),
                    help="a count, a range (100-129, the default: held out; the rules were chosen on 0-9) or a list")
    ap.add_argument("--budget", type=int, default=30, help="B: trials of the max_parallel=1 runs")
    ap.add_argument("--workers", type=int, default=2, help="processes for the ask/tell simulation")
    ap.add_argument("--skip-timings", action="store_true")
    ap.add_argument("--skip-bo", action="store_true")
    args = ap.parse_args(argv)
    out: list[str] = []
    t0 = time.perf_counter()
    if not args.skip_timings:
        executor_timings(out)
    if not args.skip_bo:
        parallel_bo(out, args.seeds, args.budget, args.workers)
    out.append(f"(benchmark wall time {time.perf_counter() - t0:.0f} s)")
    print("\n".join(out))


if __name__ == "__main__":
    main()
