"""Log expected improvement, numerically stable far from the incumbent.

For a minimised objective with posterior ``N(mu, sigma^2)`` and incumbent ``best``,
``EI = sigma * h(z)`` with ``z = (best - mu) / sigma`` and ``h(z) = phi(z) + z Phi(z)``. Plain EI
underflows to exactly 0 a few standard deviations away from the incumbent, which leaves the
optimizer with flat regions and no gradient; ``log h`` is computed as in Ament et al. (2023,
"Unexpected improvements to expected improvement", arXiv 2310.20708): directly for ``z > -1`` and
through the scaled complementary error function ``erfcx`` below, so it stays finite and smooth
down to ``z = -1e150``. Its derivative is ``h'(z) / h(z) = Phi(z) / h(z)``, taken in log space too.

Shapes: ``mean``, ``var`` (m,); gradients (m, d).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfcx, log_ndtr, ndtr

__all__ = ["expected_improvement", "log_ei", "log_h"]

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
