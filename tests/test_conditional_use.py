"""Trials of a conditional space hold only their active parameters, everywhere they go.

In every strategy but bayesian (random, grid, hyperband), in the store and on a resume after SIGKILL,
in the DataFrame, the CSV, ``hpcore status``/``best``/``advise``/``report``, the plots, the importance
and the advice, and through a warm start from a job without conditions.
"""

import csv
import json
import math
import os
import subprocess
import sys
import textwrap

import pytest

import hpcore
import hpcore.plot
from hpcore import Categorical, Float, SearchSpace
from hpcore.results import TuningResult
from hpcore.strategies.grid import GridStrategy

from proctools import kill_mid_job


def space():
    return SearchSpace({
        "optimizer": Categorical(["adam", "sgd"], category="optimizer"),
        "lr": Float(1e-4, 1e-1, scale="log", category="optimizer"),
        "momentum": Float(0.0, 0.99, category="optimizer", when={"optimizer": "sgd"}),
        "nesterov": Categorical([False, True], category="optimizer", when={"optimizer": "sgd"}),
        "beta2": Float(0.8, 0.999, scale="reverse_log", category="optimizer", when={"optimizer": "adam"}),
    })


def objective(p):
    """SGD is best with momentum near 0.9; momentum matters a lot where it exists."""
    base = (math.log10(p["lr"]) + 2.5) ** 2
    if p["optimizer"] == "sgd":
        return 1.0 + base + 4.0 * (p["momentum"] - 0.9) ** 2
    return 1.5 + base


def check_active(sp, trials):
    for r in trials:
        assert list(r.params) == sp.active(r.params), r.params


def test_grid_enumerates_only_valid_combinations():
    sp = space()
    g = GridStrategy(sp, resolution=3)
    # adam: 3 lr x 3 beta2; sgd: 3 lr x 3 momentum x 2 nesterov; the product of every axis is 108.
    assert g.size == g.remaining() == 9 + 18
    seen = []
    while g.remaining():
        t = g.ask()
        g.tell(t, objective(t.params))
        seen.append(t.params)
    check_active(sp, [hpcore.trial.TrialRecord(0, p, hpcore.trial.TrialState.COMPLETED) for p in seen])
    assert len({json.dumps(p, sort_keys=True) for p in seen}) == 27
    assert sum(p["optimizer"] == "adam" for p in seen) == 9
    with pytest.raises(hpcore.errors.SearchExhausted):
        g.ask()
    shuffled = GridStrategy(sp, resolution=3, shuffle=True, seed=4)
    order = [shuffled.ask().params for _ in range(shuffled.size)]
    assert order != seen and sorted(map(json.dumps, order)) == sorted(map(json.dumps, seen))


def test_grid_job_with_nested_int_parent_tries_each_valid_configuration_once(tmp_path):
    sp = SearchSpace({"n_layers": hpcore.Int(1, 3), "w3": Categorical([16, 32], when={"n_layers": 3}),
                      "act": Categorical(["relu", "gelu"], when={"w3": 32})})
    job = hpcore.TuningJob(lambda p: p["n_layers"] + p.get("w3", 0) / 100, sp, strategy="grid", max_trials=50,
                           store=str(tmp_path / "g.db"), progress=False)
    result = job.run()
    got = sorted(json.dumps(r.params, sort_keys=True) for r in result.trials)
    assert got == sorted(json.dumps(p, sort_keys=True) for p in [
        {"n_layers": 1}, {"n_layers": 2}, {"n_layers": 3, "w3": 16},
        {"n_layers": 3, "w3": 32, "act": "relu"}, {"n_layers": 3, "w3": 32, "act": "gelu"}])
    assert "grid" in result.end_reason or len(result.trials) == 5


def test_hyperband_brackets_and_promotions_with_conditional_trials():
    sp = space()

    def train(p, reporter):
        loss = None
        for step in range(1, 10):
            loss = objective(p) + 1.0 / step
            if reporter.report(step, loss=loss):
                break
        return {"loss": loss}

    job = hpcore.TuningJob(train, sp, objective="loss", strategy="hyperband",
                           strategy_options={"max_resource": 9}, max_trials=30, seed=2, progress=False)
    result = job.run()
    check_active(sp, result.trials)
    states = result.counts()
    assert states.get("stopped", 0) >= 3 and states.get("completed", 0) >= 5, states
    assert {r.params["optimizer"] for r in result.trials} == {"adam", "sgd"}


@pytest.fixture(scope="module")
def random_job(tmp_path_factory):
    """A random job of 40 trials with a conditional space, in a real SQLite store."""
    db = str(tmp_path_factory.mktemp("cond") / "t.db")
    job = hpcore.TuningJob(objective, space(), strategy="random", max_trials=40, seed=0, store=db, progress=False)
    job.run()
    return db


def test_store_dataframe_csv_and_best_hold_only_active_parameters(random_job, tmp_path):
    result = TuningResult.from_store(random_job)
    check_active(result.space, result.trials)
    frame = result.dataframe()
    assert list(frame.columns[7:12]) == ["optimizer", "lr", "momentum", "nesterov", "beta2"]
    adam = frame[frame.optimizer == "adam"]
    sgd = frame[frame.optimizer == "sgd"]
    assert len(adam) and len(sgd)
    assert adam.momentum.isna().all() and sgd.momentum.notna().all()
    assert sgd.beta2.isna().all() and adam.beta2.notna().all()
    result.to_csv(str(tmp_path / "t.csv"))
    with open(tmp_path / "t.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert all((row["momentum"] == "") == (row["optimizer"] == "adam") for row in rows)
    assert result.best.params["optimizer"] == "sgd" and "beta2" not in result.best.params


def hp(*args):
    return subprocess.run([sys.executable, "-m", "hpcore.cli", *args], capture_output=True, text=True, timeout=120)


def test_cli_status_best_and_advise_of_a_conditional_job(random_job):
    first = TuningResult.from_store(random_job).trials[0]
    out = hp("status", random_job)
    assert out.returncode == 0, out.stderr
    head = next(ln for ln in out.stdout.splitlines() if ln.startswith("trial"))
    # Every parameter is a column, whichever branch the first trial took.
    assert {"momentum", "nesterov", "beta2"} <= set(head.split()), (first.params, head)
    rows = json.loads(hp("status", random_job, "--json").stdout)
    assert all((r["momentum"] is None) == (r["optimizer"] == "adam") for r in rows)
    best = json.loads(hp("best", random_job, "--json").stdout)
    assert best["params"]["optimizer"] == "sgd" and set(best["params"]) == {"optimizer", "lr", "momentum",
                                                                             "nesterov"}
    advice = hp("advise", random_job)
    assert advice.returncode == 0, advice.stderr
    assert "fix 'momentum'" not in advice.stdout


def test_importance_and_advice_are_computed_where_the_parameter_was_active(random_job):
    result = TuningResult.from_store(random_job)
    n_sgd = sum(r.params["optimizer"] == "sgd" for r in result.trials)
    imp = hpcore.plot.importance_values(result)
    assert imp["momentum"] == max(imp.values())  # it drives the objective wherever it exists
    items = result.advice()
    assert not any(a.kind == "fix" and a.param == "momentum" for a in items)
    for a in items:
        if a.param in ("momentum", "nesterov", "beta2"):
            assert "active in " in a.message and a.evidence["trials"] == 40
    fig = hpcore.plot.importance(result)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert f"momentum (active in {n_sgd}/40)" in labels


def test_a_parameter_without_influence_where_it_exists_is_advised_fixed_saying_where(tmp_path):
    sp = space()
    job = hpcore.TuningJob(lambda p: (math.log10(p["lr"]) + 2.5) ** 2 + (0.3 if p["optimizer"] == "adam" else 0),
                           sp, strategy="random", max_trials=40, seed=1, progress=False)
    result = job.run()
    result.space = sp
    fix = {a.param: a for a in result.advice() if a.kind == "fix"}
    assert "momentum" in fix, [str(a) for a in result.advice()]
    n_sgd = sum(r.params["optimizer"] == "sgd" for r in result.trials)
    assert f"'momentum' (active in {n_sgd} of 40 trials, optimizer='sgd')" in fix["momentum"].message


def test_plots_and_report_skip_inactive_values(random_job, tmp_path):
    result = TuningResult.from_store(random_job)
    figures = hpcore.plot.all_figures(result)
    slices = figures["slices"]
    momentum_ax = next(ax for ax in slices.axes if ax.get_xlabel().startswith("momentum"))
    drawn = sum(len(c.get_offsets()) for c in momentum_ax.collections)
    assert drawn == sum("momentum" in r.params for r in result.trials)
    from hpcore.report import write_report

    path = write_report(random_job, str(tmp_path / "r.html"))
    with open(path) as fh:
        text = fh.read()
    assert "momentum" in text and "Traceback" not in text


def test_warm_start_from_a_job_without_conditions_keeps_every_trial(tmp_path):
    flat = SearchSpace({"optimizer": Categorical(["adam", "sgd"], category="optimizer"),
                        "lr": Float(1e-4, 1e-1, scale="log", category="optimizer"),
                        "momentum": Float(0.0, 0.99, category="optimizer")})
    parent = str(tmp_path / "parent.db")
    hpcore.TuningJob(objective, flat, strategy="random", max_trials=10, seed=0, store=parent,
                     progress=False).run()
    cond = SearchSpace({"optimizer": flat["optimizer"], "lr": flat["lr"],
                        "momentum": Float(0.0, 0.99, category="optimizer", when={"optimizer": "sgd"})})
    tuner = hpcore.create_tuner("random", cond, seed=0)
    from hpcore.objectives import Objectives
    from hpcore.warmstart import warm_start

    warm_start(tuner, "random", [parent], "identical", Objectives("objective", "minimize"))
    assert len(tuner.observations) == 10  # none skipped for a momentum an adam trial does not have
    for o in tuner.observations:
        assert list(o.params) == cond.active(o.params)
        assert math.isnan(o.x[2]) == (o.params["optimizer"] == "adam")


SCRIPT = textwrap.dedent('''
    import sys
    import hpcore
    from condfns import space, train

    if __name__ == "__main__":
        job = hpcore.TuningJob(train, space(), objective="loss", strategy=sys.argv[2], max_trials=8,
                               seed=5, store=sys.argv[1], progress=False)
        print(job.run().summary())
''')

FNS = textwrap.dedent('''
    import time
    import hpcore

    def space():
        return hpcore.SearchSpace({
            "optimizer": hpcore.Categorical(["adam", "sgd"]),
            "x": hpcore.Float(0.0, 1.0),
            "momentum": hpcore.Float(0.0, 0.99, when={"optimizer": "sgd"}),
            "beta2": hpcore.Float(0.8, 0.999, when={"optimizer": "adam"}),
        })

    def train(params, reporter):
        assert ("momentum" in params) == (params["optimizer"] == "sgd"), params
        for step in range(1, 11):
            time.sleep(0.04)
            reporter.report(step, loss=params["x"] + 1.0 / step)
        return {"loss": params["x"] + params.get("momentum", 0.0)}
''')


@pytest.mark.parametrize("strategy", ["random", "grid"])
def test_sigkill_then_resume_keeps_active_parameters(tmp_path, strategy):
    (tmp_path / "job.py").write_text(SCRIPT)
    (tmp_path / "condfns.py").write_text(FNS)
    db = str(tmp_path / "t.db")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, str(tmp_path / "job.py"), db, strategy]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    before = kill_mid_job(proc, db, timeout=60)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result = TuningResult.from_store(db)
    assert sorted(r.id for r in result.trials) == list(range(8))
    assert all(str(r.state) == "completed" for r in result.trials)
    check_active(result.space, result.trials)
    for r in result.trials:
        if r.id in before:
            assert r.params == before[r.id].params
    if strategy == "grid":  # no configuration tried twice across the kill
        assert len({json.dumps(r.params, sort_keys=True) for r in result.trials}) == 8


def test_a_parent_whose_best_branch_is_better_is_not_advised_fixed(tmp_path):
    # On average over momentum, sgd scores what adam scores (1.74), so the optimizer's main effect is
    # nil; but sgd with momentum near 0.9 reaches 1.0: the choice matters.
    def fn(p):
        if p["optimizer"] == "sgd":
            return 1.0 + 3.0 * (p["momentum"] - 0.9) ** 2 + 0.01 * math.log10(p["lr"])
        return 1.74 + 0.01 * math.log10(p["lr"])

    sp = space()
    result = hpcore.TuningJob(fn, sp, strategy="random", max_trials=40, seed=3, progress=False).run()
    result.space = sp
    items = result.advice()
    assert not any(a.kind == "fix" and a.param == "optimizer" for a in items), [str(a) for a in items]
