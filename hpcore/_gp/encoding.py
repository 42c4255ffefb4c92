"""From a :class:`~hpcore.space.SearchSpace` to the GP's model coordinates, and back.

The space already encodes every parameter to one unit coordinate ``u`` (``log`` and ``reverse_log``
applied). The model keeps that coordinate for ``Float`` and ``Int`` columns and replaces it by the
choice index for ``Categorical`` columns (the kernel compares indices for equality only, never
their order). ``auto``-scaled numeric columns are the ones the GP warps.

Integers are optimised as continuous coordinates and then snapped to the centre of their cell
(exactly what ``encode(decode(u))`` gives, vectorised here so thousands of candidates stay cheap).

Conditional parameters have the coordinate NaN where they are inactive (``space.encode`` gives it;
the model keeps it). The optimizer works on finite coordinates everywhere and :meth:`Encoding.active`
tells, from the parent columns, which of them count: the others are set to NaN before the model
sees the point, and ``space.decode`` leaves them out of the configuration.

Shapes: ``U`` (n, d) unit coordinates, ``X`` (n, d) model coordinates.
"""

from __future__ import annotations

import math
from itertools import product
from typing import Any

import numpy as np

from hpcore.space import Categorical, Float, Int, SearchSpace

__all__ = ["Encoding"]

MAX_GRID = 2048  # fully discrete spaces up to this many points are enumerated exactly


class Encoding:
    """Column roles and conversions for one space.

    Args:
        space: The search space.
        warp: Whether ``auto``-scaled numeric columns are warped.
    """

    def __init__(self, space: SearchSpace, warp: bool = True) -> None:
        self.space = space
        self.params = list(space.values())
        self.d = len(self.params)
        self.cat = np.array([isinstance(p, Categorical) for p in self.params])
        self.cat_sizes = {j: len(p.values) for j, p in enumerate(self.params) if isinstance(p, Categorical)}
        self.int_cols = [j for j, p in enumerate(self.params) if isinstance(p, Int)]
        self.warp_idx = np.array([j for j, p in enumerate(self.params)
                                  if not isinstance(p, Categorical) and p.scale == "auto"
                                  and not (isinstance(p, Int) and p.n_values < 4) and warp], dtype=int)
        sizes = [len(p.values) if isinstance(p, Categorical) else p.n_values if isinstance(p, Int) else 0
                 for p in self.params]
        self.discrete_size = math.prod(sizes) if all(sizes) else None
        names = list(space)
        self.cond = np.array([bool(p.when) for p in self.params])
        # (column, [(parent column, allowed value indices)]) per conditional column, parents first.
        self._rules = [(names.index(n), [(names.index(par), np.array(sorted(idx), dtype=float))
                                         for par, idx in space.conditions.allowed[n].items()])
                       for n in space.conditions.order if n in space.conditions.allowed]
        self.parent_cols = sorted({pj for _, rule in self._rules for pj, _ in rule})

    # -- conversions --------------------------------------------------------------------------
    def to_model(self, U: np.ndarray) -> np.ndarray:
        X = np.array(U, dtype=float, copy=True)
        for j, k in self.cat_sizes.items():
            X[:, j] = np.clip(np.floor(U[:, j] * k), 0, k - 1)
        return X

    def to_unit(self, X: np.ndarray) -> np.ndarray:
        U = np.array(X, dtype=float, copy=True)
        for j, k in self.cat_sizes.items():
            U[:, j] = (np.round(X[:, j]) + 0.5) / k
        return U

    def decode(self, x: np.ndarray) -> dict[str, Any]:
        """The configuration at one point of model coordinates, shape (d,)."""
        return self.space.decode(self.to_unit(x[None, :])[0])

    # -- conditions ---------------------------------------------------------------------------
    def value_index(self, j: int, x: np.ndarray) -> np.ndarray:
        """The value index of parent column ``j`` at unwarped model coordinates ``x`` (m,): the
        choice index of a categorical, the step index of an integer (NaN stays NaN)."""
        p = self.params[j]
        return np.round(x) if isinstance(p, Categorical) else self._int_index(p, x)  # type: ignore[arg-type]

    def active(self, X: np.ndarray, parents: np.ndarray | None = None) -> np.ndarray:
        """Which coordinates of ``X`` (m, d) are active, shape (m, d), as ``space.decode`` decides.

        Args:
            X: Model coordinates (unconditional and parent columns must be finite).
            parents: Unwarped model coordinates of the parent columns (m, d) when ``X`` is warped;
                ``X`` itself when omitted.
        """
        act = np.ones(X.shape, dtype=bool)
        P = X if parents is None else parents
        for j, rule in self._rules:
            ok = np.ones(len(X), dtype=bool)
            for pj, allowed in rule:
                ok &= act[:, pj] & np.isin(self.value_index(pj, P[:, pj]), allowed)
            act[:, j] = ok
        return act

    # -- integers -----------------------------------------------------------------------------
    @staticmethod
    def _int_index(p: Int, u: np.ndarray) -> np.ndarray:
        lo, hi = p.edges()
        x = lo + np.clip(u, 0.0, 1.0) * (hi - lo)
        if p.unit_scale == "log":
            x = np.exp(x)
        return np.clip(np.round((x - p.min) / p.step), 0, p.n_values - 1)

    @staticmethod
    def _int_unit(p: Int, k: np.ndarray) -> np.ndarray:
        lo, hi = p.edges()
        v = p.min + k * p.step
        x = np.log(v) if p.unit_scale == "log" else v
        return np.clip((x - lo) / (hi - lo), 0.0, 1.0)

    def snap_unit(self, U: np.ndarray) -> np.ndarray:
        """Integer columns moved to their nearest allowed value, shape (m, d)."""
        U = U.copy()
        for j in self.int_cols:
            p = self.params[j]
            U[:, j] = self._int_unit(p, self._int_index(p, U[:, j]))
        return U

    def int_neighbors(self, u: float, j: int) -> np.ndarray:
        """Unit coordinates of the values near ``u`` in integer column ``j`` (all, when few)."""
        p = self.params[j]
        if p.n_values <= 16:
            ks = np.arange(p.n_values, dtype=float)
        else:
            k = float(self._int_index(p, np.array([u]))[0])
            offsets = np.array([-8, -4, -2, -1, 1, 2, 4, 8], dtype=float)
            ks = np.unique(np.clip(k + offsets, 0, p.n_values - 1))
        return self._int_unit(p, ks)

    def grid(self) -> np.ndarray | None:
        """Every point of a fully discrete space in model coordinates (unwarped), or None."""
        if self.discrete_size is None or self.discrete_size > MAX_GRID:
            return None
        axes = []
        for j, p in enumerate(self.params):
            if j in self.cat_sizes:
                axes.append(np.arange(self.cat_sizes[j], dtype=float))
            else:
                axes.append(self._int_unit(p, np.arange(p.n_values, dtype=float)))
        return np.array(list(product(*axes)), dtype=float)

    # -- transfer -----------------------------------------------------------------------------
    def map_params(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """An earlier job's configuration expressed in this space, or None when it does not fit.

        Parameters missing from ``params`` take this space's default; extra ones are dropped;
        integers are rounded to the step grid. A numeric value outside this range, or a choice this
        space does not offer, drops the configuration: clipping would pile results that were measured
        elsewhere onto the boundary and mislead the model there. Only the parameters active in the
        result are kept or given a default (a conditional one whose condition fails is dropped,
        whatever its value), parents before their children.
        """
        out: dict[str, Any] = {}
        conditions = self.space.conditions
        for name in conditions.order:
            p = self.space[name]
            if name in conditions.allowed and not conditions.satisfied(name, out, set(out)):
                continue
            if name not in params:
                out[name] = p.default
                continue
            v = params[name]
            if isinstance(p, Categorical):
                if not any(v == c for c in p.values):
                    return None
                out[name] = p.validate(v, name)
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
                return None
            if not p.min <= v <= p.max:
                return None
            if isinstance(p, Int):
                v = p.min + int(round((v - p.min) / p.step)) * p.step
                v = min(max(v, p.min), p.max)
            out[name] = int(v) if isinstance(p, Int) else float(v) if isinstance(p, Float) else v
        return {name: out[name] for name in self.space if name in out}
