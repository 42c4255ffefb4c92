"""Parameter importance: a small random forest in numpy and a functional-ANOVA decomposition of it.

The method is the one of fANOVA (Hutter, Hoos and Leyton-Brown, ICML 2014), estimated by Monte Carlo
instead of exactly over the trees:

1. Fit a random forest (bagged regression trees, variance-reduction splits) to the objective of the
   completed trials, with every parameter in the strategies' unit-cube encoding (so a log-scaled
   range is modelled in log space and a categorical one by its choice index).
2. For each parameter ``i``, its *main effect* is the forest's prediction averaged over the other
   parameters: ``f_i(v) = mean_b F(x_b with x_i = v)``, with ``x_b`` uniform random points of the
   space and ``v`` on a grid of its range.
3. The fraction of variance the main effect explains is ``Var_v f_i(v) / Var_b F(x_b)``; the
   importance of ``i`` is that fraction normalised so the importances sum to one (as Optuna reports
   fANOVA). Interactions are left out, which is why the raw fractions may sum to less than one.
4. A conditional parameter (one some trials do not hold) is measured on the trials that hold it:
   its main effect and share come from a forest fit on those trials alone.

Trees are insensitive to monotone rescaling of one axis, so the importance does not depend on the
declared scale, only on which values were tried and how the objective changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["INACTIVE", "Effects", "Forest", "main_effects"]

INACTIVE = -1.0  # the coordinate an inactive parameter takes in the forest, outside [0, 1]


class Forest:
    """Bagged regression trees on ``(n, d)`` inputs; a deliberately small stand-in for scikit-learn's.

    Args:
        n_trees: Number of trees, each fit on a bootstrap sample.
        max_depth: Depth limit; shallow trees keep the forest from memorising noise on few trials.
        min_leaf: Fewest samples in a leaf.
        seed: Seeds the bootstrap samples.

    Example:
        >>> import numpy as np
        >>> X = np.random.default_rng(0).random((40, 2))
        >>> f = Forest(n_trees=8).fit(X, X[:, 0] ** 2)
        >>> bool(f.predict(np.array([[0.9, 0.5]]))[0] > f.predict(np.array([[0.1, 0.5]]))[0])
        True
    """

    def __init__(self, n_trees: int = 48, max_depth: int = 6, min_leaf: int = 2, seed: int = 0) -> None:
        self.n_trees, self.max_depth, self.min_leaf, self.seed = n_trees, max_depth, min_leaf, seed
        self.trees: list[tuple[np.ndarray, ...]] = []

    def _split(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """``(sse, threshold)`` of the best split of one column, ``(inf, nan)`` when none is allowed."""
        order = np.argsort(x, kind="stable")
        xs, ys = x[order], y[order]
        n, m = len(ys), self.min_leaf
        c1, c2 = np.cumsum(ys), np.cumsum(ys * ys)
        k = np.arange(m, n - m + 1)  # size of the left part
        if len(k) == 0:
            return np.inf, np.nan
        left = c2[k - 1] - c1[k - 1] ** 2 / k
        right = (c2[-1] - c2[k - 1]) - (c1[-1] - c1[k - 1]) ** 2 / (n - k)
        sse = np.where(xs[k - 1] < xs[k], left + right, np.inf)
        best = int(np.argmin(sse))
        return float(sse[best]), float((xs[k[best] - 1] + xs[k[best]]) / 2)

    def _grow(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
        feat, thr, left, right, value = [], [], [], [], []
        stack = [(np.arange(len(y)), 0, -1, False)]
        while stack:
            idx, depth, parent, is_right = stack.pop()
            node = len(feat)
            if parent >= 0:
                (right if is_right else left)[parent] = node
            feat.append(-1)
            thr.append(0.0)
            left.append(-1)
            right.append(-1)
            value.append(float(y[idx].mean()))
            if depth >= self.max_depth or len(idx) < 2 * self.min_leaf or np.ptp(y[idx]) == 0:
                continue
            splits = [self._split(X[idx, j], y[idx]) for j in range(X.shape[1])]
            j = int(np.argmin([s for s, _ in splits]))
            if not np.isfinite(splits[j][0]):
                continue
            feat[node], thr[node] = j, splits[j][1]
            go_left = X[idx, j] <= thr[node]
            stack.append((idx[~go_left], depth + 1, node, True))
            stack.append((idx[go_left], depth + 1, node, False))
        return tuple(np.asarray(a) for a in (feat, thr, left, right, value))

    def fit(self, X: np.ndarray, y: np.ndarray) -> Forest:
        """Fits the trees; ``X`` is ``(n, d)`` and ``y`` is ``(n,)``."""
        rng = np.random.default_rng(self.seed)
        X, y = np.asarray(X, float), np.asarray(y, float)
        self.trees = []
        for _ in range(self.n_trees):
            boot = rng.integers(0, len(y), len(y))
            self.trees.append(self._grow(X[boot], y[boot]))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The mean prediction of the trees, ``(m,)`` for ``(m, d)`` inputs."""
        X = np.asarray(X, float)
        rows = np.arange(len(X))
        out = np.zeros(len(X))
        for feat, thr, left, right, value in self.trees:
            node = np.zeros(len(X), dtype=int)
            for _ in range(self.max_depth):
                f = feat[node]
                inner = f >= 0
                if not inner.any():
                    break
                go_left = X[rows, np.maximum(f, 0)] <= thr[node]
                node = np.where(inner, np.where(go_left, left[node], right[node]), node)
            out += value[node]
        return out / max(1, len(self.trees))


@dataclass
class Effects:
    """The main effects of the parameters on the objective, as estimated from a forest.

    Attributes:
        names: Parameter names, in the space's order.
        grid: ``(g,)`` unit-cube coordinates where each main effect was evaluated.
        curves: ``(d, g)`` main effect of each parameter on the grid (mean prediction).
        fractions: ``(d,)`` share of the forest's total variance each main effect explains.
        importance: ``(d,)`` the fractions normalised to sum to one (zeros if nothing varies).
        spread: Range of the objective over the trials the forest was fit on.
        n_trials: How many trials the effects were estimated from.
        n_active: ``(d,)`` how many of them held each parameter (fewer than ``n_trials`` for a
            conditional parameter, whose effect is estimated on those trials only).
        spreads: ``(d,)`` range of the objective over the trials that held each parameter.
    """

    names: list[str]
    grid: np.ndarray
    curves: np.ndarray
    fractions: np.ndarray
    importance: np.ndarray
    spread: float
    n_trials: int = 0
    n_active: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    spreads: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def effect_range(self, i: int) -> float:
        """How far the predicted objective moves across parameter ``i``'s whole range."""
        return float(np.ptp(self.curves[i]))

    def active_in(self, i: int) -> int:
        """How many of the trials held parameter ``i`` (all of them unless it is conditional)."""
        return int(self.n_active[i]) if len(self.n_active) else self.n_trials

    def spread_of(self, i: int) -> float:
        """The objective's range over the trials that held parameter ``i``."""
        return float(self.spreads[i]) if len(self.spreads) else self.spread


def main_effects(X: np.ndarray, y: np.ndarray, names: list[str], seed: int = 0, n_background: int = 128,
                 n_grid: int = 16, active: Callable[[np.ndarray], np.ndarray] | None = None) -> Effects:
    """Fits a :class:`Forest` to ``X`` (unit-cube coordinates, NaN where a parameter was inactive) and ``y``.

    An inactive coordinate is :data:`INACTIVE` for the forest. ``active`` maps ``(m, d)`` points of
    the unit cube to the ``(m, d)`` mask of their active coordinates (a conditional space's rule);
    the Monte Carlo points are then made valid configurations, so a parent's main effect includes
    what its children do where they exist.

    A parameter that some trials do not hold (a conditional one) gets its main effect, its share of
    variance and its spread from a second forest fit on the trials that hold it alone: the trials
    where it did not exist say nothing about it. The shares are then normalised together.
    """
    X, y = np.asarray(X, float), np.asarray(y, float)
    eff = _main_effects(X, y, names, seed, n_background, n_grid, active)
    held = ~np.isnan(X)
    eff.n_trials, eff.n_active = len(y), held.sum(axis=0).astype(int)
    eff.spreads = np.full(X.shape[1], eff.spread)
    for i in np.flatnonzero(eff.n_active < len(y)):
        rows = held[:, i]
        eff.spreads[i] = float(np.ptp(y[rows])) if rows.any() else 0.0
        if rows.sum() < 4:  # too few to tell anything: no share, no effect
            eff.fractions[i], eff.curves[i] = 0.0, eff.curves[i].mean() if rows.any() else 0.0
            continue
        sub = _main_effects(X[rows], y[rows], names, seed, n_background, n_grid, None)
        eff.curves[i], eff.fractions[i] = sub.curves[i], sub.fractions[i]
    total = eff.fractions.sum()
    eff.importance = eff.fractions / total if total > 0 else np.zeros_like(eff.fractions)
    return eff


def _main_effects(X: np.ndarray, y: np.ndarray, names: list[str], seed: int, n_background: int,
                  n_grid: int, active: Callable[[np.ndarray], np.ndarray] | None) -> Effects:
    """The forest's main effects on all of ``X`` (a NaN coordinate is :data:`INACTIVE`)."""

    def valid(points: np.ndarray) -> np.ndarray:
        return points if active is None else np.where(active(points), points, INACTIVE)

    X = np.where(np.isnan(X), INACTIVE, X)
    d = X.shape[1]
    grid = (np.arange(n_grid) + 0.5) / n_grid
    zeros = np.zeros(d)
    if len(y) < 2 or np.ptp(y) == 0 or d == 0:
        return Effects(names, grid, np.zeros((d, n_grid)), zeros.copy(), zeros.copy(),
                       float(np.ptp(y)) if len(y) else 0.0)
    forest = Forest(seed=seed).fit(X, y)
    background = np.random.default_rng(seed).random((n_background, d))
    total = float(np.var(forest.predict(valid(background))))
    curves = np.zeros((d, n_grid))
    for i in range(d):
        probe = np.repeat(background[None], n_grid, axis=0)
        probe[:, :, i] = grid[:, None]
        curves[i] = forest.predict(valid(probe.reshape(-1, d))).reshape(n_grid, n_background).mean(axis=1)
    fractions = np.clip(curves.var(axis=1) / total, 0.0, 1.0) if total > 0 else zeros.copy()
    importance = fractions / fractions.sum() if fractions.sum() > 0 else zeros.copy()
    return Effects(names, grid, curves, fractions, importance, float(np.ptp(y)))
