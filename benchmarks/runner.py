"""The command line and the process pool that the side-by-side benchmarks share.

``bench_conditional.py``, ``bench_multiobjective.py`` and ``bench_constrained.py`` each give a
``run_one(contender, problem, seed, budget)`` that returns one run's record, and a ``report(meta,
runs)`` that turns the records into markdown; :func:`run_all` runs every (contender, problem,
seed) in ``--jobs`` spawned processes, slowest contenders first so that the processes finish
together, and writes ``benchmarks/results/<name>-{design,heldout}.{json,md}``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from seeds import parse_seeds

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
NEEDS = {"optuna": ("optuna",), "optuna:gp": ("optuna", "torch"), "smac": ("smac", "ConfigSpace"),
         "hebo": ("hebo", "torch")}
RunOne = Callable[[str, str, int, int], dict[str, Any]]
Report = Callable[[dict[str, Any], list[dict[str, Any]]], str]


def missing_library(contender: str) -> str | None:
    """Why a contender cannot run here (its library is not installed), or None."""
    for module in NEEDS.get(contender, NEEDS.get(contender.split(":")[0], ())):
        try:
            __import__(module)
        except Exception as exc:  # noqa: BLE001 - an import can fail in many ways
            return f"{contender.split(':')[0]} not installed: {type(exc).__name__}: {exc}"
    return None


def add_arguments(ap: argparse.ArgumentParser, problems: Sequence[str], contenders: Sequence[str], budget: int,
                  results: str, budget_flag: str = "--budget") -> None:
    """The options every such benchmark takes (the budget under ``budget_flag``, read as ``a.budget``)."""
    ap.add_argument("--seeds", default="100-109",
                    help="a range (100-129), a list (0,3,7) or a count (10: 0-9); default: held-out 100-109")
    ap.add_argument("--problems", default=",".join(problems), help=f"comma-separated, from {','.join(problems)}")
    ap.add_argument("--contenders", default=",".join(contenders), help="comma-separated, from the default")
    ap.add_argument(budget_flag, dest="budget", type=int, default=budget, help="trials per run")
    ap.add_argument("--jobs", type=int, default=1, help="processes running side by side")
    ap.add_argument("--json", help=f"every run (default benchmarks/results/{results}-{{design,heldout}}.json)")
    ap.add_argument("--md", help="the report (default: the --json path with .md)")
    ap.add_argument("--include", action="append", default=[], metavar="JSON",
                    help="the runs of contenders not run now, from an earlier JSON (or .json.gz) file of this "
                         "benchmark with the same problems, seeds and budget (repeatable; the report says which "
                         "runs came from it)")
    ap.add_argument("--reference", type=int, metavar="TRIALS",
                    help="only print the long-run reference values of the problems (seed 0)")


def check_arguments(ap: argparse.ArgumentParser, a: argparse.Namespace, problems: Sequence[str],
                    contenders: Sequence[str]) -> tuple[list[int], list[str], list[str]]:
    """The seeds, problems and contenders asked for; a usage error for anything else."""
    try:
        seeds = parse_seeds(a.seeds)
        names = [n.strip() for n in a.problems.split(",") if n.strip()]
        chosen = [c.strip() for c in a.contenders.split(",") if c.strip()]
        if not names or any(n not in problems for n in names) or len(set(names)) < len(names):
            raise ValueError(f"--problems {a.problems!r}: choose, once each, from {','.join(problems)}")
        if not chosen or any(c not in contenders for c in chosen) or len(set(chosen)) < len(chosen):
            raise ValueError(f"--contenders {a.contenders!r}: choose, once each, from {','.join(contenders)}")
        if a.budget < 1 or a.jobs < 1:
            raise ValueError("the budget and --jobs must be >= 1")
    except (ValueError, argparse.ArgumentTypeError) as exc:
        ap.error(str(exc))
    return seeds, names, chosen


def run_all(a: argparse.Namespace, seeds: list[int], names: list[str], contenders: list[str], results: str,
            run_one: RunOne, meta: dict[str, Any], report: Report, cost: Mapping[str, int]) -> int:
    """Runs every (contender, problem, seed) in ``--jobs`` processes, the contenders with the lowest
    ``cost`` rank (the slowest) first, then writes the JSON file (``meta`` and every run) and the
    markdown report, and prints the report."""
    from compare import environment

    skipped = {c: why for c in contenders if (why := missing_library(c))}
    for c, why in skipped.items():
        print(f"# skipping {c}: {why}", file=sys.stderr, flush=True)
    running = [c for c in contenders if c not in skipped]
    kind = "heldout" if min(seeds) >= 100 else "design" if max(seeds) < 100 else "mixed"
    json_path = a.json or os.path.join(RESULTS, f"{results}-{kind}.json")
    md_path = a.md or os.path.splitext(json_path)[0] + ".md"
    meta = {"args": {"contenders": running, "functions": names, "seeds": seeds, "budget": a.budget, "batch": 1,
                     "jobs": a.jobs}, "skipped": skipped, **meta, **environment()}
    runs, included = _included(getattr(a, "include", []), seeds, names, running, a.budget)
    if included:
        meta["included"] = included
        meta["args"]["contenders"] = running + [c for inc in included for c in inc["contenders"]]
    tasks = [(c, n, s) for c in sorted(running, key=lambda c: cost.get(c, 9)) for s in seeds for n in names]
    t0 = time.time()
    with ProcessPoolExecutor(max_workers=a.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(run_one, c, n, s, a.budget) for c, n, s in tasks]
        for i, fut in enumerate(as_completed(futures), 1):
            try:
                runs.append(fut.result())
            except BaseException:
                # Fail now, naming the run, instead of after every other run has finished.
                c, n, s = tasks[futures.index(fut)]
                print(f"# run {c} on {n}, seed {s} failed; the others are cancelled", file=sys.stderr, flush=True)
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            if i % 25 == 0 or i == len(futures):
                print(f"# {i}/{len(futures)} runs, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    meta["wall_s"] = round(time.time() - t0, 1)
    order = {c: i for i, c in enumerate(meta["args"]["contenders"])}
    runs.sort(key=lambda r: (order[r["contender"]], r["function"], r["seed"]))
    os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
    with open(json_path, "w") as fh:
        json.dump({"meta": meta, "runs": runs}, fh, allow_nan=False)
    text = report(meta, runs)
    with open(md_path, "w") as fh:
        fh.write(text + "\n")
    print(text)
    return 0


def _included(paths: Sequence[str], seeds: list[int], names: list[str], running: list[str], budget: int
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The runs of ``--include`` files: every (contender, problem, seed) of this run for contenders not
    run now, which each file must hold in full at the same budget; a :class:`SystemExit` otherwise.

    Returns:
        ``(runs, included)``: the runs, and per file its path, contenders, wall time and environment.
    """
    runs: list[dict[str, Any]] = []
    included: list[dict[str, Any]] = []
    taken = set(running)
    for path in paths:
        with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as fh:
            data = json.load(fh)
        old = [r for r in data["runs"] if r["contender"] not in taken]
        contenders = list(dict.fromkeys(r["contender"] for r in old))
        have = {(r["contender"], r["function"], r["seed"]) for r in old if r["budget"] == budget}
        missing = [(c, n, s) for c in contenders for n in names for s in seeds if (c, n, s) not in have]
        if not contenders or missing:
            why = "no contender that is not run now" if not contenders else \
                f"{len(missing)} runs missing at budget {budget}, for example {missing[0]}"
            raise SystemExit(f"--include {path}: {why}; include a file of the same problems, seeds and budget")
        runs += [r for r in old if r["function"] in names and r["seed"] in seeds and r["budget"] == budget]
        meta = data.get("meta", {})
        included.append({"path": os.path.basename(path), "contenders": contenders, "wall_s": meta.get("wall_s"),
                         **{k: meta[k] for k in ("versions", "hpcore_commit", "machine", "date") if k in meta}})
        taken |= set(contenders)
    return runs, included
