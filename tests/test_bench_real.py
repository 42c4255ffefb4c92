"""The real-task benchmark (benchmarks/real_tasks.py, benchmarks/bench_real.py) run as a reader would run it."""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")
sys.path.insert(0, BENCH)

from real_tasks import TASKS, evaluate  # noqa: E402

from hpcore import Categorical, Float, Int  # noqa: E402


@pytest.mark.parametrize("name", list(TASKS))
def test_task_is_deterministic_and_finite(name: str) -> None:
    task = TASKS[name]
    for params in (task.declared.defaults(), task.declared.sample(0), task.auto.sample(1)):
        first = evaluate(task, params)
        assert math.isfinite(first) and first >= 0
        assert evaluate(task, params) == first  # fixed folds and random_state: the same loss again


def test_declared_and_auto_spaces_differ_only_in_scale() -> None:
    assert len(TASKS) >= 12
    assert {t.loss for t in TASKS.values()} == {"error", "log_loss", "rmse"}
    assert any(len(t.declared) >= 10 for t in TASKS.values())
    for name, task in TASKS.items():
        assert 4 <= len(task.declared) <= 10, name
        assert list(task.declared) == list(task.auto), name
        for n in task.declared:
            d, a = task.declared[n], task.auto[n]
            assert type(d) is type(a), (name, n)
            assert d.default == a.default, (name, n)
            if isinstance(d, Categorical):
                assert d.values == a.values, (name, n)
            else:
                assert isinstance(d, (Float, Int))
                assert (d.min, d.max) == (a.min, a.max), (name, n)
                assert a.scale == "auto", (name, n)
                assert d.scale in ("linear", "log"), (name, n)  # what Optuna and SMAC3 declare the same way
        assert any(task.declared[n].scale == "log" for n in task.declared), name


def test_normalised_score_is_zero_for_random_and_100_for_the_best() -> None:
    from bench_real import normalised_scores

    runs = [{"contender": c, "function": "t", "seed": s, "best": b}
            for c, s, b in [("hpcore:random", 0, 0.4), ("hpcore:random", 1, 0.2), ("x", 0, 0.1), ("x", 1, 0.5)]]
    score = normalised_scores(runs)
    assert score[("hpcore:random", "t")] == pytest.approx(0.0)
    assert score[("x", "t")] == pytest.approx((100.0 + 100 * (0.3 - 0.5) / 0.2) / 2)  # the mean over seeds


def test_a_count_of_no_seeds_is_refused() -> None:
    from seeds import parse_seeds

    with pytest.raises(argparse.ArgumentTypeError, match="0-0"):
        parse_seeds("0")
    assert parse_seeds("0-0") == [0]


def test_script_writes_json_and_markdown_with_the_normalised_score(tmp_path: str) -> None:
    out = os.path.join(tmp_path, "real.json")
    contenders = ["hpcore:random", "hpcore:bayesian"]
    proc = subprocess.run([sys.executable, os.path.join(BENCH, "bench_real.py"), "--seeds", "0-0", "--problems",
                           "svm_wine", "--contenders", ",".join(contenders), "--trials", "6", "--json", out],
                          capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with open(out) as fh:
        data = json.load(fh)
    assert data["meta"]["args"]["contenders"] == contenders
    assert sorted(r["contender"] for r in data["runs"]) == sorted(contenders)
    for r in data["runs"]:
        assert r["function"] == "svm_wine" and r["seed"] == 0 and len(r["trace"]) == 6
        assert r["best"] == min(r["trace"]) and r["ask_ms"] >= 0 and r["eval_ms"] > 0
    with open(os.path.splitext(out)[0] + ".md") as fh:
        md = fh.read()
    assert "Normalised score" in md and "mean over tasks" in md and "| svm_wine |" in md
    row = next(ln for ln in md.splitlines() if ln.startswith("| svm_wine |") and "log_loss" not in ln)
    random_score = float(row.split("|")[2].strip())  # columns in --contenders order: hpcore:random first
    assert random_score == 0.0

    # A later run of one contender with the other's runs included from the first file, gzipped as
    # benchmarks/results keeps them.
    with open(out, "rb") as src, gzip.open(out + ".gz", "wb") as dst:
        dst.write(src.read())
    out2 = os.path.join(tmp_path, "real2.json")
    base = [sys.executable, os.path.join(BENCH, "bench_real.py"), "--seeds", "0-0", "--problems", "svm_wine",
            "--trials", "6", "--json", out2]
    proc = subprocess.run(base + ["--contenders", "hpcore:bayesian", "--include", out + ".gz"],
                          capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with open(out2) as fh:
        data2 = json.load(fh)
    assert data2["meta"]["args"]["contenders"] == ["hpcore:bayesian", "hpcore:random"]
    assert data2["meta"]["included"][0]["contenders"] == ["hpcore:random"]
    old = {r["contender"]: r for r in data["runs"]}
    new = {r["contender"]: r for r in data2["runs"]}
    assert new["hpcore:random"] == old["hpcore:random"]  # taken over, not run again
    assert new["hpcore:bayesian"]["trace"] == old["hpcore:bayesian"]["trace"]  # seeded: the same losses
    with open(os.path.splitext(out2)[0] + ".md") as fh:
        assert "come from an earlier run (real.json" in fh.read()
    # A file that lacks runs of this run's seeds is refused, naming what is missing.
    proc = subprocess.run(base[:3] + ["1-1"] + base[4:] + ["--contenders", "hpcore:bayesian", "--include", out],
                          capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert proc.returncode != 0 and "runs missing" in proc.stderr


def test_normalised_score_when_nothing_beats_random() -> None:
    from bench_real import normalised_scores

    runs = [{"contender": c, "function": "t", "seed": 0, "best": b} for c, b in [("hpcore:random", 0.1), ("x", 0.3)]]
    score = normalised_scores(runs)
    assert (score[("hpcore:random", "t")], score[("x", "t")]) == (0.0, -100.0)


def test_a_fit_that_stops_on_non_finite_weights_scores_as_diverged() -> None:
    """scikit-learn's MLPs raise on non-finite weights; the task scores that as a diverged model."""
    import real_tasks
    from real_tasks import TASKS, evaluate

    task = TASKS["mlp_sgd_friedman"]
    corner = {name: p.max if hasattr(p, "max") else p.values[0] for name, p in task.declared.items()}
    _, y = real_tasks._data(task.data)
    folds = real_tasks._folds(task.data, False)
    expected = np.mean([real_tasks._diverged_loss(y, tr, te, "rmse") for tr, te in folds])
    assert evaluate(task, corner) == pytest.approx(expected)
    # The other losses of a diverged fit: the majority class's error, uniform probabilities.
    labels = np.array([0, 0, 0, 1, 1, 2])
    tr, te = np.arange(6), np.array([3, 4, 5])
    assert real_tasks._diverged_loss(labels, tr, te, "error") == 1.0
    assert real_tasks._diverged_loss(labels, tr, te, "log_loss") == pytest.approx(np.log(3))
