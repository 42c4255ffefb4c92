#!/usr/bin/env python3
"""Side-by-side runner: hpcore's strategies and Optuna's samplers on the same functions, seeds and budget.

    python benchmarks/compare.py --seeds 100-129 --budget 50 --batch 1 \\
        --contenders hpcore:bayesian,hpcore:random,optuna:gp,optuna:tpe,optuna:random \\
        --jobs 2 --json bo-b1.json
    python benchmarks/table.py bo-b1.json          # or: python benchmarks/compare.py --table bo-b1.json

Every (contender, function, seed) is one run: ``--budget`` trials, asked ``--batch`` at a time before
any of them is told (``--batch 4``: four parallel workers). Each contender is used with its library's
defaults, seeded with the run's seed. ``--json`` keeps every run's best-so-far trace, its simple
regret (best value found minus the global minimum), its time per ask, and the versions and machine.
``--jobs N`` runs N processes; each is limited to one OpenMP/BLAS/torch thread (set before numpy or
torch is imported), so that ask times do not depend on ``--jobs`` beyond the machine's own load.

Contenders: ``hpcore:<strategy>`` for any registered strategy, ``optuna:gp`` (GPSampler),
``optuna:tpe`` (TPESampler), ``optuna:random`` (RandomSampler). Needs ``pip install -e ".[bench]"``.
"""

from __future__ import annotations

import one_thread  # first: before numpy, here and in every worker process

# isort: split
import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from importlib import metadata  # noqa: E402
from typing import Any  # noqa: E402

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
sys.path[:0] = [_HERE, _ROOT]

import seeds as seeds_module  # noqa: E402
from functions import FUNCTIONS, Problem, hpcore_params  # noqa: E402

OPTUNA_SAMPLERS = {"gp": "GPSampler", "tpe": "TPESampler", "random": "RandomSampler"}
# Most expensive first, so that N processes finish together.
_COST = {"optuna:gp": 0, "hpcore:bayesian": 1, "optuna:tpe": 2}


def parse_seeds(text: str) -> list[int]:
    """``--seeds`` as every benchmark takes it (``benchmarks/seeds.py``), each seed at most once.

    Raises:
        ValueError: For a malformed, empty or repeating list.
    """
    try:
        seeds = seeds_module.parse_seeds(text)
    except argparse.ArgumentTypeError as exc:
        raise ValueError(str(exc)) from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds {text!r}: give distinct seeds, e.g. 100-129 or 0,1,2")
    return seeds


def run_hpcore(strategy: str, problem: Problem, budget: int, seed: int, batch: int) -> tuple[list[float], float]:
    """One hpcore ask/tell loop; returns the values in trial order and the total seconds spent in ask."""
    import hpcore

    params = hpcore_params(problem)
    tuner = hpcore.create_tuner(strategy, hpcore.SearchSpace(params), direction="minimize", seed=seed)

    def decode(p: dict[str, Any]) -> list[float]:
        return [int(p[f"x{i}"][1:]) if k.startswith("c") else p[f"x{i}"] for i, k in enumerate(problem.kinds)]

    values: list[float] = []
    ask_s = 0.0
    while len(values) < budget:
        t0 = time.perf_counter()
        trials = [tuner.ask() for _ in range(min(batch, budget - len(values)))]
        ask_s += time.perf_counter() - t0
        for t in trials:
            v = problem.f(decode(t.params))
            tuner.tell(t, v)
            values.append(v)
    return values, ask_s


def run_optuna(sampler: str, problem: Problem, budget: int, seed: int, batch: int) -> tuple[list[float], float]:
    """One Optuna ask/tell loop with a default sampler; returns the values and the seconds spent asking."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if sampler == "gp":
        import torch

        one_thread.limit_torch(torch)
    study = optuna.create_study(sampler=getattr(optuna.samplers, OPTUNA_SAMPLERS[sampler])(seed=seed),
                                direction="minimize")

    def suggest(tr: Any) -> list[float]:
        x: list[float] = []
        for i, ((lo, hi), kind) in enumerate(zip(problem.bounds, problem.kinds)):
            if kind in ("f", "logf"):
                x.append(tr.suggest_float(f"x{i}", lo, hi, log=kind == "logf"))
            elif kind == "i":
                x.append(tr.suggest_int(f"x{i}", lo, hi))
            else:
                x.append(tr.suggest_categorical(f"x{i}", list(range(int(kind[1:])))))
        return x

    values: list[float] = []
    ask_s = 0.0
    while len(values) < budget:
        t0 = time.perf_counter()
        pending = []
        for _ in range(min(batch, budget - len(values))):
            tr = study.ask()
            pending.append((tr, suggest(tr)))
        ask_s += time.perf_counter() - t0
        for tr, x in pending:
            v = problem.f(x)
            study.tell(tr, v)
            values.append(v)
    return values, ask_s


def run_one(contender: str, fname: str, seed: int, budget: int, batch: int) -> dict[str, Any]:
    """Runs one contender on one function and seed; the record kept in the JSON file."""
    warnings.filterwarnings("ignore")
    library, _, which = contender.partition(":")
    problem = FUNCTIONS[fname]
    runner = run_hpcore if library == "hpcore" else run_optuna
    t0 = time.perf_counter()
    values, ask_s = runner(which, problem, budget, seed, batch)
    trace, best = [], float("inf")
    for v in values:
        best = min(best, v)
        trace.append(best)
    return {"contender": contender, "function": fname, "seed": seed, "budget": budget, "batch": batch,
            "regret": max(best - problem.minimum, 0.0), "trace": trace,
            "ask_ms": 1000 * ask_s / len(values), "wall_s": time.perf_counter() - t0}


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    """Versions, the hpcore commit and the machine, for the JSON file."""
    import hpcore

    try:
        commit = subprocess.run(["git", "-C", os.path.dirname(hpcore.__file__), "describe", "--always", "--dirty"],
                                capture_output=True, text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    versions = {d: _version(d) for d in ("hpcore", "optuna", "smac", "torch", "scikit-learn", "numpy", "scipy")}
    versions["python"] = platform.python_version()
    return {"versions": versions, "hpcore_commit": commit, "hpcore_path": os.path.dirname(hpcore.__file__),
            "machine": {"platform": platform.platform(), "cpu": cpu, "cores": os.cpu_count(),
                        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None},
            "threads_per_process": 1 if one_thread.MODE == "1" else "default",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def check_contenders(text: str) -> list[str]:
    """Validates ``--contenders`` (hpcore strategies are checked when their first run starts)."""
    out = [c.strip() for c in text.split(",") if c.strip()]
    for c in out:
        library, _, which = c.partition(":")
        if library not in ("hpcore", "optuna") or not which or (library == "optuna" and which not in OPTUNA_SAMPLERS):
            raise ValueError(f"contender {c!r}: use hpcore:<strategy> or optuna:{{{','.join(OPTUNA_SAMPLERS)}}}")
    if len(set(out)) != len(out) or not out:
        raise ValueError(f"--contenders {text!r}: name each contender once")
    return out


def _save(path: str, meta: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    order = {k: i for i, k in enumerate(meta["args"]["contenders"])}
    runs = sorted(runs, key=lambda r: (order[r["contender"]], r["function"], r["seed"]))
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump({"meta": meta, "runs": runs}, fh)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--contenders", default="hpcore:bayesian,hpcore:random,optuna:gp,optuna:tpe,optuna:random")
    ap.add_argument("--functions", default=",".join(FUNCTIONS), help=f"comma-separated, from {','.join(FUNCTIONS)}")
    ap.add_argument("--seeds", default="100-129",
                    help="a range (100-129), a list (0,3,7) or a count (10: 0-9); default: the held-out 100-129")
    ap.add_argument("--budget", type=int, default=50, help="trials per run")
    ap.add_argument("--batch", type=int, default=1, help="trials asked before any is told")
    ap.add_argument("--jobs", type=int, default=1, help="processes running side by side")
    ap.add_argument("--json", help="write every run here (rewritten as runs finish)")
    ap.add_argument("--resume", action="store_true", help="keep the runs already in --json, run only the others")
    ap.add_argument("--table", metavar="JSON", nargs="+", help="only print the table of these result files")
    a = ap.parse_args(argv)
    from table import print_tables

    if a.table:
        print_tables(a.table)
        return 0
    try:
        contenders, seeds = check_contenders(a.contenders), parse_seeds(a.seeds)
        names = [n.strip() for n in a.functions.split(",") if n.strip()]
        unknown = [n for n in names if n not in FUNCTIONS]
        if unknown or not names:
            raise ValueError(f"--functions: unknown {unknown}; choose from {','.join(FUNCTIONS)}")
        if a.budget < 1 or a.batch < 1 or a.jobs < 1:
            raise ValueError("--budget, --batch and --jobs must be >= 1")
    except ValueError as exc:
        ap.error(str(exc))
    meta = {"args": {"contenders": contenders, "functions": names, "seeds": seeds, "budget": a.budget,
                     "batch": a.batch, "jobs": a.jobs}, **environment()}
    # Seed by seed (every function of a seed before the next seed), so that a stopped run leaves whole seeds.
    tasks = [(c, f, s) for c in sorted(contenders, key=lambda c: _COST.get(c, 9)) for s in seeds for f in names]
    runs: list[dict[str, Any]] = []
    if a.resume and a.json and os.path.exists(a.json):
        with open(a.json) as fh:
            wanted = {(c, f, s) for c, f, s in tasks}
            runs = [r for r in json.load(fh)["runs"] if (r["contender"], r["function"], r["seed"]) in wanted
                    and (r["budget"], r["batch"]) == (a.budget, a.batch)]
        done = {(r["contender"], r["function"], r["seed"]) for r in runs}
        tasks = [t for t in tasks if t not in done]
        print(f"# resuming: {len(runs)} runs kept from {a.json}", file=sys.stderr, flush=True)
    t0 = last_save = time.time()
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=a.jobs, mp_context=ctx) as pool:
        futures = [pool.submit(run_one, c, f, s, a.budget, a.batch) for c, f, s in tasks]
        for i, fut in enumerate(as_completed(futures), 1):
            runs.append(fut.result())
            if i % 50 == 0 or i == len(futures):
                print(f"# {i}/{len(futures)} runs, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
            if a.json and time.time() - last_save > 30:
                _save(a.json, meta, runs)
                last_save = time.time()
    meta["wall_s"] = round(time.time() - t0, 1)
    if a.json:
        _save(a.json, meta, runs)
        print_tables([a.json])
    else:
        print_tables([{"meta": meta, "runs": runs}])
    return 0


if __name__ == "__main__":
    sys.exit(main())
