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


def _table(text: str) -> list[list[str]]:
    """The per-run rows of the example's table."""
    body = text.split("default test  tuned test")[1].split("\n\n")[0]
    return [line.split() for line in body.splitlines()[1:]]


def test_example_fraud_end_to_end(tmp_path):
    pytest.importorskip("torch")
    store = tmp_path / "runs" / "fraud.db"
    proc = subprocess.run([*HPCORE, "example", "fraud", "--rows", "4000", "--trials", "3", "--seed", "1",
                           "--repeats", "2", "--store", str(store), "--keep", "2", "--no-progress"],
                          capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "Run 2 of 2 (seed 2)" in text and "mean ± std over 2 runs" in text
    for name in ("learning_rate", "beta_1", "beta_2", "epochs"):
        assert name in text
    from hpcore.algorithms.linear_learner import LinearLearner, LinearModel
    from hpcore.datasets.fraud import auc
    from hpcore.results import TuningResult

    rows = _table(text)
    assert [int(r[1]) for r in rows] == [1, 2]
    gains = []
    for row in rows:  # each run is its own job; the table shows its best trial and that trial's model
        result = TuningResult.from_store(str(store), f"fraud-generated4000-seed{row[1]}")
        best = result.best
        assert int(row[2]) == best.id and float(row[4]) == pytest.approx(best.value, abs=6e-5)
        gains.append(best.value - float(row[3]))
        kept = [t.id for t in result.trials if t.artifacts and not any(a.deleted for a in t.artifacts)]
        assert len(kept) == 2 and best.id in kept
    spread = f"{np.mean(gains):+.4f} ± {np.std(gains, ddof=1):.4f}"
    assert f"validation AUC  {spread}"[:22] in text  # the printed gain is the runs' mean and spread
    best = TuningResult.from_store(str(store), "fraud-generated4000-seed1").best
    model = best.load_model()  # the trial's own model, kept by the job
    assert isinstance(model, LinearModel) and model.weights.shape == (30,) and model.mean.shape == (30,)
    data = LinearLearner(rows=4000, seed=1).dataset()
    assert auc(data.y_val, model.decision_function(data.x_val, standardized=True)) == pytest.approx(best.value)
    raw = data.x_test * data.scale + data.mean  # rows as they arrive: the model standardises them itself
    assert np.allclose(model.decision_function(raw), model.decision_function(data.x_test, standardized=True))
    assert float(rows[0][6]) == pytest.approx(auc(data.y_test, model.decision_function(raw)), abs=6e-5)
    out = subprocess.run([*HPCORE, "best", str(store), "--name", "fraud-generated4000-seed1", "--export",
                          str(tmp_path / "best")], capture_output=True, text=True, env=ENV, timeout=60)
    assert out.returncode == 0, out.stderr
    params = json.loads((tmp_path / "best" / "params.json").read_text())["params"]
    assert set(params) == {"learning_rate", "beta_1", "beta_2", "epochs"}
    assert (tmp_path / "best" / "model" / "model.pkl").exists()


def test_without_kept_models_the_example_scores_the_best_configuration_trained_again(tmp_path):
    pytest.importorskip("torch")
    from hpcore.results import TuningResult

    store = tmp_path / "fraud.db"
    proc = subprocess.run([*HPCORE, "example", "fraud", "--rows", "4000", "--trials", "3", "--repeats", "1",
                           "--keep", "none", "--store", str(store), "--no-progress"],
                          capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    row = _table(proc.stdout)[0]
    best = TuningResult.from_store(str(store)).best
    assert int(row[2]) == best.id and float(row[4]) == pytest.approx(best.value, abs=6e-5)  # the same model
    assert "No model was kept" in proc.stdout and "load_model" not in proc.stdout


def test_tuning_gains_over_the_defaults_with_a_larger_learning_rate(tmp_path):
    pytest.importorskip("torch")
    from hpcore._examples.fraud import outcome, run

    # fails with strategy="random" (validation gain 0.002 at learning rate 0.0031) and with 1 or 3 trials
    result, trainer = run(trials=12, seed=0, rows=50_000, progress=False, store=str(tmp_path / "f.db"))
    done = outcome(result, trainer, 0)
    assert done is not None and done.gain_val > 0.01 and done.gain_test > 0
    # what the data rewards: fraud is rare and its signal is weak per batch, Adam's 0.001 learns too slowly
    assert done.params["learning_rate"] > 3 * linear_learner_space().defaults()["learning_rate"]


def test_the_large_space_trains_the_defaults_as_the_small_one_and_its_settings_act():
    pytest.importorskip("torch")
    from hpcore.algorithms.linear_learner import fit, load_data

    data = load_data(10_000, 0)
    small = dict(linear_learner_space().defaults(), epochs=3, learning_rate=0.03)
    large = dict(linear_learner_space(large=True).defaults(), epochs=3, learning_rate=0.03)
    assert set(large) - set(small) == {"weight_decay", "l1", "pos_weight", "batch_size"}
    w0, b0, v0 = fit(small, data, seed=0)
    w1, b1, v1 = fit(large, data, seed=0)
    assert np.array_equal(w0, w1) and b0 == b1 and v0 == v1
    positives = data.x_train[data.y_train == 1]
    weighted, bw, _ = fit(dict(large, pos_weight=50.0), data, seed=0)
    assert (positives @ weighted + bw).mean() > (positives @ w0 + b0).mean() + 1  # frauds score higher
    sparse, _, _ = fit(dict(large, l1=0.001), data, seed=0)
    assert np.abs(sparse).sum() < 0.95 * np.abs(w0).sum()
    small_batches, _, _ = fit(dict(large, batch_size=100), data, seed=0)
    assert not np.allclose(small_batches, w0)


def test_example_rejects_an_unknown_space_and_a_repeated_tradeoff(tmp_path):
    proc = subprocess.run([*HPCORE, "example", "fraud", "--space", "huge", "--no-progress"],
                          capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2 and "--space" in proc.stderr and "'default', 'large'" in proc.stderr
    proc = subprocess.run([*HPCORE, "example", "fraud", "--tradeoff", "--repeats", "3", "--no-progress"],
                          capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2 and "use --repeats 1" in proc.stderr
    from hpcore._examples.fraud import run

    with pytest.raises(ValueError, match="space='huge': use one of default, large"):
        run(trials=1, space="huge")


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
