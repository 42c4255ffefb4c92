"""A job whose trials all fail with the same error stops with that error instead of running on."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import hpcore
from hpcore.errors import TrialsFailed
from hpcore.store import Store

from trainfns import broken, broken_until_fixed, fails_for_large_x

TESTS = os.path.dirname(os.path.abspath(__file__))
SPACE = hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0)})


def _job(train, db, **kw):
    kw.setdefault("max_trials", 10)
    return hpcore.TuningJob(train, SPACE, objective="loss", strategy="random", seed=0, store=db, progress=False, **kw)


def _stored(db):
    store = Store(db, read_only=True)
    try:
        return store.jobs()[0]["status"], store.trials("default")
    finally:
        store.close()


def test_the_same_error_in_the_first_trials_stops_the_job_with_that_error(tmp_path):
    db = str(tmp_path / "t.db")
    with pytest.raises(TrialsFailed, match=r"3 trials in a row failed with the same error: "
                                           r"ZeroDivisionError: float division by zero") as info:
        _job(broken, db).run()
    assert "Traceback" in str(info.value) and "params[\"x\"] / 0" in str(info.value)  # the first one in full
    status, trials = _stored(db)
    assert status == "failed" and len(trials) == 3 and all(t.state.value == "failed" for t in trials)


def test_fail_fast_counts_what_it_is_given_and_none_turns_it_off(tmp_path):
    with pytest.raises(TrialsFailed, match="5 trials in a row"):
        _job(broken, str(tmp_path / "a.db"), fail_fast=5).run()
    result = _job(broken, str(tmp_path / "b.db"), fail_fast=None).run()
    assert len(result.trials) == 10 and result.best_or_none is None


def test_a_job_where_some_trials_succeed_runs_its_whole_budget(tmp_path):
    result = _job(fails_for_large_x, str(tmp_path / "t.db"), max_trials=12).run()
    states = [t.state.value for t in result.trials]
    assert len(states) == 12 and "failed" in states and "completed" in states


def test_fixing_the_bug_and_running_again_resumes_the_job(tmp_path, monkeypatch):
    bug = tmp_path / "bug"
    bug.touch()
    monkeypatch.setenv("HPCORE_TEST_BUG", str(bug))
    db = str(tmp_path / "t.db")
    with pytest.raises(TrialsFailed, match="FileNotFoundError: data/train.csv"):
        _job(broken_until_fixed, db, max_trials=6).run()
    bug.unlink()  # the fix
    result = _job(broken_until_fixed, db, max_trials=6).run()
    assert [t.state.value for t in result.trials] == ["failed"] * 3 + ["completed"] * 3
    assert _stored(db)[0] == "completed"


def test_the_cli_exits_non_zero_with_the_trials_error(tmp_path):
    (tmp_path / "job.yaml").write_text(textwrap.dedent(f"""
        train: trainfns:broken
        space: {{x: {{type: float, min: 0.0, max: 1.0}}}}
        objective: loss
        strategy: random
        max_trials: 10
        store: {tmp_path / "t.db"}
    """))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([TESTS, os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-m", "hpcore.cli", "tune", str(tmp_path / "job.yaml"), "--no-progress"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert "3 trials in a row failed with the same error: ZeroDivisionError" in out.stderr
    assert _stored(str(tmp_path / "t.db"))[0] == "failed"
