"""Transforms of the data the GP sees: output standardisation and input warping.

**Outputs.** Losses are standardised (zero mean, unit variance), so one set of hyperparameter
priors fits every objective. When the losses are skewed to the right (a few very bad trials, an
objective spanning many orders of magnitude: diverged runs, Rosenbrock-like valleys), a Yeo-Johnson
power transform is applied first, with its exponent fitted by maximum likelihood but capped at 1:
it may only compress the *bad* tail, never stretch it, so the region near the minimum keeps its
resolution. The transform is monotone, so minimising the transformed objective minimises the
original one. (Without it, median regret on Levy-6 doubled in ``compare.py``.)

**Inputs.** ``auto``-scaled numeric columns may be warped by a Kumaraswamy CDF,
``w(u) = 1 - (1 - u**a) ** b``, which maps [0, 1] onto itself monotonically. With ``a < 1`` it
spreads the values close to 0 (a learning rate declared linearly between 1e-6 and 1 behaves almost
like a log scale with ``a`` about 0.1-0.2), with ``b < 1`` those close to 1; ``a = b = 1`` is the
identity. ``a`` and ``b`` are GP hyperparameters fitted with the others under a log-normal prior
centred on the identity (Snoek et al., 2014, "Input warping for Bayesian optimization of
non-stationary functions").

Shapes: ``y`` (n,) raw losses (finite); ``U`` (n, w) unit coordinates of the warped columns,
``log_a`` and ``log_b`` (w,).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["EPS", "WARP_LOG_BOUNDS", "WARP_PRIOR_SD", "OutputTransform", "kumaraswamy",
           "kumaraswamy_inverse", "warp_log_prior"]

LAMBDA_BOUNDS = (-0.5, 1.0)
CLIP = 1e150  # losses beyond are clipped: differences of 1e308s overflow


class OutputTransform:
    """Fits on one batch of losses, then maps losses to model units and back.

    Args:
        y: Raw losses (to minimise), shape (n,), finite.
        power: Whether to consider the power transform (skipped below 5 points).

    Example:
        >>> t = OutputTransform(np.array([1.0, 2.0, 3.0]))
        >>> np.round(t(np.array([1.0, 2.0, 3.0])), 3).tolist()
        [-1.225, 0.0, 1.225]
    """

    def __init__(self, y: np.ndarray, power: bool = True) -> None:
        y = np.clip(np.asarray(y, dtype=float), -CLIP, CLIP)
        self.lo = float(np.min(y)) if len(y) else 0.0
        gaps = y - self.lo
        # A robust unit: the median gap to the minimum, so one huge loss does not set the scale.
        unit = float(np.median(gaps)) if len(y) else 0.0
        if not unit > 0:
            unit = float(np.max(gaps)) if len(y) else 0.0
        self.unit = unit if unit > 0 else 1.0
        self.lam: float | None = None
        self.pre_log = False
        g = self._scaled(y)
        if len(y) and float(np.max(g)) > 1e6:
            # Dozens of orders of magnitude: a log first, or the moments below overflow.
            self.pre_log = True
            g = self._scaled(y)
        if power and len(y) >= 5 and np.ptp(g) > 0:
            skew = float(stats.skew(g))
            if skew > 0.5:
                lam = float(stats.yeojohnson_normmax(g))
                self.lam = min(max(lam, LAMBDA_BOUNDS[0]), LAMBDA_BOUNDS[1]) if math.isfinite(lam) else 0.0
        t = self._power(g)
        self.mean = float(np.mean(t)) if len(y) else 0.0
        sd = float(np.std(t)) if len(y) else 0.0
        self.sd = sd if sd > 1e-12 else 1.0

    def _scaled(self, y: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            g = np.minimum((np.clip(y, -CLIP, CLIP) - self.lo) / self.unit, CLIP)
        return np.log1p(np.maximum(g, -1.0 + 1e-12)) if self.pre_log else g

    def _power(self, g: np.ndarray) -> np.ndarray:
        if self.lam is None:
            return g
        # Yeo-Johnson for g > -1 (losses below the fitted minimum, from later data, stay monotone).
        g = np.maximum(g, -1.0 + 1e-12)
        if abs(self.lam) < 1e-8:
            return np.log1p(g)
        return ((1.0 + g) ** self.lam - 1.0) / self.lam

    def __call__(self, y: np.ndarray) -> np.ndarray:
        """Losses in model units."""
        return (self._power(self._scaled(np.asarray(y, dtype=float))) - self.mean) / self.sd

    @property
    def is_power(self) -> bool:
        return self.lam is not None


# -- input warping -----------------------------------------------------------------------------------
# Coordinates are kept off 0 and 1: u**a * log(u) and q**b * log(q) are finite there, and the
# warped values at the two ends stay distinct.
EPS = 1e-9
# Bounds of log a and log b: a = 0.05 turns six decades into a near-uniform spread.
WARP_LOG_BOUNDS = (np.log(0.05), np.log(20.0))
WARP_PRIOR_SD = 1.0


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


def warp_log_prior(log_a: np.ndarray, log_b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Log-normal prior centred on the identity warping: ``(log p, d/dlog_a, d/dlog_b)``."""
    v = WARP_PRIOR_SD**2
    lp = -0.5 * (float(np.sum(log_a**2)) + float(np.sum(log_b**2))) / v
    return lp, -log_a / v, -log_b / v
