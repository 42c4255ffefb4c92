"""Objective metrics of the autopilot, by ``sklearn.metrics``: the SageMaker Autopilot set, with directions.

Classification metrics take class probabilities ``(n, k)`` and integer labels ``0..k-1``; regression
metrics take predicted values. ``auc`` on more than two classes is the macro one-vs-rest AUC and
``f1`` the macro F1, as SageMaker's ``F1macro``.
"""

from __future__ import annotations

import numpy as np

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


def score(metric: str, y: np.ndarray, pred: np.ndarray) -> float:
    """The value of ``metric`` for true ``y`` and predictions ``pred``, by ``sklearn.metrics``.

    Args:
        metric: One of :data:`DIRECTIONS`.
        y: Class codes ``0..k-1`` (classification) or values (regression).
        pred: Class probabilities ``(n, k)`` (classification) or predicted values (regression).

    Example:
        >>> import numpy as np
        >>> proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
        >>> score("accuracy", np.array([0, 1, 1]), proba), score("auc", np.array([0, 1, 1]), proba)
        (0.6666666666666666, 1.0)
        >>> score("r2", np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))
        1.0
    """
    from sklearn import metrics as m

    if metric not in DIRECTIONS:
        raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(DIRECTIONS)}")
    y = np.asarray(y)
    pred = np.asarray(pred, dtype=np.float64)
    if not np.isfinite(pred).all():  # a diverged network: the worst score, not a crash
        return {"maximize": 0.0, "minimize": 1e6}[DIRECTIONS[metric]]
    if metric in ("mse", "mae", "r2"):
        values = y.astype(np.float64)
        if metric == "r2":
            return float(m.r2_score(values, pred.ravel())) if np.ptp(values) > 0 else 0.0
        fn = m.mean_squared_error if metric == "mse" else m.mean_absolute_error
        return float(fn(values, pred.ravel()))
    k = pred.shape[1]
    labels = y.astype(np.int64)
    if metric == "accuracy":
        return float(m.accuracy_score(labels, pred.argmax(axis=1)))
    if metric == "f1":
        average = "binary" if k == 2 else "macro"
        return float(m.f1_score(labels, pred.argmax(axis=1), labels=list(range(k)) if k > 2 else None,
                                average=average, zero_division=0.0))
    if metric == "logloss":  # float32 models' rows sum to 1 only within 1e-7, which log_loss warns about
        total = pred.sum(axis=1, keepdims=True)
        return float(m.log_loss(labels, pred / np.where(total > 0, total, 1.0), labels=list(range(k))))
    if k == 2:
        return float(m.roc_auc_score(labels, pred[:, 1]))
    # Macro one-vs-rest over the classes present in ``y`` (a small fold may lack one).
    present = [c for c in range(k) if 0 < np.sum(labels == c) < len(labels)]
    return float(np.mean([m.roc_auc_score((labels == c).astype(int), pred[:, c]) for c in present]))
