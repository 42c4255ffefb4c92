"""The XGBoost adapter: the callback's methods called directly with fake boosters and logs, then real
training inside tuning jobs (native API, sklearn API with a reused estimator, xgb.cv) stopped by a
deterministic test stopper."""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
import pytest

xgb = pytest.importorskip("xgboost")

import hpcore  # noqa: E402
from hpcore.errors import MetricError  # noqa: E402
from hpcore.testing import stop_at_step  # noqa: E402
from hpcore_xgboost import TuningCallback, flatten_evals_log  # noqa: E402


@pytest.fixture
def stop_at():
    with stop_at_step("test_stop_at") as seen:
        yield seen


# ---------------------------------------------------------------------------------------------
# Layer 1: the callback's methods with fake boosters and evaluation logs.
# ---------------------------------------------------------------------------------------------


def test_flatten_native_sklearn_and_cv_shapes():
    assert flatten_evals_log({"validation": {"auc": [0.6, 0.7]}, "train": {"logloss": [0.5]}}) == {
        "validation-auc": 0.7, "train-logloss": 0.5}
    assert flatten_evals_log({"validation_0": {"auc": [0.6]}, "validation_1": {"auc": [0.65]}}) == {
        "validation_0-auc": 0.6, "validation_1-auc": 0.65}
    assert flatten_evals_log({"test": {"auc": [(0.7, 0.05), (0.8, 0.02)]}}) == {"test-auc": 0.8, "test-auc-std": 0.02}


class FakeCVBooster:
    """Stands in for xgb.cv's packed booster: attributes only."""

    def __init__(self) -> None:
        self.attrs: dict[str, str] = {}

    def attr(self, key: str) -> str | None:
        return self.attrs.get(key)

    def set_attr(self, **kwargs: str) -> None:
        self.attrs.update(kwargs)


def test_methods_report_each_round_stop_and_reset_per_training():
    sent: list[tuple[int, dict[str, float]]] = []
    reporter = hpcore.Reporter(0, {}, send=lambda step, m: sent.append((step, m)) or step >= 4)
    cb = TuningCallback(monitor="validation-auc")
    booster = FakeCVBooster()
    with reporter:
        for _training in range(2):  # the same callback reused: steps continue, never repeat
            assert cb.before_training(booster) is booster
            stops = [cb.after_iteration(booster, i, {"validation": {"auc": [0.5 + i / 10]}}) for i in range(2)]
    assert [s for s, _ in sent] == [1, 2, 3, 4]
    assert stops == [False, True]
    assert sent[3][1] == {"validation-auc": 0.6}
    assert cb.stop_reason == "hpcore stopped the trial at step 4 (validation-auc=0.6)"
    assert booster.attrs == {"best_iteration": "1"}  # what xgb.cv needs to trim its history on a stop
    # sklearn's clone() deep-copies callbacks: the copy must not drag the trial's reporter along.
    assert cb._link.sink is reporter and copy.deepcopy(cb)._link.sink is None


def test_missing_metric_lists_the_available_names():
    cb = TuningCallback(monitor="validation-auc")
    with hpcore.Reporter(0, {}, send=lambda step, m: False):
        cb.before_training(None)
        with pytest.raises(MetricError, match=r"'validation-auc'.*: 'validation_0-auc', 'validation_0-logloss'"):
            cb.after_iteration(None, 0, {"validation_0": {"auc": [0.5], "logloss": [0.6]}})


def test_outside_a_job_does_nothing_and_warns_once():
    cb = TuningCallback(monitor="train-rmse")
    with pytest.warns(UserWarning, match="not inside a tuning trial") as caught:
        for _ in range(2):
            cb.before_training(None)
            assert cb.after_iteration(None, 0, {"train": {"rmse": [0.5]}}) is False
    assert len([w for w in caught if "tuning trial" in str(w.message)]) == 1


# ---------------------------------------------------------------------------------------------
# Layer 2: real training inside tuning jobs.
# ---------------------------------------------------------------------------------------------


def data(n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 5))
    return x, (x[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(int)


def run(train, objective: str, at: int) -> tuple[Any, Any]:
    job = hpcore.TuningJob(train, {"max_depth": hpcore.Int(2, 3)}, objective=objective, direction="maximize",
                           strategy="random", max_trials=1, early_stopping="test_stop_at",
                           stopper_options={"at": at}, seed=0, progress=False)
    return job, job.run().trials[0]


def test_native_train_is_stopped_at_the_stoppers_step(stop_at):
    boosters: list[Any] = []

    def train(params, reporter):
        x, y = data()
        dtrain, dvalid = xgb.DMatrix(x[:150], label=y[:150]), xgb.DMatrix(x[150:], label=y[150:])
        booster = xgb.train({"objective": "binary:logistic", "eval_metric": "auc", "nthread": 1, **params},
                            dtrain, num_boost_round=20, evals=[(dvalid, "validation")], verbose_eval=False,
                            callbacks=[TuningCallback(monitor="validation-auc")])
        boosters.append(booster)

    job, record = run(train, "validation-auc", at=3)
    assert record.state.value == "stopped" and record.step == 3 and record.reason == "test stop at step 3"
    assert boosters[0].num_boosted_rounds() == 3
    assert [s for _, s, _ in stop_at] == [1, 2, 3]
    assert record.value == pytest.approx(stop_at[-1][2])


def test_sklearn_estimator_reused_across_fits_never_repeats_a_step(stop_at):
    def train(params, reporter):
        x, y = data()
        est = xgb.XGBClassifier(n_estimators=4, max_depth=params["max_depth"], n_jobs=1, eval_metric="logloss",
                                callbacks=[TuningCallback(monitor="validation_0-logloss")])
        for fold in range(2):  # a refit of the same estimator, callback and all
            rows = slice(fold * 100, fold * 100 + 100)
            est.fit(x[rows], y[rows], eval_set=[(x, y)], verbose=False)
        return {"validation_0-logloss": est.evals_result()["validation_0"]["logloss"][-1]}

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*ignored, it does not follow step.*")
        job, record = run(train, "validation_0-logloss", at=99)
    assert record.state.value == "completed", record.error
    assert [s for _, s, _ in stop_at] == list(range(1, 9))


def test_cv_reports_the_mean_over_folds(stop_at):
    histories: list[Any] = []

    def train(params, reporter):
        x, y = data()
        hist = xgb.cv({"objective": "binary:logistic", "eval_metric": "auc", "nthread": 1, **params},
                      xgb.DMatrix(x, label=y), num_boost_round=10, nfold=3, seed=0,
                      callbacks=[TuningCallback(monitor="test-auc")])
        histories.append(hist)

    job, record = run(train, "test-auc", at=2)
    assert record.state.value == "stopped" and record.step == 2
    reports = [m for *_, m in job.store.reports(job.name, record.id)]
    hist = histories[0]
    assert len(hist) == 2
    assert [r["test-auc"] for r in reports] == pytest.approx(list(hist["test-auc-mean"]))
    assert [r["test-auc-std"] for r in reports] == pytest.approx(list(hist["test-auc-std"]))


def test_interval_reports_every_nth_round_and_the_last(stop_at):
    def train(params, reporter):
        x, y = data()
        d = xgb.DMatrix(x, label=y)
        xgb.train({"objective": "binary:logistic", "eval_metric": "auc", "nthread": 1}, d, num_boost_round=7,
                  evals=[(d, "validation")], verbose_eval=False,
                  callbacks=[TuningCallback(monitor="validation-auc", interval=3)])

    job, record = run(train, "validation-auc", at=99)
    assert record.state.value == "completed" and record.step == 7  # a step is a round: 3 and 6, then the last
    assert [step for _, step, _ in stop_at] == [3, 6, 7]
    with pytest.raises(ValueError, match="interval"):
        TuningCallback(interval=0)
