"""Plots of a job with several objectives: its Pareto front and the hypervolume over trials."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from hpcore.pareto import hypervolume_history
from hpcore.plots._figures import STATE_COLORS, _empty, _figure, styled
from hpcore.results import TuningResult
from hpcore.trial import TrialRecord, TrialState

__all__ = ["hypervolume", "pareto_front", "reference_point"]

FRONT_COLOR = "#D1495B"


def _usable(result: TuningResult) -> list[TrialRecord]:
    """Completed trials holding every objective, by id."""
    goal = result.objectives
    return [r for r in result.trials if r.state is TrialState.COMPLETED and goal.values(r.metrics) is not None]


def reference_point(result: TuningResult) -> np.ndarray | None:
    """The reference point of :func:`hypervolume`, in losses (every objective minimised): the worst
    value of each objective among the feasible completed trials, plus a tenth of its range."""
    goal = result.objectives
    Y = np.array([goal.losses(r.metrics) for r in _usable(result) if result.feasible(r)], dtype=float)
    if len(Y) == 0:
        return None
    span = np.ptp(Y, axis=0)
    return np.max(Y, axis=0) + 0.1 * np.where(span > 0, span, np.maximum(np.abs(np.max(Y, axis=0)), 1.0))


@styled
def pareto_front(result: TuningResult) -> Any:
    """The objectives of every completed trial against each other, the Pareto front highlighted.

    Two objectives: one scatter with the front joined by a step line; three or more: one panel per
    pair. Feasible trials are dots, infeasible ones (a constraint broken) grey crosses; the front's
    trials are red and labelled with their ids.
    """
    goal = result.objectives
    trials = _usable(result)
    pairs = list(combinations(range(len(goal.names)), 2))
    if not trials or not pairs:
        return _empty(_figure(6.0, 4.0), "no completed trial with every objective yet" if pairs
                      else "one objective: see the history plot")
    front = {r.id for r in result.pareto_front()}
    cols = min(3, len(pairs))
    rows = -(-len(pairs) // cols)
    fig = _figure(4.2 * cols if cols > 1 else 6.5, 3.8 * rows)
    for n, (i, j) in enumerate(pairs):
        ax = fig.add_subplot(rows, cols, n + 1)
        for kind, pick, kw in (
                ("infeasible", lambda r: not result.feasible(r), {"marker": "x", "c": "0.6", "s": 22}),
                ("feasible", lambda r: result.feasible(r) and r.id not in front,
                 {"c": STATE_COLORS["completed"], "s": 22, "alpha": 0.7}),
                ("front", lambda r: r.id in front, {"c": FRONT_COLOR, "s": 40, "zorder": 4})):
            rs = [r for r in trials if pick(r)]
            if rs:
                ax.scatter([r.metrics[goal.names[i]] for r in rs], [r.metrics[goal.names[j]] for r in rs],
                           label=f"{kind} ({len(rs)})", gid=kind, **kw)
        on = sorted((r for r in trials if r.id in front), key=lambda r: r.metrics[goal.names[i]])
        if len(goal.names) == 2 and len(on) > 1:
            ax.step([r.metrics[goal.names[i]] for r in on], [r.metrics[goal.names[j]] for r in on],
                    where="post" if goal.directions[i] == goal.directions[j] else "pre", color=FRONT_COLOR,
                    lw=1.0, alpha=0.8, gid="front_line")
        if len(goal.names) == 2:
            for r in on:
                ax.annotate(str(r.id), (r.metrics[goal.names[i]], r.metrics[goal.names[j]]), fontsize=7,
                            xytext=(3, 3), textcoords="offset points", color=FRONT_COLOR)
        ax.set_xlabel(f"{goal.names[i]} ({goal.directions[i]})")
        ax.set_ylabel(f"{goal.names[j]} ({goal.directions[j]})")
        if n == 0:
            ax.legend(loc="best")
    fig.suptitle(f"Pareto front: {len(front)} of {len(trials)} completed trials", fontweight="bold")
    return fig


@styled
def hypervolume(result: TuningResult) -> Any:
    """The hypervolume of the feasible front after each trial (how the front grew).

    The reference point is :func:`reference_point` of the whole job, so the last value is the final
    front's and the curve only rises.
    """
    goal = result.objectives
    ref = reference_point(result)
    fig = _figure(6.5, 3.4)
    if ref is None or not goal.several:
        return _empty(fig, "no feasible completed trial yet" if goal.several else "one objective")
    trials = sorted(_usable(result), key=lambda r: r.id)
    Y = np.array([goal.losses(r.metrics) if result.feasible(r) else ref for r in trials], dtype=float)
    hv = hypervolume_history(Y, ref)
    ax = fig.add_subplot()
    ax.step([r.id for r in trials], hv, where="post", color=FRONT_COLOR, lw=1.6, gid="hypervolume")
    ax.set_xlabel("trial")
    ax.set_ylabel("hypervolume")
    ax.set_title("Hypervolume of the feasible front")
    return fig
