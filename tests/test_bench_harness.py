"""The benchmark harness (benchmarks/compare.py, benchmarks/table.py) run as a reader would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")
sys.path.insert(0, BENCH)

from compare import parse_seeds  # noqa: E402
from functions import FUNCTIONS  # noqa: E402
from table import format_tables, seed_ranges  # noqa: E402

CONTENDERS = ["hpcore:bayesian", "hpcore:random", "optuna:random"]


def test_seed_lists_and_ranges() -> None:
    assert parse_seeds("100-129") == list(range(100, 130))
    assert parse_seeds("0,3, 5") == [0, 3, 5]
    assert parse_seeds("0-2,100-101") == [0, 1, 2, 100, 101]
    assert parse_seeds("3") == [0, 1, 2]  # a count, as in every benchmark's --seeds
    assert seed_ranges([5, 0, 1, 2, 100, 101]) == "0-2,5,100-101"
    for bad in ("", "5-3", "1,1", "a"):
        with pytest.raises(ValueError):
            parse_seeds(bad)


def test_compare_writes_every_run_and_prints_the_table(tmp_path) -> None:
    out = tmp_path / "out.json"
    cmd = [sys.executable, os.path.join(BENCH, "compare.py"), "--functions", "branin", "--seeds", "0-1",
           "--budget", "5", "--contenders", ",".join(CONTENDERS), "--jobs", "2", "--json", str(out)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    meta, runs = data["meta"], data["runs"]
    assert meta["args"]["seeds"] == [0, 1] and meta["args"]["budget"] == 5
    assert meta["versions"]["optuna"] and meta["versions"]["numpy"] and meta["machine"]["cores"] >= 1
    assert os.path.samefile(meta["hpcore_path"], os.path.join(ROOT, "hpcore"))
    assert sorted((r["contender"], r["seed"]) for r in runs) == sorted((c, s) for c in CONTENDERS for s in (0, 1))
    for r in runs:
        trace = r["trace"]
        assert len(trace) == 5 and all(b <= a for a, b in zip(trace, trace[1:]))
        assert r["regret"] == pytest.approx(max(trace[-1] - FUNCTIONS["branin"].minimum, 0.0))
        assert r["ask_ms"] > 0
    # The table: one row per function with the median regret of each contender, then ranks and wins.
    for table_cmd in ([sys.executable, os.path.join(BENCH, "table.py"), str(out)],
                      [sys.executable, os.path.join(BENCH, "compare.py"), "--table", str(out)]):
        text = subprocess.run(table_cmd, capture_output=True, text=True, timeout=60, check=True).stdout
        row = next(ln for ln in text.splitlines() if ln.startswith("| branin |"))
        medians = [float(np.median([r["regret"] for r in runs if r["contender"] == c])) for c in CONTENDERS]
        assert row == "| branin | " + " | ".join(f"{m:.3g}" for m in medians) + " |"
        assert "| mean rank |" in text and "| ask ms |" in text and "seeds 0-1 (2)" in text
        assert "vs optuna:random" in text


def _run(contender: str, function: str, seed: int, regret: float) -> dict:
    return {"contender": contender, "function": function, "seed": seed, "budget": 10, "batch": 1,
            "regret": regret, "trace": [regret], "ask_ms": 1.0}


def test_wins_are_counted_seed_by_seed_on_shared_seeds() -> None:
    runs = [_run("a", "f", s, r) for s, r in zip(range(4), (1.0, 2.0, 3.0, 0.5))]
    runs += [_run("b", "f", s, r) for s, r in zip(range(4), (2.0, 2.0, 1.0, 9.0))]
    runs += [_run("c", "f", s, r) for s, r in zip(range(2), (0.1, 0.1))]  # fewer seeds
    text = format_tables(runs, ["a", "b", "c"], budget=10, batch=1)
    assert "| f | 1.5 | 2 | 0.1 |" in text
    assert "| f | 2/1/1 | 0/0/2 |" in text  # a vs b: wins seeds 0 and 3, ties 1, loses 2; vs c on seeds 0-1
    assert "| mean rank | 2.00 | 3.00 | 1.00 |" in text
    assert "a: 0-3 (4); b: 0-3 (4); c: 0-1 (2)" in text
