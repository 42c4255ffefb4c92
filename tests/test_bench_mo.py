"""The multi-objective and constrained benchmarks (benchmarks/bench_multiobjective.py,
benchmarks/bench_constrained.py): their problems' known optima, and each script run as a reader would."""

from __future__ import annotations

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

import mo_harness  # noqa: E402
from mo_problems import CONSTRAINED, MO_PROBLEMS, REFERENCE, REFERENCE_PARAMS, feasible  # noqa: E402

from hpcore.pareto import hypervolume  # noqa: E402


def _cube(x: np.ndarray) -> dict[str, float]:
    return {f"x{i}": float(v) for i, v in enumerate(x)}


@pytest.mark.parametrize("name", ["zdt1", "zdt2"])
def test_zdt_true_front_gives_the_recorded_optimal_hypervolume(name: str) -> None:
    problem = MO_PROBLEMS[name]
    front = np.array([problem.f(_cube(np.r_[a, np.zeros(5)])) for a in np.linspace(0, 1, 2001)])
    shape = np.sqrt if name == "zdt1" else np.square
    np.testing.assert_allclose(front[:, 1], 1 - shape(front[:, 0]), atol=1e-12)
    assert hypervolume(front, np.array(problem.ref)) == pytest.approx(problem.best_hv, abs=1e-3)
    assert hypervolume(front, np.array(problem.ref)) <= problem.best_hv
    rng = np.random.default_rng(0)
    elsewhere = np.array([problem.f(_cube(x)) for x in rng.random((300, 6))])  # g > 1: above the front
    ref = np.array(problem.ref)
    assert hypervolume(np.vstack([front, elsewhere]), ref) == hypervolume(front, ref)


def test_dtlz2_front_is_the_unit_sphere_and_its_hypervolume_the_recorded_one() -> None:
    problem = MO_PROBLEMS["dtlz2"]
    rng = np.random.default_rng(0)
    on = np.array([problem.f(_cube(np.r_[rng.random(2), np.full(4, 0.5)])) for _ in range(200)])
    np.testing.assert_allclose(np.linalg.norm(on, axis=1), 1.0, atol=1e-12)
    off = np.array([problem.f(_cube(x)) for x in rng.random((200, 6))])
    assert np.all(np.linalg.norm(off, axis=1) >= 1.0)
    ref = np.array(problem.ref)
    # The optimal hypervolume is the box less the unit ball's octant: a Monte Carlo estimate agrees.
    z = rng.random((400_000, 3)) * ref
    assert np.prod(ref) * np.mean(np.linalg.norm(z, axis=1) >= 1) == pytest.approx(problem.best_hv, abs=5e-3)
    grid = np.linspace(0, 1, 16)
    front = np.array([problem.f(_cube(np.r_[a, b, np.full(4, 0.5)])) for a in grid for b in grid])
    assert problem.best_hv - 0.05 < hypervolume(front, ref) <= problem.best_hv


def test_constrained_branin_feasible_share_and_best_feasible_value() -> None:
    problem = CONSTRAINED["constrained_branin"]
    x1, x2 = np.meshgrid(np.linspace(-5, 10, 601), np.linspace(0, 15, 601))
    points = [{"x1": a, "x2": b} for a, b in zip(x1.ravel(), x2.ravel())]
    values, ok = [], []
    for p in points:
        v, metrics = problem.f(p)
        values.append(v)
        ok.append(feasible(problem.constraints, metrics))
    values, ok = np.array(values), np.array(ok)
    assert ok.mean() == pytest.approx(50 * math.pi / 225, abs=0.005)
    assert problem.minimum - 1e-9 <= values[ok].min() <= problem.minimum + 0.01
    assert values.min() < problem.minimum + 0.01  # the infeasible minima are as low
    for x, allowed in (((math.pi, 2.275), True), ((-math.pi, 12.275), False), ((3 * math.pi, 2.475), False)):
        v, metrics = problem.f({"x1": x[0], "x2": x[1]})
        assert v == pytest.approx(problem.minimum, abs=1e-6) and feasible(problem.constraints, metrics) is allowed


def test_narrow_feasible_share_and_best_feasible_value() -> None:
    from scipy.optimize import minimize

    problem = CONSTRAINED["narrow_feasible"]
    rng = np.random.default_rng(1)
    X = rng.random((200_000, 5))
    results = [problem.f(_cube(x)) for x in X]
    ok = np.array([feasible(problem.constraints, m) for _, m in results])
    values = np.array([v for v, _ in results])
    assert 0.06 < ok.mean() < 0.075  # 6.8 % of the box
    assert values[ok].min() >= problem.minimum and values.min() < problem.minimum - 0.05  # the constraints bite
    # The closed form: both constraints hold with equality at the optimum.
    e, w = np.ones(5) / math.sqrt(5), np.array([0.4, -0.4, 0.4, -0.4, 0.0])
    x_best = 0.5 + 0.1 / math.sqrt(5) * e + math.sqrt(0.248) * w / np.linalg.norm(w)
    v, metrics = problem.f(_cube(x_best))
    assert v == pytest.approx(problem.minimum, abs=1e-12)
    assert metrics["dist"] == pytest.approx(0.5, abs=1e-12) and metrics["total"] == pytest.approx(2.6, abs=1e-12)
    cons = [{"type": "ineq", "fun": lambda x: 0.5 - np.linalg.norm(x - 0.5)},
            {"type": "ineq", "fun": lambda x: x.sum() - 2.6}]
    for x0 in X[ok][:5]:
        found = minimize(lambda x: problem.f(_cube(x))[0], x0, method="SLSQP", bounds=[(0, 1)] * 5, constraints=cons)
        assert found.fun == pytest.approx(problem.minimum, abs=1e-5)  # from any feasible start
        v, metrics = problem.f(_cube(found.x))
        assert v >= problem.minimum - 1e-12 or not feasible(problem.constraints, metrics)  # SLSQP's tolerance


def test_real_tasks_are_deterministic_and_the_references_reproduce() -> None:
    p = {"n_estimators": 7, "max_depth": 4, "min_samples_leaf": 3, "max_features": 0.3}
    first = MO_PROBLEMS["forest"].f(p)
    assert MO_PROBLEMS["forest"].f(dict(p)) == first and 0 < first[0] < 0.2 and 1 < first[1] < 3.5
    problem = CONSTRAINED["trees_size_limit"]
    assert problem.f(dict(p)) == problem.f(dict(p))
    v, metrics = problem.f(REFERENCE_PARAMS["trees_size_limit"])
    assert v == REFERENCE["trees_size_limit"] == problem.minimum and feasible(problem.constraints, metrics)
    assert MO_PROBLEMS["forest"].best_hv == REFERENCE["forest"] < 0.1 * 3.5


def test_optuna_gets_the_constraints_with_its_sign_convention() -> None:
    optuna = pytest.importorskip("optuna")
    from conditional_problems import optuna_params

    metrics = {"a": 60.0, "b": 3.0, "c": 0.5, "d": 2.0}
    got = mo_harness.optuna_constraints(["a <= 50", "b >= 2.6", "c < 1", "d > 2"], metrics)
    assert got == pytest.approx([10.0, -0.4, -0.5, 0.0])
    # Through a real study: what the sampler stores is at most 0 exactly where hpcore counts the trial feasible.
    problem = CONSTRAINED["constrained_branin"]
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = mo_harness._optuna_study("tpe", 0, ["minimize"], constrained=True)
    told = []
    for _ in range(30):
        trial = study.ask()
        v, m = problem.f(optuna_params(problem.space, trial))
        mo_harness.set_constraints(trial, problem.constraints, m)
        study.tell(trial, v)
        told.append(feasible(problem.constraints, m))
    from optuna.study._constrained_optimization import _get_feasible_trials

    assert [t.number for t in _get_feasible_trials(study.trials)] == [i for i, ok in enumerate(told) if ok]
    assert all(len(t.constraints) == 1 for t in study.trials) and 0 < sum(told) < 30


def _run(script: str, problem: str, tmp_path) -> tuple[dict, str, str]:
    out, md = tmp_path / f"{script}.json", tmp_path / f"{script}.md"
    cmd = [sys.executable, os.path.join(BENCH, script), "--problems", problem, "--seeds", "0-1", "--budget", "6",
           "--contenders", "hpcore:random,optuna:tpe", "--json", str(out), "--md", str(md)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())  # strict JSON: no NaN or infinity
    assert os.path.samefile(data["meta"]["hpcore_path"], os.path.join(ROOT, "hpcore"))
    assert sorted((r["contender"], r["seed"]) for r in data["runs"]) == sorted(
        (c, s) for c in ("hpcore:random", "optuna:tpe") for s in (0, 1))
    assert md.read_text().strip() == done.stdout.strip()
    return data, md.read_text(), done.stdout


def test_bench_multiobjective_end_to_end(tmp_path) -> None:
    data, text, _ = _run("bench_multiobjective.py", "dtlz2", tmp_path)
    problem = MO_PROBLEMS["dtlz2"]
    for r in data["runs"]:
        assert len(r["losses"]) == 6 and len(r["hv_trace"]) == 6 and r["ask_ms"] > 0 and r["tell_ms"] > 0
        assert r["hv"] == hypervolume(np.array(r["losses"]), np.array(problem.ref)) == r["hv_trace"][-1]
        assert all(b >= a for a, b in zip(r["hv_trace"], r["hv_trace"][1:]))
        assert r["hv_ratio"] == pytest.approx(r["hv"] / problem.best_hv)
    medians = [float(np.median([r["hv"] for r in data["runs"] if r["contender"] == c]))
               for c in ("hpcore:random", "optuna:tpe")]
    assert "| dtlz2 | (1.1, 1.1, 1.1) | exact 0.8074 | " + f"{medians[0]:.4g} [" in text
    assert f"| {medians[1]:.4g} [" in text
    assert "Mean rank of the medians" in text and "| ask ms |" in text and "1 thread per process" in text


def test_bench_constrained_end_to_end(tmp_path) -> None:
    data, text, _ = _run("bench_constrained.py", "constrained_branin", tmp_path)
    problem = CONSTRAINED["constrained_branin"]
    for r in data["runs"]:
        assert len(r["trace"]) == 6 and r["n_feasible"] == round(6 * r["feasible_share"])
        if r["best"] is None:
            assert r["regret"] is None and r["trace"] == [None] * 6
        else:
            assert r["regret"] == pytest.approx(r["best"] - problem.minimum) and r["trace"][-1] == r["best"]
            v, metrics = problem.f(r["best_params"])
            assert v == r["best"] and feasible(problem.constraints, metrics)
    assert "| constrained_branin | disk <= 50 | exact 0.397887 | " in text
    assert "Mean share of feasible trials" in text and "Runs without a feasible trial:" in text
    assert "Mean rank of the medians" in text and "| ask + tell ms |" in text


def test_runs_without_a_feasible_trial_rank_last_and_tie_with_each_other() -> None:
    inf = float("inf")
    assert mo_harness.quartiles([1.0, 2.0, inf]) == (2.0, 1.5, inf)
    assert mo_harness.quartiles([inf, inf, 3.0]) == (inf, inf, inf)
    runs = [{"contender": c, "function": "p", "seed": s, "regret": r}
            for c, rs in (("hpcore:bayesian", (None, 1.0, None)), ("optuna:gp", (None, 2.0, 0.5)), ("x", (1, 1, 1)))
            for s, r in enumerate(rs)]
    table = mo_harness.scores(runs, "regret")
    assert table[("hpcore:bayesian", "p")] == {0: inf, 1: 1.0, 2: inf}
    lines = mo_harness.wtl_lines(table, ["hpcore:bayesian", "optuna:gp", "x"], ["p"], True, "lower regret")
    assert "| p | 1/1/1 | 0/1/2 |" in lines  # vs gp: seed 0 neither found one (tie), seed 2 only the peer did
    med = {k: mo_harness.quartiles(list(v.values()))[0] for k, v in table.items()}
    assert mo_harness.mean_ranks(med, ["hpcore:bayesian", "optuna:gp", "x"], ["p"], True) == {
        "hpcore:bayesian": 3.0, "optuna:gp": 2.0, "x": 1.0}
    assert mo_harness.versus_line(med, ["p"], True, "regret at or below", "2 of 3").endswith(": p no.")
