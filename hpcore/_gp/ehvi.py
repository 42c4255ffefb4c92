"""Expected hypervolume improvement and the probability of feasibility, exact and with gradients.

**Boxes.** The region that a new point can add to the hypervolume of a front (minimised losses,
bounded by a reference point ``r``) is cut into disjoint axis-aligned boxes: along the first
``k - 1`` objectives, the grid of the front's coordinates (below ``r``) makes cells; in a cell
whose lower corner is ``a``, the front dominates every point above ``h(a)`` in the last objective,
``h(a)`` being the lowest last coordinate of the front points at most ``a`` in the others (``r``
if there is none). Each cell gives one box ``[a, -inf] .. [b, h(a)]``: ``p + 1`` boxes for two
objectives, ``(p + 1)^2`` at most for three.

**Expectation.** The improvement of a point ``y`` is ``sum_B prod_j f_Bj(y_j)`` with
``f(y) = max(0, u - max(y, l))`` per box side ``[l, u]``. With independent Gaussian posteriors per
objective (one GP each) the expectation of each product is the product of one-dimensional
expectations, in closed form:
``psi = (u - l) Phi(alpha) + (u - mu) (Phi(beta) - Phi(alpha)) + sigma (phi(beta) - phi(alpha))``
with ``alpha = (l - mu) / sigma``, ``beta = (u - mu) / sigma``; its derivatives are
``d psi / d mu = -(Phi(beta) - Phi(alpha))`` and ``d psi / d sigma = phi(beta) - phi(alpha)``. So
EHVI is exact (no Monte Carlo) and costs ``m * boxes * k`` per batch of ``m`` candidates.

**Feasibility.** A constraint modelled by a GP on its violation (feasible at or below a
threshold) holds with probability ``Phi((t - mu) / sigma)``; the log of the product over
constraints is added to the log of the improvement.

Shapes: ``mean``, ``var`` (m, k); ``dmean``, ``dvar`` (k, m, d) or None.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.special import log_ndtr, ndtr

__all__ = ["boxes", "log_ehvi", "log_pof"]

_C = 1.0 / math.sqrt(2.0 * math.pi)
TINY = 1e-300  # log EHVI of a point with no improvement at all stays finite


def _phi(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        out = _C * np.exp(-0.5 * x * x)
    return np.where(np.isfinite(x), out, 0.0)


def boxes(front: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint boxes covering what a new point can add to the front's hypervolume.

    Args:
        front: Losses of the current front (any set: dominated rows change nothing), (p, k).
        ref: The reference point, (k,).

    Returns:
        ``(lower, upper)``, each (B, k); lower coordinates may be ``-inf``.

    Example:
        >>> lo, up = boxes(np.array([[1.0, 2.0], [2.0, 1.0]]), np.array([3.0, 3.0]))
        >>> up.tolist()
        [[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]]
    """
    ref = np.asarray(ref, dtype=float)
    k = len(ref)
    F = np.asarray(front, dtype=float).reshape(-1, k)
    F = F[np.all(ref > F, axis=1)]
    edges = [np.concatenate([[-np.inf], np.unique(F[:, j]), [ref[j]]]) for j in range(k - 1)]
    lower, upper = [], []
    for idx in itertools.product(*[range(len(e) - 1) for e in edges]):
        a = np.array([edges[j][i] for j, i in enumerate(idx)])
        b = np.array([edges[j][i + 1] for j, i in enumerate(idx)])
        below = np.all(F[:, : k - 1] <= a, axis=1) if len(F) else np.zeros(0, dtype=bool)
        h = min(float(np.min(F[below, k - 1])), ref[k - 1]) if below.any() else ref[k - 1]
        if np.all(b > a):
            lower.append(np.append(a, -np.inf))
            upper.append(np.append(b, h))
    return np.array(lower).reshape(-1, k), np.array(upper).reshape(-1, k)


def log_ehvi(mean: np.ndarray, var: np.ndarray, lower: np.ndarray, upper: np.ndarray,
             dmean: np.ndarray | None = None, dvar: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray | None]:
    """``log EHVI`` at each candidate (and its gradient when the posterior's is given).

    Args:
        mean: Posterior means per objective, (m, k).
        var: Posterior variances, (m, k), positive.
        lower: Lower box corners from :func:`boxes`, (B, k).
        upper: Upper box corners, (B, k).
        dmean: Gradients of the means, (k, m, d), or None.
        dvar: Gradients of the variances, (k, m, d), or None.

    Returns:
        ``(log_ehvi (m,), grad (m, d) or None)``.
    """
    sd = np.sqrt(var)[:, None, :]  # (m, 1, k)
    mu = mean[:, None, :]
    lo, up = lower[None, :, :], upper[None, :, :]
    with np.errstate(invalid="ignore"):
        alpha = (lo - mu) / sd
    beta = (up - mu) / sd
    cdf_a, cdf_b = ndtr(alpha), ndtr(beta)
    pdf_a, pdf_b = _phi(alpha), _phi(beta)
    width = np.where(np.isfinite(lo), up - lo, 0.0)
    psi = width * cdf_a + (up - mu) * (cdf_b - cdf_a) + sd * (pdf_b - pdf_a)  # (m, B, k)
    psi = np.maximum(psi, 0.0)
    prod = np.prod(psi, axis=2)  # (m, B)
    ehvi = np.sum(prod, axis=1)
    val = np.log(np.maximum(ehvi, TINY))
    if dmean is None or dvar is None:
        return val, None
    k = mean.shape[1]
    grad = np.zeros((mean.shape[0], dmean.shape[2]))
    for j in range(k):
        others = np.prod(np.delete(psi, j, axis=2), axis=2)  # (m, B)
        d_mu = np.sum(others * -(cdf_b[:, :, j] - cdf_a[:, :, j]), axis=1)
        d_sd = np.sum(others * (pdf_b[:, :, j] - pdf_a[:, :, j]), axis=1)
        d_var = d_sd / (2.0 * sd[:, 0, j])
        grad += d_mu[:, None] * dmean[j] + d_var[:, None] * dvar[j]
    grad /= np.maximum(ehvi, TINY)[:, None]
    return val, grad


def log_pof(mean: np.ndarray, var: np.ndarray, threshold: np.ndarray, dmean: np.ndarray | None = None,
            dvar: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """``log P(every constraint holds)`` with one GP per constraint's violation.

    Args:
        mean: Posterior means of the violations, (m, c).
        var: Their variances, (m, c).
        threshold: The feasible side's bound per constraint in model units, (c,).
        dmean: Gradients of the means, (c, m, d), or None.
        dvar: Gradients of the variances, (c, m, d), or None.

    Returns:
        ``(log_pof (m,), grad (m, d) or None)``.
    """
    sd = np.sqrt(var)
    z = (threshold[None, :] - mean) / sd
    lp = log_ndtr(z)
    val = np.sum(lp, axis=1)
    if dmean is None or dvar is None:
        return val, None
    ratio = np.exp(-0.5 * z * z - 0.5 * math.log(2 * math.pi) - lp)  # phi(z) / Phi(z)
    grad = np.zeros((mean.shape[0], dmean.shape[2]))
    for c in range(mean.shape[1]):
        d_mu = -ratio[:, c] / sd[:, c]
        d_var = -ratio[:, c] * z[:, c] / (2.0 * var[:, c])
        grad += d_mu[:, None] * dmean[c] + d_var[:, None] * dvar[c]
    return val, grad
