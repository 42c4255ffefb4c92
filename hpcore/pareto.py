"""Pareto fronts and hypervolumes of minimised objective vectors.

Every function takes losses: each row one point, each column one objective, all minimised (a
maximised objective negated, as :meth:`hpcore.objectives.Objectives.losses` gives them).
"""

from __future__ import annotations

import numpy as np

__all__ = ["hypervolume", "hypervolume_history", "nondominated"]


def nondominated(Y: np.ndarray) -> np.ndarray:
    """A boolean mask of the rows no other row dominates (at most as large everywhere, smaller once).

    Duplicated rows are all kept.

    Example:
        >>> nondominated(np.array([[1.0, 2.0], [2.0, 1.0], [2.0, 2.0]])).tolist()
        [True, True, False]
    """
    Y = np.asarray(Y, dtype=float).reshape(len(Y), -1)
    if len(Y) == 0:
        return np.zeros(0, dtype=bool)
    le = np.all(Y[:, None, :] <= Y[None, :, :], axis=2)  # le[i, j]: row i is at most row j everywhere
    lt = np.any(Y[:, None, :] < Y[None, :, :], axis=2)
    dominated = np.any(le & lt, axis=0)
    return ~dominated


def hypervolume(Y: np.ndarray, ref: np.ndarray) -> float:
    """The volume dominated by the rows of ``Y`` and bounded by the reference point ``ref``.

    Rows that do not dominate ``ref`` add nothing. Exact, by slicing along the last objective
    (fast for the front sizes of a tuning job: hundreds of points in 2 or 3 objectives).

    Example:
        >>> hypervolume(np.array([[1.0, 2.0], [2.0, 1.0]]), np.array([3.0, 3.0]))
        3.0
    """
    ref = np.asarray(ref, dtype=float)
    Y = np.asarray(Y, dtype=float).reshape(-1, len(ref))
    Y = Y[np.all(ref > Y, axis=1)]
    if len(Y) == 0:
        return 0.0
    Y = Y[nondominated(Y)]
    return float(_hv(np.unique(Y, axis=0), ref))


def _hv(Y: np.ndarray, ref: np.ndarray) -> float:
    d = Y.shape[1]
    if d == 1:
        return float(ref[0] - np.min(Y[:, 0]))
    if d == 2:
        P = Y[np.argsort(Y[:, 0])]
        ys = np.minimum.accumulate(P[:, 1])
        right = np.append(P[1:, 0], ref[0])
        return float(np.sum((right - P[:, 0]) * (ref[1] - ys)))
    order = np.argsort(Y[:, -1])
    P = Y[order]
    total = 0.0
    for i in range(len(P)):  # the slab between this point's last coordinate and the next one's
        top = P[i + 1, -1] if i + 1 < len(P) else ref[-1]
        if top > P[i, -1]:
            S = P[: i + 1, :-1]
            total += (top - P[i, -1]) * _hv(S[nondominated(S)], ref[:-1])
    return total


def hypervolume_history(Y: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """The hypervolume of the first ``k`` rows, for every ``k`` (how a job's front grew).

    Example:
        >>> hypervolume_history(np.array([[2.0, 2.0], [1.0, 2.0], [3.0, 0.0]]), np.array([3.0, 3.0])).tolist()
        [1.0, 2.0, 2.0]
    """
    Y = np.asarray(Y, dtype=float).reshape(-1, len(ref))
    out = np.zeros(len(Y))
    front = np.empty((0, Y.shape[1]))
    hv = 0.0
    for k, y in enumerate(Y):
        if not np.any(np.all(front <= y, axis=1)):
            front = np.vstack([front[~np.all(y <= front, axis=1)], y])
            hv = hypervolume(front, ref)
        out[k] = hv
    return out
