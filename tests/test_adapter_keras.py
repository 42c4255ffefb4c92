"""The Keras 3 adapter (torch backend): the callback's hooks called directly with a fake model, then
real fits inside tuning jobs stopped by a deterministic test stopper; no TensorFlow import."""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import hpcore  # noqa: E402
from hpcore.errors import MetricError  # noqa: E402
from hpcore.testing import stop_at_step  # noqa: E402
from hpcore_keras import TuningCallback  # noqa: E402

# Keras's torch backend calls np.array(tensor) the NumPy-1 way; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

@pytest.fixture
def stop_at():
    with stop_at_step("test_stop_at") as seen:
        yield seen


def test_keras_backend_is_torch_and_tensorflow_is_not_imported():
    assert keras.backend.backend() == "torch"
    assert "tensorflow" not in sys.modules


# ---------------------------------------------------------------------------------------------
# Layer 1: the callback's hooks called directly with a fake model.
# ---------------------------------------------------------------------------------------------


def test_hooks_report_each_epoch_and_stop_the_fake_model():
    sent: list[tuple[int, dict[str, float]]] = []
    reporter = hpcore.Reporter(0, {}, send=lambda step, m: sent.append((step, m)) or step >= 2)
    cb = TuningCallback(monitor="val_auc")
    cb.set_model(SimpleNamespace(stop_training=False))
    with reporter:
        cb.on_train_begin()
        cb.on_epoch_end(0, {"val_auc": np.float32(0.5), "loss": 0.9})
        assert cb.model.stop_training is False
        cb.on_epoch_end(1, {"val_auc": 0.75, "loss": 0.4})
        cb.on_train_begin()  # a second fit in the same trial continues the steps
        cb.on_epoch_end(0, {"val_auc": 0.8, "loss": 0.3})
    assert [s for s, _ in sent] == [1, 2]  # the reporter is sticky: once stopped it sends no more
    assert sent[0][1] == {"val_auc": 0.5, "loss": 0.9}
    assert cb.model.stop_training is True
    assert reporter.last_step == 3 and cb.last_step == 3
    assert cb.stop_reason == "hpcore stopped the trial at step 3 (val_auc=0.8)"


def test_missing_metric_lists_the_available_names():
    cb = TuningCallback(monitor="val_auc")
    cb.set_model(SimpleNamespace(stop_training=False))
    with hpcore.Reporter(0, {}, send=lambda step, m: False):
        cb.on_train_begin()
        with pytest.raises(MetricError, match=r"'val_auc'.*available: 'auc', 'loss', 'val_loss'"):
            cb.on_epoch_end(0, {"loss": 0.5, "auc": 0.6, "val_loss": 0.7})


def test_outside_a_job_does_nothing_and_warns_once():
    cb = TuningCallback(monitor="loss")
    cb.set_model(SimpleNamespace(stop_training=False))
    with pytest.warns(UserWarning, match="not inside a tuning trial") as caught:
        for _ in range(2):
            cb.on_train_begin()
            cb.on_epoch_end(0, {"loss": 0.5})
    assert len([w for w in caught if "tuning trial" in str(w.message)]) == 1
    assert cb.model.stop_training is False and cb.stop_reason is None


# ---------------------------------------------------------------------------------------------
# Layer 2: real fits inside tuning jobs.
# ---------------------------------------------------------------------------------------------


def data(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 8)).astype("float32")
    return x, (x[:, 0] > 0).astype("float32")


def model(params: dict[str, Any]) -> Any:
    import hpcore_keras

    net = keras.Sequential([keras.Input((8,)),
                            keras.layers.Dense(8, activation="relu",
                                               kernel_initializer=hpcore_keras.make_initializer(params)),
                            keras.layers.Dense(1, activation="sigmoid")])
    net.compile(optimizer=hpcore_keras.make_optimizer(params), loss="binary_crossentropy",
                metrics=[keras.metrics.AUC(name="auc")])
    return net


SPACE = {"optimizer": hpcore.Categorical(["adam"]), "lr": hpcore.Float(0.01, 0.05),
         "init": hpcore.Categorical(["he_normal"])}


def test_real_fit_is_stopped_at_the_stoppers_step(stop_at):
    fits: list[Any] = []

    def train(params, reporter):
        x, y = data()
        cb = TuningCallback(monitor="val_auc")
        history = model(params).fit(x, y, validation_data=(x, y), epochs=8, batch_size=32, verbose=0,
                                    callbacks=[cb])
        fits.append((cb, history.history))

    job = hpcore.TuningJob(train, SPACE, objective="val_auc", direction="maximize", strategy="random",
                           max_trials=1, early_stopping="test_stop_at", stopper_options={"at": 3}, seed=0,
                           progress=False)
    record = job.run().trials[0]
    cb, history = fits[0]
    assert record.state.value == "stopped" and record.step == 3 and record.reason == "test stop at step 3"
    assert len(history["val_auc"]) == 3  # Keras stopped after the third epoch
    assert [s for _, s, _ in stop_at] == [1, 2, 3]
    assert [v for *_, v in stop_at] == pytest.approx(history["val_auc"])
    assert record.value == pytest.approx(history["val_auc"][-1])  # the objective: the last value reported
    assert cb.stop_reason.startswith("hpcore stopped the trial at step 3 (val_auc=")


def test_report_as_feeds_a_differently_named_objective(stop_at):
    def train(params, reporter):
        x, y = data()
        model(params).fit(x, y, validation_data=(x, y), epochs=2, batch_size=32, verbose=0,
                          callbacks=[TuningCallback(monitor="val_loss", report_as="objective")])

    job = hpcore.TuningJob(train, SPACE, objective="objective", strategy="random", max_trials=1,
                           early_stopping="test_stop_at", stopper_options={"at": 99}, seed=0, progress=False)
    record = job.run().trials[0]
    assert record.state.value == "completed" and record.step == 2
    reports = [m for *_, m in job.store.reports(job.name, record.id)]
    assert reports[-1]["objective"] == reports[-1]["val_loss"] == pytest.approx(record.value)


def test_every_preset_optimizer_trains_a_real_fit():
    used: list[tuple[dict[str, Any], Any]] = []

    def train(params, reporter):
        x, y = data()
        net = model(params)
        net.fit(x, y, validation_data=(x, y), epochs=2, batch_size=32, verbose=0,
                callbacks=[TuningCallback(monitor="val_auc")])
        used.append((params, net.optimizer))

    space = hpcore.presets.optimizer(lr=(0.01, 0.1), init=("he_normal",))
    job = hpcore.TuningJob(train, space, objective="val_auc", direction="maximize", strategy="random",
                           max_trials=6, seed=10, progress=False)  # seed 10 draws all four
    trials = job.run().trials
    assert all(t.state.value == "completed" and t.step == 2 for t in trials), [t.error for t in trials]
    assert {type(opt).__name__.lower() for _, opt in used} == {"adam", "adamw", "sgd", "rmsprop"}
    for params, opt in used:
        assert type(opt).__name__.lower() == params["optimizer"]
        assert float(opt.learning_rate) == pytest.approx(params["lr"], rel=1e-6)
        if "momentum" in params:
            assert opt.momentum == params["momentum"]


def test_the_auto_stopper_stops_real_fits_that_barely_learn():
    x, y = data()

    def train(params, reporter):
        keras.utils.set_random_seed(0)
        net = model({"optimizer": "adam", "lr": params["lr"], "init": "he_normal"})
        net.fit(x, y, validation_data=(x, y), epochs=10, batch_size=16, verbose=0,
                callbacks=[TuningCallback(monitor="val_loss", save_model=False)])

    result = hpcore.TuningJob(train, {"lr": hpcore.Float(1e-5, 0.1, scale="log")}, objective="val_loss",
                              strategy="random", early_stopping="auto", max_trials=10, seed=1, progress=False).run()
    stopped = [t for t in result.trials if t.state.value == "stopped"]
    assert stopped and all(t.reason.startswith("auto:") and 2 < t.step < 10 for t in stopped), \
        [(t.params, t.state, t.step) for t in result.trials]
    assert max(t.params["lr"] for t in stopped) < result.best.params["lr"]
