"""Matérn-5/2 kernel with automatic relevance determination and a Hamming part for categoricals.

For two inputs ``z`` and ``z'`` the scaled squared distance is

    sqd = sum_j rho_j * D_j(z, z'),  D_j = (z_j - z'_j)**2 for numeric columns,
                                      D_j = [z_j != z'_j]   for categorical columns,

with ``rho_j = 1 / lengthscale_j**2``, and the kernel is ``s * (1 + sqrt(5 sqd) + 5/3 sqd) *
exp(-sqrt(5 sqd))``. Treating a categorical column by its Hamming distance (as Optuna's GPSampler
does) keeps one column per parameter and never imposes an order on the choices.

**Conditional columns** (``cond`` mask) hold NaN where their parameter is inactive:

* numeric: the *arc* embedding of Swersky et al. (2013, "Raiders of the lost architecture:
  kernels for Bayesian optimization in conditional parameter spaces"): an active value ``z`` is the
  point ``(cos z, sin z)`` of a unit-radius arc (one radian over the unit interval), an inactive one
  the centre ``(0, 0)``, and ``D_j`` is their squared Euclidean distance: ``2 (1 - cos(z - z'))``
  (about ``(z - z')**2`` for close values) when both are active, 1 when one is, 0 when neither is;
* categorical: Hamming distance with "inactive" as one more choice.

Both are squared distances between feature vectors, so the kernel is the Matérn kernel of one
Euclidean embedding and stays positive definite (a distance that is 0 whenever one side is inactive
breaks the triangle inequality and can make the kernel matrix indefinite). How similar the branches
are is learned through the parents' lengthscales and the children's.

Shapes: ``Z`` (n, d), ``Zc`` (m, d), ``rho`` (d,), ``cat`` boolean mask (d,). The derivative is
taken with respect to ``sqd`` because it has no singularity at ``sqd = 0`` (the derivative with
respect to the distance does at ``r = 0`` for some kernels, and duplicates are common here).

Also here: the factorisations every layer above uses, with the deliberate handling of a kernel
matrix that is numerically not positive definite (jitter, recorded).
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.linalg import cholesky, lapack

__all__ = ["arc", "cross_grad_factors", "cross_sqdist", "inverse_from_cholesky", "matern52", "pairwise_dists",
           "inactive_as_choice", "robust_cholesky"]

log = logging.getLogger("hpcore.gp")

JITTERS = (1e-8, 1e-6, 1e-4, 1e-2)  # relative to the mean diagonal, tried in turn

SQRT5 = np.sqrt(5.0)


def matern52(sqd: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Kernel values and their derivative with respect to ``sqd``.

    Args:
        sqd: Scaled squared distances, any shape, non-negative.
        scale: The signal variance ``s``.

    Returns:
        ``(k, dk_dsqd)``, both shaped like ``sqd``.
    """
    sqd = np.maximum(sqd, 0.0)
    r = np.sqrt(sqd)
    e = np.exp(-SQRT5 * r)
    k = scale * (1.0 + SQRT5 * r + (5.0 / 3.0) * sqd) * e
    dk = -(5.0 / 6.0) * scale * (1.0 + SQRT5 * r) * e
    return k, dk


def arc(col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The arc embedding ``(cos z, sin z)`` of a conditional numeric column, ``(0, 0)`` where NaN."""
    active = ~np.isnan(col)
    z = np.where(active, col, 0.0)
    return np.where(active, np.cos(z), 0.0), np.where(active, np.sin(z), 0.0)


def inactive_as_choice(col: np.ndarray) -> np.ndarray:
    """A conditional categorical column with "inactive" (NaN) as the choice index -1."""
    return np.where(np.isnan(col), -1.0, col)


def _cond_dist(a: np.ndarray, b: np.ndarray, is_cat: bool) -> np.ndarray:
    """``D_j`` of a conditional column between the values ``a`` (m,) and ``b`` (n,), shape (m, n)."""
    if is_cat:
        return (inactive_as_choice(a)[:, None] != inactive_as_choice(b)[None, :]).astype(float)
    (ca, sa), (cb, sb) = arc(a), arc(b)
    dc, ds = ca[:, None] - cb[None, :], sa[:, None] - sb[None, :]
    return dc * dc + ds * ds


def pairwise_dists(Z: np.ndarray, cat: np.ndarray, out: np.ndarray | None = None,
                   dims: np.ndarray | None = None, cond: np.ndarray | None = None) -> np.ndarray:
    """Per-column distance matrices ``D`` of shape (d, n, n) between the rows of ``Z``.

    Args:
        Z: Inputs, shape (n, d); NaN in conditional columns where inactive.
        cat: Boolean mask of categorical columns, shape (d,).
        out: An existing (d, n, n) array to update in place (only ``dims`` are recomputed).
        dims: Columns to (re)compute; all when omitted.
        cond: Boolean mask of conditional columns, shape (d,); none when omitted.
    """
    n, d = Z.shape
    if out is None:
        out = np.empty((d, n, n))
    for j in (range(d) if dims is None else dims):
        col = Z[:, j]
        if cond is not None and cond[j]:
            out[j] = _cond_dist(col, col, bool(cat[j]))
        elif cat[j]:
            out[j] = col[:, None] != col[None, :]
        else:
            diff = col[:, None] - col[None, :]
            np.multiply(diff, diff, out=out[j])
    return out


def cross_sqdist(Zc: np.ndarray, Z: np.ndarray, rho: np.ndarray, cat: np.ndarray,
                 cond: np.ndarray | None = None) -> np.ndarray:
    """Scaled squared distances between candidates and training points, shape (m, n).

    Loops over columns rather than broadcasting to (m, n, d), which keeps memory at ``m * n``
    even for 20 columns and thousands of candidates. The conditional numeric columns are done at
    once, as ``|a|^2 + |b|^2 - 2 a.b`` of their arc features scaled by ``sqrt(rho)`` (one matrix
    product; the cancellation costs about ``1e-16 * sum(rho)``, far below the noise floor).
    """
    sqd = np.zeros((Zc.shape[0], Z.shape[0]))
    arcs = np.zeros(Z.shape[1], dtype=bool) if cond is None else cond & ~cat
    if arcs.any():
        w = np.sqrt(rho[arcs])
        (ca, sa), (cb, sb) = arc(Zc[:, arcs]), arc(Z[:, arcs])
        A, B = np.hstack([ca * w, sa * w]), np.hstack([cb * w, sb * w])
        sqd += np.maximum(np.sum(A * A, axis=1)[:, None] + np.sum(B * B, axis=1)[None, :] - 2.0 * (A @ B.T), 0.0)
    for j in range(Z.shape[1]):
        if arcs[j]:
            continue
        if cond is not None and cond[j]:
            sqd += rho[j] * _cond_dist(Zc[:, j], Z[:, j], bool(cat[j]))
        elif cat[j]:
            sqd += rho[j] * (Zc[:, j, None] != Z[None, :, j])
        else:
            diff = Zc[:, j, None] - Z[None, :, j]
            sqd += rho[j] * (diff * diff)
    return sqd


def cross_grad_factors(Zc: np.ndarray, Z: np.ndarray, rho: np.ndarray, dk: np.ndarray,
                       j: int, cond: np.ndarray | None = None) -> np.ndarray:
    """Derivative of ``k(Zc, Z)`` with respect to numeric column ``j`` of ``Zc``, shape (m, n).

    For a conditional column it is ``dk * rho_j * 2 sin(z - z')`` where both are active (the
    derivative of the arc distance ``2 - 2 (cos z cos z' + sin z sin z')``) and 0 where either is not.
    """
    if cond is not None and cond[j]:
        (cc, sc), (c, s) = arc(Zc[:, j]), arc(Z[:, j])
        return dk * (2.0 * rho[j]) * (sc[:, None] * c[None, :] - cc[:, None] * s[None, :])
    return dk * (2.0 * rho[j]) * (Zc[:, j, None] - Z[None, :, j])


def robust_cholesky(K: np.ndarray, diagnostics: list[str] | None = None) -> np.ndarray:
    """Lower Cholesky factor of ``K``, adding jitter when ``K`` is numerically not positive definite.

    Raises:
        np.linalg.LinAlgError: When even the largest jitter does not help.
    """
    if not np.all(np.isfinite(K)):
        # LAPACK does not reliably fail on NaN; no jitter can repair it, so fail loudly here.
        raise np.linalg.LinAlgError("kernel matrix has non-finite entries")
    try:
        return cholesky(K, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        pass
    base = float(np.mean(np.diag(K)))
    for jit in JITTERS:
        try:
            L = cholesky(K + jit * base * np.eye(len(K)), lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            continue
        msg = f"kernel matrix not positive definite (n={len(K)}); added jitter {jit * base:.1e}"
        log.debug(msg)
        if diagnostics is not None:
            diagnostics.append(msg)
        return L
    raise np.linalg.LinAlgError(f"kernel matrix not positive definite even with jitter {JITTERS[-1]}")


def inverse_from_cholesky(L: np.ndarray) -> np.ndarray:
    """``K^-1`` from its lower Cholesky factor (LAPACK potri: about half the work of solving with I)."""
    inv, info = lapack.dpotri(L, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"potri failed (info={info})")
    # potri fills the lower triangle only; the upper one still holds L's zeros.
    full = inv + inv.T
    full.flat[:: len(L) + 1] -= inv.diagonal()
    return full
