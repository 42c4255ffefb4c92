"""Overhead of the trainer adapters' callbacks: time spent inside the callback per evaluation,
against the training time, for Lightning, Keras 3 (torch backend) and XGBoost.

Each framework trains a small model inside a real one-trial ``hpcore.TuningJob`` (so each report
goes through the reporter and the job's store and stopper, as in use); the callback's hook methods
are wrapped with a timer. Run::

    OMP_NUM_THREADS=1 KERAS_BACKEND=torch python benchmarks/bench_adapters.py [--epochs 30]

It prints one Markdown table row per framework.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import time
import warnings
from collections.abc import Callable
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import hpcore  # noqa: E402


class Timed:
    """Wraps a callback's methods (as instance attributes, which each framework calls) with a timer."""

    def __init__(self, callback: Any, methods: tuple[str, ...]) -> None:
        self.seconds, self.calls, self.each = 0.0, 0, []
        for name in methods:
            setattr(callback, name, self._wrap(getattr(callback, name)))

    def _wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.each.append(time.perf_counter() - t0)
                self.seconds += self.each[-1]
                self.calls += 1
        return timed


def data(n: int = 2048, d: int = 32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, d)).astype("float32")
    return x, (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype("int64")


def lightning_fit(epochs: int) -> tuple[float, Timed]:
    import lightning.pytorch as pl
    import torch

    from hpcore_lightning import TuningCallback

    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    x, y = data()
    ds = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    train_dl = torch.utils.data.DataLoader(ds, batch_size=64)
    valid_dl = torch.utils.data.DataLoader(ds, batch_size=256)

    class Net(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2))

        def training_step(self, batch, _i):
            return torch.nn.functional.cross_entropy(self.net(batch[0]), batch[1])

        def validation_step(self, batch, _i):
            self.log("val_acc", (self.net(batch[0]).argmax(1) == batch[1]).float().mean())

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    cb = TuningCallback(monitor="val_acc")
    timer = Timed(cb, ("on_fit_start", "on_validation_end"))
    trainer = pl.Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=[cb], num_sanity_val_steps=0)
    t0 = time.perf_counter()
    trainer.fit(Net(), train_dl, valid_dl)
    return time.perf_counter() - t0, timer


def keras_fit(epochs: int) -> tuple[float, Timed]:
    import keras

    from hpcore_keras import TuningCallback

    x, y = data()
    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=[keras.metrics.AUC(name="auc")])
    cb = TuningCallback(monitor="val_auc")
    timer = Timed(cb, ("on_train_begin", "on_epoch_end"))
    t0 = time.perf_counter()
    model.fit(x, y.astype("float32"), validation_data=(x, y.astype("float32")), epochs=epochs, batch_size=64,
              verbose=0, callbacks=[cb])
    return time.perf_counter() - t0, timer


def xgboost_fit(rounds: int, interval: int = 1) -> tuple[float, Timed]:
    import xgboost as xgb

    from hpcore_xgboost import TuningCallback

    x, y = data(8192)
    dtrain = xgb.DMatrix(x, label=y)
    cb = TuningCallback(monitor="validation-auc", interval=interval)
    timer = Timed(cb, ("before_training", "after_iteration", "after_training"))
    t0 = time.perf_counter()
    xgb.train({"objective": "binary:logistic", "eval_metric": "auc", "nthread": 1, "max_depth": 6}, dtrain,
              num_boost_round=rounds, evals=[(dtrain, "validation")], verbose_eval=False, callbacks=[cb])
    return time.perf_counter() - t0, timer


def measure(name: str, fit: Callable[[int], tuple[float, Timed]], epochs: int) -> str:
    out: dict[str, Any] = {}

    def train(params: dict[str, Any], reporter: hpcore.Reporter) -> None:
        out["seconds"], out["timer"] = fit(epochs)

    job = hpcore.TuningJob(train, {"x": hpcore.Float(0.0, 1.0)}, objective="unused", strategy="random",
                           max_trials=1, seed=0, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        job.run()
    total, timer = out["seconds"], out["timer"]
    per_call_ms = 1000 * timer.seconds / max(timer.calls, 1)
    median_ms = 1000 * float(np.median(timer.each))
    share = 100 * timer.seconds / total
    return (f"| {name} | {epochs} | {total:.2f} | {timer.calls} | {per_call_ms:.3f} | {median_ms:.3f} | "
            f"{1000 * total / epochs:.1f} | {share:.3f}% |")


def main() -> None:
    parser = argparse.ArgumentParser(description="callback overhead of the trainer adapters")
    parser.add_argument("--epochs", type=int, default=30, help="epochs (boosting rounds: 10x)")
    args = parser.parse_args()
    print("| framework | epochs/rounds | fit s | callback calls | ms per call (mean) | ms per call (median) "
          "| ms per epoch | callback share |")
    print("|---|---|---|---|---|---|---|---|")
    print(measure("Lightning 2 (torch)", lightning_fit, args.epochs), flush=True)
    print(measure("Keras 3 (torch backend)", keras_fit, args.epochs), flush=True)
    print(measure("XGBoost 3 (hist)", xgboost_fit, 10 * args.epochs), flush=True)
    print(measure("XGBoost 3 (hist), interval=10", functools.partial(xgboost_fit, interval=10), 10 * args.epochs),
          flush=True)


if __name__ == "__main__":
    main()
