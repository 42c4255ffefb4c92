"""The XGBoost adapter keeps the trial's model and checkpoints: real boosting (tiny, one thread) in tuning
jobs with a store; the best model loaded back predicts like the trial's booster (as an ``xgb.Booster``
and as an sklearn estimator); a trial that fails and runs again continues from its checkpoint."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

xgb = pytest.importorskip("xgboost")

import hpcore  # noqa: E402
from hpcore.models import ModelNotFound, model_info  # noqa: E402
from hpcore.results import TuningResult  # noqa: E402
from hpcore_xgboost import TuningCallback  # noqa: E402

SPACE = {"eta": hpcore.Float(0.1, 0.5), "max_depth": hpcore.Int(2, 4)}
ROUNDS = 12


def data(n: int = 160) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 5))
    y = (x[:, 0] + 0.5 * x[:, 1] + 0.5 * rng.normal(size=n) > 0).astype(int)
    return x[:120], y[:120], x[120:], y[120:]


def booster_params(params: dict[str, Any]) -> dict[str, Any]:
    return {"objective": "binary:logistic", "eval_metric": "logloss", "nthread": 1, "seed": 0, **params}


def job(train: Any, tmp_path: Any, trials: int = 3, **options: Any) -> hpcore.TuningJob:
    return hpcore.TuningJob(train, SPACE, objective="validation-logloss", direction="minimize", strategy="random",
                            max_trials=trials, store=str(tmp_path / "t.db"), seed=0, progress=False, **options)


# ---------------------------------------------------------------------------------------------
# The trial's model.
# ---------------------------------------------------------------------------------------------


def test_best_model_is_the_trials_booster_at_its_end(tmp_path):
    preds: dict[int, np.ndarray] = {}

    def train(params, reporter):
        x, y, xv, yv = data()
        dtrain, dvalid = xgb.DMatrix(x, label=y), xgb.DMatrix(xv, label=yv)
        booster = xgb.train(booster_params(params), dtrain, num_boost_round=8, evals=[(dvalid, "validation")],
                            callbacks=[TuningCallback(monitor="validation-logloss")], verbose_eval=False)
        preds[reporter.trial_id] = booster.predict(dvalid)

    result = job(train, tmp_path).run()
    assert len(result.trials) == 3 and len(preds) == 3
    dvalid = xgb.DMatrix(data()[2])
    for t in result.trials:  # every trial's own model, not one shared file
        assert t.state.value == "completed", t.error
        model = t.load_model()
        assert isinstance(model, xgb.Booster) and model.num_boosted_rounds() == 8
        np.testing.assert_array_equal(model.predict(dvalid), preds[t.id])
    best = result.best
    assert {a.path for a in best.artifacts} == {"model/model.json", "hpcore-model.json"}  # checkpoints dropped
    info = model_info(best.artifact_dir)
    assert (info["format"], info["path"], info["rounds"], info["objective"]) == (
        "xgboost", "model/model.json", 8, "binary:logistic")
    assert len({float(p.sum()) for p in preds.values()}) == 3  # the trials' models differ


def test_sklearn_estimator_comes_back_as_its_class(tmp_path):
    proba: dict[int, np.ndarray] = {}

    def train(params, reporter):
        x, y, xv, yv = data()
        est = xgb.XGBClassifier(n_estimators=6, learning_rate=params["eta"], max_depth=params["max_depth"],
                                n_jobs=1, random_state=0, eval_metric="logloss",
                                callbacks=[TuningCallback(monitor="validation_0-logloss")])
        est.fit(x, y, eval_set=[(xv, yv)], verbose=False)
        proba[reporter.trial_id] = est.predict_proba(xv)
        return {"validation-logloss": est.evals_result()["validation_0"]["logloss"][-1]}

    result = job(train, tmp_path, trials=2).run()
    best, xv, yv = result.best, data()[2], data()[3]
    est = best.load_model(model_class=xgb.XGBClassifier)
    assert isinstance(est, xgb.XGBClassifier) and est.n_classes_ == 2
    np.testing.assert_array_equal(est.predict_proba(xv), proba[best.id])
    np.testing.assert_array_equal(est.predict(xv), proba[best.id].argmax(axis=1))
    assert est.score(xv, yv) > 0.6
    booster = best.load_model()  # by default the Booster behind it
    assert isinstance(booster, xgb.Booster) and booster.num_boosted_rounds() == 6
    np.testing.assert_array_equal(booster.predict(xgb.DMatrix(xv)), proba[best.id][:, 1])
    with pytest.raises(TypeError, match="model_class=.*XGBClassifier"):
        best.load_model(model_class=dict)


def test_save_model_false_saves_nothing(tmp_path):
    def train(params, reporter):
        x, y, xv, yv = data()
        dtrain, dvalid = xgb.DMatrix(x, label=y), xgb.DMatrix(xv, label=yv)
        xgb.train(booster_params(params), dtrain, num_boost_round=6, evals=[(dvalid, "validation")],
                  callbacks=[TuningCallback(monitor="validation-logloss", save_model=False, checkpoint_every=0)],
                  verbose_eval=False)

    result = job(train, tmp_path, trials=1).run()
    assert result.best.state.value == "completed" and result.best.step == 6
    assert result.best.artifacts == []
    with pytest.raises(ModelNotFound):
        result.best.load_model()


def test_cv_saves_no_model_and_no_checkpoint():
    x, y, _, _ = data()
    with hpcore.Reporter(0, {}, send=lambda step, m: False) as reporter:
        xgb.cv(booster_params({}), xgb.DMatrix(x, label=y), num_boost_round=4, nfold=2, seed=0,
               callbacks=[TuningCallback(monitor="test-logloss", checkpoint_every=1)])
    assert reporter.last_step == 4
    assert reporter.load_checkpoint() is None and model_info(reporter.files.location) is None


# ---------------------------------------------------------------------------------------------
# Checkpoints and resuming.
# ---------------------------------------------------------------------------------------------


class Rounds(xgb.callback.TrainingCallback):
    """Appends each boosting round it sees (the booster's round count) to ``ran``; raises after round
    ``crash_after`` when given."""

    def __init__(self, ran: list[int], crash_after: int | None = None) -> None:
        super().__init__()
        self.ran, self.crash_after = ran, crash_after

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        self.ran.append(model.num_boosted_rounds())
        if model.num_boosted_rounds() == self.crash_after:
            raise RuntimeError(f"simulated failure after round {self.crash_after}")
        return False


def test_checkpoint_step_is_the_reported_step_with_an_interval():
    """interval=2, a checkpoint every 2 reports: at round 4 = step 4 (a step is a round); a run
    continued from it reports rounds 6 and 7, as an uninterrupted run does."""
    x, y, xv, yv = data()
    dtrain, dvalid = xgb.DMatrix(x, label=y), xgb.DMatrix(xv, label=yv)
    first: list[int] = []
    cb = TuningCallback(monitor="validation-logloss", interval=2, checkpoint_every=2, checkpoint_budget=None)
    with hpcore.Reporter(0, {}, send=lambda step, m: first.append(step) or False) as reporter:
        model, done = cb.restore()
        xgb.train(booster_params({}), dtrain, num_boost_round=7, evals=[(dvalid, "validation")], callbacks=[cb],
                  verbose_eval=False)
    assert (model, done) == (None, 0) and first == [2, 4, 6, 7]  # rounds 2, 4, 6 and the last, 7
    ckpt = reporter.files.load_checkpoint()
    assert (ckpt.step, ckpt.state) == (4, {"rounds": 4}) and "booster.ubj" in os.listdir(ckpt.path)
    again: list[tuple[int, float]] = []
    ran: list[int] = []
    with hpcore.Reporter(0, {}, send=lambda step, m: again.append((step, m)) or False, files=reporter.files):
        model, done = cb.restore()
        booster = xgb.train(booster_params({}), dtrain, num_boost_round=7 - done, xgb_model=model,
                            evals=[(dvalid, "validation")], callbacks=[cb, Rounds(ran)], verbose_eval=False)
    assert done == 4 and ran == [5, 6, 7] and booster.num_boosted_rounds() == 7
    assert [s for s, _ in again] == [6, 7]
    assert reporter.last_metrics["validation-logloss"] == pytest.approx(again[-1][1]["validation-logloss"])


@pytest.mark.parametrize("crash_after", [6, 7])
def test_a_failed_trial_continues_from_its_checkpoint(tmp_path, crash_after):
    """Checkpoints every 3 rounds; the first run raises after round 6 (or 7, past the checkpoint):
    the rerun boosts rounds 7..12 only, its curve is steps 1..12 once each, and its booster and
    curve are an uninterrupted run's."""
    ran: list[int] = []
    attempts: list[tuple[int, int]] = []
    final: dict[str, Any] = {}

    def train(params, reporter):
        x, y, xv, yv = data()
        dtrain, dvalid = xgb.DMatrix(x, label=y), xgb.DMatrix(xv, label=yv)
        cb = TuningCallback(monitor="validation-logloss", checkpoint_every=3, checkpoint_budget=None)
        model, done = cb.restore()
        attempts.append((reporter.attempt, done))
        crash = crash_after if reporter.attempt == 0 else None
        booster = xgb.train(booster_params(params), dtrain, num_boost_round=ROUNDS - done, xgb_model=model,
                            evals=[(dvalid, "validation")], callbacks=[cb, Rounds(ran, crash)], verbose_eval=False)
        final.update(rounds=booster.num_boosted_rounds(), pred=booster.predict(dvalid))

    result = job(train, tmp_path, trials=1, max_retries=1).run()
    record = result.trials[0]
    assert record.state.value == "completed" and record.attempt == 1, record.error
    assert attempts == [(0, 0), (1, 6)]
    assert ran == list(range(1, crash_after + 1)) + list(range(7, ROUNDS + 1))  # not 1..12 again
    assert len(ran) < crash_after + ROUNDS and final["rounds"] == ROUNDS
    curve = TuningResult.from_store(str(tmp_path / "t.db")).curves[record.id]
    assert [step for step, _ in curve] == list(range(1, ROUNDS + 1))

    # The same trial uninterrupted: same trees, same curve (xgboost is deterministic, one thread).
    x, y, xv, yv = data()
    dtrain, dvalid = xgb.DMatrix(x, label=y), xgb.DMatrix(xv, label=yv)
    log: dict[str, Any] = {}
    reference = xgb.train(booster_params(record.params), dtrain, num_boost_round=ROUNDS,
                          evals=[(dvalid, "validation")], evals_result=log, verbose_eval=False)
    np.testing.assert_array_equal(final["pred"], reference.predict(dvalid))
    assert [m["validation-logloss"] for _, m in curve] == pytest.approx(log["validation"]["logloss"], rel=1e-12)
    np.testing.assert_array_equal(record.load_model().predict(dvalid), reference.predict(dvalid))


def test_restore_outside_a_job_and_without_a_booster():
    cb = TuningCallback(monitor="validation-logloss")
    assert cb.restore() == (None, 0)
    with hpcore.Reporter(0, {}) as reporter:
        reporter.save_checkpoint({"epoch": 3}, step=3)  # someone else's checkpoint
        with pytest.raises(ValueError, match="step 3 has no booster"):
            cb.restore()
    with pytest.raises(ValueError, match="checkpoint_every=-1"):
        TuningCallback(checkpoint_every=-1)
