"""Kumaraswamy CDF input warping for ``auto``-scaled columns.

``w(u) = 1 - (1 - u**a) ** b`` maps [0, 1] onto itself monotonically. With ``a < 1`` it spreads the
values close to 0 (a learning rate declared linearly between 1e-6 and 1 behaves almost like a log
scale with ``a`` about 0.1-0.2), with ``b < 1`` those close to 1; ``a = b = 1`` is the identity.
``a`` and ``b`` are hyperparameters of the GP, fitted with the others by maximising the marginal
likelihood under a log-normal prior centred on the identity (Snoek et al., 2014, "Input warping
for Bayesian optimization of non-stationary functions").

Shapes: ``U`` (n, w) unit coordinates of the warped columns, ``log_a`` and ``log_b`` (w,).
"""

from __future__ import annotations

import numpy as np

__all__ = ["EPS", "LOG_BOUNDS", "PRIOR_SD", "kumaraswamy", "kumaraswamy_inverse", "log_prior"]

# Coordinates are kept off 0 and 1: u**a * log(u) and q**b * log(q) are finite there, and the
# warped values at the two ends stay distinct.
EPS = 1e-9
# Bounds of log a and log b: a = 0.05 turns six decades into a near-uniform spread.
LOG_BOUNDS = (np.log(0.05), np.log(20.0))
PRIOR_SD = 0.75


def kumaraswamy(U: np.ndarray, log_a: np.ndarray, log_b: np.ndarray,
                grad: bool = False) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Warps the columns of ``U``.

    Returns:
        ``(Z, dZ_dlog_a, dZ_dlog_b)``; the derivatives (shaped like ``U``) only when ``grad``.
    """
    a, b = np.exp(log_a), np.exp(log_b)
    u = np.clip(U, EPS, 1.0 - EPS)
    t = u ** a
    q = np.clip(1.0 - t, EPS, 1.0)
    qb = q ** b
    Z = 1.0 - qb
    if not grad:
        return Z, None, None
    # dz/da = b q^(b-1) u^a log u; dz/db = -q^b log q; both times a or b for the log parameters.
    dza = a * b * (qb / q) * t * np.log(u)
    dzb = -b * qb * np.log(q)
    return Z, dza, dzb


def kumaraswamy_inverse(Z: np.ndarray, log_a: np.ndarray, log_b: np.ndarray) -> np.ndarray:
    """The inverse warping: unit coordinates whose warped values are ``Z``."""
    a, b = np.exp(log_a), np.exp(log_b)
    z = np.clip(Z, 0.0, 1.0)
    inner = 1.0 - (1.0 - z) ** (1.0 / b)
    return np.clip(np.clip(inner, 0.0, 1.0) ** (1.0 / a), 0.0, 1.0)


def log_prior(log_a: np.ndarray, log_b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Log-normal prior centred on the identity warping: ``(log p, d/dlog_a, d/dlog_b)``."""
    v = PRIOR_SD**2
    lp = -0.5 * (float(np.sum(log_a**2)) + float(np.sum(log_b**2))) / v
    return lp, -log_a / v, -log_b / v
