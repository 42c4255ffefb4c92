"""Objective metrics of the autopilot, in numpy: the SageMaker Autopilot set, each with its direction.

Classification metrics take class probabilities ``(n, k)`` and integer labels ``0..k-1``; regression
metrics take predicted values. ``auc`` on more than two classes is the macro one-vs-rest AUC and
``f1`` the macro F1, as SageMaker's ``F1macro``.
"""

from __future__ import annotations

import numpy as np

from hpcore.datasets.fraud import auc as _binary_auc

__all__ = ["DEFAULT_OBJECTIVE", "DIRECTIONS", "METRICS", "PROBLEM_TYPES", "score"]

PROBLEM_TYPES = ("binary", "multiclass", "regression")
DIRECTIONS = {"auc": "maximize", "f1": "maximize", "accuracy": "maximize", "logloss": "minimize",
              "mse": "minimize", "mae": "minimize", "r2": "maximize"}
METRICS = {"binary": ("auc", "f1", "accuracy", "logloss"),
           "multiclass": ("accuracy", "f1", "logloss", "auc"),
           "regression": ("mse", "mae", "r2")}
# SageMaker's defaults are F1 (binary), Accuracy (multiclass) and MSE (regression). AUC replaces F1 for
# binary problems: it does not depend on a 0.5 threshold, which on a rare class (fraud) makes F1 noisy.
DEFAULT_OBJECTIVE = {"binary": "auc", "multiclass": "accuracy", "regression": "mse"}


def _f1_macro(y: np.ndarray, pred: np.ndarray, k: int, binary: bool) -> float:
    scores = []
    for c in ([1] if binary else range(k)):
        tp = float(np.sum((pred == c) & (y == c)))
        fp = float(np.sum((pred == c) & (y != c)))
        fn = float(np.sum((pred != c) & (y == c)))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


def score(metric: str, y: np.ndarray, pred: np.ndarray) -> float:
    """The value of ``metric`` for true ``y`` and predictions ``pred``.

    Args:
        metric: One of :data:`DIRECTIONS`.
        y: Integer labels (classification) or values (regression).
        pred: Class probabilities ``(n, k)`` (classification) or predicted values (regression).

    Example:
        >>> import numpy as np
        >>> proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
        >>> score("accuracy", np.array([0, 1, 1]), proba), score("auc", np.array([0, 1, 1]), proba)
        (0.6666666666666666, 1.0)
        >>> score("r2", np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))
        1.0
    """
    y = np.asarray(y)
    pred = np.asarray(pred, dtype=np.float64)
    if metric in ("mse", "mae", "r2"):
        err = pred.ravel() - y.astype(np.float64)
        if metric == "mse":
            return float(np.mean(err**2))
        if metric == "mae":
            return float(np.mean(np.abs(err)))
        total = float(np.sum((y - y.mean()) ** 2))
        return float(1.0 - np.sum(err**2) / total) if total > 0 else 0.0
    if not np.isfinite(pred).all():  # a diverged network: the worst score, not a crash
        return {"maximize": 0.0, "minimize": 1e6}[DIRECTIONS[metric]]
    k = pred.shape[1]
    labels = y.astype(np.int64)
    if metric == "accuracy":
        return float(np.mean(pred.argmax(axis=1) == labels))
    if metric == "f1":
        return _f1_macro(labels, pred.argmax(axis=1), k, binary=k == 2)
    if metric == "logloss":
        p = np.clip(pred[np.arange(len(labels)), labels], 1e-15, 1.0)
        return float(-np.mean(np.log(p)))
    if metric == "auc":
        if k == 2:
            return _binary_auc(labels, pred[:, 1])
        present = [c for c in range(k) if 0 < np.sum(labels == c) < len(labels)]
        return float(np.mean([_binary_auc((labels == c).astype(int), pred[:, c]) for c in present]))
    raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(DIRECTIONS)}")
