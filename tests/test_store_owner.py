"""One controller per job: two at once, a killed one, one on another host, one that was taken over.

The controllers are real subprocesses on one real SQLite file; the second controller must refuse
while the first runs (naming its PID and host), a killed controller's job must read as interrupted
and be taken over at once, and an owner on another host only after its heartbeat expired.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import hpcore
from hpcore import _lease
from hpcore.errors import StoreError
from hpcore.store import Store

from trainfns import quadratic

TESTS = os.path.dirname(os.path.abspath(__file__))
ENV = dict(os.environ, PYTHONPATH=TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""))

SCRIPT = textwrap.dedent('''
    import sys
    import hpcore
    from trainfns import slow_steps

    if __name__ == "__main__":
        space = hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0)})
        seed = None if sys.argv[2] == "none" else int(sys.argv[2])
        job = hpcore.TuningJob(slow_steps, space, objective="loss", strategy="random", max_trials=6,
                               seed=seed, store=sys.argv[1], progress=False)
        print(job.run().summary())
''')


def trial_states(db: str) -> dict[int, str]:
    try:
        with sqlite3.connect(db) as con:
            return dict(con.execute("SELECT id, state FROM trials"))
    except sqlite3.OperationalError:  # not created yet
        return {}


def start(tmp_path, db: str, seed: str = "none") -> subprocess.Popen:
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    return subprocess.Popen([sys.executable, str(script), db, seed], env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def wait_for(condition, what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def status_line(db: str) -> str:
    out = subprocess.run([sys.executable, "-m", "hpcore.cli", "status", db], env=ENV, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()[0]


def test_a_second_controller_of_a_running_job_refuses_naming_the_first(tmp_path):
    db = str(tmp_path / "t.db")
    first = start(tmp_path, db)
    try:
        wait_for(lambda: "running" in trial_states(db).values(), "the first controller's first trial")
        assert "(running)" in status_line(db)
        second = start(tmp_path, db)
        _, err = second.communicate(timeout=60)
        assert second.returncode == 1, err
        assert f"PID {first.pid} on {socket.gethostname()}" in err and "another controller" in err
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    store = Store(db, read_only=True)
    trials, reports = store.trials("default"), store.reports("default")
    store.close()
    assert [t.id for t in trials] == list(range(6)) and all(t.state.value == "completed" for t in trials)
    keys = [(trial, attempt, step) for trial, attempt, step, _ in reports]
    assert len(keys) == len(set(keys))  # every report written once, by the one controller
    for t in trials:  # every value computed from that trial's own parameters (slow_steps: x + 1/20)
        assert t.value == pytest.approx(t.params["x"] + 1.0 / 20)


def test_a_killed_controllers_job_reads_interrupted_and_the_next_run_takes_it_over(tmp_path):
    db = str(tmp_path / "t.db")
    first = start(tmp_path, db, seed="3")
    wait_for(lambda: "running" in trial_states(db).values(), "a running trial")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(30)
    assert "(interrupted)" in status_line(db)
    watch = subprocess.run([sys.executable, "-m", "hpcore.cli", "status", db, "--watch", "0.1"], env=ENV,
                           capture_output=True, text=True, timeout=60)
    assert watch.returncode == 0 and "(interrupted)" in watch.stdout  # --watch ends on its own
    second = start(tmp_path, db, seed="3")
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert "(completed)" in status_line(db)
    assert sorted(trial_states(db).items()) == [(i, "completed") for i in range(6)]


def _job(db: str, **kw) -> hpcore.TuningJob:
    kw.setdefault("max_trials", 2)
    return hpcore.TuningJob(quadratic, hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0)}), objective="loss",
                            strategy="random", seed=0, store=db, progress=False, **kw)


def _set_owner(db: str, host: str, heartbeat: float, token: str = "x") -> None:
    """Records a controller on another host as running job ``default``, last seen at ``heartbeat``."""
    with sqlite3.connect(db) as con:
        con.execute("UPDATE jobs SET status = 'running'")
        con.execute("INSERT OR REPLACE INTO owners VALUES ('default', ?, 4242, ?, NULL, ?)", (token, host, heartbeat))


def test_an_owner_on_another_host_holds_the_job_until_its_heartbeat_expires(tmp_path):
    db = str(tmp_path / "t.db")
    _job(db).run()
    _set_owner(db, "elsewhere.example", time.time())
    with pytest.raises(StoreError, match="PID 4242 on elsewhere.example, last heartbeat 0s ago"):
        _job(db, max_trials=3).run()
    assert "(running)" in status_line(db)
    _set_owner(db, "elsewhere.example", time.time() - _lease.HEARTBEAT_TIMEOUT - 1)
    assert "(interrupted)" in status_line(db)
    assert len(_job(db, max_trials=3).run().trials) == 3


def test_a_controller_whose_job_was_taken_over_stops_before_its_next_trial(tmp_path, monkeypatch):
    monkeypatch.setattr(_lease, "HEARTBEAT_EVERY", 0.05)
    db = str(tmp_path / "t.db")
    taken = threading.Event()

    def train(params, reporter):
        if not taken.is_set():  # another controller takes the job over during the first trial
            _set_owner(db, "elsewhere.example", time.time(), token="theirs")
            taken.set()
            time.sleep(0.5)  # a few heartbeats: this controller notices it lost the job
        return {"loss": params["x"]}

    job = hpcore.TuningJob(train, hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0)}), objective="loss",
                           strategy="random", seed=0, store=db, progress=False, max_trials=5)
    with pytest.raises(StoreError, match="taken over by another controller"):
        job.run()
    assert len(trial_states(db)) == 1  # nothing launched after the loss
    with sqlite3.connect(db) as con:  # the new owner's lease is left alone
        assert con.execute("SELECT token FROM owners").fetchall() == [("theirs",)]


def test_a_finished_job_gives_its_lease_back(tmp_path):
    db = str(tmp_path / "t.db")
    _job(db).run()
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(*) FROM owners").fetchone() == (0,)
    assert len(_job(db, max_trials=4).run().trials) == 4  # at once, no wait for a heartbeat
