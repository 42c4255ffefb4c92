"""Range advice on jobs built to trigger each rule, and built not to."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from test_cli import hp
from test_plot import build_store

from hpcore import Categorical, Float, SearchSpace
from hpcore.advice import Advice, advise, fix_min_trials
from hpcore.results import TuningResult
from hpcore.trial import TrialRecord, TrialState

XY = SearchSpace({"x": Float(0.0, 1.0, scale="linear"), "y": Float(0.0, 1.0)})


def job(space, f, n=40, seed=0, direction="minimize"):
    """Random search over ``space`` on objective ``f``, as a result that knows its space."""
    rng = np.random.default_rng(seed)
    trials = [TrialRecord(i, p, TrialState.COMPLETED, float(f(p))) for i, p in
              enumerate(space.sample(rng) for _ in range(n))]
    return TuningResult(trials, "loss", direction, space=space)


def kinds(items: list[Advice]) -> dict[str, str]:
    return {a.param: a.kind for a in items}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_widen_when_the_best_trials_sit_at_the_upper_edge(seed):
    items = advise(job(XY, lambda p: (p["x"] - 1.3) ** 2 + 0.3 * (p["y"] - 0.5) ** 2, seed=seed))
    (a,) = [a for a in items if a.param == "x"]
    assert a.kind == "widen" and a.suggestion == {"max": 1.5}
    assert a.evidence["best_position"] >= 0.9 and a.evidence["good_near_edge"] >= a.evidence["good"] / 2
    assert "'x'" in a.message and "max 1" in a.message and "1.5" in a.message


def test_widen_a_log_range_by_a_decade_and_maximize_works_too():
    space = SearchSpace({"lr": Float(1e-3, 1.0, scale="log"), "y": Float(0.0, 1.0)})
    items = advise(job(space, lambda p: -((math.log10(p["lr"]) + 3.5) ** 2) - (p["y"] - 0.5) ** 2,
                       direction="maximize"))
    assert kinds(items)["lr"] == "widen" and items[0].suggestion == {"min": 1e-4}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_widening_for_an_optimum_inside_the_range(seed):
    items = advise(job(XY, lambda p: (p["x"] - 0.5) ** 2 + 0.3 * (p["y"] - 0.5) ** 2, seed=seed))
    assert "widen" not in kinds(items).values()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_narrow_when_all_good_trials_crowd_into_a_small_part(seed):
    items = advise(job(XY, lambda p: (0 if abs(p["x"] - 0.5) < 0.07 else 1 + abs(p["x"] - 0.5)) + 0.05 * p["y"],
                       seed=seed))
    (a,) = [a for a in items if a.param == "x"]
    assert a.kind == "narrow" and a.evidence["good_width"] <= 0.2 and a.evidence["good"] >= 4
    assert 0.2 < a.suggestion["min"] < 0.43 and 0.57 < a.suggestion["max"] < 0.8


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_narrowing_when_good_trials_spread_over_the_range(seed):
    items = advise(job(XY, lambda p: max(0.0, abs(p["x"] - 0.5) - 0.3) + 0.02 * p["y"], seed=seed))
    assert "x" not in kinds(items)


def test_no_narrowing_around_the_most_extreme_trials_tried():
    # Ten trials never got past x = 0.87 towards an optimum beyond the range: the good trials are the
    # highest ones tried, with nothing worse above them, so nothing says the range above is bad.
    items = advise(job(XY, lambda p: (p["x"] - 1.3) ** 2, n=10))
    assert "x" not in kinds(items)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_scale_for_a_log_shaped_objective_on_a_linear_range(seed):
    space = SearchSpace({"lr": Float(1e-5, 1.0, scale="linear"), "y": Float(0.0, 1.0)})
    items = advise(job(space, lambda p: (math.log10(p["lr"]) + 3) ** 2 + (p["y"] - 0.5) ** 2, seed=seed))
    (a,) = [a for a in items if a.param == "lr"]
    assert a.kind == "log_scale" and a.suggestion == {"scale": "log"} and a.evidence["decades"] == pytest.approx(5)
    assert "5.0 decades" in a.message


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_log_scale_when_the_objective_is_smooth_in_the_value(seed):
    space = SearchSpace({"lr": Float(1e-2, 1.0, scale="linear"), "y": Float(0.0, 1.0)})
    items = advise(job(space, lambda p: (p["lr"] - 0.6) ** 2 + (p["y"] - 0.5) ** 2, seed=seed))
    assert kinds(items).get("lr") != "log_scale"
    declared_log = SearchSpace({"lr": Float(1e-5, 1.0, scale="log"), "y": Float(0.0, 1.0)})
    items = advise(job(declared_log, lambda p: (math.log10(p["lr"]) + 3) ** 2 + (p["y"] - 0.5) ** 2, seed=seed))
    assert "log_scale" not in kinds(items).values()  # already log: nothing to say


def test_fix_parameters_without_influence_numeric_and_categorical():
    space = SearchSpace({"x": Float(0.0, 1.0), "noise": Float(0.0, 1.0), "c": Categorical(["a", "b"])})
    result = job(space, lambda p: (p["x"] - 0.4) ** 2)
    by = {a.param: a for a in result.advice()}
    assert by["noise"].kind == "fix" and by["c"].kind == "fix" and "x" not in by
    best = result.best.params
    assert by["noise"].suggestion == {"value": best["noise"]} and by["c"].suggestion == {"value": best["c"]}
    ev = by["noise"].evidence
    assert ev["importance"] < 0.05 and ev["effect"] < 0.1 * ev["spread"]


def test_no_advice_from_too_few_trials():
    def f(p):
        return (p["x"] - 1.3) ** 2

    result = job(XY, f)
    first = [TuningResult(result.trials[:n], "loss", "minimize", space=XY) for n in (7, 15, 19, 20)]
    assert advise(first[0]) == [] and kinds(advise(first[1])) == {"x": "widen"}
    # 'y' does nothing, but is advised fixed only from fix_min_trials (20) completed trials on.
    assert fix_min_trials(2) == 20
    assert "y" not in kinds(advise(first[2])) and kinds(advise(first[3]))["y"] == "fix"
    assert kinds(advise(result))["x"] == "widen"


def test_advise_command_reads_the_store(tmp_path):
    db = build_store(str(tmp_path / "built.db"))
    out = hp("advise", db, "--json")
    assert out.returncode == 0, out.stderr
    items = {a["param"]: a for a in json.loads(out.stdout)}
    assert items["flip"]["kind"] == "fix" and "lr" not in items
    text = hp("advise", db)
    assert "[fix] fix 'flip'" in text.stdout
