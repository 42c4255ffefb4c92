"""Unit tests of the GP layers (hpcore._gp) against direct computations and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import approx_fprime
from scipy.stats import norm

from hpcore._gp import acquisition, gp, kernels, transforms
from hpcore._gp.optimize import Domain, maximize, thompson


def _matern(r: np.ndarray) -> np.ndarray:
    return (1 + math.sqrt(5) * r + 5 / 3 * r**2) * np.exp(-math.sqrt(5) * r)


def test_posterior_matches_direct_numpy_computation():
    X = np.array([[0.1, 0.0], [0.4, 1.0], [0.9, 2.0], [0.5, 0.0]])
    y = np.array([0.3, -1.0, 0.7, 0.2])
    cat = np.array([False, True])
    h = gp.Hyper(np.log([4.0, 0.5]), math.log(1.5), math.log(1e-3), np.zeros((0, 2)))
    model = gp.GPModel(X, y, h, cat)

    def k(a, b):
        sqd = 4.0 * (a[0] - b[0]) ** 2 + 0.5 * float(a[1] != b[1])
        return 1.5 * _matern(np.sqrt(sqd))

    K = np.array([[k(a, b) for b in X] for a in X]) + 1e-3 * np.eye(4)
    Xs = np.array([[0.2, 0.0], [0.7, 2.0], [0.5, 1.0]])
    Ks = np.array([[k(a, b) for b in X] for a in Xs])
    mean = Ks @ np.linalg.solve(K, y)
    var = 1.5 - np.einsum("ij,ji->i", Ks, np.linalg.solve(K, Ks.T))
    m, v, _, _ = model.predict(Xs)
    np.testing.assert_allclose(m, mean, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(v, var, rtol=1e-7, atol=1e-10)


def test_posterior_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    X = rng.random((15, 3))
    X[:, 2] = rng.integers(0, 3, 15)
    y = np.sin(4 * X[:, 0]) + X[:, 1]
    h = gp.Hyper(np.log([3.0, 2.0, 1.0]), 0.0, math.log(1e-4), np.zeros((0, 2)))
    model = gp.GPModel(X, y, h, np.array([False, False, True]))
    Zc = np.array([[0.3, 0.6, 1.0], [0.8, 0.1, 2.0]])
    m, v, dm, dv = model.predict(Zc, grad=True)
    for j in (0, 1):
        Zp = Zc.copy()
        Zp[:, j] += 1e-6
        m2, v2, _, _ = model.predict(Zp)
        np.testing.assert_allclose((m2 - m) / 1e-6, dm[:, j], rtol=1e-3, atol=1e-5)
        np.testing.assert_allclose((v2 - v) / 1e-6, dv[:, j], rtol=1e-3, atol=1e-5)
    assert np.all(dm[:, 2] == 0)


def test_posterior_variance_is_accurate_beside_a_tight_cluster_with_little_noise():
    # Late in a search the best points crowd together and the fitted noise is tiny, so the kernel
    # matrix is ill-conditioned: the variance there must still match a 50-digit computation.
    mpmath = pytest.importorskip("mpmath")
    rng = np.random.default_rng(0)
    X = np.vstack([rng.random((40, 2)), 0.5 + 1e-3 * rng.standard_normal((10, 2))])
    y = np.sin(3 * X.sum(1))
    h = gp.Hyper(np.full(2, math.log(1 / 0.15**2)), 0.0, math.log(1e-10), np.zeros((0, 2)))
    model = gp.GPModel(X, y, h, np.zeros(2, dtype=bool))
    Zc = 0.5 + 1e-3 * rng.standard_normal((5, 2))
    var = model.predict(Zc)[1]
    mpmath.mp.dps = 50
    K = kernels.matern52(kernels.cross_sqdist(X, X, model.rho, model.cat), 1.0)[0]
    K[np.diag_indices_from(K)] += 1e-10
    k = kernels.matern52(kernels.cross_sqdist(Zc, X, model.rho, model.cat), 1.0)[0]
    KM = mpmath.matrix(K.tolist())
    exact = [float(1 - (mpmath.matrix(r.tolist()).T * mpmath.lu_solve(KM, mpmath.matrix(r.tolist())))[0])
             for r in k]
    np.testing.assert_allclose(var, exact, rtol=1e-3)


def test_marginal_likelihood_gradient_including_warping_matches_finite_differences():
    rng = np.random.default_rng(1)
    X = rng.random((20, 3))
    X[:, 2] = rng.integers(0, 2, 20)
    y = np.log(X[:, 0] + 1e-3) + X[:, 1]
    y = (y - y.mean()) / y.std()
    cat, widx = np.array([False, False, True]), np.array([0])
    D = kernels.pairwise_dists(X, cat)
    theta = gp.default_hyper(3, 1).pack() + rng.normal(0, 0.3, 7)
    state = {"failures": 0}

    def f(t):
        return gp._neg_log_posterior(t, X, y, cat, widx, D.copy(), np.zeros(20), state)[0]

    grad = gp._neg_log_posterior(theta, X, y, cat, widx, D.copy(), np.zeros(20), state)[1]
    np.testing.assert_allclose(grad, approx_fprime(theta, f, 1e-6), rtol=1e-3, atol=1e-4)


def test_fit_learns_short_lengthscale_for_relevant_dimension_only():
    rng = np.random.default_rng(2)
    X = rng.random((30, 2))
    y = np.sin(8 * X[:, 0])
    y = (y - y.mean()) / y.std()
    h, _ = gp.fit_hyper(X, y, np.array([False, False]), np.array([], dtype=int), [gp.default_hyper(2, 0)])
    ls = np.exp(-0.5 * h.log_rho)
    assert ls[0] < 0.5 < ls[1]


def test_robust_cholesky_adds_jitter_and_records_it():
    K = np.ones((3, 3))  # rank one: not positive definite
    diagnostics: list[str] = []
    L = gp.robust_cholesky(K, diagnostics)
    assert np.allclose(L @ L.T, K, atol=1e-3)
    assert diagnostics and "jitter" in diagnostics[0]
    with pytest.raises(np.linalg.LinAlgError):
        gp.robust_cholesky(np.full((2, 2), np.nan))


@pytest.mark.parametrize("z", [-1e12, -300.0, -40.0, -5.0, -1.0, -0.3, 0.0, 2.0, 30.0])
def test_log_h_matches_closed_form_and_stays_finite(z):
    val = acquisition.log_h(np.array([z]))[0]
    assert math.isfinite(val)
    exact = norm.pdf(z) + z * norm.cdf(z)
    if exact > 1e-300:
        assert val == pytest.approx(math.log(exact), rel=1e-9, abs=1e-9)


def test_log_ei_value_and_gradient_match_closed_form():
    mean, var, best = np.array([0.3, -0.2, 2.5]), np.array([0.04, 0.5, 0.01]), 0.0
    val, grad = acquisition.log_ei(mean, var, best, np.eye(3), np.zeros((3, 3)))
    sigma = np.sqrt(var)
    z = (best - mean) / sigma
    ei = sigma * (norm.pdf(z) + z * norm.cdf(z))
    np.testing.assert_allclose(val, np.log(ei), rtol=1e-9)
    # d log EI / d mean = -Phi(z) / EI
    np.testing.assert_allclose(np.diag(grad), -norm.cdf(z) / ei, rtol=1e-6)
    np.testing.assert_allclose(acquisition.expected_improvement(mean, var, best), ei, rtol=1e-9)


def test_kumaraswamy_roundtrip_and_derivatives():
    U = np.linspace(0.001, 0.999, 50)[:, None]
    la, lb = np.array([-1.2]), np.array([0.4])
    Z, da, db = transforms.kumaraswamy(U, la, lb, grad=True)
    assert np.all(np.diff(Z[:, 0]) > 0)
    np.testing.assert_allclose(transforms.kumaraswamy_inverse(Z, la, lb), U, atol=1e-9)
    Za = transforms.kumaraswamy(U, la + 1e-7, lb)[0]
    Zb = transforms.kumaraswamy(U, la, lb + 1e-7)[0]
    np.testing.assert_allclose((Za - Z) / 1e-7, da, atol=1e-5)
    np.testing.assert_allclose((Zb - Z) / 1e-7, db, atol=1e-5)
    ident = transforms.kumaraswamy(U, np.zeros(1), np.zeros(1))[0]
    np.testing.assert_allclose(ident, U, atol=1e-8)


def test_output_transform_is_monotone_and_compresses_heavy_tail():
    y = np.array([1e-3, 1e-2, 0.1, 1.0, 10.0, 1e3, 1e6])
    t = transforms.OutputTransform(y)
    assert t.is_power
    out = t(y)
    assert np.all(np.diff(out) > 0)
    assert abs(out.mean()) < 1e-9 and out.std() == pytest.approx(1.0)
    assert out[-1] - out[-2] < 3.0  # the 1e6 outlier no longer dwarfs the rest
    const = transforms.OutputTransform(np.full(4, 2.0))
    assert np.all(const(np.full(4, 2.0)) == 0.0)


def test_optimizer_finds_known_maximum_in_mixed_domain():
    target = np.array([0.73, 0.21, 2.0])

    def acq(Z, grad):
        val = -np.sum((Z[:, :2] - target[:2]) ** 2, axis=1) - 0.5 * (Z[:, 2] != 2.0)
        g = np.zeros_like(Z)
        g[:, :2] = -2 * (Z[:, :2] - target[:2])
        return val, (g if grad else None)

    domain = Domain(3, cat_sizes={2: 4})
    z, v = maximize(acq, domain, np.random.default_rng(0), np.empty((0, 3)), np.ones(3), n_candidates=256)
    np.testing.assert_allclose(z, target, atol=1e-4)
    assert v == pytest.approx(0.0, abs=1e-7)


def test_optimizer_with_a_radius_stays_in_the_box_around_the_incumbent():
    # The global maximum is at (0.9, 0.9); a local search around (0.3, 0.5) with half-widths
    # (0.1, 0.05) must return the best point of that box, on its corner nearest the maximum.
    def acq(Z, grad):
        return -np.sum((Z - 0.9) ** 2, axis=1), (-2 * (Z - 0.9) if grad else None)

    domain = Domain(2)
    anchors = np.array([[0.3, 0.5], [0.8, 0.8]])
    ls = np.array([0.5, 0.2])
    z, _ = maximize(acq, domain, np.random.default_rng(0), anchors, ls, n_candidates=256)
    np.testing.assert_allclose(z, [0.9, 0.9], atol=1e-4)
    z, _ = maximize(acq, domain, np.random.default_rng(0), anchors, ls, n_candidates=256,
                    radius=np.array([0.1, 0.05]))
    np.testing.assert_allclose(z, [0.4, 0.55], atol=1e-6)


def test_posterior_samples_have_the_posterior_mean_covariance_and_are_seeded():
    X = np.array([[0.1], [0.5], [0.9]])
    y = np.array([1.0, -0.5, 0.3])
    h = gp.Hyper(np.log([10.0]), 0.0, math.log(1e-4), np.zeros((0, 2)))
    model = gp.GPModel(X, y, h, np.array([False]))
    Zc = np.array([[0.3], [0.31], [0.7], [0.5]])
    rng = np.random.default_rng(0)
    draws = np.array([model.sample(Zc, rng) for _ in range(4000)])
    mean, var, _, _ = model.predict(Zc)
    np.testing.assert_allclose(draws.mean(axis=0), mean, atol=4 * np.sqrt(var.max() / 4000) + 1e-3)
    np.testing.assert_allclose(draws.var(axis=0)[:3], var[:3], rtol=0.1)
    # An observed point: its value is known (up to the jitter that keeps the factorisation stable).
    assert draws[:, 3].std() < 0.1 * draws[:, :3].std(axis=0).min()
    assert np.corrcoef(draws[:, 0], draws[:, 1])[0, 1] > 0.99  # joint: neighbours move together
    np.testing.assert_array_equal(model.sample(Zc, np.random.default_rng(5)),
                                  model.sample(Zc, np.random.default_rng(5)))


def test_thompson_proposes_where_a_draw_is_lowest_near_a_known_minimum():
    # A confident posterior with its minimum at x = 0.62: every draw's minimum is close to it,
    # and a candidate, never an observed point (the anchor) itself.
    X = np.linspace(0, 1, 9)[:, None]
    y = (X[:, 0] - 0.62) ** 2 * 10
    h = gp.Hyper(np.log([4.0]), 0.0, math.log(1e-6), np.zeros((0, 2)))
    model = gp.GPModel(X, y, h, np.array([False]))
    anchors = X[np.argsort(y)[:2]]
    picks = [thompson(model.sample, Domain(1), np.random.default_rng(s), anchors, np.array([0.5]), 256)
             for s in range(5)]
    assert all(abs(z[0] - 0.62) < 0.05 for z in picks)
    assert not any(np.any(np.all(np.isclose(z, X), axis=1)) for z in picks)
    assert len({float(z[0]) for z in picks}) > 1  # a random choice, seeded


def test_encoding_snaps_integers_like_the_space_and_enumerates_small_discrete_spaces():
    from hpcore import Categorical, Int, SearchSpace
    from hpcore._gp.encoding import Encoding

    space = SearchSpace({"n": Int(1, 5000, scale="log"), "k": Int(0, 20, step=5), "c": Categorical(["a", "b", "c"])})
    enc = Encoding(space)
    U = np.random.default_rng(0).random((200, 3))
    snapped = enc.snap_unit(U)
    for u, s in zip(U, snapped):
        for j, p in enumerate(space.values()):
            if j < 2:
                assert s[j] == pytest.approx(p.encode(p.decode(u[j])), abs=1e-12)
    X = enc.to_model(snapped)
    assert set(X[:, 2]) <= {0.0, 1.0, 2.0}
    assert [enc.decode(x) for x in X[:5]] == [space.decode(u) for u in snapped[:5]]
    assert list(enc.warp_idx) == [1]  # auto-scaled integers with at least 4 values are warped
    small = Encoding(SearchSpace({"k": Int(0, 20, step=5), "c": Categorical(["a", "b", "c"])}))
    grid = small.grid()
    assert grid.shape == (15, 2) and len({small.decode(x).__repr__() for x in grid}) == 15
    assert enc.grid() is None
    near = enc.int_neighbors(space["n"].encode(100), 0)
    assert {space["n"].decode(u) for u in near} >= {99, 101, 108, 92}
