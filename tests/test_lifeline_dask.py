"""A trial on a Dask worker ends with its controller: real controllers in subprocesses, killed or interrupted.

The cluster runs here, in the test process (one worker thread, no nanny: its trials can only be
freed by being interrupted, never by a restart); the controller, a subprocess, connects to its
scheduler. The trials never report, so only the worker side can notice that their controller is
gone. A last test uses a worker under a nanny, with a trial stuck in a native call that nothing
interrupts: its worker process is ended after ``orphan_timeout``, and the nanny starts a fresh one.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

distributed = pytest.importorskip("distributed")
import dask  # noqa: E402

from proctools import running, stop_all, wait_until  # noqa: E402

TESTS = os.path.dirname(os.path.abspath(__file__))
UP, GONE = 120.0, 60.0  # bounds of the waits: generous, for a loaded machine

CONTROLLER = os.path.join(TESTS, "lifeline_controller.py")

PROGRAM = textwrap.dedent('''
    import os, time
    with open(os.path.join(os.environ["MARKS"], f"program-{os.getpid()}"), "w") as fh:
        fh.write(str(os.getpid()))
    while True:
        time.sleep(0.1)
''')


def executing(client) -> int:
    """Trials running on the cluster's workers."""
    def count(dask_worker):
        return sum(1 for ts in dask_worker.state.executing if str(ts.key).startswith("hpcore-trial-"))

    return sum(client.run(count).values())


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                  dashboard_address=":0") as c:
        yield c


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster, set_as_default=False) as c:
        yield c


class Controller:
    def __init__(self, tmp_path, address: str, program: bool = False, how: str = "compute",
                 options: dict | None = None) -> None:
        self.marks = tmp_path / "marks"
        self.marks.mkdir()
        prog = tmp_path / "train.py"
        prog.write_text(PROGRAM)
        self.store = str(tmp_path / "jobs.db")
        cfg = {"program": str(prog) if program else None, "workdir": str(tmp_path / "runs"), "how": how,
               "marks": str(self.marks), "store": self.store, "executor": "dask",
               "executor_options": {"address": address, **(options or {})}}
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([TESTS, os.environ.get("PYTHONPATH", "")]))
        self.proc = subprocess.Popen([sys.executable, CONTROLLER, json.dumps(cfg)], env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)

    def marked(self, prefix: str) -> list[int]:
        return [int((self.marks / n).read_text()) for n in os.listdir(self.marks) if n.startswith(prefix)]

    def wait_for(self, prefix: str) -> list[int]:
        if not wait_until(lambda: self.marked(prefix) or self.proc.poll() is not None, UP):
            pytest.fail(f"no {prefix} in time")
        if self.proc.poll() is not None:
            pytest.fail(f"the controller ended early: {self.proc.communicate()}")
        return self.marked(prefix)

    def cleanup(self) -> None:
        (self.marks / "release").touch()  # a trial still running here (the old behaviour) returns
        stop_all(self.proc, self.marked("program-"))


@pytest.mark.parametrize("program", [False, True], ids=["python", "script"])
def test_a_silent_trial_is_interrupted_when_its_controller_is_sigkilled(cluster, client, tmp_path, controllers,
                                                                        program):
    assert wait_until(lambda: executing(client) == 0, GONE)
    ctl = controllers(tmp_path, cluster.scheduler_address, program=program)
    pids = ctl.wait_for("program-" if program else "started-")
    assert executing(client) == 1
    os.kill(ctl.proc.pid, signal.SIGKILL)
    ctl.proc.wait(30)
    assert wait_until(lambda: executing(client) == 0, GONE), "the orphaned trial still holds its worker"
    if program:  # the trial's program, a child of this process (the worker's), stopped with the trial
        assert wait_until(lambda: not any(running(p) for p in pids), GONE), "the script trial's program runs on"
    else:
        assert ctl.marked("ended-")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_controller_frees_its_workers(cluster, client, tmp_path, controllers, sig):
    assert wait_until(lambda: executing(client) == 0, GONE)
    ctl = controllers(tmp_path, cluster.scheduler_address)
    ctl.wait_for("started-")
    os.kill(ctl.proc.pid, sig)
    out, err = ctl.proc.communicate(timeout=GONE)
    assert ctl.proc.returncode == 130 and "interrupted" in out, (ctl.proc.returncode, out, err)
    with sqlite3.connect(ctl.store) as db:
        assert db.execute("SELECT status FROM jobs").fetchone() == ("interrupted",)
    assert wait_until(lambda: executing(client) == 0, GONE), "the interrupted job's trial still holds its worker"
    assert ctl.marked("ended-")


def test_a_stuck_orphan_has_its_worker_restarted_by_its_nanny(tmp_path, controllers):
    # A LocalCluster closes a nanny whose restarted worker takes longer than this to come back.
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "300s"}), \
            distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                     dashboard_address=":0") as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        ctl = controllers(tmp_path, cluster.scheduler_address, how="sleep", options={"orphan_timeout": 2})
        [worker_pid] = ctl.wait_for("started-")
        os.kill(ctl.proc.pid, signal.SIGKILL)
        ctl.proc.wait(30)
        assert wait_until(lambda: not running(worker_pid), GONE), "the stuck trial's worker was not ended"
        client.wait_for_workers(1, timeout=UP)
        assert client.submit(sum, [1, 2], pure=False).result(timeout=UP) == 3
