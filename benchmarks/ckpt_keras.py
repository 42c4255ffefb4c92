"""The cost of the Keras adapter's checkpoints: a small but realistic Keras 3 fit (torch backend), one thread.

``run(epochs, every, seed)`` fits an MLP (32 features, 128-64 hidden units, Adam) on 5,000 generated rows
twice inside a trial's reporter, once with ``TuningCallback(checkpoint_every=every)`` and once with
``checkpoint_every=0``, and returns the mean epoch time without checkpoints, the mean time of one
checkpoint (a ``.keras`` file: weights, optimizer state, config) and the relative overhead::

    KERAS_BACKEND=torch python benchmarks/ckpt_keras.py
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import one_thread  # noqa: E402,F401  (first: before numpy and torch)
from ckpt_common import compare, time_checkpoints  # noqa: E402

os.environ.setdefault("KERAS_BACKEND", "torch")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ROWS, FEATURES = 5_000, 32


def _data(seed: int) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(ROWS, FEATURES)).astype("float32")
    w = rng.normal(size=(FEATURES,))
    y = ((x @ w + 0.5 * np.sin(3 * x[:, 0]) + rng.normal(0, 0.5, ROWS)) > 0).astype("float32")
    return x, y


def _model(seed: int) -> Any:
    import keras

    keras.utils.set_random_seed(seed)
    net = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(128, activation="relu"),
                            keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
    net.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    return net


def _fit(epochs: int, every: int, budget: float | None, seed: int, data: tuple[Any, Any], spent: list[float]) -> float:
    """Seconds of one fit with a checkpoint every ``every`` epochs; appends each checkpoint's seconds."""
    from hpcore.reporter import Reporter
    from hpcore_keras import TuningCallback

    net = _model(seed)
    x, y = data
    with Reporter(0, {}, threads=1) as reporter:
        time_checkpoints(reporter, spent)
        cb = TuningCallback(monitor="loss", save_model=False, checkpoint_every=every,
                            checkpoint_budget=budget)
        t0 = time.perf_counter()
        net.fit(x, y, epochs=epochs, batch_size=64, verbose=0, callbacks=[cb])
        return time.perf_counter() - t0


def run(epochs: int = 20, every: int = 5, seed: int = 0) -> dict[str, Any]:
    """The fit without checkpoints, with one exactly every ``every`` reports and with the defaults:
    the figures of :func:`ckpt_common.compare`."""
    import torch

    one_thread.limit_torch(torch)
    data = _data(seed)
    _fit(2, 1, None, seed, data, [])  # warm-up (imports, first-call costs, one checkpoint), untimed
    return compare(lambda ck, budget, spent: _fit(epochs, ck, budget, seed, data, spent), epochs, every, seed)


if __name__ == "__main__":
    print(run())
