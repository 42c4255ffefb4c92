"""Maximising the acquisition function over a mixed space.

1. Score many candidates: a scrambled Sobol set over the whole space, plus perturbations of the
   best observed points (scaled by each column's lengthscale, so exploitation is fine-grained where
   the model says the objective changes quickly).
2. Refine the best few, the best perturbation of the incumbent and the incumbent itself with one
   *batched* L-BFGS-B run over the numeric columns: the restarts are independent, so the sum of
   their acquisition values has a block-diagonal Hessian and one call optimises them all (as
   BoTorch does), saving the per-call overhead of scipy. The variables are divided by the
   lengthscales (preconditioning, as Optuna does).
3. Snap integer columns to allowed values, then a coordinate search: every choice of each
   categorical column, nearby values of each integer column, until nothing improves.
A fully discrete space small enough is enumerated exactly instead. With a ``radius``, steps 1 and
2 stay in a box around the incumbent: the caller's periodic local, exploiting ask.

:func:`thompson` instead takes the minimum of one posterior draw over the candidates of step 1:
a point that is likely to be best, chosen at random in proportion to that chance.

The optimizer works in model coordinates ``Z`` (warped unit coordinates, categorical indices); the
caller provides ``snap`` (rounds integer columns) and ``neighbors`` (nearby integer values) there.
In a conditional space every coordinate the optimizer holds is finite, and the caller's ``mask``
sets the inactive ones (as the parent columns decide) to NaN before each acquisition evaluation:
an inactive column has no effect on the value and a zero gradient, so it is never optimised, and
the point returned has NaN there. Anchors' NaN coordinates are filled for the search only. The
continuous refinement leaves the integer parents alone (the coordinate search moves them): the
active set of each start is then fixed while L-BFGS-B runs, and the acquisition has no jumps there.
Shapes: ``Z`` (m, d); ``acq(Z, grad)`` returns values (m,) and, with ``grad``, gradients (m, d).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from scipy.stats import qmc

__all__ = ["Domain", "maximize", "thompson"]

AcqFn = Callable[[np.ndarray, bool], tuple[np.ndarray, np.ndarray | None]]


@dataclass
class Domain:
    """The model coordinates the optimizer may propose.

    Attributes:
        d: Number of columns.
        cat_sizes: Column index -> number of choices, for categorical columns.
        int_cols: Indices of integer columns (optimised continuously, then snapped).
        snap: Maps ``Z`` (m, d) to the nearest allowed integer values (identity when no integers).
        neighbors: ``(z, j) -> values`` near ``z[j]`` that integer column ``j`` may take.
        grid: Every allowed point, shape (g, d), when the space is discrete and small; else None.
        mask: Maps finite ``Z`` (m, d) to the same points with NaN in the inactive coordinates of
            conditional columns; None when no column is conditional.
        parents: Columns that conditions depend on.
    """

    d: int
    cat_sizes: dict[int, int] = field(default_factory=dict)
    int_cols: list[int] = field(default_factory=list)
    snap: Callable[[np.ndarray], np.ndarray] = lambda Z: Z
    neighbors: Callable[[np.ndarray, int], np.ndarray] | None = None
    grid: np.ndarray | None = None
    mask: Callable[[np.ndarray], np.ndarray] | None = None
    parents: list[int] = field(default_factory=list)

    @property
    def numeric(self) -> np.ndarray:
        return np.array([j for j in range(self.d) if j not in self.cat_sizes], dtype=int)


def _masked(acq: AcqFn, domain: Domain) -> AcqFn:
    """``acq`` evaluated with the inactive coordinates set to NaN (their gradient is 0)."""
    mask = domain.mask
    if mask is None:
        return acq

    def masked(Z: np.ndarray, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
        Zm = mask(Z)
        v, g = acq(Zm, grad)
        return v, None if g is None else np.where(np.isnan(Zm), 0.0, g)

    return masked


def _fill(anchors: np.ndarray, domain: Domain) -> np.ndarray:
    """Anchors with finite coordinates for the search (an inactive column: 0.5, or choice 0)."""
    if domain.mask is None or not np.isnan(anchors).any():
        return anchors
    fill = np.array([0.0 if j in domain.cat_sizes else 0.5 for j in range(domain.d)])
    return np.where(np.isnan(anchors), fill[None, :], anchors)


def _unique_rows(Z: np.ndarray) -> np.ndarray:
    """The distinct rows of ``Z``, NaN equal to NaN (inactive coordinates)."""
    if not np.isnan(Z).any():
        return np.unique(Z, axis=0)
    U = np.unique(np.where(np.isnan(Z), -1.0, Z), axis=0)  # -1 is never a model coordinate
    return np.where(U == -1.0, np.nan, U)


def _sobol(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    m = int(np.ceil(np.log2(max(n, 2))))
    return qmc.Sobol(d, scramble=True, seed=rng).random_base2(m)[:n]


def _candidates(domain: Domain, n: int, rng: np.random.Generator, anchors: np.ndarray,
                lengthscales: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, slice]:
    """Global Sobol candidates, the anchors, then perturbations of each anchor in turn.

    Returns:
        ``(Z, local0)``: the candidates and the rows perturbing the first (best) anchor.
    """
    Z = _sobol(n, domain.d, rng)
    num = domain.numeric
    Z[:, num] = lo[num] + Z[:, num] * (hi[num] - lo[num])
    for j, k in domain.cat_sizes.items():
        Z[:, j] = np.minimum(np.floor(Z[:, j] * k), k - 1)
    local0 = slice(0, 0)
    if len(anchors):
        per = max(16, n // (4 * len(anchors)))
        local = np.repeat(anchors, per, axis=0)
        # Two scales: a tenth of a lengthscale to move within the basin, a fiftieth to polish.
        scale = np.where(np.arange(len(local)) % 2 == 0, 0.1, 0.02)[:, None]
        step = np.minimum(scale * lengthscales[num][None, :], 0.2)
        local[:, num] += rng.normal(size=(len(local), len(num))) * step
        local[:, num] = np.clip(local[:, num], lo[num], hi[num])
        for j, k in domain.cat_sizes.items():
            flip = rng.random(len(local)) < 0.2
            local[flip, j] = rng.integers(0, k, int(flip.sum()))
        local0 = slice(n + len(anchors), n + len(anchors) + per)
        Z = np.vstack([Z, anchors, local])
        Z[:, num] = np.clip(Z[:, num], lo[num], hi[num])  # the other anchors may lie outside a box
    return Z, local0


def _lbfgs(acq: AcqFn, starts: np.ndarray, cols: np.ndarray, maxiter: int,
           lengthscales: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """One L-BFGS-B run over the numeric columns of all starts at once, within ``[lo, hi]`` (d,)."""
    m = len(starts)
    base = starts.copy()
    # Preconditioning (as Optuna does): the variables are z / lengthscale, so the acquisition
    # changes at the same rate along every column and L-BFGS-B is not slowed by ill-conditioning.
    ls = np.tile(lengthscales[cols], m)

    def f(x: np.ndarray) -> tuple[float, np.ndarray]:
        Z = base.copy()
        Z[:, cols] = (x * ls).reshape(m, len(cols))
        v, g = acq(Z, True)
        return -float(np.sum(v)), -g[:, cols].ravel() * ls  # type: ignore[index]

    x0 = starts[:, cols].ravel() / ls
    lo_s, hi_s = np.tile(lo[cols], m) / ls, np.tile(hi[cols], m) / ls
    res = minimize(f, np.clip(x0, lo_s, hi_s), jac=True, method="L-BFGS-B", bounds=list(zip(lo_s, hi_s)),
                   options={"maxiter": maxiter})
    out = base.copy()
    out[:, cols] = np.clip((res.x * ls).reshape(m, len(cols)), lo[cols], hi[cols])
    return out


def _coordinate_search(acq: AcqFn, z: np.ndarray, value: float, domain: Domain,
                       passes: int = 2) -> tuple[np.ndarray, float]:
    for _ in range(passes):
        improved = False
        for j in list(domain.cat_sizes) + list(domain.int_cols):
            if j in domain.cat_sizes:
                vals = np.arange(domain.cat_sizes[j], dtype=float)
            elif domain.neighbors is not None:
                vals = domain.neighbors(z, j)
            else:
                continue
            if len(vals) == 0:
                continue
            trial = np.repeat(z[None, :], len(vals), axis=0)
            trial[:, j] = vals
            v = acq(trial, False)[0]
            i = int(np.argmax(v))
            if v[i] > value + 1e-12:
                z, value, improved = trial[i], float(v[i]), True
        if not improved:
            break
    return z, value


def maximize(acq: AcqFn, domain: Domain, rng: np.random.Generator, anchors: np.ndarray,
             lengthscales: np.ndarray, n_candidates: int = 1024, n_restarts: int = 5,
             maxiter: int = 60, radius: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """The point of ``domain`` with the highest acquisition value found, and that value.

    Args:
        acq: The acquisition function on model coordinates (higher is better).
        domain: What may be proposed.
        rng: Source of the quasi-random candidates.
        anchors: Points to search around (the best observations), shape (k, d).
        lengthscales: Per-column lengthscales, shape (d,), scaling the local perturbations.
        n_candidates: Size of the quasi-random candidate set.
        n_restarts: How many of the best candidates are refined.
        maxiter: L-BFGS-B iterations.
        radius: Half-widths (d,) of a box around ``anchors[0]``: when given, the candidates and the
            continuous refinement stay inside it (a local, exploiting search).
    """
    raw_acq, acq, anchors = acq, _masked(acq, domain), _fill(anchors, domain)
    finish = domain.mask or (lambda Z: Z)
    if domain.grid is not None:
        v = acq(domain.grid, False)[0]
        i = int(np.argmax(v))
        return finish(domain.grid[i:i + 1])[0].copy(), float(v[i])
    lo, hi = np.zeros(domain.d), np.ones(domain.d)
    if radius is not None and len(anchors):
        lo, hi = np.maximum(anchors[0] - radius, 0.0), np.minimum(anchors[0] + radius, 1.0)
    Z, local0 = _candidates(domain, n_candidates, rng, anchors, lengthscales, lo, hi)
    Z = domain.snap(Z)
    v = acq(Z, False)[0]
    order = np.argsort(-v, kind="stable")
    starts = [order[0]]
    if local0.stop > local0.start:
        # Always refine one point next to the incumbent, as Optuna does, even when global
        # candidates score higher: exploitation must not depend on a candidate making the top few.
        near = local0.start + int(np.argmax(v[local0]))
        if near != order[0]:
            starts.append(near)
    if len(anchors) and n_candidates not in starts:
        starts.append(n_candidates)  # and the incumbent itself (row n of the candidates)
    for i in order[1:]:
        if len(starts) >= n_restarts:
            break
        if not any(np.allclose(Z[i], Z[s]) for s in starts):
            starts.append(i)
    S = Z[np.array(starts)]
    S_v = v[np.array(starts)]
    cols, refine = domain.numeric, acq
    if domain.mask is not None:
        cols = np.setdiff1d(cols, domain.parents)
        inactive = np.isnan(domain.mask(S))

        def refine(Z: np.ndarray, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
            v, g = raw_acq(np.where(inactive, np.nan, Z), grad)
            return v, None if g is None else np.where(inactive, 0.0, g)

    if len(cols):
        R = domain.snap(_lbfgs(refine, S, cols, maxiter, lengthscales, lo, hi))
        R_v = acq(R, False)[0]
        S, S_v = np.vstack([S, R]), np.concatenate([S_v, R_v])
    best_z, best_v = S[int(np.argmax(S_v))], float(np.max(S_v))
    if domain.cat_sizes or domain.int_cols:
        for i in np.argsort(-S_v, kind="stable")[: max(2, n_restarts // 2)]:
            z, val = _coordinate_search(acq, S[i].copy(), float(S_v[i]), domain)
            if val > best_v:
                best_z, best_v = z, val
    return finish(best_z[None, :])[0].copy(), best_v


def thompson(sample: Callable[[np.ndarray, np.random.Generator], np.ndarray], domain: Domain,
             rng: np.random.Generator, anchors: np.ndarray, lengthscales: np.ndarray,
             n_candidates: int = 1024) -> np.ndarray:
    """The candidate where one joint posterior draw is lowest (Thompson sampling).

    Args:
        sample: ``(Z (m, d), rng) -> values (m,)``, one joint draw of the objective (minimised).
        domain: What may be proposed.
        rng: Source of the candidates and of the draw.
        anchors: The best observations (k, d): the candidates include perturbations of them, not
            the points themselves (their values are known).
        lengthscales: Per-column lengthscales, shape (d,), scaling the perturbations.
        n_candidates: Size of the quasi-random candidate set.
    """
    finish = domain.mask or (lambda Z: Z)
    if domain.grid is not None:
        Z = _unique_rows(finish(domain.grid)) if domain.mask is not None else domain.grid
    else:
        Z = _candidates(domain, n_candidates, rng, _fill(anchors, domain), lengthscales, np.zeros(domain.d),
                        np.ones(domain.d))[0]
        Z = np.delete(Z, np.arange(n_candidates, n_candidates + len(anchors)), axis=0)
        Z = _unique_rows(finish(domain.snap(Z)))
    return Z[int(np.argmin(sample(Z, rng)))].copy()
