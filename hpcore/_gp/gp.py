"""GP regression: the posterior for fixed hyperparameters, and their MAP fit.

Model: ``y = f(w(x)) + eps``, ``f ~ GP(0, k)`` with the Matérn-5/2 ARD/Hamming kernel of
:mod:`kernels` (with its arc and "inactive choice" distances for conditional columns, which hold
NaN where inactive; the warping leaves NaN in place), ``w`` the Kumaraswamy warping of the ``auto``
columns, ``eps ~ N(0, noise + extra_i)`` where ``extra_i`` down-weights transferred observations.
``y`` is standardised beforehand.

Hyperparameters, packed in one vector ``theta`` (all logarithms):
``log_rho`` (d,) inverse squared lengthscales, ``log_scale``, ``log_noise``, then ``log_a`` and
``log_b`` (w,) of the warped columns. Priors:

* lengthscales: ``-0.1 * (rho0 / rho + rho / rho0)`` per column (Optuna's shape, which keeps each
  lengthscale within about [0.2, 5] times the centre), centred at ``sqrt(d / 6)``: the
  dimension scaling of Hvarfner et al. (2024, "Vanilla Bayesian optimization performs great in
  high dimensions"), so more columns mean smoother functions a priori and 20 columns are not
  overfitted (in a conditional space ``d`` counts every column: centring on the typical number of
  active ones was tried and changed nothing on the design problems). Their log-normal prior itself, tried first,
  penalises short lengthscales too little for 50-trial budgets in 6 dimensions (regret 5-10x worse
  on Hartmann-6 and Levy-6);
* signal variance: log-normal around 1 (the outputs are standardised);
* noise variance: log-normal around 2.5e-3, bounded below by 1e-6 (objectives are often
  deterministic, and a small noise floor keeps the matrix positive definite);
* warping: see :mod:`transforms`.

Numerical failures: a Cholesky factorisation that fails (``LinAlgError``: the matrix is not
positive definite, typically from duplicates or extreme lengthscales) is retried with growing
jitter; each retry is recorded in the ``diagnostics`` list and logged. A fit whose every start fails
keeps the previous hyperparameters; anything else propagates.

Shapes: ``X`` (n, d) unwarped model inputs, ``Z`` (n, d) warped, ``y`` (n,), candidates (m, d).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_solve, cholesky, lapack
from scipy.optimize import minimize

from hpcore._gp import kernels, transforms
from hpcore._gp.kernels import inverse_from_cholesky, robust_cholesky

__all__ = ["GPModel", "Hyper", "default_hyper", "fit_hyper", "neg_log_posterior", "robust_cholesky"]

log = logging.getLogger("hpcore.gp")

LOG_RHO_BOUNDS = (-2 * math.log(30.0), -2 * math.log(0.003))
LOG_SCALE_BOUNDS = (math.log(0.05), math.log(20.0))
LOG_NOISE_BOUNDS = (math.log(1e-6), math.log(1.0))
NOISE_PRIOR = (math.log(2.5e-3), 2.0)


@dataclass
class Hyper:
    """GP hyperparameters (logarithms); ``warp`` has shape (w, 2): ``log a``, ``log b`` per column."""

    log_rho: np.ndarray
    log_scale: float
    log_noise: float
    warp: np.ndarray

    def pack(self) -> np.ndarray:
        return np.concatenate([self.log_rho, [self.log_scale, self.log_noise], self.warp.ravel()])

    @classmethod
    def unpack(cls, theta: np.ndarray, d: int) -> Hyper:
        return cls(theta[:d].copy(), float(theta[d]), float(theta[d + 1]), theta[d + 2:].reshape(-1, 2).copy())

    def warp_inputs(self, X: np.ndarray, warp_idx: np.ndarray) -> np.ndarray:
        """Returns ``X`` with the ``warp_idx`` columns warped (a copy)."""
        Z = X.copy()
        if len(warp_idx):
            Z[:, warp_idx] = transforms.kumaraswamy(X[:, warp_idx], self.warp[:, 0], self.warp[:, 1])[0]
        return Z

    def unwarp_inputs(self, Z: np.ndarray, warp_idx: np.ndarray) -> np.ndarray:
        X = Z.copy()
        if len(warp_idx):
            X[:, warp_idx] = transforms.kumaraswamy_inverse(Z[:, warp_idx], self.warp[:, 0], self.warp[:, 1])
        return X


def ls_prior_center(d: int) -> float:
    """The most likely lengthscale a priori: 1 in six dimensions, growing as ``sqrt(d)``."""
    return math.sqrt(max(d, 1) / 6.0)


def lengthscale_log_prior(log_rho: np.ndarray, d: int) -> tuple[float, np.ndarray]:
    """Log prior of the inverse squared lengthscales and its gradient with respect to ``log_rho``.

    ``-0.1 * (rho0 / rho + rho / rho0)`` per column, ``rho0 = 1 / ls_prior_center(d)**2``: Optuna's
    prior shape (it keeps lengthscales within about [0.2, 5] times the centre, so 50 results in 6
    dimensions are not overfitted), centred as Hvarfner et al. (2024) scale theirs, with ``sqrt(d)``.
    """
    r = np.exp(log_rho) * ls_prior_center(d) ** 2
    return float(-np.sum(0.1 / r + 0.1 * r)), 0.1 / r - 0.1 * r


def noise_log_prior(log_noise: float) -> tuple[float, float]:
    """Log prior of the noise variance and its derivative with respect to ``log_noise``."""
    return (-0.5 * ((log_noise - NOISE_PRIOR[0]) / NOISE_PRIOR[1]) ** 2,
            -(log_noise - NOISE_PRIOR[0]) / NOISE_PRIOR[1] ** 2)


def default_hyper(d: int, n_warp: int) -> Hyper:
    """The prior mode: what the fit starts from when nothing better is known."""
    return Hyper(np.full(d, -2.0 * math.log(ls_prior_center(d))), 0.0, math.log(1e-3), np.zeros((n_warp, 2)))


def _bounds(d: int, n_warp: int) -> list[tuple[float, float]]:
    return [LOG_RHO_BOUNDS] * d + [LOG_SCALE_BOUNDS, LOG_NOISE_BOUNDS] + [transforms.WARP_LOG_BOUNDS] * (2 * n_warp)


class GPModel:
    """The posterior of the GP given hyperparameters and (warped) data.

    Args:
        Z: Warped inputs, shape (n, d); NaN in conditional columns where inactive.
        y: Standardised targets, shape (n,).
        hyper: Hyperparameters.
        cat: Boolean mask of categorical columns, shape (d,).
        extra_noise: Additional noise variance per point, shape (n,) (transferred data), or None.
        diagnostics: Where numerical fallbacks are recorded.
        cond: Boolean mask of conditional columns, shape (d,), or None.
    """

    def __init__(self, Z: np.ndarray, y: np.ndarray, hyper: Hyper, cat: np.ndarray,
                 extra_noise: np.ndarray | None = None, diagnostics: list[str] | None = None,
                 cond: np.ndarray | None = None) -> None:
        self.Z, self.y, self.hyper, self.cat = Z, y, hyper, cat
        self.cond = cond if cond is not None and cond.any() else None
        # Conditional numeric columns: their arc features at the training points, (n, c) each.
        self.arcs = np.zeros(len(cat), dtype=bool) if self.cond is None else self.cond & ~cat
        self.arc_train = kernels.arc(Z[:, self.arcs])
        self.extra_noise = np.zeros(len(y)) if extra_noise is None else extra_noise
        self.diagnostics = diagnostics
        self.rho = np.exp(hyper.log_rho)
        self.scale = math.exp(hyper.log_scale)
        self.noise = math.exp(hyper.log_noise)
        sqd = kernels.cross_sqdist(Z, Z, self.rho, cat, self.cond)
        K = kernels.matern52(sqd, self.scale)[0]
        K[np.diag_indices_from(K)] += self.noise + self.extra_noise
        self.L = robust_cholesky(K, diagnostics)
        self.Lf = np.asfortranarray(self.L)
        self.alpha = cho_solve((self.L, True), y, check_finite=False)

    def _cross(self, Zc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Posterior mean at ``Zc`` (m, d), ``W = L^-1 k`` (n, m) and the kernel's derivative factors.

        ``W`` comes from triangular solves, not from the explicit inverse: next to observed points
        with little noise, K is ill-conditioned and ``k K^-1 k`` loses every digit (a variance of
        3e-9 came out as 1e-6 or as 0), which creates spurious expected improvement right beside
        the data; the solves keep about six digits there.
        """
        sqd = kernels.cross_sqdist(Zc, self.Z, self.rho, self.cat, self.cond)
        k, dk = kernels.matern52(sqd, self.scale)
        return k @ self.alpha, lapack.dtrtrs(self.Lf, k.T, lower=1)[0], dk

    def predict(self, Zc: np.ndarray, grad: bool = False
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Posterior mean and variance of ``f`` (without noise) at ``Zc`` (m, d).

        Returns:
            ``(mean (m,), var (m,), dmean (m, d), dvar (m, d))``; the derivatives (zero in
            categorical columns and where a conditional column is NaN) only when ``grad``.
        """
        mean, W, dk = self._cross(Zc)
        var = np.maximum(self.scale - np.einsum("ij,ij->j", W, W), 1e-12)
        V = lapack.dtrtrs(self.Lf, W, lower=1, trans=1)[0].T if grad else None
        if not grad:
            return mean, var, None, None
        dmean = np.zeros(Zc.shape)
        dvar = np.zeros(Zc.shape)
        if self.arcs.any():
            # kernels.cross_grad_factors for all conditional numeric columns at once:
            # G_j = dk * 2 rho_j (sin z cos z' - cos z sin z'), contracted with alpha and V.
            (cc, sc), (ct, st) = kernels.arc(Zc[:, self.arcs]), self.arc_train
            r2 = 2.0 * self.rho[self.arcs]
            DV = dk * V
            dmean[:, self.arcs] = r2 * (sc * (dk @ (ct * self.alpha[:, None])) - cc * (dk @ (st * self.alpha[:, None])))
            dvar[:, self.arcs] = -2.0 * r2 * (sc * (DV @ ct) - cc * (DV @ st))
        for j in np.flatnonzero(~self.cat & ~self.arcs):
            G = kernels.cross_grad_factors(Zc, self.Z, self.rho, dk, j, self.cond)
            dmean[:, j] = G @ self.alpha
            dvar[:, j] = -2.0 * np.einsum("ij,ij->i", G, V)
        return mean, var, dmean, dvar

    def sample(self, Zc: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One joint draw of ``f`` at the rows of ``Zc`` (m, d) from the posterior, shape (m,).

        Costs a Cholesky factorisation of the (m, m) posterior covariance (a small jitter keeps it
        positive definite where candidates nearly coincide).
        """
        mean, W, _ = self._cross(Zc)
        C = kernels.matern52(kernels.cross_sqdist(Zc, Zc, self.rho, self.cat, self.cond), self.scale)[0] - W.T @ W
        C = 0.5 * (C + C.T)
        C[np.diag_indices_from(C)] += 1e-6 * self.scale
        return mean + robust_cholesky(C, self.diagnostics) @ rng.standard_normal(len(Zc))

    def condition_on(self, Zp: np.ndarray, yp: np.ndarray) -> GPModel:
        """A model with extra noiseless-extra points ``(Zp, yp)`` and the same hyperparameters."""
        return GPModel(np.vstack([self.Z, Zp]), np.concatenate([self.y, yp]), self.hyper, self.cat,
                       np.concatenate([self.extra_noise, np.zeros(len(yp))]), self.diagnostics, self.cond)


def _warped_features(z: np.ndarray, gz: np.ndarray, conditional: bool
                     ) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The features of one warped column and their derivatives with respect to a warp parameter.

    ``D_j`` is the sum over the features ``f`` of ``(f_i - f_k)**2``: the coordinate itself for an
    unconditional column, the arc embedding ``(cos z, sin z)`` (``(0, 0)`` where inactive) for a
    conditional one, whose derivatives are ``(-sin z, cos z) * dz`` (0 where inactive).
    """
    if not conditional:
        return ((z, gz),)
    c, s = kernels.arc(z)
    g = np.where(np.isnan(z), 0.0, gz)
    return (c, -s * g), (s, c * g)


def _neg_log_posterior(theta: np.ndarray, X: np.ndarray, y: np.ndarray, cat: np.ndarray,
                       warp_idx: np.ndarray, D: np.ndarray, extra: np.ndarray,
                       state: dict, cond: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    n, d = X.shape
    h = Hyper.unpack(theta, d)
    rho, s, noise = np.exp(h.log_rho), math.exp(h.log_scale), math.exp(h.log_noise)
    conditional = np.zeros(d, dtype=bool) if cond is None else cond
    if len(warp_idx):
        Zw, dza, dzb = transforms.kumaraswamy(X[:, warp_idx], h.warp[:, 0], h.warp[:, 1], grad=True)
        for c, j in enumerate(warp_idx):
            if conditional[j]:
                kernels.pairwise_dists(Zw[:, c:c + 1], np.zeros(1, dtype=bool), D[j:j + 1], None,
                                       np.ones(1, dtype=bool))
                continue
            diff = Zw[:, c, None] - Zw[None, :, c]
            D[j] = diff * diff
    sqd = np.tensordot(rho, D, axes=1)
    kmat, dk = kernels.matern52(sqd, s)
    K = kmat.copy()
    K.flat[:: n + 1] += noise + extra
    try:
        L = cholesky(K, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        # Steer L-BFGS-B away from this region instead of aborting the whole fit.
        state["failures"] += 1
        return 1e10, np.zeros_like(theta)
    alpha = cho_solve((L, True), y, check_finite=False)
    Kinv = inverse_from_cholesky(L)
    mll = -0.5 * float(y @ alpha) - float(np.sum(np.log(np.diag(L)))) - 0.5 * n * math.log(2 * math.pi)
    W = np.outer(alpha, alpha) - Kinv
    M = W * dk
    g = np.zeros_like(theta)
    g[:d] = 0.5 * rho * np.tensordot(D, M, axes=([1, 2], [0, 1]))
    g[d] = 0.5 * float(np.sum(W * kmat))
    g[d + 1] = 0.5 * noise * float(W.trace())
    if len(warp_idx):
        msum = M.sum(axis=1)
        for c, j in enumerate(warp_idx):
            for p, gz in ((0, dza[:, c]), (1, dzb[:, c])):
                g[d + 2 + 2 * c + p] = 2.0 * rho[j] * sum(
                    float(np.sum(f * gf * msum)) - float(f @ M @ gf)
                    for f, gf in _warped_features(Zw[:, c], gz, bool(conditional[j])))
    # Priors (log densities and their gradients).
    lp, g_rho = lengthscale_log_prior(h.log_rho, d)
    g[:d] += g_rho
    lp += -0.5 * h.log_scale**2
    g[d] += -h.log_scale
    nlp, ng = noise_log_prior(h.log_noise)
    lp += nlp
    g[d + 1] += ng
    if len(warp_idx):
        wlp, ga, gb = transforms.warp_log_prior(h.warp[:, 0], h.warp[:, 1])
        lp += wlp
        g[d + 2::2] += ga
        g[d + 3::2] += gb
    value = -(mll + lp)
    if not math.isfinite(value) or not np.all(np.isfinite(g)):
        state["failures"] += 1
        return 1e10, np.zeros_like(theta)
    return value, -g


def neg_log_posterior(h: Hyper, X: np.ndarray, y: np.ndarray, cat: np.ndarray, warp_idx: np.ndarray,
                      extra_noise: np.ndarray | None = None, cond: np.ndarray | None = None) -> float:
    """The negative log posterior of ``h`` (the quantity :func:`fit_hyper` minimises)."""
    state = {"failures": 0}
    extra = np.zeros(len(y)) if extra_noise is None else extra_noise
    D = kernels.pairwise_dists(X, cat, cond=cond)
    return _neg_log_posterior(h.pack(), X, y, cat, warp_idx, D, extra, state, cond)[0]


def fit_hyper(X: np.ndarray, y: np.ndarray, cat: np.ndarray, warp_idx: np.ndarray, starts: list[Hyper],
              extra_noise: np.ndarray | None = None, maxiter: int = 60,
              diagnostics: list[str] | None = None, cond: np.ndarray | None = None
              ) -> tuple[Hyper | None, float]:
    """MAP hyperparameters by L-BFGS-B from each of ``starts``; the best result wins.

    ``cond`` marks the conditional columns (NaN where inactive).

    Returns:
        ``(hyper, value)``: the fitted hyperparameters and their negative log posterior, or
        ``(None, inf)`` when every start failed numerically (recorded).
    """
    n, d = X.shape
    D = kernels.pairwise_dists(X, cat, cond=cond)
    extra = np.zeros(n) if extra_noise is None else extra_noise
    state = {"failures": 0}
    bounds = _bounds(d, len(warp_idx))
    best_val, best = math.inf, None
    for h0 in starts:
        x0 = np.clip(h0.pack(), [b[0] for b in bounds], [b[1] for b in bounds])
        res = minimize(_neg_log_posterior, x0, args=(X, y, cat, warp_idx, D, extra, state, cond), jac=True,
                       method="L-BFGS-B", bounds=bounds, options={"maxiter": maxiter, "gtol": 1e-3, "ftol": 1e-6})
        if math.isfinite(res.fun) and res.fun < best_val and res.fun < 1e10:
            best_val, best = float(res.fun), Hyper.unpack(res.x, d)
    if state["failures"]:
        msg = f"hyperparameter fit (n={n}): {state['failures']} evaluation(s) not positive definite, skipped"
        log.debug(msg)
        if diagnostics is not None:
            diagnostics.append(msg)
    return best, best_val
