"""The figures of :mod:`hpcore.plot`; matplotlib is imported inside the functions only."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from hpcore.plots._data import best_so_far, curves_of, encoded, scored, space_of
from hpcore.plots._forest import Effects
from hpcore.results import TuningResult
from hpcore.space import CATEGORIES, Categorical, Int, Param, SearchSpace
from hpcore.trial import TrialRecord, TrialState

CATEGORY_COLORS = {"model": "#4C72B0", "optimizer": "#DD8452", "data": "#55A868"}
STATE_COLORS = {"completed": "#4C72B0", "stopped": "#E1A33A", "failed": "#C44E52", "timed_out": "#8C6D8C"}
STYLE = {"font.size": 9, "axes.titlesize": 10, "axes.titleweight": "bold", "axes.spines.top": False,
         "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3, "axes.axisbelow": True,
         "figure.dpi": 100, "savefig.bbox": "tight", "legend.frameon": False, "legend.fontsize": 8}


@contextlib.contextmanager
def _style() -> Iterator[None]:
    import matplotlib

    # rc_context, not a global style: a notebook's own settings are left alone after the call.
    with matplotlib.rc_context(STYLE):
        yield


def styled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Runs a plot function inside the house style."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _style():
            return fn(*args, **kwargs)

    return wrapper


def first_objective(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Draws a plot of one objective: with several, the first one (:meth:`TuningResult.first_objective`)."""

    @functools.wraps(fn)
    def wrapper(result: TuningResult, *args: Any, **kwargs: Any) -> Any:
        return fn(result.first_objective(), *args, **kwargs)

    return wrapper


def _figure(width: float, height: float) -> Any:
    # A bare Figure (no pyplot) is not registered with any GUI and is freed with its last reference.
    from hpcore.plots._notebook import NotebookFigure

    return NotebookFigure(figsize=(width, height), layout="constrained")


def _goodness_order(values: np.ndarray, direction: str) -> np.ndarray:
    return np.argsort(values if direction == "maximize" else -values, kind="stable")


def _robust_ylim(ax: Any, values: list[float], direction: str) -> None:
    """Zooms on the bulk of the values when a few poor outliers (a diverged trial) would flatten the rest.

    Only the poor side is cut: the best values always stay in view.
    """
    v = np.asarray([x for x in values if np.isfinite(x)], float)
    if len(v) < 5:
        return
    lo, hi = np.percentile(v, [10, 90])
    if not (hi > lo and np.ptp(v) > 5 * (hi - lo)):
        return
    pad = 0.5 * (hi - lo)
    if direction == "minimize":
        ax.set_ylim(v.min() - 0.05 * (hi - v.min()), min(v.max(), hi + pad))
    else:
        ax.set_ylim(max(v.min(), lo - pad), v.max() + 0.05 * (v.max() - lo))
    ax.annotate("zoomed: some poor values are off the axis", (0.0, 1.01), xycoords="axes fraction",
                ha="left", va="bottom", fontsize=7, color="0.45")


def _empty(fig: Any, text: str) -> Any:
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", color="0.4")
    return fig


@styled
@first_objective
def history(result: TuningResult) -> Any:
    """Optimisation history: each trial's objective in trial order, with the best-so-far line.

    Completed trials are filled dots, early-stopped ones hollow (their value is the last one they
    reported), failed and timed-out ones crosses along the bottom edge. The step line is the best
    completed value so far.
    """
    fig = _figure(9.5, 3.4)
    ax = fig.add_subplot()
    for state, kw in (("completed", {}), ("stopped", {"facecolors": "none"})):
        rs = [r for r in scored(result, stopped=True) if str(r.state) == state]
        if rs:
            color = STATE_COLORS[state]
            ax.scatter([r.id for r in rs], [r.value for r in rs], s=28, label=f"{state} ({len(rs)})",
                       edgecolors=color, **(kw or {"c": color}), gid=state, zorder=3)
    bad = [r for r in result.trials if r.state in (TrialState.FAILED, TrialState.TIMED_OUT)]
    if bad:
        ax.scatter([r.id for r in bad], [0.02] * len(bad), marker="x", c=STATE_COLORS["failed"],
                   transform=ax.get_xaxis_transform(), label=f"failed ({len(bad)})", gid="failed", zorder=3)
    done = scored(result)
    if done:
        best = best_so_far([float(r.value) for r in done], result.direction)  # type: ignore[arg-type]
        ids = [r.id for r in done]
        if result.trials:
            ids, best = ids + [max(r.id for r in result.trials)], best + [best[-1]]
        ax.step(ids, best, where="post", color="#222", lw=1.6, label="best so far", gid="best")
    _robust_ylim(ax, [float(r.value) for r in scored(result, stopped=True)], result.direction)  # type: ignore[arg-type]
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(result.objective)
    ax.set_title(f"Optimisation history ({result.direction})")
    if ax.has_data():
        ax.legend(loc="best")
    return fig


def _set_scale(ax: Any, param: Param, axis: str = "x") -> None:
    from matplotlib.ticker import NullLocator

    scale = getattr(param, "unit_scale", "linear")
    setter = ax.set_xscale if axis == "x" else ax.set_yscale
    if scale == "log":
        setter("log")
    elif scale == "reverse_log":
        # -log(1 - x) spreads values close to 1 the way the search sampled them.
        setter("function", functions=(lambda x: -np.log1p(-np.minimum(x, 1 - 1e-12)), lambda u: -np.expm1(-u)))
        # The default locator crowds the ticks near the lower bound; tick 0.9, 0.99, ... instead.
        lo, hi = float(param.min), float(param.max)  # type: ignore[attr-defined]
        ticks = [lo] + [1 - 10.0 ** -k for k in range(1, 13) if lo + 0.1 * (1 - lo) < 1 - 10.0 ** -k <= hi]
        (ax.set_xticks if axis == "x" else ax.set_yticks)(ticks, [f"{t:.12g}" for t in ticks])
        (ax.xaxis if axis == "x" else ax.yaxis).set_minor_locator(NullLocator())
    elif isinstance(param, Int):  # whole numbers only: no tick at 2.5 layers
        from matplotlib.ticker import MaxNLocator

        (ax.xaxis if axis == "x" else ax.yaxis).set_major_locator(MaxNLocator(integer=True))


@styled
@first_objective
def slices(result: TuningResult, columns: int = 3) -> Any:
    """One panel per parameter: the objective against the parameter's value.

    The axis is logarithmic for ``log`` ranges (and ``-log(1-x)`` for ``reverse_log``), categorical
    values are spread over their choices with a little jitter, and dots are coloured by trial order
    (dark: early, yellow: late) so one can see where the search converged. Early-stopped trials
    are grey rings.
    """
    space = space_of(result)
    done, stopped = scored(result), [r for r in scored(result, stopped=True) if r.state is TrialState.STOPPED]
    names = list(space)
    cols = max(1, min(columns, len(names)))
    rows = max(1, -(-len(names) // cols))
    fig = _figure(3.4 * cols + 0.8, 2.7 * rows)
    if not names:
        return _empty(fig, "no parameters")
    n = max([r.id for r in result.trials] + [1])
    scatter = None
    rng = np.random.default_rng(0)
    for k, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, k + 1)
        param = space[name]
        for group, kw in ((stopped, {"facecolors": "none", "edgecolors": "0.6", "gid": "stopped"}),
                          (done, {"cmap": "viridis", "vmin": 0, "vmax": n, "edgecolors": "none", "gid": "completed"})):
            rs = [r for r in group if name in r.params]
            if not rs:
                continue
            if isinstance(param, Categorical):
                labels = [str(v) for v in param.values]
                x = np.array([labels.index(str(r.params[name])) if str(r.params[name]) in labels else -1
                              for r in rs], float) + rng.uniform(-0.15, 0.15, len(rs))
            else:
                x = np.array([float(r.params[name]) for r in rs])
            if "cmap" in kw:
                kw = dict(kw, c=[r.id for r in rs])
            sc = ax.scatter(x, [r.value for r in rs], s=20, alpha=0.85, **kw)
            scatter = sc if "cmap" in kw else scatter
        if isinstance(param, Categorical):
            ax.set_xticks(range(len(param.values)), [str(v) for v in param.values])
        else:
            _set_scale(ax, param)
            ax.set_xlim(*_padded(param))
        ax.set_xlabel(f"{name} [{param.category}]", color=CATEGORY_COLORS.get(param.category, "k"))
        _robust_ylim(ax, [float(r.value) for r in done + stopped], result.direction)  # type: ignore[arg-type]
        if k % cols == 0:
            ax.set_ylabel(result.objective)
    if scatter is not None:
        fig.colorbar(scatter, ax=fig.axes, label="trial", shrink=0.8, pad=0.01)
    fig.suptitle(f"{result.objective} against each parameter", fontweight="bold")
    return fig


def _padded(param: Any) -> tuple[float, float]:
    lo, hi = float(param.min), float(param.max)
    if param.unit_scale == "log":
        f = (hi / lo) ** 0.03
        return lo / f, hi * f
    pad = 0.03 * (hi - lo)
    if param.scale == "reverse_log":
        return max(lo - pad, -1.0), min(hi + 0.3 * (1 - hi), 1 - 1e-9)
    return lo - pad, hi + pad


def _axis_label(param: Param, u: float) -> str:
    value = param.decode(u)
    return str(value) if not isinstance(value, float) else f"{value:.6g}"


def _parallel(fig: Any, ax: Any, space: SearchSpace, trials: list[TrialRecord],
              result: TuningResult) -> tuple[Any, list[tuple[float, float]]]:
    """Draws the lines; returns them and the colour bar's ticks (rank, objective value at that rank)."""
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize

    values = np.array([float(r.value) for r in trials])  # type: ignore[arg-type]
    coords = encoded(space, trials)
    lo, hi = (values.min(), values.max()) if len(values) else (0.0, 1.0)
    span = hi - lo if hi > lo else 1.0
    coords = np.column_stack([coords, (values - lo) / span])
    order = _goodness_order(values, result.direction)
    xs = np.arange(coords.shape[1])
    # Coloured by rank (0 the worst, 1 the best), not by value: one diverged trial would otherwise
    # give every other line the same colour.
    rank = np.empty(len(values))
    rank[order] = np.arange(len(values)) / max(1, len(values) - 1)
    lines = LineCollection([np.column_stack([xs, coords[i]]) for i in order], array=rank[order],
                           cmap="viridis", norm=Normalize(0.0, 1.0), linewidths=1.2, alpha=0.8, gid="trials")
    ranked = values[order]
    ticks = [(q, float(ranked[int(round(q * (len(ranked) - 1)))])) for q in (0.0, 0.25, 0.5, 0.75, 1.0)]
    ax.add_collection(lines)
    labels = list(space) + [result.objective]
    for j, name in enumerate(labels):
        ax.axvline(j, color="0.35", lw=0.8)
        if j < len(space):
            param = space[name]
            ends = (0.5 / len(param.values), 1 - 0.5 / len(param.values)) if isinstance(param, Categorical) else (0, 1)
            ax.text(j, -0.06, _axis_label(param, ends[0]), ha="center", va="top", fontsize=7, color="0.3")
            ax.text(j, 1.06, _axis_label(param, ends[1]), ha="center", va="bottom", fontsize=7, color="0.3")
        else:
            ax.text(j, -0.06, f"{lo:.4g}", ha="center", va="top", fontsize=7, color="0.3")
            ax.text(j, 1.06, f"{hi:.4g}", ha="center", va="bottom", fontsize=7, color="0.3")
    ax.set_xticks(xs, labels, rotation=20 if len(labels) > 5 else 0)
    ax.set_xlim(-0.3, len(labels) - 0.7)
    ax.set_ylim(-0.2, 1.2)
    ax.set_yticks([])
    ax.grid(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    return lines, ticks


def _rank_colorbar(fig: Any, lines: Any, ticks: list[tuple[float, float]], axes: Any, objective: str) -> None:
    """A colour bar in ranks, labelled with the objective's values at the worst, quartile and best ranks."""
    bar = fig.colorbar(lines, ax=axes, pad=0.01, label=f"{objective} (by rank; best yellow)")
    bar.set_ticks([q for q, _ in ticks], labels=[f"{v:.4g}" for _, v in ticks])


@styled
@first_objective
def parallel_coordinates(result: TuningResult) -> Any:
    """Parallel coordinates: one line per completed trial through every parameter and the objective.

    Each axis runs over the parameter's range on its search scale (so ``log`` ranges are spaced by
    decades), labelled with its bounds; lines are coloured by the objective's rank (one outlier does
    not paint the others alike), the best trials yellow and drawn on top.
    """
    space, done = space_of(result), scored(result)
    fig = _figure(max(6.0, 1.3 * (len(space) + 1) + 1.5), 3.8)
    if not done:
        return _empty(fig, "no completed trial yet")
    ax = fig.add_subplot()
    lines, ticks = _parallel(fig, ax, space, done, result)
    _rank_colorbar(fig, lines, ticks, ax, result.objective)
    ax.set_title(f"Parallel coordinates ({len(done)} completed trials)")
    return fig


@styled
@first_objective
def importance(result: TuningResult, effects: Effects | None = None,
               intervals: dict[str, tuple[float, float]] | None = None) -> Any:
    """Parameter importance: the share of the objective's variance each parameter's main effect explains.

    Estimated with a functional ANOVA of a small random forest fit to the completed trials (see
    :func:`hpcore.plot.importance_values`); bars are coloured by category. A conditional parameter
    is measured on the trials where it was active, and its label gives their number. Whiskers show
    the 80 % bootstrap interval (:func:`hpcore.plot.importance_intervals`; pass ``intervals={}`` to
    leave them out, or precomputed ones).
    """
    from hpcore.plots._data import effects_of

    space = space_of(result)
    eff = effects if effects is not None else effects_of(result)
    fig = _figure(6.5, 0.45 * max(3, len(eff.names)) + 1.2)
    if not eff.importance.any():
        return _empty(fig, "not enough completed trials with different objectives to estimate importance")
    ax = fig.add_subplot()
    order = np.argsort(eff.importance)
    names = [eff.names[i] for i in order]
    colors = [CATEGORY_COLORS.get(space[n].category, "0.5") for n in names]
    # A conditional parameter's share is measured on the trials that held it: the label says how many.
    labels = [f"{eff.names[i]} (active in {eff.active_in(i)}/{eff.n_trials})"
              if eff.active_in(i) < eff.n_trials else eff.names[i] for i in order]
    if intervals is None:
        from hpcore.plots._data import importance_intervals

        intervals = importance_intervals(result)
    bars = ax.barh(labels, eff.importance[order], color=colors, gid="importance")
    top = float(eff.importance.max())
    if intervals:
        lo = np.array([min(intervals.get(n, (v, v))[0], v) for n, v in zip(names, eff.importance[order])])
        hi = np.array([max(intervals.get(n, (v, v))[1], v) for n, v in zip(names, eff.importance[order])])
        ax.errorbar(eff.importance[order], np.arange(len(names)), xerr=[eff.importance[order] - lo,
                    hi - eff.importance[order]], fmt="none", ecolor="0.25", capsize=3, lw=1, gid="intervals")
        top = max(top, float(hi.max()))
    for bar, v in zip(bars, eff.importance[order]):
        ax.text(bar.get_width() + 0.01, bar.get_y() + bar.get_height() / 2 + 0.3, f"{v:.0%}", va="center",
                fontsize=8)
    ax.set_xlim(0, min(1.05, top + 0.15))
    ax.set_xlabel("importance (share of main-effect variance)" + ("; whiskers: 80% bootstrap interval"
                                                                 if intervals else ""))
    from matplotlib.patches import Patch

    used = [c for c in CATEGORIES if any(space[n].category == c for n in names)]
    ax.legend(handles=[Patch(color=CATEGORY_COLORS[c], label=c) for c in used], loc="lower right")
    ax.set_title("Parameter importance (fANOVA on a random forest)")
    return fig


@styled
@first_objective
def intermediate(result: TuningResult, metric: str | None = None) -> Any:
    """Learning curves: each trial's intermediate objective against its step, from the store's reports.

    Completed trials are blue lines, early-stopped ones orange ending in a cross where they were
    stopped, the best trial a thick dark line.
    """
    metric = metric or result.objective
    curves = curves_of(result)
    fig = _figure(7.5, 3.8)
    state = {r.id: r.state for r in result.trials}
    best = result.best_or_none
    drawn = 0
    ax = fig.add_subplot()
    for tid, points in sorted(curves.items()):
        pts = [(s, m[metric]) for s, m in points if metric in m]
        if not pts:
            continue
        steps, vals = zip(*pts)
        st = str(state.get(tid, "running"))
        is_best = best is not None and tid == best.id
        color = "#222" if is_best else STATE_COLORS.get(st, "0.6")
        ax.plot(steps, vals, color=color, lw=2.2 if is_best else 1.0, alpha=1.0 if is_best else 0.7,
                zorder=4 if is_best else 2, gid=f"trial-{tid}", label=f"best (trial {tid})" if is_best else None)
        if st == "stopped":
            ax.scatter([steps[-1]], [vals[-1]], marker="x", c=STATE_COLORS["stopped"], s=30, zorder=3, gid="stop")
        drawn += 1
    if not drawn:
        ax.axis("off")
        ax.text(0.5, 0.5, f"no intermediate reports of {metric!r}", ha="center", va="center", color="0.4")
        return fig
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=STATE_COLORS["completed"], label="completed"),
               Line2D([], [], color=STATE_COLORS["stopped"], marker="x", label="early-stopped")]
    if best is not None and best.id in curves:
        handles.append(Line2D([], [], color="#222", lw=2.2, label=f"best (trial {best.id})"))
    ax.legend(handles=handles, loc="best")
    _robust_ylim(ax, [m[metric] for points in curves.values() for _, m in points if metric in m], result.direction)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole epochs, rounds, reports
    ax.set_xlabel("step")
    ax.set_ylabel(metric)
    ax.set_title(f"Intermediate values ({drawn} trials)")
    return fig


@styled
@first_objective
def categories(result: TuningResult, effects: Effects | None = None) -> Any:
    """Trials grouped by hyperparameter category: one parallel-coordinates panel per category in use.

    Each panel shows only the ``model``, ``optimizer`` or ``data`` parameters, so one sees which
    settings of that group the best trials share; its title gives the group's summed importance.
    """
    from hpcore.plots._data import effects_of

    space, done = space_of(result), scored(result)
    groups = {c: n for c, n in space.categories().items() if n}
    widths = [len(n) + 1 for n in groups.values()]
    fig = _figure(max(6.5, 1.25 * sum(widths) + 1.5), 3.8)
    if not done or not groups:
        return _empty(fig, "no completed trial yet")
    grid = fig.add_gridspec(1, len(groups), width_ratios=widths)
    eff = effects if effects is not None else effects_of(result)
    share = dict(zip(eff.names, eff.importance))
    lines, ticks = None, []
    for k, (cat, names) in enumerate(groups.items()):
        ax = fig.add_subplot(grid[0, k])
        lines, ticks = _parallel(fig, ax, space.subspace(names), done, result)
        total = sum(share.get(n, 0.0) for n in names)
        ax.set_title(f"{cat}: importance {total:.0%}", color=CATEGORY_COLORS.get(cat, "k"))
    _rank_colorbar(fig, lines, ticks, fig.axes, result.objective)
    fig.suptitle("Trials by hyperparameter category", fontweight="bold")
    return fig
