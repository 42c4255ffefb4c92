"""The autopilot's ensemble: selection on out-of-fold predictions, its voting estimator, its notebook."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import joblib
import numpy as np
import pytest
from test_autopilot import make_table

from hpcore.autopilot import ModelCard
from hpcore.autopilot.data import analyse, features_frame
from hpcore.autopilot.ensemble import ENSEMBLE, Ensemble, Member, build_ensemble, select_weights
from hpcore.autopilot.leaderboard import leaderboard_rows, with_ensemble
from hpcore.autopilot.metrics import score
from hpcore.autopilot.search import CandidateTrainer, Standing, make_candidates, make_splits
from hpcore.results import TuningResult
from hpcore.trial import TrialRecord, TrialState


def _setup(problem: str, names: tuple[str, ...] = ("xgboost", "svm", "mlp")):
    df = make_table(problem, rows=180, seed=3)
    analysis = analyse(df, "y")
    x = features_frame(df, analysis).reset_index(drop=True)
    y = analysis.encode_target(df["y"])
    splits = make_splits(y, analysis.problem_type, seed=0)
    firsts = {c.algorithm: c for c in reversed(make_candidates(analysis))}  # each algorithm's first candidate
    candidates = [firsts[n] for n in names if n in firsts]
    return df, analysis, x, y, splits, candidates


def _standings(trainers: list[CandidateTrainer], metric: str) -> list[Standing]:
    """Each candidate scored at its defaults, as the first rung does."""
    out = []
    for t in trainers:
        params = t.candidate.model.space(t.analysis.problem_type).defaults()
        metrics = t(params)
        record = TrialRecord(0, params, TrialState.COMPLETED, metrics[metric], metrics, started=0.0, finished=0.5)
        direction = "minimize" if metric == "mse" else "maximize"
        out.append(Standing(t.candidate, [TuningResult([record], metric, direction)]))
    return out


def test_selection_keeps_a_dominant_model_alone_and_weights_by_counts():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    splits = [(np.arange(30, 60), np.arange(30)), (np.arange(30), np.arange(30, 60))]
    perfect = np.eye(2)[y] * 0.8 + 0.1
    noise = rng.dirichlet([1, 1], 60)
    counts, folds = select_weights([noise, perfect], y, splits, "auc", "binary")
    assert counts == [0, 1] and folds == [1.0, 1.0]
    # Regression: the mean of two errors of opposite sign is exact.
    target = rng.normal(size=60)
    counts, folds = select_weights([target + 0.5, target - 0.5, target + 2.0], target, splits, "mse", "regression")
    assert counts == [1, 1, 0] and max(folds) < 1e-20


@pytest.mark.parametrize("problem", ["multiclass", "regression"])
def test_the_ensemble_estimator_scores_as_its_selection_on_the_same_folds(problem):
    from sklearn.base import clone

    df, analysis, x, y, splits, candidates = _setup(problem, ("xgboost", "svm" if problem == "multiclass"
                                                              else "linear-learner", "mlp"))
    metric = "accuracy" if problem == "multiclass" else "mse"
    trainers = [CandidateTrainer(c, analysis, x, y, splits, metric, seed=0) for c in candidates]
    standings = _standings(trainers, metric)
    rows = leaderboard_rows(standings, metric)
    # Out-of-fold predictions kept from the trials equal those fitted again on the same folds.
    fresh = CandidateTrainer(candidates[0], analysis, x, y, splits, metric, seed=0)
    kept = trainers[0].out_of_fold(dict(trainers[0].best_oof[1]))
    np.testing.assert_allclose(fresh.out_of_fold(dict(trainers[0].best_oof[1])), kept, atol=1e-6)

    assert build_ensemble(trainers, standings, rows, metric, seconds_left=0.0, log=lambda m: None) is None
    by_name = {r["candidate"]: r for r in rows}
    members = [Member(t.candidate, dict(by_name[t.candidate.name]["params"]), w) for t, w in zip(trainers, (2, 1, 1))]
    ensemble = Ensemble(members, [], analysis.problem_type)
    labels = df["y"].to_numpy() if problem != "regression" else y
    voting = ensemble.estimator(analysis, seed=0)
    mean = sum(m.weight * t.out_of_fold(m.params) for m, t in zip(members, trainers)) / 4
    for (train, val) in splits:  # scikit-learn's voting estimator, cross-validated by hand
        fitted = clone(voting).fit(x.iloc[train], labels[train])
        if problem == "regression":
            np.testing.assert_allclose(fitted.predict(x.iloc[val]), mean[val], rtol=1e-5, atol=1e-4)
        else:
            assert list(fitted.classes_) == list(analysis.classes)
            np.testing.assert_allclose(fitted.predict_proba(x.iloc[val]), mean[val], atol=1e-5)
    full = clone(voting).fit(x, labels)
    pred = full.predict(x)
    if problem == "regression":
        assert score("r2", y, pred) > 0.5
    else:
        assert np.mean(pred == labels) > 0.6 and set(pred) <= set(labels)


def test_leaderboard_ranks_the_ensemble_and_flags_ties():
    df, analysis, x, y, splits, candidates = _setup("multiclass", ("xgboost", "svm"))
    trainers = [CandidateTrainer(c, analysis, x, y, splits, "accuracy", seed=0) for c in candidates]
    rows = leaderboard_rows(_standings(trainers, "accuracy"), "accuracy")
    best = rows[0]["score"]
    ens = Ensemble([Member(c, {}, 1) for c in candidates], [best] * 5, analysis.problem_type)
    ranked = with_ensemble([dict(r) for r in rows], ens, "accuracy", 0.3)
    assert ranked[0]["candidate"] == ENSEMBLE and [r["rank"] for r in ranked] == [1, 2, 3]
    assert ranked[0]["params"] == {c.name: 1 for c in candidates} and ranked[0]["se"] == 0.0
    worse = Ensemble(ens.members, [rows[-1]["score"] - 0.1] * 5, analysis.problem_type)
    assert with_ensemble([dict(r) for r in rows], worse, "accuracy", 0.3)[-1]["candidate"] == ENSEMBLE


@pytest.mark.slow
def test_an_ensemble_model_saves_loads_and_its_notebook_rebuilds_it(tmp_path):
    pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    from hpcore.autopilot.model import save_model
    from hpcore.autopilot.notebooks import write_notebooks

    df, analysis, x, y, splits, candidates = _setup("multiclass", ("xgboost", "svm"))
    trainers = [CandidateTrainer(c, analysis, x, y, splits, "accuracy", seed=0) for c in candidates]
    rows = leaderboard_rows(_standings(trainers, "accuracy"), "accuracy")
    by_name = {r["candidate"]: r for r in rows}
    members = [Member(t.candidate, dict(by_name[t.candidate.name]["params"]), w) for t, w in zip(trainers, (3, 2))]
    predictions = [t.out_of_fold(m.params) for t, m in zip(trainers, members)]
    mean = (3 * predictions[0] + 2 * predictions[1]) / 5
    ensemble = Ensemble(members, [score("accuracy", y[v], mean[v]) for _, v in splits], analysis.problem_type)
    model = ensemble.estimator(analysis, seed=0).fit(x, df["y"].to_numpy())
    card = ModelCard("y", analysis.problem_type, list(model.classes_), analysis.id_columns, list(analysis.numeric),
                     list(analysis.categorical), ENSEMBLE, ensemble.weights, "accuracy", ensemble.score,
                     "5-fold cross-validation", {}, ensemble.members_card())
    out = tmp_path / "run"
    out.mkdir()
    save_model(model, card, str(out / "model.joblib"))
    df.to_csv(out / "training_data.csv", index=False)
    # A fresh interpreter loads it with joblib alone and predicts new rows.
    new = make_table("multiclass", rows=20, seed=9)
    new.to_csv(tmp_path / "new.csv", index=False)
    code = (f"import joblib, pandas as pd; m = joblib.load({str(out / 'model.joblib')!r}); "
            f"p = m.predict(pd.read_csv({str(tmp_path / 'new.csv')!r})); "
            "print(type(m).__name__, len(p), sorted(set(p)) <= ['high', 'low', 'mid'])")
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert ran.stdout.split() == ["VotingClassifier", "20", "True"], ran.stderr
    np.testing.assert_allclose(joblib.load(out / "model.joblib").predict_proba(new), model.predict_proba(new))

    files = write_notebooks(str(out), "training_data.csv", analysis, card, {c.name: c for c in candidates})
    nb = nbformat.read(files["notebook_candidate"], as_version=4)
    source = "".join(c.source for c in nb.cells)
    assert "VotingClassifier([" in source and "weights=[3, 2]" in source and "hpcore.autopilot" not in source
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Error" not in text and "predictions equal the saved model: True" in text, text
    assert f"(leaderboard {ensemble.score:.6f})" in text and f"accuracy {ensemble.score:.6f}" in text
    assert json.loads((out / "model.json").read_text())["members"][0]["weight"] == 3
