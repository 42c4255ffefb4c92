"""The ``bayesian`` strategy with several objectives or constraints: one GP per output.

Every objective and every constraint has its own Gaussian process (its own chain of
hyperparameter fits, :mod:`hpcore._gp.fitchain`) on the same inputs. The next trial maximises

* with one objective: ``log EI`` over the best *feasible* result, plus ``log P(feasible)``;
* with several: ``log EHVI`` over the feasible Pareto front (exact, :mod:`hpcore._gp.ehvi`), plus
  ``log P(feasible)``;
* with no feasible result yet: ``log P(feasible)`` alone, to find the feasible region first.

With several objectives each is standardised affinely (a monotone transform would bend the
hypervolume: on the design seeds of ``benchmarks/bench_multiobjective.py`` the robust transform of
one objective gave a lower hypervolume on all four problems); a constraint's violation is
standardised affinely, so that its bound maps to a known threshold. Pending trials are believed at
the models' predictions (objectives and constraints): a believed point joins the front (or moves
the incumbent) when it is predicted feasible, so parallel asks spread along the front.

Inputs are the unit coordinates of the space, shared by every output: ``auto`` ranges are not
warped here (each output would learn its own warping, and the acquisition needs one coordinate
system).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from hpcore._gp import acquisition, ehvi, gp
from hpcore._gp.encoding import Encoding
from hpcore._gp.fitchain import FitChain
from hpcore._gp.optimize import maximize
from hpcore._gp.transforms import OutputTransform
from hpcore.pareto import nondominated
from hpcore.strategies.base import Observation
from hpcore.trial import TrialState

if TYPE_CHECKING:
    from hpcore.strategies.bayesian import BayesianStrategy

__all__ = ["STOPPED_NOISE", "Outputs", "merge_duplicates"]

REF_MARGIN = 0.1  # the reference point: the worst values seen plus this share of their range
# Extra variance (model units) of an early-stopped trial's value: it was measured at a lower fidelity
# (an earlier epoch), so the GP should not interpolate it exactly. Fitted exactly, partial values
# stopped at different steps look like a rough objective and pull the lengthscales down.
STOPPED_NOISE = 0.25


def merge_duplicates(X: np.ndarray, y: np.ndarray, extra: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merges identical rows (repeated configurations) into one with their mean value.

    Identical rows make the kernel matrix singular and add no information; an inactive coordinate
    (NaN) equals another one.
    """
    inactive = np.isnan(X)
    Xu, inv = np.unique(np.where(inactive, -1.0, X) if inactive.any() else X, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    if len(Xu) < len(X):
        counts = np.bincount(inv)
        y = np.bincount(inv, weights=y) / counts
        extra = np.bincount(inv, weights=extra) / counts / counts
        X = np.where(Xu == -1.0, np.nan, Xu) if inactive.any() else Xu
    return X, y, extra


class Outputs:
    """The models of every objective and constraint of one strategy, and the acquisition on them.

    Args:
        strategy: The strategy whose observations are modelled.
    """

    def __init__(self, strategy: BayesianStrategy) -> None:
        self.s = strategy
        self.n_obj = len(strategy.directions)
        self.n_con = len(strategy.constraints)
        self.enc = Encoding(strategy.space, warp=False)
        self.chains = [FitChain(self.enc.d, self.enc.cat, self.enc.warp_idx, strategy.diagnostics, self.enc.cond)
                       for _ in range(self.n_obj + self.n_con)]

    # -- data ---------------------------------------------------------------------------------
    def _target(self, o: Observation, k: int) -> float | None:
        if o.losses is None:
            return None
        return o.losses[k] if k < self.n_obj else o.violations[k - self.n_obj]

    def rows(self, observations: list[Observation], k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Inputs, targets in model units and extra noise of output ``k`` (objectives first), and
        its threshold (a constraint's bound in model units; 0 for an objective)."""
        good = [o for o in observations if o.losses is not None]
        failed = [o for o in observations if o.losses is None]
        U = np.array([o.x for o in good] + [o.x for o in failed]).reshape(-1, self.enc.d)
        raw = np.array([self._target(o, k) for o in good], dtype=float)
        threshold = 0.0
        if k < self.n_obj:
            y_good = self._objective_units(raw) if len(raw) else raw
        else:  # affine, so the bound 0 has a place in model units whatever the data
            centre = float(np.median(raw)) if len(raw) else 0.0
            spread = float(np.std(raw)) if len(raw) else 0.0
            spread = spread if spread > 1e-12 else max(abs(centre), 1.0)
            y_good = (raw - centre) / spread
            threshold = -centre / spread
        worst = float(np.max(y_good)) if len(y_good) else 0.0
        y = np.concatenate([y_good, np.full(len(failed), worst)])
        stopped = np.array([o.state is TrialState.STOPPED for o in good], dtype=bool)
        extra = np.concatenate([np.where(stopped, STOPPED_NOISE, 0.0), np.zeros(len(failed))])
        X, y, extra = merge_duplicates(self.enc.to_model(U), y, extra)
        return X, y, extra, threshold

    def _fit(self, k: int) -> gp.Hyper:
        obs = self.s.observations
        need = max(self.s._n_design(), 2)

        def rows(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
            prefix = obs[:n]
            if sum(o.losses is not None for o in prefix) < need:
                return None
            return self.rows(prefix, k)[:3]

        h = self.chains[k].hyper(len(obs), rows)
        if h is None:
            X, y, extra, _ = self.rows(obs, k)
            h = self.chains[k].standalone(X, y, extra)
        return h

    # -- the acquisition ----------------------------------------------------------------------
    def point(self, rng: np.random.Generator) -> dict[str, Any]:
        """The configuration with the highest acquisition value (see the module docstring)."""
        obs = self.s.observations
        models, thresholds, hypers = [], [], []
        for k in range(self.n_obj + self.n_con):
            X, y, extra, t = self.rows(obs, k)
            h = self._fit(k)
            models.append(gp.GPModel(X, y, h, self.enc.cat, extra, self.s.diagnostics, self.enc.cond))
            thresholds.append(t)
            hypers.append(h)
        good = [o for o in obs if o.losses is not None]
        ok = np.array([o.feasible for o in good], dtype=bool)
        Y = np.column_stack([self._model_values(good, k) for k in range(self.n_obj)]) if good else \
            np.empty((0, self.n_obj))
        anchors = np.empty((0, self.enc.d))
        if ok.any():  # the observed front, most balanced points first
            idx = np.flatnonzero(ok)
            on = idx[nondominated(Y[idx])]
            on = on[np.argsort(np.sum(Y[on], axis=1), kind="stable")][:5]
            anchors = self.enc.to_model(np.array([good[i].x for i in on]))
        if self.s.pending:
            P = self.enc.to_model(np.array([self.s.space.encode(t.params) for t in self.s.pending.values()]))
            believed = [m.predict(P)[0] for m in models]
            models = [m.condition_on(P, b) for m, b in zip(models, believed, strict=True)]
            likely = np.ones(len(P), dtype=bool)
            for c in range(self.n_con):
                likely &= believed[self.n_obj + c] <= thresholds[self.n_obj + c]
            Y = np.vstack([Y, np.column_stack(believed[: self.n_obj])[likely]])
            ok = np.concatenate([ok, np.ones(int(likely.sum()), dtype=bool)])
        acq = self._acquisition(models, np.array(thresholds[self.n_obj:]), Y[ok], Y)
        h0 = hypers[0]
        lengthscales = np.exp(-0.5 * h0.log_rho)
        domain = self.s._domain(h0, self.enc)
        z, _ = maximize(acq, domain, rng, anchors, lengthscales, n_candidates=self.s.n_candidates,
                        n_restarts=3, maxiter=40)
        return self.enc.decode(z)

    def _model_values(self, good: list[Observation], k: int) -> np.ndarray:
        """The usable observations' values of objective ``k`` in model units (as :meth:`rows` makes them)."""
        raw = np.array([self._target(o, k) for o in good], dtype=float)
        return self._objective_units(raw)

    def _objective_units(self, raw: np.ndarray) -> np.ndarray:
        """One objective's values in model units: with several objectives standardised affinely, so
        that improvements of the hypervolume keep their proportions; with one, the robust transform."""
        if self.n_obj == 1:
            return OutputTransform(raw)(raw)
        sd = float(np.std(raw))
        return (raw - np.mean(raw)) / (sd if sd > 1e-12 else 1.0)

    def _acquisition(self, models: list[gp.GPModel], thresholds: np.ndarray, feasible_Y: np.ndarray,
                     all_Y: np.ndarray) -> Callable[[np.ndarray, bool], tuple[np.ndarray, np.ndarray | None]]:
        n_obj = self.n_obj
        lower = upper = None
        best = None
        if len(feasible_Y) and n_obj > 1:
            front = feasible_Y[nondominated(feasible_Y)]
            span = np.ptp(all_Y, axis=0)
            ref = np.max(all_Y, axis=0) + REF_MARGIN * np.where(span > 0, span, 1.0)
            lower, upper = ehvi.boxes(front, ref)
        elif len(feasible_Y):
            best = float(np.min(feasible_Y[:, 0]))

        def acq(Z: np.ndarray, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
            preds = [m.predict(Z, grad) for m in models]
            val = np.zeros(len(Z))
            g = np.zeros(Z.shape) if grad else None
            if lower is not None:
                mean = np.column_stack([p[0] for p in preds[:n_obj]])
                var = np.column_stack([p[1] for p in preds[:n_obj]])
                dm = np.stack([p[2] for p in preds[:n_obj]]) if grad else None
                dv = np.stack([p[3] for p in preds[:n_obj]]) if grad else None
                v, gv = ehvi.log_ehvi(mean, var, lower, upper, dm, dv)
                val, g = val + v, (g + gv if grad else None)
            elif best is not None:
                v, gv = acquisition.log_ei(preds[0][0], preds[0][1], best, preds[0][2], preds[0][3])
                val, g = val + v, (g + gv if grad else None)
            if self.n_con:
                cp = preds[n_obj:]
                mean = np.column_stack([p[0] for p in cp])
                var = np.column_stack([p[1] for p in cp])
                dm = np.stack([p[2] for p in cp]) if grad else None
                dv = np.stack([p[3] for p in cp]) if grad else None
                v, gv = ehvi.log_pof(mean, var, thresholds, dm, dv)
                val, g = val + v, (g + gv if grad else None)
            return val, g

        return acq
