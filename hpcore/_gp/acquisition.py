"""Log expected improvement, numerically stable far from the incumbent.

For a minimised objective with posterior ``N(mu, sigma^2)`` and incumbent ``best``,
``EI = sigma * h(z)`` with ``z = (best - mu) / sigma`` and ``h(z) = phi(z) + z Phi(z)``. Plain EI
underflows to exactly 0 a few standard deviations away from the incumbent, which leaves the
optimizer with flat regions and no gradient; ``log h`` is computed as in Ament et al. (2023,
"Unexpected improvements to expected improvement", arXiv 2310.20708): directly for ``z > -1`` and
through the scaled complementary error function ``erfcx`` below, so it stays finite and smooth
down to ``z = -1e150``. Its derivative is ``h'(z) / h(z) = Phi(z) / h(z)``, taken in log space too.

Pending trials (asked, not told) are handled by the *Kriging believer* heuristic: each is added
to the GP as if observed at the model's prediction, which keeps the mean and removes the variance
there, and the incumbent is updated with those believed values; the next ask then looks elsewhere,
so parallel workers get different configurations. It is deterministic and costs one Cholesky
factorisation, where sampled fantasies (qLogEI) cost many.

Shapes: ``mean``, ``var`` (m,); gradients (m, d); ``Z`` (m, d) model coordinates.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.special import erfcx, log_ndtr, ndtr

from hpcore._gp.gp import GPModel

__all__ = ["expected_improvement", "log_ei", "log_ei_acqf", "log_h"]

AcqFn = Callable[[np.ndarray, bool], tuple[np.ndarray, np.ndarray | None]]

_C1 = 0.5 * math.log(2 * math.pi)
_C2 = 0.5 * math.log(math.pi / 2)
_BIG = 1.0 / math.sqrt(np.finfo(float).eps)


def _log1mexp(x: np.ndarray) -> np.ndarray:
    """``log(1 - exp(x))`` for ``x < 0``, accurate on both sides of ``-log 2``."""
    x = np.minimum(x, -1e-300)
    return np.where(x > -math.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def log_h(z: np.ndarray) -> np.ndarray:
    """``log(phi(z) + z * Phi(z))``, stable for all finite ``z``."""
    # Below -1e150 the square overflows; log h is then far below anything that could be chosen.
    z = np.maximum(np.asarray(z, dtype=float), -1e150)
    out = np.empty_like(z)
    hi = z > -1.0
    zh = z[hi]
    out[hi] = np.log(np.exp(-0.5 * zh * zh - _C1) + zh * ndtr(zh))
    mid = (~hi) & (z > -_BIG)
    zm = z[mid]
    out[mid] = -0.5 * zm * zm - _C1 + _log1mexp(np.log(erfcx(-zm / math.sqrt(2.0)) * np.abs(zm)) + _C2)
    lo = z <= -_BIG
    out[lo] = -0.5 * z[lo] ** 2 - _C1 - 2.0 * np.log(np.abs(z[lo]))
    return out


def expected_improvement(mean: np.ndarray, var: np.ndarray, best: float) -> np.ndarray:
    """Closed-form EI (may underflow to 0; used for reporting and tests)."""
    sigma = np.sqrt(var)
    z = (best - mean) / sigma
    return sigma * (np.exp(-0.5 * z * z - _C1) + z * ndtr(z))


def log_ei(mean: np.ndarray, var: np.ndarray, best: float, dmean: np.ndarray | None = None,
           dvar: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """``log EI`` of a minimisation at each candidate, and its gradient when the posterior's is given.

    Args:
        mean: Posterior means, shape (m,).
        var: Posterior variances (positive), shape (m,).
        best: The incumbent (lowest) value, in the same units as ``mean``.
        dmean: Gradient of the mean, shape (m, d), or None.
        dvar: Gradient of the variance, shape (m, d), or None.

    Returns:
        ``(log_ei (m,), grad (m, d) or None)``.
    """
    sigma = np.sqrt(var)
    z = (best - mean) / sigma
    lh = log_h(z)
    val = np.log(sigma) + lh
    if dmean is None or dvar is None:
        return val, None
    ratio = np.exp(log_ndtr(z) - lh)  # Phi(z) / h(z), finite in log space
    dlog_dmean = -ratio / sigma
    dlog_dsigma = (1.0 - z * ratio) / sigma
    grad = dlog_dmean[:, None] * dmean + (dlog_dsigma / (2.0 * sigma))[:, None] * dvar
    return val, grad


def log_ei_acqf(model: GPModel, best: float, pending: np.ndarray | None = None) -> tuple[AcqFn, GPModel, float]:
    """The log-EI acquisition function of ``model``, with pending points believed.

    Args:
        model: The fitted posterior.
        best: The incumbent (lowest observed value, model units).
        pending: Model coordinates of pending trials, shape (p, d), or None.

    Returns:
        ``(acq, model, best)``: ``acq(Z, grad) -> (values (m,), gradients (m, d) or None)``, and
        the model and incumbent after the pending points were believed.
    """
    if pending is not None and len(pending):
        believed = model.predict(pending)[0]
        model = model.condition_on(pending, believed)
        # Without moving the incumbent, EI next to a pending point predicted below it stays high
        # and a batch collapses onto one spot.
        best = min(best, float(np.min(believed)))

    def acq(Z: np.ndarray, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
        mean, var, dm, dv = model.predict(Z, grad)
        return log_ei(mean, var, best, dm, dv)

    return acq, model, best
