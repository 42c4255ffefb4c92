"""``hpcore example fraud`` end to end (real subprocess, real SQLite store), and the import rule."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from hpcore.algorithms.linear_learner import LinearLearner, linear_learner_space
from hpcore.reporter import Reporter

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
HPCORE = [sys.executable, "-c", "import sys; from hpcore.cli import main; sys.exit(main())"]


def test_import_hpcore_does_not_import_frameworks():
    code = ("import sys, hpcore, hpcore.plugins; hpcore.plugins.lookup('algorithms', 'linear-learner'); "
            "print(sorted(m for m in ('torch', 'xgboost', 'keras', 'lightning') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=True)
    assert out.stdout.strip() == "[]"


def test_example_fraud_end_to_end(tmp_path):
    pytest.importorskip("torch")
    store = tmp_path / "runs" / "fraud.db"
    proc = subprocess.run([*HPCORE, "example", "fraud", "--rows", "4000", "--trials", "3", "--seed", "1",
                           "--store", str(store), "--keep", "2", "--no-progress"],
                          capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "Best hyperparameters" in text and "default (untuned)" in text and "tuned (best trial)" in text
    for name in ("learning_rate", "beta_1", "beta_2", "epochs"):
        assert name in text
    from hpcore.algorithms.linear_learner import LinearLearner, LinearModel
    from hpcore.datasets.fraud import auc
    from hpcore.results import TuningResult

    result = TuningResult.from_store(str(store))
    best = result.best
    model = best.load_model()  # the trial's own model, kept by the job
    assert isinstance(model, LinearModel) and model.weights.shape == (30,) and model.mean.shape == (30,)
    data = LinearLearner(rows=4000, seed=1).dataset()
    assert auc(data.y_val, model.decision_function(data.x_val, standardized=True)) == pytest.approx(best.value)
    raw = data.x_test * data.scale + data.mean  # rows as they arrive: the model standardises them itself
    assert np.allclose(model.decision_function(raw), model.decision_function(data.x_test, standardized=True))
    assert f"tuned (best trial)   {best.value:.4f}" in text
    kept = [t.id for t in result.trials if t.artifacts and not any(a.deleted for a in t.artifacts)]
    assert len(kept) == 2 and best.id in kept
    out = subprocess.run([*HPCORE, "best", str(store), "--export", str(tmp_path / "best")], capture_output=True,
                         text=True, env=ENV, timeout=60)
    assert out.returncode == 0, out.stderr
    params = json.loads((tmp_path / "best" / "params.json").read_text())["params"]
    assert set(params) == {"learning_rate", "beta_1", "beta_2", "epochs"}
    assert (tmp_path / "best" / "model" / "model.pkl").exists()


def test_a_linear_learner_trial_continues_from_its_checkpoint():
    pytest.importorskip("torch")
    from hpcore.algorithms.linear_learner import LinearLearner, linear_learner_space
    from hpcore.reporter import Reporter
    from hpcore.trialfiles import TrialFiles

    train = LinearLearner(rows=3000, seed=0)
    params = dict(linear_learner_space().defaults(), epochs=12)
    whole = Reporter(0, params)
    expected = train(params, whole)

    class DiesAfter7(Reporter):
        def report(self, step=None, **metrics):
            if step == 8:
                raise RuntimeError("killed")
            return super().report(step, **metrics)

    files = TrialFiles(None)
    with pytest.raises(RuntimeError):
        train(params, DiesAfter7(0, params, files=files))
    steps = []
    again = Reporter(0, params, send=lambda step, m: steps.append(step) or False, files=files)
    assert train(params, again) == expected  # the same weights, Adam state and batch order as one whole run
    assert steps == [6, 7, 8, 9, 10, 11, 12]  # from the checkpoint at epoch 5


def test_example_fraud_tradeoff_prints_the_front_of_auc_against_size(tmp_path):
    pytest.importorskip("torch")
    store = tmp_path / "fraud.db"
    proc = subprocess.run([*HPCORE, "example", "fraud", "--rows", "4000", "--trials", "8", "--seed", "1",
                           "--tradeoff", "--store", str(store), "--no-progress"],
                          capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=180)
    assert proc.returncode == 0, proc.stderr
    from hpcore.results import TuningResult

    result = TuningResult.from_store(str(store))
    front = result.pareto_front()
    assert result.objective == ["validation_auc", "model_size"] and front
    assert f"Pareto front: {len(front)} models" in proc.stdout
    table = proc.stdout.split("validation AUC  learning rate  epochs\n")[1].split("\n\n")[0]
    lines = [ln.split() for ln in table.splitlines()]
    assert sorted(int(ln[0]) for ln in lines) == sorted(r.id for r in front)
    for r in front:  # the size is the columns the model uses, as the trial asked
        assert r.metrics["model_size"] == r.params["features"] + 1


def test_linear_learner_uses_only_the_columns_it_is_given():
    pytest.importorskip("torch")
    from hpcore.algorithms.linear_learner import fit, load_data

    data = load_data(3000, 0)
    params = dict(linear_learner_space(30).defaults(), epochs=2, features=4, learning_rate=0.03)
    weights, _, value = fit(params, data, seed=0)
    assert np.count_nonzero(weights) == 4 and 0.6 < value <= 1.0
    full, _, _ = fit(dict(params, features=30), data, seed=0)
    assert np.count_nonzero(full) == 30


def test_example_rejects_a_csv_without_the_target(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("a,b,label\n1,2,0\n")
    proc = subprocess.run([*HPCORE, "example", "fraud", "--data", str(path), "--no-progress"],
                          capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2
    assert "no target column 'Class'" in proc.stderr and "a, b, label" in proc.stderr


def test_linear_learner_reports_each_epoch_is_deterministic_and_stops():
    pytest.importorskip("torch")
    train = LinearLearner(rows=3000, seed=2)
    params = dict(linear_learner_space().defaults(), epochs=4)
    seen: list[tuple[int, float]] = []
    r = Reporter(0, params, send=lambda step, m: seen.append((step, m["validation_auc"])) or False)
    first = train(params, r)
    assert [s for s, _ in seen] == [1, 2, 3, 4] and first["validation_auc"] == seen[-1][1]
    assert train(params, Reporter(1, params)) == first
    stopped: list[int] = []
    train(params, Reporter(2, params, send=lambda step, m: stopped.append(step) or step >= 2))
    assert stopped == [1, 2]


def test_untuned_default_is_beaten_by_a_better_learning_rate():
    pytest.importorskip("torch")
    train = LinearLearner(rows=20_000, seed=0)
    tiny = train.final_model(dict(linear_learner_space().defaults(), learning_rate=1e-5, epochs=2))
    good = train.final_model(dict(linear_learner_space().defaults(), learning_rate=0.01))
    assert good["validation_auc"] > tiny["validation_auc"] and good["test_auc"] > 0.85


def test_missing_strategy_or_stopper_falls_back_with_a_notice(capsys):
    from hpcore._examples.fraud import choose_methods

    assert choose_methods("bayesian", "median") == ("bayesian", "median")  # both are built in
    assert choose_methods("no-such-strategy", "no-such-stopper") == ("random", "none")
    err = capsys.readouterr().err
    assert "'no-such-strategy' is not available" in err and "'no-such-stopper' is not available" in err
