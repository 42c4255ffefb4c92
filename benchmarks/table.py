#!/usr/bin/env python3
"""Prints the tables of one or more result files written by ``benchmarks/compare.py --json``.

    python benchmarks/table.py bo-b1.json [more.json ...] [--seeds 100-114]

Files are merged (runs of the same contender, function and seed are counted once, the last file
winning); one set of tables is printed per (budget, batch). For each:

* the median simple regret per function and contender (lower is better), the mean rank of the
  medians across functions (1 = best; ties share the mean rank) and the mean time per ask;
* wins of the first contender against each peer, counted seed by seed (``W/T/L``: lower regret
  wins; regrets within 1e-9 relative are a tie), on the seeds both ran;
* the same over all (function, seed) pairs for every pair of contenders.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seeds import parse_seeds, seed_text  # noqa: E402


def seed_ranges(seeds: Iterable[int]) -> str:
    """``[5, 0, 1, 2]`` -> ``"0-2,5"``."""
    return seed_text(sorted(set(seeds)))


def _load(sources: list[str | dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    metas, runs = [], {}
    for src in sources:
        if isinstance(src, str):
            with (gzip.open(src, "rt") if src.endswith(".gz") else open(src)) as fh:
                src = json.load(fh)
        metas.append(src["meta"])
        for r in src["runs"]:
            runs[(r["contender"], r["function"], r["seed"], r["budget"], r["batch"])] = r
    return metas, list(runs.values())


def _outcome(a: float, b: float) -> int:
    """1 when regret ``a`` beats ``b``, 0 for a tie, -1 when it loses."""
    if abs(a - b) <= 1e-9 * max(abs(a), abs(b)) + 1e-300:
        return 0
    return 1 if a < b else -1


def _mean_ranks(values: list[float]) -> list[float]:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and _outcome(values[order[j + 1]], values[order[i]]) == 0:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks.tolist()


def _wtl(regret: dict[str, dict[str, dict[int, float]]], a: str, b: str, functions: list[str]) -> tuple[int, ...]:
    w = t = lost = 0
    for f in functions:
        ra, rb = regret[a].get(f, {}), regret[b].get(f, {})
        for s in set(ra) & set(rb):
            o = _outcome(ra[s], rb[s])
            w, t, lost = w + (o > 0), t + (o == 0), lost + (o < 0)
    return w, t, lost


def format_tables(runs: list[dict[str, Any]], contenders: list[str], budget: int, batch: int,
                  functions: list[str] | None = None) -> str:
    """The markdown tables for the runs of one (budget, batch), functions in the order given."""
    runs = [r for r in runs if r["budget"] == budget and r["batch"] == batch]
    labels = [c for c in contenders if any(r["contender"] == c for r in runs)]
    present = {r["function"] for r in runs}
    functions = [f for f in dict.fromkeys([*(functions or []), *sorted(present)]) if f in present]
    regret: dict[str, dict[str, dict[int, float]]] = {c: {} for c in labels}
    ask: dict[str, list[float]] = {c: [] for c in labels}
    for r in runs:
        regret[r["contender"]].setdefault(r["function"], {})[r["seed"]] = r["regret"]
        ask[r["contender"]].append(r["ask_ms"])
    seeds = {c: sorted({s for f in regret[c].values() for s in f}) for c in labels}
    lines = []
    same = len({tuple(v) for v in seeds.values()}) == 1
    seed_text = (f"seeds {seed_ranges(seeds[labels[0]])} ({len(seeds[labels[0]])})" if same else
                 "seeds " + "; ".join(f"{c}: {seed_ranges(seeds[c])} ({len(seeds[c])})" for c in labels))
    lines.append(f"budget {budget}, batch {batch}, {seed_text}: median simple regret (lower is better)")
    lines.append("")
    lines.append("| function | " + " | ".join(labels) + " |")
    lines.append("|---|" + "---|" * len(labels))
    ranks: dict[str, list[float]] = {c: [] for c in labels}
    for f in functions:
        med = [float(np.median(list(regret[c][f].values()))) if regret[c].get(f) else float("nan") for c in labels]
        if not any(np.isnan(med)):  # a function some contender has no run of is left out of the ranks
            for c, rk in zip(labels, _mean_ranks(med)):
                ranks[c].append(rk)
        lines.append(f"| {f} | " + " | ".join(f"{m:.3g}" for m in med) + " |")
    lines.append("| mean rank | " + " | ".join(f"{np.mean(ranks[c]):.2f}" for c in labels) + " |")
    lines.append("| ask ms | " + " | ".join(f"{np.mean(ask[c]):.1f}" for c in labels) + " |")
    if len(labels) > 1:
        head, peers = labels[0], labels[1:]
        lines += ["", f"Seed-by-seed wins of {head} (W/T/L: lower regret than the peer / tie / higher):", ""]
        lines.append("| function | " + " | ".join(f"vs {p}" for p in peers) + " |")
        lines.append("|---|" + "---|" * len(peers))
        for name, fs in [(f, [f]) for f in functions] + [("all", functions)]:
            cells = ["{}/{}/{}".format(*_wtl(regret, head, p, fs)) for p in peers]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines += ["", "All pairs over every (function, seed): wins of the row against the column (W/T/L):", ""]
        lines.append("| | " + " | ".join(labels) + " |")
        lines.append("|---|" + "---|" * len(labels))
        for a in labels:
            cells = ["" if a == b else "{}/{}/{}".format(*_wtl(regret, a, b, functions)) for b in labels]
            lines.append(f"| {a} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_tables(sources: list[str | dict[str, Any]], seeds: list[int] | None = None) -> None:
    """Prints the tables of result files (paths or loaded dicts), one set per (budget, batch).

    Args:
        sources: Result files of ``compare.py --json`` (paths or loaded dicts), merged.
        seeds: Only these seeds' runs (for example one half, to see the seed-to-seed noise).
    """
    metas, runs = _load(sources)
    if seeds is not None:
        runs = [r for r in runs if r["seed"] in set(seeds)]
    contenders = list(dict.fromkeys(c for m in metas for c in m["args"]["contenders"]))
    functions = list(dict.fromkeys(f for m in metas for f in m["args"]["functions"]))
    for i, (budget, batch) in enumerate(sorted({(r["budget"], r["batch"]) for r in runs})):
        if i:
            print()
        print(format_tables(runs, contenders, budget, batch, functions))
    m = metas[0]
    v = m["versions"]
    print(f"\nhpcore {v.get('hpcore')} ({m.get('hpcore_commit')}), optuna {v.get('optuna')}, torch {v.get('torch')}, "
          f"numpy {v.get('numpy')}, scipy {v.get('scipy')}, python {v.get('python')}; {m['machine']['cpu']}, "
          f"{m['machine']['cores']} cores, 1 thread per process, --jobs {m['args']['jobs']}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", nargs="+", help="result files of compare.py --json (.json or .json.gz)")
    ap.add_argument("--seeds", type=parse_seeds, help="only these seeds, e.g. 100-114")
    a = ap.parse_args(argv)
    print_tables(a.json, a.seeds)


if __name__ == "__main__":
    main()
