"""Bayesian optimization with a Gaussian process: the ``bayesian`` strategy.

The model, acquisition and optimizer live in the private package :mod:`hpcore._gp`; this module
assembles the data, decides when to refit, and turns the chosen point into a configuration.
See ``docs/bayesian.md`` for the method.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
from scipy.stats import qmc

from hpcore._gp import acquisition, gp
from hpcore._gp.encoding import Encoding
from hpcore._gp.optimize import Domain, maximize, thompson
from hpcore._gp.transforms import OutputTransform
from hpcore.hookspec import hookimpl
from hpcore.space import SearchSpace
from hpcore.strategies.base import Strategy, check_direction
from hpcore.trial import TrialState

__all__ = ["BayesianStrategy"]

log = logging.getLogger("hpcore.gp")

FIT_POINTS = 160  # hyperparameters are fitted on at most this many results
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
WARP_GAIN = 4.0  # nats of log posterior per warped column the warping must add to be used
# Extra variance (model units) of an early-stopped trial's value: it was measured at a lower fidelity
# (an earlier epoch), so the GP should not interpolate it exactly. Fitted exactly, partial values
# stopped at different steps look like a rough objective and pull the lengthscales down.
STOPPED_NOISE = 0.25


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
        >>> abs(tuner.best().params["x"] - 0.5) < 0.1
        True
    """

    name = "bayesian"

    def __init__(self, space: SearchSpace, direction: str = "minimize", seed: int | None = None,
                 n_initial: int | None = None, n_candidates: int = 1024, max_points: int = 400,
                 convergence_threshold: float = 0.01, patience: int = 3, min_trials: int | None = None,
                 input_warping: bool = True) -> None:
        super().__init__(space, direction, seed)
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
        self._hyper: gp.Hyper | None = None  # the model in use
        self._plain: gp.Hyper | None = None  # last fit without warping
        self._warped: gp.Hyper | None = None  # last fit with warping
        self._warped_chosen = False
        self._fit_n = 0
        self._n_fits = 0
        self._transfer_U = np.empty((0, d))
        self._transfer_loss = np.empty(0)
        self._transfer_noise = 0.05
        self._transfer_best: dict[str, Any] | None = None

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
        self._hyper = self._plain = self._warped = None  # the data changed in bulk: refit from scratch
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
        n_design = min(self.n_initial, 2) if n_transfer else self.n_initial
        if len(usable) + len(self.pending) < n_design or len(usable) + n_transfer < 2:
            return self._design_point(len(self.observations) + len(self.pending))
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

    def _design_point(self, index: int) -> dict[str, Any]:
        # One scrambled Sobol sequence per strategy, derived from its seed (the per-trial stream
        # cannot build a joint design); the first N points do not depend on how many are drawn.
        m = max(4, int(math.ceil(math.log2(index + 1))))
        engine = qmc.Sobol(self.enc.d, scramble=True, seed=np.random.default_rng([self._entropy, 1, 7]))
        return self.space.decode(engine.random_base2(m)[index])

    def _dataset(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
        """Model inputs, standardised targets, extra noise, and the incumbent, deduplicated.

        Returns:
            ``(X (n, d), y (n,), extra (n,), anchors (k, d), best)`` with ``y`` in model units.
        """
        good = [o for o in self.observations if o.loss is not None]
        failed = [o for o in self.observations if o.loss is None]
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
        # Duplicates (repeated asks in a discrete space, re-run configurations) are merged with
        # their mean: identical rows make the kernel matrix singular and add no information.
        Xu, inv = np.unique(X, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        if len(Xu) < len(X):
            counts = np.bincount(inv)
            y = np.bincount(inv, weights=y) / counts
            extra = np.bincount(inv, weights=extra) / counts / counts
            X = Xu
        if len(X) > self.max_points:
            order = np.argsort(y, kind="stable")
            n_best = self.max_points // 4
            rest = order[n_best:]
            keep = np.concatenate([order[:n_best],
                                   np.sort(rng.choice(rest, self.max_points - n_best, replace=False))])
            X, y, extra = X[keep], y[keep], extra[keep]
        anchors = X[np.argsort(y, kind="stable")[:5]]
        return X, y, extra, anchors, best

    def _fit(self, X: np.ndarray, y: np.ndarray, extra: np.ndarray) -> gp.Hyper:
        n = len(y)
        widx = self.enc.warp_idx
        # Refitting costs O(n^3) per iteration: refit after every result while data are scarce, then
        # every n/10 new results beyond 50, warm-started from the last fit, with a fresh start now
        # and then so the fit cannot stay stuck in the basin of an early, data-poor optimum.
        if self._hyper is not None and n - self._fit_n < (1 if n < 50 else n // 10):
            return self._hyper
        if n > FIT_POINTS:
            # Hyperparameters are well determined by a subset, and each fit iteration costs O(n^3):
            # fit on the best quarter plus an even spread of the rest, condition on everything.
            order = np.argsort(y, kind="stable")
            n_best = FIT_POINTS // 4
            spread = order[n_best:][np.linspace(0, n - n_best - 1, FIT_POINTS - n_best).astype(int)]
            keep = np.sort(np.concatenate([order[:n_best], spread]))
            X, y, extra = X[keep], y[keep], extra[keep]
        fresh = self._hyper is None or n < 60 or self._n_fits % 4 == 0
        self._n_fits += 1
        self._fit_n = n
        plain, plain_val = self._fit_variant(X, y, extra, np.empty(0, dtype=int), self._plain, fresh)
        self._plain = plain or self._plain
        chosen = plain
        if len(widx) and (fresh or self._warped_chosen):
            # Warping is a model choice made from the data: the warped fit starts from the unwarped
            # one (identity warps), and wins only if it improves the log posterior by more than
            # WARP_GAIN per warped column, so smooth objectives are not given 2 free parameters per
            # column to overfit with (this mattered on 6-dimensional benchmarks).
            starts = [h for h in (self._warped, plain) if h is not None]
            warped, warped_val = self._fit_variant(X, y, extra, widx, None, False, starts)
            self._warped_chosen = warped is not None and plain_val - warped_val > WARP_GAIN * len(widx)
            if warped is not None:
                self._warped = warped
            if self._warped_chosen:
                chosen = self._prune_warps(warped, warped_val, X, y, extra)
        if chosen is None:
            msg = f"hyperparameter fit failed at n={n}; keeping the previous hyperparameters"
            log.warning(msg)
            self.diagnostics.append(msg)
            chosen = self._hyper or gp.default_hyper(self.enc.d, len(widx))
        self._hyper = chosen
        return chosen

    def _prune_warps(self, h: gp.Hyper, value: float, X: np.ndarray, y: np.ndarray,
                     extra: np.ndarray) -> gp.Hyper:
        """Resets to identity each column's warp that is not worth ``WARP_GAIN`` on its own."""
        widx = self.enc.warp_idx
        for c in range(len(widx)):
            trial = gp.Hyper(h.log_rho, h.log_scale, h.log_noise, h.warp.copy())
            trial.warp[c] = 0.0
            val = gp.neg_log_posterior(trial, X, y, self.enc.cat, widx, extra)
            if val - value < WARP_GAIN:
                h, value = trial, val
        return h

    def _fit_variant(self, X: np.ndarray, y: np.ndarray, extra: np.ndarray, widx: np.ndarray,
                     previous: gp.Hyper | None, fresh: bool, starts: list[gp.Hyper] | None = None
                     ) -> tuple[gp.Hyper | None, float]:
        """One MAP fit with the given warped columns; the result carries identity warps elsewhere."""
        n_warp = len(self.enc.warp_idx)
        if starts is None:
            starts = [previous] if previous is not None else []
            if fresh or not starts:
                starts.append(gp.default_hyper(self.enc.d, n_warp))
        if not len(widx):
            starts = [gp.Hyper(h.log_rho, h.log_scale, h.log_noise, np.zeros((0, 2))) for h in starts]
        h, val = gp.fit_hyper(X, y, self.enc.cat, widx, starts, extra_noise=extra, maxiter=60,
                              diagnostics=self.diagnostics)
        if h is not None and not len(widx):
            h = gp.Hyper(h.log_rho, h.log_scale, h.log_noise, np.zeros((n_warp, 2)))
        return h, val

    def _domain(self, h: gp.Hyper) -> Domain:
        enc, widx = self.enc, self.enc.warp_idx
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

        grid = enc.grid()
        return Domain(enc.d, enc.cat_sizes, int_cols, snap, neighbors,
                      None if grid is None else h.warp_inputs(grid, widx))

    def _model_point(self, rng: np.random.Generator, mode: str = "global") -> dict[str, Any]:
        """The configuration maximising log EI in the whole space (``mode="global"``), within
        ``LOCAL_RADIUS`` (``"local"``) or ``TRUST_RADIUS`` (``"trust"``) lengthscales of the incumbent.

        With trials pending, a choice that repeats a result or a pending trial is replaced by the
        minimum of a posterior sample (given the results and the believed pending values): a
        repeat teaches nothing, and with a confident model log EI can peak on the incumbent itself.
        """
        X, y, extra, anchors, best = self._dataset(rng)
        h = self._fit(X, y, extra)
        widx = self.enc.warp_idx
        model = gp.GPModel(h.warp_inputs(X, widx), y, h, self.enc.cat, extra, self.diagnostics)
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
        if pending is not None and np.min(np.max(np.abs(model.Z - z) / lengthscales, axis=1)) < REPEAT_TOL:
            z = thompson(model.sample, domain, rng, zanchors, lengthscales, n_cand)
        return self.enc.decode(h.unwarp_inputs(z[None, :], widx)[0])


@hookimpl
def hpcore_add_strategies() -> dict[str, type[Strategy]]:
    return {"bayesian": BayesianStrategy}
