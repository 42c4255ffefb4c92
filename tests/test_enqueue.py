"""Known-good configurations first (``enqueue=``, ``job.enqueue``, ``try_defaults``) and ``run(more=N)``."""

from __future__ import annotations

import textwrap

import pytest

import hpcore
from hpcore.errors import ConfigError, SearchSpaceError
from hpcore.jobfile import load_job_file


def space() -> hpcore.SearchSpace:
    return hpcore.SearchSpace({
        "lr": hpcore.Float(1e-4, 1e-1, scale="log", default=1e-3),
        "optimizer": hpcore.Categorical(["adam", "sgd"], default="adam"),
        "momentum": hpcore.Float(0.0, 0.99, default=0.9, when={"optimizer": "sgd"}),
        "depth": hpcore.Int(1, 8, default=2),
    })


def loss(p: dict) -> dict:
    return {"loss": (p["lr"] - 0.01) ** 2 * 1e4 + abs(p["depth"] - 5) + p.get("momentum", 0.5)}


def test_enqueued_configurations_run_first_and_count_toward_max_trials():
    good = {"lr": 0.01, "optimizer": "sgd", "momentum": 0.0, "depth": 5}
    job = hpcore.TuningJob(loss, space(), objective="loss", strategy="random", max_trials=5, seed=0,
                           progress=False, enqueue=[good])
    job.enqueue({"lr": 0.02, "optimizer": "adam", "depth": 4})
    result = job.run()
    assert len(result.trials) == 5
    assert result.trials[0].params == good and result.trials[1].params == {"lr": 0.02, "optimizer": "adam",
                                                                            "depth": 4}
    assert result.best.id == 0 and result.best.value == pytest.approx(0.0)


def test_a_partial_configuration_gets_the_rest_from_the_strategy():
    job = hpcore.TuningJob(loss, space(), objective="loss", strategy="random", max_trials=4, seed=1,
                           progress=False, enqueue=[{"optimizer": "sgd"}, {"optimizer": "sgd"}, {"depth": 7}])
    trials = job.run().trials
    assert [t.params["optimizer"] for t in trials[:2]] == ["sgd", "sgd"]
    assert all("momentum" in t.params for t in trials[:2])  # made active by the given value, then proposed
    assert trials[0].params != trials[1].params  # the strategy proposed the others afresh each time
    assert trials[2].params["depth"] == 7 and 1e-4 <= trials[2].params["lr"] <= 1e-1


def test_try_defaults_runs_the_spaces_defaults_first():
    result = hpcore.TuningJob(loss, space(), objective="loss", max_trials=3, seed=2, progress=False,
                              try_defaults=True).run()
    assert result.trials[0].params == {"lr": 1e-3, "optimizer": "adam", "depth": 2}


def test_the_strategy_is_told_the_enqueued_trials_results():
    s = hpcore.SearchSpace({"lr": hpcore.Float(1e-4, 1e-1), "depth": hpcore.Int(1, 8)})
    job = hpcore.TuningJob(loss, s, objective="loss", max_trials=4, seed=4, progress=False,
                           enqueue=[{"lr": 0.01, "depth": 5}, {"depth": 1}])
    result = job.run()
    told = {o.trial_id: o for o in job.strategy.observations}
    assert sorted(told) == [0, 1, 2, 3]  # every trial, the enqueued ones too, is an observation of the GP
    assert told[0].params == {"lr": 0.01, "depth": 5} and told[0].loss == pytest.approx(result.trials[0].value)
    assert told[1].params["depth"] == 1


def test_a_resumed_job_does_not_run_its_enqueued_configurations_again(tmp_path):
    db = str(tmp_path / "t.db")
    enqueue = [{"lr": 0.01, "optimizer": "adam", "depth": 5}, {"depth": 3}]

    def job(max_trials=3):
        return hpcore.TuningJob(loss, space(), objective="loss", strategy="random", max_trials=max_trials, seed=0,
                                store=db, progress=False, enqueue=enqueue, try_defaults=True)

    first = job().run()
    assert [t.params.get("depth") for t in first.trials] == [2, 5, 3]
    again = job().run(more=2)  # two new trials, none of them an enqueued one again
    assert len(again.trials) == 5 and [t.id for t in again.trials] == list(range(5))
    assert sum(t.params == enqueue[0] for t in again.trials) == 1
    assert sum(t.params == {"lr": 1e-3, "optimizer": "adam", "depth": 2} for t in again.trials) == 1
    assert len(job().run(more=1).trials) == 6


def test_bad_enqueued_configurations_are_named():
    with pytest.raises(SearchSpaceError, match=r"unknown parameter 'detph' \(did you mean 'depth'\?\)"):
        hpcore.TuningJob(loss, space(), objective="loss", enqueue=[{"detph": 3}])
    with pytest.raises(SearchSpaceError, match="depth"):
        hpcore.TuningJob(loss, space(), objective="loss", enqueue=[{"depth": 30}])
    with pytest.raises(ConfigError, match="give a list of configurations"):
        hpcore.TuningJob(loss, space(), objective="loss", enqueue={"depth": 3})
    job = hpcore.TuningJob(loss, space(), objective="loss", progress=False)
    with pytest.raises(ConfigError, match="more=0"):
        job.run(more=0)


def test_a_job_file_enqueues_and_tries_the_defaults(tmp_path):
    (tmp_path / "job.yaml").write_text(textwrap.dedent("""
        train: trainfns:quadratic
        objective: loss
        strategy: random
        max_trials: 4
        progress: false
        try_defaults: true
        enqueue:
          - {x: 0.25}
        space:
          x: {type: float, min: 0.0, max: 1.0, default: 0.5}
    """))
    result = load_job_file(str(tmp_path / "job.yaml")).run()
    assert [t.params["x"] for t in result.trials[:2]] == [0.5, 0.25] and len(result.trials) == 4
