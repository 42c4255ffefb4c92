"""Bayesian optimization with a Gaussian process: the ``bayesian`` strategy.

The model, acquisition and optimizer live in the private package :mod:`hpcore._gp`; this module
assembles the data, keeps the chain of hyperparameter fits (:mod:`hpcore._gp.fitchain`) in step with
the told results, and turns the chosen point into a configuration. See ``docs/bayesian.md`` for the
method.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import qmc

from hpcore._gp import acquisition, gp, transforms
from hpcore._gp.encoding import Encoding
from hpcore._gp.fitchain import FitChain, Rows
from hpcore._gp.optimize import Domain, maximize, thompson
from hpcore._gp.transforms import OutputTransform
from hpcore.hookspec import hookimpl
from hpcore.space import SearchSpace
from hpcore.strategies._outputs import STOPPED_NOISE, Outputs, merge_duplicates
from hpcore.strategies.base import Observation, Strategy, check_direction
from hpcore.trial import TrialState

__all__ = ["BayesianStrategy"]

log = logging.getLogger("hpcore.gp")

RESTARTS = 5  # candidates refined by L-BFGS-B per ask
LBFGS_ITERS = 60
LOCAL_EVERY = 3  # every third model-based ask (by trial id) searches only near the incumbent ...
LOCAL_RADIUS = 0.5  # ... within this many lengthscales per column (at most 0.2 of the range)
# With trials pending, a trial with an odd id that is not local searches within TRUST_RADIUS
# lengthscales of the incumbent (at most TRUST_CAP of the range per column): the asks of a batch
# that see only believed values keep half of their effort near the best result.
TRUST_RADIUS = 2.0
TRUST_CAP = 0.3
# With trials pending, a choice closer than this many lengthscales (in every column) to a result or
# a pending trial repeats it; a Thompson sample is proposed instead.
REPEAT_TOL = 1e-3


class BayesianStrategy(Strategy):
    """GP-based Bayesian optimization for any mix of float, integer and categorical parameters.

    Lifecycle: the first ``n_initial`` trials follow a scrambled Sobol design; every later ask fits
    a Gaussian process (Matérn-5/2 with one lengthscale per parameter, Hamming distance for
    categoricals, learned input warping for ``auto``-scaled ranges) to the results so far, treats
    pending trials as already observed at the model's prediction (so parallel asks spread out), and
    proposes the configuration with the highest log expected improvement; every third model-based
    ask looks only within half a lengthscale of the best result, which polishes it (final precision
    on smooth objectives comes from these local steps). With trials pending, every other ask looks
    within two lengthscales of the best result, and an ask that would repeat a known configuration
    proposes the minimum of a posterior sample (Thompson sampling) instead. Failed trials count as
    the worst result seen, so their region is avoided; early-stopped trials count with their last
    reported objective, as noisier observations than completed ones (a value from an earlier step).
    Conditional parameters (``when=``) are modelled natively: an inactive one has no coordinate
    value (NaN), its own distance in the kernel, and is never optimised nor proposed.
    See ``docs/bayesian.md``.

    Args:
        space: The search space.
        direction: ``"minimize"`` or ``"maximize"``.
        seed: Makes the suggestions reproducible (same seed and results, same trials).
        n_initial: Quasi-random trials before the model is used (default: between 5 and 10,
            growing with the number of parameters).
        n_candidates: Quasi-random candidates scored per ask before local refinement.
        max_points: The GP conditions on at most this many results (the best quarter plus a random
            sample of the rest, from the trial's stream) so the cost per ask stays bounded in long
            jobs; its hyperparameters are fitted on at most 160.
        convergence_threshold: :meth:`converged` is True once the largest expected improvement is
            below this fraction of the observed objective range ...
        patience: ... for this many consecutive asks ...
        min_trials: ... after at least this many usable results (default ``max(20, 2 * n_initial)``).
        input_warping: Learn a warping of ``auto``-scaled numeric ranges (turn off to compare).

    Attributes:
        diagnostics: Messages about numerical fallbacks (jitter added, a fit that failed), newest last.

    Example:
        >>> from hpcore import Float, SearchSpace, create_tuner
        >>> tuner = create_tuner("bayesian", SearchSpace({"x": Float(-2.0, 2.0)}), seed=0)
        >>> for _ in range(12):
        ...     trial = tuner.ask()
        ...     tuner.tell(trial, (trial.params["x"] - 0.5) ** 2)
        >>> sum(abs(o.params["x"] - 0.5) < 0.05 for o in tuner.observations) >= 3  # random: 2 seeds in 500
        True
    """

    name = "bayesian"

    def __init__(self, space: SearchSpace, direction: str | Sequence[str] = "minimize", seed: int | None = None,
                 n_initial: int | None = None, n_candidates: int = 1024, max_points: int = 400,
                 convergence_threshold: float = 0.01, patience: int = 3, min_trials: int | None = None,
                 input_warping: bool = True, constraints: Sequence[str] | None = None) -> None:
        super().__init__(space, direction, seed, constraints)
        self.enc = Encoding(self.space, warp=input_warping)
        d = self.enc.d
        self.n_initial = int(n_initial) if n_initial is not None else min(10, max(5, d + 3))
        self.n_candidates = int(n_candidates)
        self.max_points = int(max_points)
        self.convergence_threshold = float(convergence_threshold)
        self.patience = int(patience)
        self.min_trials = int(min_trials) if min_trials is not None else max(20, 2 * self.n_initial)
        self.diagnostics: list[str] = []
        self.ei_ratios: list[float] = []  # max EI / observed range, one per global model-based ask
        # The hyperparameter fits, a pure function of the told results in order (see _gp.fitchain).
        self._chain = FitChain(d, self.enc.cat, self.enc.warp_idx, self.diagnostics, self.enc.cond)
        self._hyper: gp.Hyper | None = None  # the hyperparameters of the last model-based ask
        self._transfer_U = np.empty((0, d))
        self._transfer_loss = np.empty(0)
        self._transfer_noise = 0.05
        self._transfer_best: dict[str, Any] | None = None
        self._outputs = Outputs(self) if len(self.directions) > 1 or self.constraints else None

    # -- public extras ------------------------------------------------------------------------
    def transfer(self, results: list[tuple[dict[str, Any], float]], direction: str = "minimize",
                 noise: float = 0.05) -> int:
        """Lets an earlier job's results inform the model without counting as trials of this one.

        The earlier results join the GP as extra observations with ``noise`` added variance (in
        standardised units), so they shape the model where this job has no data and give way to
        this job's own results where it has. The first ask proposes the earlier best configuration.
        The objective is assumed to be the same metric (comparable values) in both jobs.

        Args:
            results: ``(params, value)`` pairs of the earlier job. Parameters the earlier job lacked
                take this space's default, extra ones are dropped, integers are rounded to the step;
                a value outside this space's range or an unknown choice drops that result, as does
                a non-finite value.
            direction: The earlier job's direction.
            noise: Extra variance of each transferred observation; larger trusts them less.

        Returns:
            How many results were used.
        """
        sign = 1.0 if check_direction(direction) == "minimize" else -1.0
        rows, losses, kept = [], [], []
        for params, value in results:
            mapped = self.enc.map_params(dict(params))
            if mapped is None or value is None or not math.isfinite(float(value)):
                continue
            rows.append(self.space.encode(mapped))
            losses.append(sign * float(value))
            kept.append(mapped)
        if rows:
            self._transfer_U = np.vstack([self._transfer_U, np.array(rows)])
            self._transfer_loss = np.concatenate([self._transfer_loss, losses])
            self._transfer_best = kept[int(np.argmin(losses))]
        self._transfer_noise = float(noise)
        self._chain.reset(len(self._transfer_loss))  # the data changed in bulk: the chain starts again
        return len(rows)

    def converged(self) -> bool:
        """True when the last ``patience`` model-based asks all expected to improve by less than
        ``convergence_threshold`` times the observed objective range, after ``min_trials`` results."""
        if len(self.completed()) < self.min_trials or len(self.ei_ratios) < self.patience:
            return False
        return all(r < self.convergence_threshold for r in self.ei_ratios[-self.patience:])

    # -- the strategy -------------------------------------------------------------------------
    def suggest(self, trial_id: int, rng: np.random.Generator) -> dict[str, Any]:
        usable = self.completed()
        n_transfer = len(self._transfer_loss)
        if n_transfer and not self.observations and not self.pending and self._transfer_best is not None:
            return dict(self._transfer_best)
        n_design = self._n_design()
        if len(usable) + len(self.pending) < n_design or len(usable) + n_transfer < 2:
            return self._design_point(len(self.observations) + len(self.pending))
        if self._outputs is not None:  # several objectives or constraints: one GP per output
            try:
                return self._outputs.point(rng)
            except np.linalg.LinAlgError as exc:
                msg = f"trial {trial_id}: GP unusable ({exc}); proposing a quasi-random point instead"
                log.warning(msg)
                self.diagnostics.append(msg)
                return self.space.decode(rng.random(self.enc.d))
        try:
            # Keyed to trial ids, not to a counter, so a resumed job makes the same choice. With
            # parallel workers at most one local ask is pending at a time: more of them pile up
            # around one point and cost the batch its exploration.
            local = (LOCAL_EVERY > 0 and trial_id % LOCAL_EVERY == LOCAL_EVERY - 1
                     and len(usable) >= 2 * self.n_initial
                     and not any(i % LOCAL_EVERY == LOCAL_EVERY - 1 for i in self.pending))
            # Asks that see only believed values for the pending trials explore too much if all
            # of them search globally; keyed to odd ids, half of them search a trust region.
            trust = (not local and bool(self.pending) and trial_id % 2 == 1
                     and len(usable) >= self.n_initial)
            return self._model_point(rng, "local" if local else "trust" if trust else "global")
        except np.linalg.LinAlgError as exc:
            msg = f"trial {trial_id}: GP unusable ({exc}); proposing a quasi-random point instead"
            log.warning(msg)
            self.diagnostics.append(msg)
            return self.space.decode(rng.random(self.enc.d))

    def _n_design(self) -> int:
        """Results (usable or pending) before the model is used; fewer with transferred results."""
        return min(self.n_initial, 2) if len(self._transfer_loss) else self.n_initial

    def _design_point(self, index: int) -> dict[str, Any]:
        # One scrambled Sobol sequence per strategy, derived from its seed (the per-trial stream
        # cannot build a joint design); the first N points do not depend on how many are drawn.
        m = max(4, int(math.ceil(math.log2(index + 1))))
        engine = qmc.Sobol(self.enc.d, scramble=True, seed=np.random.default_rng([self._entropy, 1, 7]))
        return self.space.decode(engine.random_base2(m)[index])

    def _rows(self, observations: list[Observation]) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Model inputs, standardised targets, extra noise and the incumbent of these results (and
        the transferred ones), deduplicated.

        Returns:
            ``(X (n, d), y (n,), extra (n,), best)`` with ``y`` in model units.
        """
        good = [o for o in observations if o.loss is not None]
        failed = [o for o in observations if o.loss is None]
        U = np.array([o.x for o in good] + [o.x for o in failed]).reshape(-1, self.enc.d)
        loss = np.array([o.loss for o in good], dtype=float)
        transform = OutputTransform(np.concatenate([loss, self._transfer_loss]))
        y_good = transform(loss)
        y_old = transform(self._transfer_loss)
        worst = float(np.max(np.concatenate([y_good, y_old])))
        y = np.concatenate([y_good, np.full(len(failed), worst), y_old])
        X = self.enc.to_model(np.vstack([U, self._transfer_U]))
        stopped = np.array([o.state is TrialState.STOPPED for o in good], dtype=bool)
        extra = np.concatenate([np.where(stopped, STOPPED_NOISE, 0.0), np.zeros(len(failed)),
                                np.full(len(y_old), self._transfer_noise)])
        done = [o.state is TrialState.COMPLETED for o in good]
        if any(done):
            best = float(np.min(y_good[np.array(done)]))
        else:
            best = float(np.min(y_good)) if len(y_good) else float(np.min(y_old))
        # Duplicates (repeated asks in a discrete space, re-run configurations) are merged.
        X, y, extra = merge_duplicates(X, y, extra)
        return X, y, extra, best

    def _dataset(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
        """What the posterior of this ask conditions on: every result, at most ``max_points`` of them.

        Returns:
            ``(X (n, d), y (n,), extra (n,), anchors (k, d), best)`` with ``y`` in model units.
        """
        X, y, extra, best = self._rows(self.observations)
        if len(X) > self.max_points:
            order = np.argsort(y, kind="stable")
            n_best = self.max_points // 4
            rest = order[n_best:]
            keep = np.concatenate([order[:n_best],
                                   np.sort(rng.choice(rest, self.max_points - n_best, replace=False))])
            X, y, extra = X[keep], y[keep], extra[keep]
        anchors = X[np.argsort(y, kind="stable")[:5]]
        return X, y, extra, anchors, best

    def _fit(self) -> gp.Hyper:
        """The hyperparameters after the results told so far: the fit chain, extended as needed.

        Link ``k`` is fitted on the first ``n_k`` results in the order they were told, so a strategy
        rebuilt from the same results (observed in that order) uses the same hyperparameters. The
        chain starts where one trial at a time makes its first model-based ask: at the first result
        that completes the initial design's usable results. An ask before that (trials pending in
        place of results) fits the results it has from the prior mode, outside the chain.
        """
        need = max(self._n_design(), 2 - len(self._transfer_loss), 1)

        def rows(n: int) -> Rows | None:
            prefix = self.observations[:n]
            if sum(o.loss is not None for o in prefix) < need:
                return None
            X, y, extra, _ = self._rows(prefix)
            return X, y, extra

        h = self._chain.hyper(len(self.observations), rows)
        if h is None:
            X, y, extra, _ = self._rows(self.observations)
            h = self._chain.standalone(X, y, extra)
        self._hyper = h
        return h

    def _domain(self, h: gp.Hyper, enc: Encoding | None = None) -> Domain:
        enc = enc or self.enc
        widx = enc.warp_idx
        int_cols = enc.int_cols

        def snap(Z: np.ndarray) -> np.ndarray:
            if not int_cols:
                return Z
            return h.warp_inputs(enc.snap_unit(h.unwarp_inputs(Z, widx)), widx)

        def neighbors(z: np.ndarray, j: int) -> np.ndarray:
            x = h.unwarp_inputs(z[None, :], widx)[0]
            vals = enc.int_neighbors(float(x[j]), j)
            rows = np.repeat(x[None, :], len(vals), axis=0)
            rows[:, j] = vals
            return h.warp_inputs(rows, widx)[:, j]

        mask = None
        if enc.cond.any():
            # The parents' values decide; an integer parent's warped coordinate is unwarped first.
            warped = [(c, j) for c, j in enumerate(widx) if j in enc.parent_cols]

            def mask(Z: np.ndarray) -> np.ndarray:
                P = Z
                if warped:
                    P = Z.copy()
                    for c, j in warped:
                        P[:, j] = transforms.kumaraswamy_inverse(Z[:, j], h.warp[c, 0], h.warp[c, 1])
                return np.where(enc.active(Z, P), Z, np.nan)

        grid = enc.grid()
        return Domain(enc.d, enc.cat_sizes, int_cols, snap, neighbors,
                      None if grid is None else h.warp_inputs(grid, widx), mask, enc.parent_cols)

    def _model_point(self, rng: np.random.Generator, mode: str = "global") -> dict[str, Any]:
        """The configuration maximising log EI in the whole space (``mode="global"``), within
        ``LOCAL_RADIUS`` (``"local"``) or ``TRUST_RADIUS`` (``"trust"``) lengthscales of the incumbent.

        With trials pending, a choice that repeats a result or a pending trial is replaced by the
        minimum of a posterior sample (given the results and the believed pending values): a
        repeat teaches nothing, and with a confident model log EI can peak on the incumbent itself.
        """
        X, y, extra, anchors, best = self._dataset(rng)
        h = self._fit()
        widx = self.enc.warp_idx
        model = gp.GPModel(h.warp_inputs(X, widx), y, h, self.enc.cat, extra, self.diagnostics, self.enc.cond)
        pending = None
        if self.pending:
            Up = np.array([self.space.encode(t.params) for t in self.pending.values()])
            pending = h.warp_inputs(self.enc.to_model(Up), widx)
        acq, model, best = acquisition.log_ei_acqf(model, best, pending)
        # Beyond 200 results each candidate costs more and the model is sharper: fewer suffice.
        n_cand = self.n_candidates if len(y) < 200 else max(256, self.n_candidates // 4)
        lengthscales = np.exp(-0.5 * h.log_rho)
        radius = {"global": None, "local": np.minimum(LOCAL_RADIUS * lengthscales, 0.2),
                  "trust": np.minimum(TRUST_RADIUS * lengthscales, TRUST_CAP)}[mode]
        domain, zanchors = self._domain(h), h.warp_inputs(anchors, widx)
        z, value = maximize(acq, domain, rng, zanchors, lengthscales, n_candidates=n_cand,
                            n_restarts=RESTARTS, maxiter=LBFGS_ITERS, radius=radius)
        if mode == "global":  # a search in a box says nothing about what is left elsewhere
            spread = float(np.max(y) - np.min(y))
            self.ei_ratios.append(math.exp(value) / spread if spread > 0 else math.inf)
        if pending is not None and np.min(np.max(self._gaps(model.Z, z) / lengthscales, axis=1)) < REPEAT_TOL:
            z = thompson(model.sample, domain, rng, zanchors, lengthscales, n_cand)
        return self.enc.decode(h.unwarp_inputs(z[None, :], widx)[0])

    @staticmethod
    def _gaps(Z: np.ndarray, z: np.ndarray) -> np.ndarray:
        """``|Z - z|`` per coordinate (n, d), with two inactive (NaN) coordinates equal and an
        active one infinitely far from an inactive one."""
        gaps = np.abs(Z - z)
        if not np.isnan(gaps).any():
            return gaps
        return np.where(np.isnan(Z) & np.isnan(z), 0.0, np.where(np.isnan(gaps), np.inf, gaps))


@hookimpl
def hpcore_add_strategies() -> dict[str, type[Strategy]]:
    return {"bayesian": BayesianStrategy}
