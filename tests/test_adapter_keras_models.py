"""The Keras 3 adapter keeps the trial's model and checkpoints (torch backend, tiny real fits).

The model ``TuningCallback`` saves at the end of the fit is what ``result.best.load_model()`` returns,
predicting as the trial's model did; a trial that raised after epoch 5 is rerun from its checkpoint at
epoch 4 (``cb.restore(model)``): it trains only the remaining epochs, its steps in the store are 1..E
once each, and its weights and optimizer state continue exactly (the curve and the final model equal
those of a fit that never crashed).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import hpcore  # noqa: E402
from hpcore.models import ModelNotFound  # noqa: E402
from hpcore.results import TuningResult  # noqa: E402
from hpcore.store import Store  # noqa: E402
from hpcore.testing import stop_at_step  # noqa: E402
from hpcore_keras import TuningCallback  # noqa: E402

# Keras's torch backend calls np.array(tensor) the NumPy-1 way; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

EPOCHS = 8
PROBE = np.random.default_rng(1).normal(size=(5, 8)).astype("float32")  # a fixed input to compare predictions on


def data(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 8)).astype("float32")
    return x, (x[:, :1] * 2.0 - x[:, 1:2]).astype("float32")


def build(lr: float, seed: int = 0) -> Any:
    keras.utils.set_random_seed(seed)  # the same initial weights on every run of the trial
    net = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    net.compile(optimizer=keras.optimizers.Adam(lr), loss="mse")
    return net


def fit(net: Any, callbacks: list[Any], epochs: int = EPOCHS, initial_epoch: int = 0) -> Any:
    x, y = data()
    return net.fit(x, y, validation_data=(x, y), epochs=epochs, initial_epoch=initial_epoch, batch_size=16,
                   shuffle=False, verbose=0, callbacks=callbacks)


def job(train: Any, tmp_path: Any, lrs: list[float], **kwargs: Any) -> hpcore.TuningJob:
    return hpcore.TuningJob(train, {"lr": hpcore.Categorical(lrs)}, objective="val_loss", strategy="grid",
                            max_trials=len(lrs), store=str(tmp_path / "t.db"), seed=0, progress=False, **kwargs)


# ---------------------------------------------------------------------------------------------
# The trial's model.
# ---------------------------------------------------------------------------------------------


def test_the_best_trials_model_predicts_as_it_did_at_the_end_of_its_trial(tmp_path):
    predicted: dict[int, np.ndarray] = {}

    def train(params, reporter):
        net = build(params["lr"])
        fit(net, [TuningCallback(monitor="val_loss", checkpoint_every=0)], epochs=3)
        predicted[reporter.trial_id] = net.predict(PROBE, verbose=0)

    result = job(train, tmp_path, [0.001, 0.01, 0.05]).run()
    assert [t.state.value for t in result.trials] == ["completed"] * 3, [t.error for t in result.trials]
    assert len({float(p[0, 0]) for p in predicted.values()}) == 3  # three different models
    for trial in result.trials:
        assert sorted(a.path for a in trial.artifacts) == ["hpcore-model.json", "model/model.keras"]
    loaded = result.best.load_model()
    assert isinstance(loaded, keras.Model) and type(loaded.optimizer).__name__ == "Adam"  # compiled, as saved
    assert np.allclose(loaded.predict(PROBE, verbose=0), predicted[result.best.id], atol=1e-6)
    other = next(t for t in result.trials if t.id != result.best.id)
    assert not np.allclose(loaded.predict(PROBE, verbose=0), predicted[other.id])
    # Read back from the store alone, in a later session.
    again = TuningResult.from_store(str(tmp_path / "t.db")).best
    assert np.allclose(again.load_model().predict(PROBE, verbose=0), predicted[result.best.id], atol=1e-6)


def test_a_fit_stopped_by_hpcore_saves_its_model_too(tmp_path):
    predicted: list[np.ndarray] = []

    def train(params, reporter):
        net = build(params["lr"])
        history = fit(net, [TuningCallback(monitor="val_loss", checkpoint_every=0)])
        assert len(history.history["loss"]) == 2
        predicted.append(net.predict(PROBE, verbose=0))

    with stop_at_step("test_keras_stop"):
        result = job(train, tmp_path, [0.01], early_stopping="test_keras_stop", stopper_options={"at": 2}).run()
    trial = result.trials[0]
    assert trial.state.value == "stopped" and trial.step == 2, trial.error
    assert np.allclose(trial.load_model().predict(PROBE, verbose=0), predicted[0], atol=1e-6)


def test_save_model_false_saves_nothing(tmp_path):
    def train(params, reporter):
        fit(build(params["lr"]), [TuningCallback(monitor="val_loss", save_model=False, checkpoint_every=0)], epochs=2)

    trial = job(train, tmp_path, [0.01]).run().trials[0]
    assert trial.state.value == "completed" and trial.step == 2, trial.error
    assert trial.artifacts == []
    with pytest.raises(ModelNotFound, match="saved no model"):
        trial.load_model()


class Doubling(keras.layers.Layer):  # deliberately not registered: load_model needs it passed
    def call(self, x: Any) -> Any:
        return x * 2.0


def test_custom_objects_are_passed_as_model_class():
    net = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1), Doubling()])
    net.compile(optimizer="sgd", loss="mse")
    with hpcore.Reporter(0, {}) as reporter:
        fit(net, [TuningCallback(monitor="loss", checkpoint_every=0)], epochs=1)
    record = hpcore.TrialRecord(0, {}, hpcore.TrialState.COMPLETED, artifact_dir=reporter.artifact_dir)
    with pytest.raises(TypeError, match="Doubling"):
        record.load_model()
    for custom in (Doubling, {"Doubling": Doubling}, [Doubling]):
        loaded = record.load_model(model_class=custom)
        assert np.allclose(loaded.predict(PROBE, verbose=0), net.predict(PROBE, verbose=0))


# ---------------------------------------------------------------------------------------------
# Checkpoints and resuming.
# ---------------------------------------------------------------------------------------------


def test_checkpoints_hold_weights_optimizer_state_and_epoch_every_n_epochs():
    for every, expected in ((0, None), (None, None), (2, 4), (3, 3)):
        net = build(0.01)
        with hpcore.Reporter(0, {}) as reporter:
            cb = TuningCallback(monitor="loss", save_model=False, checkpoint_every=every, checkpoint_budget=None)
            fit(net, [cb], epochs=5)
            ckpt = reporter.load_checkpoint()
        if expected is None:
            assert ckpt is None
            continue
        assert ckpt.step == expected and ckpt.state == {"epoch": expected}
        assert os.listdir(ckpt.path) and any(name.endswith(".keras") for name in os.listdir(ckpt.path))
    with pytest.raises(ValueError, match="checkpoint_every"):
        TuningCallback(checkpoint_every=-1)


def test_restore_outside_a_trial_or_without_a_checkpoint_returns_0_and_changes_nothing():
    net = build(0.01)
    before = [w.copy() for w in net.get_weights()]
    assert TuningCallback().restore(net) == 0
    with hpcore.Reporter(0, {}):
        assert TuningCallback().restore(net) == 0
    assert all(np.array_equal(a, b) for a, b in zip(before, net.get_weights()))


def test_restore_needs_a_compiled_model():
    with hpcore.Reporter(0, {}) as reporter:
        fit(build(0.01), [TuningCallback(monitor="loss", save_model=False, checkpoint_every=1)], epochs=1)
        bare = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
        with pytest.raises(ValueError, match="compile the model first"):
            TuningCallback().restore(bare)
        reporter.save_checkpoint({"mine": 1}, step=2)  # the user's own checkpoint, not the callback's
        with pytest.raises(ValueError, match="not saved by hpcore_keras.TuningCallback"):
            TuningCallback().restore(build(0.01))


def test_a_failed_trial_is_rerun_from_its_checkpoint_with_its_weights_and_optimizer_state(tmp_path):
    ran: list[tuple[int, int]] = []  # (attempt, epoch) of every epoch actually trained
    restored: list[int] = []

    class Crash(keras.callbacks.Callback):
        def __init__(self, attempt: int) -> None:
            super().__init__()
            self.attempt = attempt

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            ran.append((self.attempt, epoch))
            if self.attempt == 0 and epoch + 1 == 5:  # after epoch 5; the last checkpoint is epoch 4's
                raise RuntimeError("simulated crash after epoch 5")

    def train(params, reporter):
        net = build(params["lr"])
        cb = TuningCallback(monitor="val_loss", checkpoint_every=2, checkpoint_budget=None)
        initial_epoch = cb.restore(net)
        restored.append(initial_epoch)
        fit(net, [cb, Crash(reporter.attempt)], initial_epoch=initial_epoch)
        return {"val_loss": float(net.evaluate(*data(), verbose=0))}

    result = job(train, tmp_path, [0.02], max_retries=1).run()
    trial = result.trials[0]
    assert trial.state.value == "completed" and trial.attempt == 1 and trial.step == EPOCHS, trial.error
    assert restored == [0, 4]
    assert ran == [(0, e) for e in range(5)] + [(1, e) for e in range(4, EPOCHS)]  # 9 epochs, not 5 + 8

    store = Store(str(tmp_path / "t.db"), read_only=True)
    reports = store.reports(result.name, trial.id)
    store.close()
    assert [step for _, _, step, _ in reports] == list(range(1, EPOCHS + 1))  # no gap, no duplicate
    curve = TuningResult.from_store(str(tmp_path / "t.db")).curves[trial.id]
    assert [step for step, _ in curve] == list(range(1, EPOCHS + 1))

    # The same fit without a crash: the resumed trial's curve and final model are its curve and model.
    reference = build(0.02)
    history = fit(reference, [])
    assert [m["loss"] for _, m in curve] == pytest.approx(history.history["loss"], rel=1e-5)
    final = trial.load_model().predict(PROBE, verbose=0)
    assert np.allclose(final, reference.predict(PROBE, verbose=0), atol=1e-6)

    # What the comparison detects: a rerun from the initial weights, or with the weights but a fresh
    # optimizer (Adam's moments and step count lost), ends elsewhere.
    fresh = build(0.02)
    fit(fresh, [], initial_epoch=4)
    assert not np.allclose(final, fresh.predict(PROBE, verbose=0), atol=1e-3)
    at_4 = build(0.02)
    fit(at_4, [], epochs=4)
    weights_only = build(0.02)
    weights_only.set_weights(at_4.get_weights())
    fit(weights_only, [], initial_epoch=4)
    assert not np.allclose(final, weights_only.predict(PROBE, verbose=0), atol=1e-3)
