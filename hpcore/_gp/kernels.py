"""Matérn-5/2 kernel with automatic relevance determination and a Hamming part for categoricals.

For two inputs ``z`` and ``z'`` the scaled squared distance is

    sqd = sum_j rho_j * D_j(z, z'),  D_j = (z_j - z'_j)**2 for numeric columns,
                                      D_j = [z_j != z'_j]   for categorical columns,

with ``rho_j = 1 / lengthscale_j**2``, and the kernel is ``s * (1 + sqrt(5 sqd) + 5/3 sqd) *
exp(-sqrt(5 sqd))``. Treating a categorical column by its Hamming distance (as Optuna's GPSampler
does) keeps one column per parameter and never imposes an order on the choices.

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

__all__ = ["cross_grad_factors", "cross_sqdist", "inverse_from_cholesky", "matern52", "pairwise_dists",
           "robust_cholesky"]

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


def pairwise_dists(Z: np.ndarray, cat: np.ndarray, out: np.ndarray | None = None,
                   dims: np.ndarray | None = None) -> np.ndarray:
    """Per-column distance matrices ``D`` of shape (d, n, n) between the rows of ``Z``.

    Args:
        Z: Inputs, shape (n, d).
        cat: Boolean mask of categorical columns, shape (d,).
        out: An existing (d, n, n) array to update in place (only ``dims`` are recomputed).
        dims: Columns to (re)compute; all when omitted.
    """
    n, d = Z.shape
    if out is None:
        out = np.empty((d, n, n))
    for j in (range(d) if dims is None else dims):
        col = Z[:, j]
        if cat[j]:
            out[j] = col[:, None] != col[None, :]
        else:
            diff = col[:, None] - col[None, :]
            np.multiply(diff, diff, out=out[j])
    return out


def cross_sqdist(Zc: np.ndarray, Z: np.ndarray, rho: np.ndarray, cat: np.ndarray) -> np.ndarray:
    """Scaled squared distances between candidates and training points, shape (m, n).

    Loops over columns rather than broadcasting to (m, n, d), which keeps memory at ``m * n``
    even for 20 columns and thousands of candidates.
    """
    sqd = np.zeros((Zc.shape[0], Z.shape[0]))
    for j in range(Z.shape[1]):
        if cat[j]:
            sqd += rho[j] * (Zc[:, j, None] != Z[None, :, j])
        else:
            diff = Zc[:, j, None] - Z[None, :, j]
            sqd += rho[j] * (diff * diff)
    return sqd


def cross_grad_factors(Zc: np.ndarray, Z: np.ndarray, rho: np.ndarray, dk: np.ndarray,
                       j: int) -> np.ndarray:
    """Derivative of ``k(Zc, Z)`` with respect to numeric column ``j`` of ``Zc``, shape (m, n)."""
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
