"""hpcore.plot: each figure drawn from a store built trial by trial, checked point by point."""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import hpcore  # noqa: E402
import hpcore.plot as plot  # noqa: E402
from hpcore import Categorical, Float, Int, SearchSpace  # noqa: E402
from hpcore.plots._forest import Forest  # noqa: E402
from hpcore.store import Store  # noqa: E402

SPACE = SearchSpace({
    "lr": Float(1e-4, 1e-1, scale="log", category="optimizer"),
    "momentum": Float(0.5, 0.99, scale="reverse_log", category="optimizer"),
    "layers": Int(1, 6, category="model"),
    "act": Categorical(["relu", "tanh"], category="model"),
    "flip": Float(0.0, 0.5, category="data"),
})
N, STOPPED, FAILED, RUNNING, RETRIED = 40, (3, 7, 11), 5, 23, 9
DONE = N - 5  # completed trials


def loss_of(p: dict) -> float:
    return 0.5 * (math.log10(p["lr"]) + 2.5) ** 2 + 0.1 * p["layers"] / 6 + 0.05 * (p["act"] == "tanh")


def build_store(path: str, n: int = N, seed: int = 0) -> str:
    """A job written the way TuningJob writes it: 35 completed, 3 stopped, 1 failed, 1 still running."""
    store = Store(path)
    store.create_job("built", {"space": SPACE.to_dict(), "objective": "loss", "direction": "minimize"})
    rng = np.random.default_rng(seed)
    for i in range(n):
        p = SPACE.sample(rng)
        attempts = (0, 1) if i == RETRIED else (0,)
        for attempt in attempts:
            store.start_trial("built", i, p, attempt=attempt)
            last = 3 if i == RUNNING else 4 if i in STOPPED else 10
            for step in range(1, last + 1):
                # The first, failed attempt of the retried trial reported much worse values.
                stale = 5.0 * (attempt < attempts[-1])
                store.add_report("built", i, attempt, step, {"loss": loss_of(p) + 1 / step + stale})
        if i == RUNNING:
            continue
        if i == FAILED:
            store.finish_trial("built", i, "failed", error="ValueError: diverged")
        elif i in STOPPED:
            store.finish_trial("built", i, "stopped", value=loss_of(p) + 0.25, reason="median", step=4)
        else:
            store.finish_trial("built", i, "completed", value=loss_of(p) + 0.1, metrics={"loss": loss_of(p) + 0.1},
                               step=10)
    store.close()
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return plot.load(build_store(str(tmp_path_factory.mktemp("plot") / "built.db")))


def collections(fig, gid):
    return [c for ax in fig.axes for c in ax.collections if c.get_gid() == gid]


def test_import_hpcore_does_not_import_matplotlib():
    code = "import sys, hpcore, hpcore.plot, hpcore.advice, hpcore.report; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_load_reads_space_and_last_attempt_curves(built):
    assert built.space == SPACE and built.counts() == {"completed": DONE, "stopped": 3, "failed": 1, "running": 1}
    assert len(built.curves) == N  # the failed trial reported too, before it failed
    assert len(built.curves[FAILED]) == 10 and len(built.curves[RUNNING]) == 3
    retried = [m["loss"] for _, m in built.curves[RETRIED]]
    assert len(retried) == 10 and max(retried) < 5  # the stale first attempt is gone


def test_history_points_and_best_so_far_line(built):
    fig = plot.history(built)
    (done,) = collections(fig, "completed")
    (stopped,) = collections(fig, "stopped")
    (failed,) = collections(fig, "failed")
    assert len(done.get_offsets()) == DONE and len(stopped.get_offsets()) == 3 and len(failed.get_offsets()) == 1
    assert sorted(stopped.get_offsets()[:, 0]) == list(STOPPED)
    (line,) = [ln for ln in fig.axes[0].lines if ln.get_gid() == "best"]
    y = line.get_ydata()
    assert np.all(np.diff(y) <= 0) and y[-1] == pytest.approx(built.best.value)
    assert y[0] == pytest.approx(built.trials[0].value)


def test_slices_one_panel_per_parameter_on_its_scale(built):
    fig = plot.slices(built)
    panels = [ax for ax in fig.axes if ax.get_xlabel()]
    assert [ax.get_xlabel().split()[0] for ax in panels] == list(SPACE)
    scales = {ax.get_xlabel().split()[0]: ax.get_xscale() for ax in panels}
    assert scales["lr"] == "log" and scales["momentum"] == "function" and scales["flip"] == "linear"
    done = [r for r in built.trials if str(r.state) == "completed"]
    for ax in panels:
        (pts,) = [c for c in ax.collections if c.get_gid() == "completed"]
        assert len(pts.get_offsets()) == DONE
    lr_panel = panels[0]
    (pts,) = [c for c in lr_panel.collections if c.get_gid() == "completed"]
    assert np.allclose(sorted(pts.get_offsets()[:, 0]), sorted(r.params["lr"] for r in done))
    assert np.allclose(pts.get_array(), [r.id for r in done])  # coloured by trial order


def test_parallel_coordinates_one_line_per_completed_trial(built):
    fig = plot.parallel_coordinates(built)
    (lines,) = collections(fig, "trials")
    segments = lines.get_segments()
    assert len(segments) == DONE and all(len(s) == len(SPACE) + 1 for s in segments)
    # Drawn best last (on top): the last line ends at the best (lowest) objective, 0 on its axis.
    assert segments[-1][-1][1] == pytest.approx(0.0)


def test_importance_finds_the_parameter_that_matters(built):
    values = plot.importance_values(built)
    assert set(values) == set(SPACE) and sum(values.values()) == pytest.approx(1.0)
    assert max(values, key=values.get) == "lr" and values["lr"] > 0.9 and values["flip"] < 0.05
    fig = plot.importance(built)
    bars, whiskers = fig.axes[0].containers  # the bars, and their bootstrap intervals
    assert len(bars) == len(SPACE)
    assert max(bars, key=lambda b: b.get_width()).get_width() == pytest.approx(values["lr"])
    intervals = plot.importance_intervals(built)
    assert intervals["lr"][0] > 0.8 and intervals["flip"][1] < 0.2  # sure of lr, sure flip is small
    assert all(lo <= hi for lo, hi in intervals.values())
    few = replace(built, trials=[t for t in built.trials if t.id < 12])  # fewer trials: wider intervals
    narrow, wide = intervals["lr"], plot.importance_intervals(few)["lr"]
    assert wide[1] - wide[0] > narrow[1] - narrow[0]


def test_intermediate_curves_with_stopped_trials_marked(built):
    fig = plot.intermediate(built)
    ax = fig.axes[0]
    curves = [ln for ln in ax.lines if (ln.get_gid() or "").startswith("trial-")]
    assert len(curves) == N
    stops = [c for c in ax.collections if c.get_gid() == "stop"]
    assert sorted(int(s.get_offsets()[0, 0]) for s in stops) == [4, 4, 4]
    best = next(ln for ln in curves if ln.get_gid() == f"trial-{built.best.id}")
    assert best.get_linewidth() > max(ln.get_linewidth() for ln in curves if ln is not best)


def test_categories_one_panel_per_category(built):
    fig = plot.categories(built)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert [t.split(":")[0] for t in titles] == ["optimizer", "model", "data"]
    for ax, n in zip([a for a in fig.axes if a.get_title()], (2, 2, 1)):
        (lines,) = [c for c in ax.collections if c.get_gid() == "trials"]
        assert len(lines.get_segments()) == DONE and len(lines.get_segments()[0]) == n + 1


def test_plots_of_an_in_memory_result_infer_the_space():
    space = SearchSpace({"x": Float(1e-3, 10.0, scale="log"), "k": Categorical(["a", "b"])})
    job = hpcore.TuningJob(lambda p: (math.log10(p["x"])) ** 2 + (p["k"] == "b"), space, strategy="random",
                           max_trials=12, seed=1, progress=False)
    result = job.run()
    assert result.store is None and result.space is None
    fig = plot.slices(result)
    assert fig.axes[0].get_xscale() == "log"  # inferred: the values span four decades
    assert "no intermediate reports" in plot.intermediate(result).axes[0].texts[0].get_text()
    figs = plot.all_figures(result)
    assert set(figs) == {"history", "importance", "slices", "parallel_coordinates", "categories", "intermediate"}


def test_forest_fits_a_step_and_ignores_noise_columns():
    rng = np.random.default_rng(0)
    X = rng.random((60, 3))
    y = (X[:, 1] > 0.5).astype(float)
    f = Forest(n_trees=16).fit(X, y)
    pred = f.predict(np.array([[0.5, 0.9, 0.5], [0.5, 0.1, 0.5]]))
    assert pred[0] > 0.9 and pred[1] < 0.1


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_a_diverged_trial_does_not_flatten_the_others(direction):
    from hpcore.results import TuningResult
    from hpcore.trial import TrialRecord, TrialState

    sign = 1 if direction == "minimize" else -1
    values = [sign * (1.0 + 0.1 * i) for i in range(12)] + [sign * 1e3]  # the last one diverged
    trials = [TrialRecord(i, {"x": i / 12}, TrialState.COMPLETED, v) for i, v in enumerate(values)]
    result = TuningResult(trials, "loss", direction, space=SearchSpace({"x": Float(0.0, 1.0)}))
    lo, hi = plot.history(result).axes[0].get_ylim()
    best = min(values) if direction == "minimize" else max(values)
    assert lo <= best <= hi and not lo <= sign * 1e3 <= hi and hi - lo < 5
