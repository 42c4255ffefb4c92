"""Failed trials are visible: a warning per failure, counts in the progress bar and the summary,
and ``result.best`` that says why there is no best trial."""

from __future__ import annotations

import logging

import pytest

import hpcore
from hpcore.errors import NoBestTrial

SPACE = hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0)})


def half_fail(params):
    if params["x"] > 0.5:
        raise ValueError(f"x={params['x']:.3f} is too big for this model")
    return {"loss": params["x"]}


def test_each_failed_trial_logs_a_warning_the_first_with_its_traceback(caplog):
    caplog.set_level(logging.WARNING, logger="hpcore")
    result = hpcore.TuningJob(half_fail, SPACE, objective="loss", max_trials=12, seed=3, progress=False,
                              fail_fast=None).run()
    failed = [r for r in result.trials if r.state is hpcore.TrialState.FAILED]
    assert 2 <= len(failed) < 12
    warned = [r.getMessage() for r in caplog.records if r.name == "hpcore" and " failed: " in r.getMessage()]
    assert len(warned) == len(failed)
    assert warned[0].startswith(f"trial {failed[0].id} failed: ValueError: x=") and "Traceback" in warned[0]
    assert "half_fail" in warned[0]  # the user's own frame is in the first one
    assert all("Traceback" not in w and w.count("\n") == 0 for w in warned[1:])
    assert result.best.value <= 0.5 and result.best.state is hpcore.TrialState.COMPLETED


def test_the_progress_bar_and_the_summary_count_failures(capsys):
    result = hpcore.TuningJob(half_fail, SPACE, objective="loss", max_trials=12, seed=3, fail_fast=None).run()
    n_failed = result.counts()["failed"]
    err = capsys.readouterr().err
    assert "12/12 [" in err and f"trial/s, {n_failed} failed, best loss=" in err  # the bar's last state
    assert f"[hpcore] job 'default': 12 trials ({12 - n_failed} completed, {n_failed} failed); the errors" in err
    assert f"{n_failed} failed" in result.summary()


def test_a_job_without_a_completed_trial_has_no_best_and_says_why():
    result = hpcore.TuningJob(lambda p: 1 / 0, SPACE, objective="loss", max_trials=3, progress=False,
                              fail_fast=None).run()
    assert result.best_or_none is None
    with pytest.raises(NoBestTrial, match=r"no best trial: 3 failed; the first failure \(trial 0\): "
                                          r"ZeroDivisionError: division by zero") as info:
        _ = result.best
    assert isinstance(info.value, LookupError) and "best_or_none" in str(info.value)


def test_no_feasible_trial_names_the_constraint():
    result = hpcore.TuningJob(lambda p: {"loss": p["x"], "size": 10.0}, SPACE, objective="loss",
                              constraints=["size <= 5"], max_trials=3, progress=False).run()
    with pytest.raises(NoBestTrial, match=r"3 completed; none satisfies the constraints size <= 5"):
        _ = result.best


def test_the_first_failures_stop_the_job_with_their_error(tmp_path):
    db = str(tmp_path / "t.db")
    with pytest.raises(hpcore.TrialsFailed, match="3 trials in a row failed with the same error: ZeroDivisionError"):
        hpcore.TuningJob(lambda p: 1 / 0, SPACE, objective="loss", max_trials=10, store=db, progress=False).run()
    assert len(hpcore.TuningResult.from_store(db).trials) == 3
