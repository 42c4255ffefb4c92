"""Gaussian-process machinery behind the ``bayesian`` strategy (private; numpy and scipy only).

Layers, each depending only on the ones above it:

* :mod:`kernels`: the Matérn-5/2 ARD kernel with a Hamming part for categorical columns, and a
  Cholesky factorisation that falls back to jitter deliberately (and records it);
* :mod:`transforms`: output standardisation with a power transform for heavy-tailed objectives,
  and Kumaraswamy CDF input warping for ``auto``-scaled columns;
* :mod:`gp`: the posterior, and the MAP fit of the hyperparameters under their priors;
* :mod:`fitchain`: the warm-started fits of one strategy, at fixed numbers of told results;
* :mod:`acquisition`: numerically stable log expected improvement and its gradient, with pending
  trials as Kriging-believer fantasies;
* :mod:`optimize`: quasi-random candidates, batched L-BFGS-B, discrete and categorical search;
* :mod:`encoding`: maps a :class:`~hpcore.space.SearchSpace` to model columns and back.

Conventions: ``n`` training points, ``m`` candidates, ``d`` columns (one per parameter). Model inputs
``Z`` have shape ``(n, d)``; continuous and integer columns hold the (warped) unit coordinate,
categorical columns hold the choice index as a float; a conditional column holds NaN where its
parameter is inactive. Objective values are always minimised.
"""
