"""The conditional-space benchmark (benchmarks/bench_conditional.py) run as a reader would run it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")
sys.path.insert(0, BENCH)

from conditional_problems import PROBLEMS, InactiveKeyError, evaluate, optuna_params  # noqa: E402

CONTENDERS = ["hpcore:bayesian", "hpcore:random", "optuna:tpe"]


def test_objective_refuses_inactive_and_missing_parameters() -> None:
    problem = PROBLEMS["nested"]
    best = {"n_layers": 3, "width_1": 256, "width_2": 64, "width_3": 32, "optimizer": "sgd", "lr": 10**-1.5,
            "use_momentum": True, "momentum": 0.9, "nesterov": True}
    assert evaluate(problem, best) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(InactiveKeyError, match="width_4 is inactive"):
        evaluate(problem, {**best, "width_4": 16})
    with pytest.raises(InactiveKeyError, match="missing width_3"):
        evaluate(problem, {k: v for k, v in best.items() if k != "width_3"})
    no_momentum = {k: v for k, v in best.items() if k not in ("momentum", "nesterov")}
    with pytest.raises(InactiveKeyError, match="momentum is inactive"):  # a grandchild of optimizer
        evaluate(problem, {**no_momentum, "use_momentum": False, "momentum": 0.9})


def test_optuna_translation_suggests_only_the_active_parameters() -> None:
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    for name in ("nested", "svc"):
        space = PROBLEMS[name].space
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        seen = set()
        for _ in range(40):
            trial = study.ask()
            params = optuna_params(space, trial)
            assert set(trial.params) == set(params) == set(space.active(params))
            assert space.validate(params) == params
            seen.add(frozenset(params))
            study.tell(trial, 0.0)
        assert len(seen) >= 3  # several branches were taken


def test_smac_translation_has_the_same_active_sets() -> None:
    pytest.importorskip("ConfigSpace")
    from conditional_problems import smac_configspace, smac_params

    for name, problem in PROBLEMS.items():
        cs = smac_configspace(problem.space, seed=0)
        for config in cs.sample_configuration(50):
            params = smac_params(problem.space, config)
            assert list(params) == problem.space.active(params), name
            problem.space.validate(params)


def test_bench_conditional_reports_every_contender_and_checks_every_call(tmp_path) -> None:
    out, md = tmp_path / "c.json", tmp_path / "c.md"
    cmd = [sys.executable, os.path.join(BENCH, "bench_conditional.py"), "--problems", "nested", "--seeds", "0-1",
           "--trials", "8", "--contenders", ",".join(CONTENDERS), "--json", str(out), "--md", str(md)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    meta, runs = data["meta"], data["runs"]
    assert meta["args"]["seeds"] == [0, 1] and meta["args"]["budget"] == 8
    assert meta["args"]["contenders"] == CONTENDERS and meta["regret_from"] == {"nested": ["exact", 0.0]}
    assert os.path.samefile(meta["hpcore_path"], os.path.join(ROOT, "hpcore"))
    assert sorted((r["contender"], r["seed"]) for r in runs) == sorted((c, s) for c in CONTENDERS for s in (0, 1))
    for r in runs:
        assert r["checked"] == 8 and len(r["trace"]) == 8  # every call went through the active-set check
        assert all(b <= a for a, b in zip(r["trace"], r["trace"][1:]))
        assert r["regret"] == pytest.approx(r["trace"][-1]) and r["ask_ms"] > 0
        assert list(r["best_params"]) == PROBLEMS["nested"].space.active(r["best_params"])
    text = md.read_text()
    assert text.strip() == done.stdout.strip()
    medians = [float(np.median([r["regret"] for r in runs if r["contender"] == c])) for c in CONTENDERS]
    assert "| nested | " + " | ".join(f"{m:.3g}" for m in medians) + " |" in text
    assert "| nested | exact 0 | " in text and "[" in text  # the interquartile range
    assert "Mean rank of the medians" in text
    assert re.search(r"hpcore:bayesian median regret at or below optuna:tpe .* on [01] of 1 problems", text)
    assert "| ask ms |" in text and "| ask + tell ms |" in text
    assert "Objective calls checked to hold exactly the active parameters: 48" in text
