"""The Pareto front and the hypervolume in the plots and the HTML report."""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_multiobjective import SPACE, two

import hpcore
from hpcore.pareto import hypervolume
from hpcore.report import write_report

pytest.importorskip("matplotlib")
import hpcore.plot  # noqa: E402


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    db = str(tmp_path_factory.mktemp("mo") / "t.db")
    for name, objective, direction, constraints in (
            ("two", ["auc", "cost"], ["maximize", "minimize"], ["size <= 8"]),
            ("three", ["auc", "cost", "size"], ["maximize", "minimize", "minimize"], None)):
        hpcore.TuningJob(two, SPACE, objective=objective, direction=direction, constraints=constraints,
                         strategy="random", max_trials=16, seed=3, progress=False, store=db, name=name).run()
    return {n: hpcore.TuningResult.from_store(db, n) for n in ("two", "three")}


def points(fig, gid):
    return sum(len(c.get_offsets()) for ax in fig.axes for c in ax.collections if c.get_gid() == gid)


@pytest.mark.parametrize("name, panels", [("two", 1), ("three", 3)])
def test_the_front_plot_shows_every_trial_and_marks_the_front(results, name, panels):
    result = results[name]
    fig = hpcore.plot.pareto_front(result)
    assert len(fig.axes) == panels
    front = result.pareto_front()
    assert points(fig, "front") == len(front) * panels
    infeasible = sum(not result.feasible(r) for r in result.trials)
    assert points(fig, "infeasible") == infeasible * panels
    assert points(fig, "feasible") == (len(result.trials) - len(front) - infeasible) * panels


def test_the_hypervolume_plot_grows_to_the_final_fronts(results):
    result = results["two"]
    fig = hpcore.plot.hypervolume(result)
    (line,) = [ln for ln in fig.axes[0].lines if ln.get_gid() == "hypervolume"]
    hv = np.asarray(line.get_ydata())
    assert np.all(np.diff(hv) >= 0) and hv[-1] > hv[0]
    goal = result.objectives
    ref = hpcore.plots._front.reference_point(result)
    final = hypervolume(np.array([goal.losses(r.metrics) for r in result.pareto_front()]), ref)
    assert hv[-1] == pytest.approx(final)


def test_the_single_objective_plots_show_the_first_objective(results):
    fig = hpcore.plot.history(results["two"])
    assert fig.axes[0].get_ylabel() == "auc" and "maximize" in fig.axes[0].get_title()


def test_the_report_has_the_front_its_plots_and_the_feasibility(results, tmp_path):
    with open(write_report(results["two"], str(tmp_path / "r.html"))) as fh:
        html = fh.read()
    assert "<h2>Pareto front</h2>" in html and 'alt="Pareto front"' in html and 'alt="Hypervolume"' in html
    front = results["two"].pareto_front()
    assert f"{len(front)} trials no other feasible trial beats" in html
    assert len(re.findall(r'<tr class="best"', html)) == len(front)
    usable = [r for r in results["two"].trials if r.value is not None]
    assert f"{sum(results['two'].feasible(r) for r in usable)} of {len(usable)}" in html
    assert "subject to size &lt;= 8.0" in html
