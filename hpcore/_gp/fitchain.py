"""The hyperparameter fits of one strategy, as a chain over its told results.

Each fit warm-starts L-BFGS-B from the previous one (starting every fit from the prior mode alone
costs much search quality: an early optimum found with few results guides the next fit). Where
the links of the chain sit is fixed by the data, not by when the strategy was asked:

* link ``k`` is fitted on the first ``n_k`` told results, in the order they were told (plus any
  transferred results), starting from link ``k - 1``;
* ``n_k`` follows a fixed schedule: every result while there are fewer than 50 rows, then about
  every tenth (:func:`next_point`); points before the chain starts (the caller decides, from the
  results: the ``bayesian`` strategy starts it once the initial design has its usable results)
  are passed over.

The hyperparameters in use after ``n`` told results are those of the last link at or below ``n``,
a pure function of those results and their order. A strategy rebuilt from stored results (told
again in the same order) replays the same chain when it is next asked and fits exactly what the
strategy that ran all along fitted, however its asks and tells were interleaved.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hpcore._gp import gp

__all__ = ["FIT_POINTS", "WARP_GAIN", "FitChain", "Link", "next_point"]

log = logging.getLogger("hpcore.gp")

FIT_POINTS = 160  # hyperparameters are fitted on at most this many results
WARP_GAIN = 4.0  # nats of log posterior per warped column the warping must add to be used
EVERY_RESULT_BELOW = 50  # rows (told plus transferred) below which every result gets a fit
FRESH_BELOW = 60  # rows below which every fit also starts from the prior mode
FRESH_EVERY = 4  # beyond that, every fourth fit does

# The rows a link is fitted on: (X (n, d) model inputs, y (n,) model units, extra noise (n,)),
# deduplicated; None when those results cannot be fitted yet.
Rows = tuple[np.ndarray, np.ndarray, np.ndarray]


def next_point(n_told: int, n_extra: int = 0) -> int:
    """The number of told results at which the link after the one at ``n_told`` is fitted.

    Args:
        n_told: Told results of the current link.
        n_extra: Rows that are not told results (transferred observations); they count towards the
            size that spaces the links out.

    Example:
        >>> [next_point(n) for n in (1, 49, 50, 120)]
        [2, 50, 55, 132]
    """
    rows = n_told + n_extra
    return n_told + (1 if rows < EVERY_RESULT_BELOW else rows // 10)


@dataclass(frozen=True)
class Link:
    """One fit of the chain.

    Attributes:
        n_told: How many told results it was fitted on.
        index: Its position in the chain (0 for the first fit).
        hyper: The hyperparameters to use (unwarped or warped, as chosen).
        plain: The last fit without warping (the next link's warm start).
        warped: The last fit with warping, or None.
        warped_chosen: Whether ``hyper`` is the warped model.
    """

    n_told: int
    index: int
    hyper: gp.Hyper
    plain: gp.Hyper | None
    warped: gp.Hyper | None
    warped_chosen: bool


class FitChain:
    """The chain of MAP hyperparameter fits of one strategy (see the module docstring).

    Args:
        d: Model columns.
        cat: Boolean mask of the categorical columns, shape (d,).
        warp_idx: Indices of the columns that may be warped.
        diagnostics: Where numerical fallbacks are recorded.
        cond: Boolean mask of the conditional columns (NaN where inactive), or None.
    """

    def __init__(self, d: int, cat: np.ndarray, warp_idx: np.ndarray, diagnostics: list[str],
                 cond: np.ndarray | None = None) -> None:
        self.d, self.cat, self.warp_idx = d, cat, warp_idx
        self.cond = cond if cond is not None and cond.any() else None
        self.diagnostics = diagnostics
        self.n_extra = 0
        self.link: Link | None = None
        self._next = 1

    def reset(self, n_extra: int = 0) -> None:
        """Forgets every link: the data changed other than by telling results (a transfer)."""
        self.n_extra = int(n_extra)
        self.link = None
        self._next = 1

    def hyper(self, n_told: int, rows: Callable[[int], Rows | None]) -> gp.Hyper | None:
        """The hyperparameters after ``n_told`` told results, fitting the links not fitted yet.

        Args:
            n_told: How many results have been told.
            rows: ``rows(n)``: the data of the first ``n`` told results (and the transferred ones),
                or None when they cannot be fitted.

        Returns:
            The last link's hyperparameters, or None when no link could be fitted yet.
        """
        while self._next <= n_told:
            n = self._next
            data = rows(n)
            if data is not None:
                self.link = self._fit(n, *data, self.link)
            self._next = next_point(n, self.n_extra)
        return None if self.link is None else self.link.hyper

    def standalone(self, X: np.ndarray, y: np.ndarray, extra: np.ndarray) -> gp.Hyper:
        """A fit from the prior mode that is not part of the chain (an ask before its first link)."""
        return self._fit(0, X, y, extra, None).hyper

    # -- one link -------------------------------------------------------------------------------
    def _fit(self, n_told: int, X: np.ndarray, y: np.ndarray, extra: np.ndarray, prev: Link | None) -> Link:
        """The link after ``prev`` (the first one when None), fitted on these rows."""
        n = len(y)
        widx = self.warp_idx
        if n > FIT_POINTS:
            # Hyperparameters are well determined by a subset, and each fit iteration costs O(n^3):
            # fit on the best quarter plus an even spread of the rest (the posterior uses them all).
            order = np.argsort(y, kind="stable")
            n_best = FIT_POINTS // 4
            spread = order[n_best:][np.linspace(0, n - n_best - 1, FIT_POINTS - n_best).astype(int)]
            keep = np.sort(np.concatenate([order[:n_best], spread]))
            X, y, extra = X[keep], y[keep], extra[keep]
        index = 0 if prev is None else prev.index + 1
        # A fresh start from the prior mode, next to the warm start, while data are scarce and now
        # and then, so the fit cannot stay in the basin of an early, data-poor optimum.
        fresh = prev is None or n < FRESH_BELOW or index % FRESH_EVERY == 0
        prev_plain = None if prev is None else prev.plain
        prev_warped = None if prev is None else prev.warped
        warped_chosen = False if prev is None else prev.warped_chosen
        plain, plain_val = self._fit_variant(X, y, extra, np.empty(0, dtype=int), prev_plain, fresh)
        chosen = plain
        new_warped = prev_warped
        if len(widx) and (fresh or warped_chosen):
            # Warping is a model choice made from the data: the warped fit starts from the unwarped
            # one (identity warps), and wins only if it improves the log posterior by more than
            # WARP_GAIN per warped column, so smooth objectives are not given 2 free parameters per
            # column to overfit with (this mattered on 6-dimensional benchmarks).
            starts = [h for h in (prev_warped, plain) if h is not None]
            warped, warped_val = self._fit_variant(X, y, extra, widx, None, False, starts)
            warped_chosen = warped is not None and plain_val - warped_val > WARP_GAIN * len(widx)
            if warped is not None:
                new_warped = warped
                if warped_chosen:
                    chosen = self._prune_warps(warped, warped_val, X, y, extra)
        if chosen is None:
            msg = f"hyperparameter fit failed at n={n}; keeping the previous hyperparameters"
            log.warning(msg)
            self.diagnostics.append(msg)
            chosen = prev.hyper if prev is not None else gp.default_hyper(self.d, len(widx))
        return Link(n_told, index, chosen, plain or prev_plain, new_warped, warped_chosen)

    def _prune_warps(self, h: gp.Hyper, value: float, X: np.ndarray, y: np.ndarray,
                     extra: np.ndarray) -> gp.Hyper:
        """Resets to identity each column's warp that is not worth ``WARP_GAIN`` on its own."""
        widx = self.warp_idx
        for c in range(len(widx)):
            trial = gp.Hyper(h.log_rho, h.log_scale, h.log_noise, h.warp.copy())
            trial.warp[c] = 0.0
            val = gp.neg_log_posterior(trial, X, y, self.cat, widx, extra, self.cond)
            if val - value < WARP_GAIN:
                h, value = trial, val
        return h

    def _fit_variant(self, X: np.ndarray, y: np.ndarray, extra: np.ndarray, widx: np.ndarray,
                     previous: gp.Hyper | None, fresh: bool, starts: list[gp.Hyper] | None = None
                     ) -> tuple[gp.Hyper | None, float]:
        """One MAP fit with the given warped columns; the result carries identity warps elsewhere."""
        n_warp = len(self.warp_idx)
        if starts is None:
            starts = [previous] if previous is not None else []
            if fresh or not starts:
                starts.append(gp.default_hyper(self.d, n_warp))
        if not len(widx):
            starts = [gp.Hyper(h.log_rho, h.log_scale, h.log_noise, np.zeros((0, 2))) for h in starts]
        h, val = gp.fit_hyper(X, y, self.cat, widx, starts, extra_noise=extra, maxiter=60,
                              diagnostics=self.diagnostics, cond=self.cond)
        if h is not None and not len(widx):
            h = gp.Hyper(h.log_rho, h.log_scale, h.log_noise, np.zeros((n_warp, 2)))
        return h, val
