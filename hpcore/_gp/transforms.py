"""Output transforms: what the GP models instead of the raw losses.

Losses are standardised (zero mean, unit variance), so one set of hyperparameter priors fits every
objective. When the losses are skewed to the right (a few very bad trials, an objective spanning
many orders of magnitude: diverged runs, Rosenbrock-like valleys), a Yeo-Johnson power transform is
applied first, with its exponent fitted by maximum likelihood but capped at 1: it may only compress
the *bad* tail, never stretch it, so the region near the minimum keeps its resolution. The
transform is monotone, so minimising the transformed objective minimises the original one.

Shapes: ``y`` (n,) raw losses (finite).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["OutputTransform"]

LAMBDA_BOUNDS = (-0.5, 1.0)


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
        y = np.asarray(y, dtype=float)
        self.lo = float(np.min(y)) if len(y) else 0.0
        gaps = y - self.lo
        # A robust unit: the median gap to the minimum, so one huge loss does not set the scale.
        unit = float(np.median(gaps)) if len(y) else 0.0
        if not unit > 0:
            unit = float(np.max(gaps)) if len(y) else 0.0
        self.unit = unit if unit > 0 else 1.0
        self.lam: float | None = None
        if power and len(y) >= 5 and np.ptp(y) > 0:
            g = gaps / self.unit
            skew = float(stats.skew(g))
            if skew > 0.5:
                lam = float(stats.yeojohnson_normmax(g))
                self.lam = min(max(lam, LAMBDA_BOUNDS[0]), LAMBDA_BOUNDS[1]) if math.isfinite(lam) else 0.0
        t = self._power(gaps / self.unit)
        self.mean = float(np.mean(t)) if len(y) else 0.0
        sd = float(np.std(t)) if len(y) else 0.0
        self.sd = sd if sd > 1e-12 else 1.0

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
        return (self._power((np.asarray(y, dtype=float) - self.lo) / self.unit) - self.mean) / self.sd

    @property
    def is_power(self) -> bool:
        return self.lam is not None
