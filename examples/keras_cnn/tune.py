"""Tunes a small Keras 3 CNN (torch backend): model shape, optimizer and data augmentation.

The images are generated here: 16x16 noisy pictures of a horizontal or a vertical bar, to tell apart.
Run it with ``python examples/keras_cnn/tune.py`` (a few minutes on 2 CPU cores) or
``--trials 2 --epochs 2`` for a quick look. Set ``KERAS_BACKEND`` to use another backend.
"""

from __future__ import annotations

import argparse
import functools
import os

os.environ.setdefault("KERAS_BACKEND", "torch")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one thread per trial: more is slower on small models

import keras  # noqa: E402
import numpy as np  # noqa: E402

import hpcore  # noqa: E402
import hpcore_keras  # noqa: E402
from hpcore import presets  # noqa: E402
from hpcore_keras import TuningCallback  # noqa: E402


def make_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` noisy 16x16x1 images of a bar, horizontal (label 0) or vertical (label 1), anywhere."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    images = 0.6 * rng.normal(size=(n, 16, 16, 1)).astype("float32")
    for i, (r, c) in enumerate(rng.integers(2, 14, (n, 2))):
        if labels[i] == 0:
            images[i, r, max(c - 5, 0):c + 5, 0] += 1.5
        else:
            images[i, max(r - 5, 0):r + 5, c, 0] += 1.5
    return images, labels.astype("float32")


def build(params: dict) -> keras.Model:
    """A CNN whose shape (model), optimizer and augmentation (data) come from the trial's parameters."""
    init = hpcore_keras.make_initializer(params)  # optimizer category: Glorot or He
    inputs = keras.Input((16, 16, 1))
    x = hpcore_keras.make_augmentation(params)(inputs)  # data: crop, flip, rotation (training only)
    width = int(params["filters"])
    pool = keras.layers.MaxPooling2D if params["pooling"] == "max" else keras.layers.AveragePooling2D
    for _block in range(int(params["depth"])):
        x = keras.layers.Conv2D(width, int(params["filter_size"]), padding="same", activation="relu",
                                kernel_initializer=init)(x)
        x = pool(2)(x)
        width *= 2
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(float(params["dropout"]))(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", kernel_initializer=init)(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=hpcore_keras.make_optimizer(params), loss="binary_crossentropy",
                  metrics=[keras.metrics.AUC(name="auc")])
    return model


def train(params: dict, reporter: hpcore.Reporter, epochs: int = 6) -> None:
    keras.utils.set_random_seed(0)
    x, y = make_images(512, 0)
    xv, yv = make_images(256, 1)
    build(params).fit(x, y, validation_data=(xv, yv), epochs=epochs, batch_size=64, verbose=0,
                      callbacks=[TuningCallback(monitor="val_auc")])
    # Returning nothing: the trial's objective is the last val_auc the callback reported.


def space() -> hpcore.SearchSpace:
    return hpcore.SearchSpace({
        **presets.conv_model(filter_size=(3, 5), filters=(4, 16), depth=(1, 2), stride=None, padding=None,
                             dropout=(0.0, 0.3)),
        **presets.optimizer(lr=(1e-3, 1e-1), momentum=(0.5, 0.95), weight_decay=(1e-6, 1e-3),
                            init=("xavier_uniform", "he_normal")),
        **presets.augmentation(crop_scale=(0.7, 1.0), hflip=(0.0, 0.5), rotation=(0.0, 10.0)),
    })


def main(argv: list[str] | None = None) -> hpcore.TuningResult:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--parallel", type=int, default=1, help="trials at once (one per CPU core)")
    args = parser.parse_args(argv)
    job = hpcore.TuningJob(functools.partial(train, epochs=args.epochs), space(), objective="val_auc",
                           direction="maximize", strategy="random", max_trials=args.trials,
                           max_parallel=args.parallel, early_stopping="median", seed=0, progress=False)
    result = job.run()
    print(result.summary())
    return result


if __name__ == "__main__":
    main()
