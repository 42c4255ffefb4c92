"""Plots of a tuning job's results, each returned as a matplotlib :class:`~matplotlib.figure.Figure`.

Import it explicitly (``import hpcore.plot``): matplotlib (``pip install hpcore[report]``) is only
imported when a plot is drawn, never by ``import hpcore``. Every function takes a
:class:`~hpcore.results.TuningResult`; the search space (ranges, scales, categories) and the learning
curves are read from the result when it carries them (:func:`load` fills both), else from its store,
else the space is inferred from the trials.

* :func:`history`: objective per trial in order, with the best-so-far line;
* :func:`slices`: objective against each parameter (log axes for log ranges, coloured by trial order);
* :func:`parallel_coordinates`: one line per trial through all parameters and the objective;
* :func:`importance`: how much each parameter matters (a functional ANOVA of a random forest);
* :func:`intermediate`: learning curves from the intermediate reports, early-stopped trials marked;
* :func:`categories`: parallel coordinates per hyperparameter category (model, optimizer, data);
* :func:`pareto_front`: with several objectives, each pair of objectives with the front highlighted;
* :func:`hypervolume`: with several objectives, the feasible front's hypervolume after each trial.

With several objectives the other plots show the first objective.

Figures are bare ``Figure`` objects, not pyplot figures: save them with ``fig.savefig("h.png")``;
a notebook displays them when they are the cell's value.

Example:
    >>> import hpcore, hpcore.plot
    >>> job = hpcore.TuningJob(lambda p: (p["x"] - 1) ** 2, hpcore.SearchSpace({"x": hpcore.Float(-2.0, 2.0)}),
    ...                        strategy="random", max_trials=8, seed=0, progress=False)
    >>> fig = hpcore.plot.history(job.run())
    >>> len(fig.axes)
    1
"""

from __future__ import annotations

from typing import Any

from hpcore.plots._data import effects_of, importance_intervals
from hpcore.plots._figures import categories, history, importance, intermediate, parallel_coordinates, slices
from hpcore.plots._front import hypervolume, pareto_front
from hpcore.results import TuningResult

__all__ = ["all_figures", "categories", "history", "hypervolume", "importance", "importance_intervals",
           "importance_values", "intermediate", "load", "parallel_coordinates", "pareto_front", "slices"]


def load(store: str, name: str | None = None) -> TuningResult:
    """Reads a job from its store with its search space and learning curves, ready to plot.

    Args:
        store: The job's SQLite file (opened read-only: safe while the job runs).
        name: The job's name; by default the only (or first) job of the store.
    """
    return TuningResult.from_store(store, name)


def importance_values(result: TuningResult, seed: int = 0) -> dict[str, float]:
    """Each parameter's importance, summing to one (zeros when it cannot be estimated).

    The method (fANOVA, estimated by Monte Carlo): a random forest of 48 bagged regression trees
    (depth at most 6, numpy only) is fit to the objective of the completed trials, with the
    parameters in the unit-cube encoding the strategies use. The *main effect* of a parameter is the
    forest's prediction as a function of that parameter alone, averaged over uniform random values of
    the others; the variance of that curve over the parameter's range, divided by the variance of
    the forest over the whole space, is the share of the objective's variance the parameter explains
    on its own. Shares are normalised to sum to one; interactions are not counted. Early-stopped trials
    are left out (their values were measured on a smaller budget) unless fewer than four completed.

    Args:
        result: The job's result.
        seed: Seeds the forest's bootstrap samples and the Monte Carlo points.
    """
    eff = effects_of(result.first_objective(), seed)
    return {n: float(v) for n, v in zip(eff.names, eff.importance)}


def all_figures(result: TuningResult, effects: Any = None, resamples: Any = None) -> dict[str, object]:
    """Every plot of the result by name (the forest is fit once for importance and categories; the
    bootstrap resamples of ``hpcore.plots._data.bootstrap``, if given, give the importance's whiskers)."""
    one = result.first_objective()
    eff = effects if effects is not None else effects_of(one)
    intervals = importance_intervals(one, runs=resamples) if resamples is not None else None
    figures = {"history": history(result), "importance": importance(result, effects=eff, intervals=intervals),
               "slices": slices(result), "parallel_coordinates": parallel_coordinates(result),
               "categories": categories(result, effects=eff), "intermediate": intermediate(result)}
    if result.objectives.several:
        figures.update(pareto_front=pareto_front(result), hypervolume=hypervolume(result))
    return figures
