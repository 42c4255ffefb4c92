"""What a training function returns or does can fail its trial, never the controller."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

import hpcore
from hpcore.store import Store

from trainfns import exits, never_reports, returns_array_metric, returns_huge

TESTS = os.path.dirname(os.path.abspath(__file__))
SPACE = hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0)})


def _job(train, db, space=SPACE, **kw):
    kw.setdefault("max_trials", 4)
    return hpcore.TuningJob(train, space, objective="loss", strategy="random", seed=0, store=db, progress=False,
                            **kw)


@pytest.mark.parametrize("parallel", [1, 2])
def test_an_array_metric_is_kept_as_a_list_and_an_object_is_dropped(tmp_path, parallel):
    db = str(tmp_path / "t.db")
    with pytest.warns(UserWarning, match=r"metrics not recorded .*: model \(object\)"):
        result = _job(returns_array_metric, db, max_parallel=parallel).run()
    assert result.counts() == {"completed": 4}
    assert all(t.metrics["per_class"] == [0.9, 0.8] and "model" not in t.metrics for t in result.trials)
    with pytest.warns(UserWarning, match="metrics not recorded"):  # the store reads back: resume works
        again = _job(returns_array_metric, db, max_parallel=parallel, max_trials=6).run()
    assert again.counts() == {"completed": 6}


@pytest.mark.parametrize("parallel", [1, 2])
def test_an_objective_too_large_for_a_float_fails_its_trial_and_the_job_goes_on(tmp_path, parallel):
    db = str(tmp_path / "t.db")
    # fail_fast=None: with two at a time, three large draws may finish in a row (fail_fast's own tests)
    result = _job(returns_huge, db, max_parallel=parallel, max_trials=8, fail_fast=None).run()
    large = [t for t in result.trials if t.params["x"] > 0.5]
    assert large and all(t.state.value == "failed" and "too large for a float" in t.error for t in large)
    assert all(t.state.value == "completed" for t in result.trials if t.params["x"] <= 0.5)
    assert _job(returns_huge, db, max_parallel=parallel, max_trials=9, fail_fast=None).run().trials[-1].state.finished


@pytest.mark.parametrize("parallel", [1, 2])
@pytest.mark.parametrize("how,message", [
    ("exit0", r"called sys.exit\(0\)"), ("exit3", r"called sys.exit\(3\)"),
    ("argparse", r"called sys.exit\(2\) \(argparse"),
    ("interrupt", "raised KeyboardInterrupt without a Ctrl-C"),
])
def test_exiting_or_interrupting_from_the_training_code_fails_only_its_trial(tmp_path, how, message, parallel):
    space = hpcore.SearchSpace({"how": hpcore.Categorical([how, "train"])})
    result = hpcore.TuningJob(exits, space, objective="loss", strategy="grid", store=str(tmp_path / "t.db"),
                              progress=False, max_parallel=parallel).run()
    by_how = {t.params["how"]: t for t in result.trials}
    assert by_how["train"].state.value == "completed"
    assert by_how[how].state.value == "failed" and re.search(message, by_how[how].error)


@pytest.mark.parametrize("sig, executor", [(signal.SIGINT, "None"), (signal.SIGTERM, "Plain()")],
                         ids=["ctrl-c", "sigterm-any-executor"])
def test_the_users_ctrl_c_still_interrupts_the_job_and_it_resumes(tmp_path, sig, executor):
    """Ctrl-C, and SIGTERM whatever the executor: ``Plain`` is an executor of the kind a plugin
    brings, which installs no signal handler of its own."""
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent(f'''
        import hpcore
        from hpcore.executors.inprocess import InProcessExecutor
        from trainfns import sleeps_in_trial

        class Plain(InProcessExecutor):
            def start(self, train, on_report):
                self._train, self._on_report = train, on_report

        if __name__ == "__main__":
            space = hpcore.SearchSpace({{"x": hpcore.Float(0.0, 1.0)}})
            hpcore.TuningJob(sleeps_in_trial, space, objective="loss", strategy="random", max_trials=2,
                             store={str(tmp_path / "t.db")!r}, progress=False, executor={executor}).run()
    '''))
    env = dict(os.environ, HPCORE_TEST_DIR=str(tmp_path),
               PYTHONPATH=os.pathsep.join([TESTS, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (tmp_path / "started-0").exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the trial did not start"
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    with sqlite3.connect(tmp_path / "t.db") as db:  # as the controller recorded it on its way out
        assert db.execute("SELECT status FROM jobs").fetchall() == [("interrupted",)]
    store = Store(str(tmp_path / "t.db"), read_only=True)
    assert [t.state.value for t in store.trials("default")] == ["running"]
    store.close()
    subprocess.run([sys.executable, str(script)], env=env, check=True, timeout=120)
    store = Store(str(tmp_path / "t.db"), read_only=True)
    assert [t.state.value for t in store.trials("default")] == ["completed", "completed"]
    store.close()


def test_an_in_process_trial_that_never_reports_is_stopped_at_its_timeout(tmp_path):
    began = time.monotonic()
    result = _job(never_reports, str(tmp_path / "t.db"), max_trials=2, trial_timeout=1.0).run()
    assert [t.state.value for t in result.trials] == ["timed_out", "timed_out"]
    assert "trial_timeout=1s" in result.trials[0].error
    assert time.monotonic() - began < 30  # not the 60 s each trial would sleep
