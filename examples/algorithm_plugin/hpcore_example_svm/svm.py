"""A linear SVM trained by sub-gradient descent on the hinge loss, in numpy only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hpcore import Float, Int, SearchSpace


def svm_space() -> SearchSpace:
    """Learning rate, L2 strength and epochs, with sensible defaults."""
    return SearchSpace({
        "lr": Float(1e-4, 1.0, scale="log", category="optimizer", default=0.01),
        "l2": Float(1e-6, 1.0, scale="log", default=1e-3),
        "epochs": Int(1, 30, category="optimizer", default=10),
    })


def make_blobs(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(rows) < 0.5, 1.0, -1.0)
    x = rng.standard_normal((rows, 10)) + 0.6 * y[:, None] * np.linspace(1.0, 0.0, 10)
    return x, y


@dataclass
class SvmTrainer:
    """A picklable ``train(params, reporter)``: reports ``val_accuracy`` after every epoch.

    Example:
        >>> SvmTrainer(rows=400)({"lr": 0.05, "l2": 1e-3, "epochs": 3})["val_accuracy"] > 0.6
        True
    """

    rows: int = 4000
    seed: int = 0

    def __call__(self, params: dict[str, Any], reporter: Any = None) -> dict[str, float]:
        x, y = make_blobs(self.rows, self.seed)
        cut = int(0.75 * len(y))
        w, b = np.zeros(x.shape[1]), 0.0
        acc = 0.0
        for epoch in range(1, int(params["epochs"]) + 1):
            margin = y[:cut] * (x[:cut] @ w + b)
            active = margin < 1  # the hinge's sub-gradient is zero outside the margin
            gw = params["l2"] * w - (y[:cut, None] * x[:cut])[active].sum(0) / cut
            gb = -y[:cut][active].sum() / cut
            w, b = w - params["lr"] * gw, b - params["lr"] * gb
            acc = float(np.mean(np.sign(x[cut:] @ w + b) == y[cut:]))
            if reporter is not None and reporter.report(epoch, val_accuracy=acc):
                break
        return {"val_accuracy": acc}
