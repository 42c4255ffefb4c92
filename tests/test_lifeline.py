"""Nothing of a trial outlives its controller: real controllers in subprocesses, killed and interrupted.

Each test starts a small controller script with the interpreter running the tests, waits (polling,
with generous bounds) until its trial's processes are up, ends the controller (SIGKILL, SIGTERM,
Ctrl-C's SIGINT) and polls until those processes are gone: a script trial's program and the process
it started itself, or a process executor's worker. Liveness is read with ``os.kill(pid, 0)`` and
``/proc`` (a zombie, dead but not yet reaped by its new parent, counts as gone).
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

from proctools import running, stop_all, wait_until

TESTS = os.path.dirname(os.path.abspath(__file__))
UP, GONE = 120.0, 60.0  # bounds of the waits: generous, for a loaded machine

CONTROLLER = os.path.join(TESTS, "lifeline_controller.py")

# The trial's program: starts a process of its own (same group), notes both pids, then trains forever.
PROGRAM = textwrap.dedent('''
    import os, subprocess, sys, time
    marks = os.environ["MARKS"]
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    tmp = os.path.join(marks, "pids.tmp")
    with open(tmp, "w") as fh:
        fh.write(f"{os.getpid()} {child.pid}")
    os.replace(tmp, os.path.join(marks, f"pids-{os.getpid()}"))
    print("loss=1.0", flush=True)
    while True:
        time.sleep(0.1)
''')


class Controller:
    """A controller script run in its own session; its trial's pids as the trial recorded them."""

    def __init__(self, tmp_path, executor: str, program: str | None = PROGRAM, grace: float = 10.0,
                 store: str | None = None) -> None:
        self.marks = tmp_path / "marks"
        self.marks.mkdir(exist_ok=True)
        prog = None
        if program is not None:
            prog = tmp_path / "train.py"
            prog.write_text(program)
        self.store = store or str(tmp_path / "jobs.db")
        self.cfg = json.dumps({"program": str(prog) if prog else None, "workdir": str(tmp_path / "runs"),
                               "marks": str(self.marks), "grace": grace, "store": self.store,
                               "executor": executor})
        self.argv = [sys.executable, CONTROLLER, self.cfg]
        self.env = dict(os.environ, PYTHONPATH=os.pathsep.join([TESTS, os.environ.get("PYTHONPATH", "")]),
                        HPCORE_TEST_DIR=str(self.marks))
        self.seen: set[int] = set()
        self.proc = self.start()

    def start(self) -> subprocess.Popen:
        return subprocess.Popen(self.argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)

    def pids(self) -> list[int]:
        """The trial's processes, once they have started (program and its child, or the worker)."""
        out = []
        for name in os.listdir(self.marks):
            if name.startswith(("pids-", "worker-")):
                out += [int(p) for p in (self.marks / name).read_text().split()]
        self.seen.update(out)
        return out

    def wait_for_trial(self) -> list[int]:
        if not wait_until(lambda: self.pids() or self.proc.poll() is not None, UP):
            pytest.fail("the trial did not start in time")
        if self.proc.poll() is not None:
            pytest.fail(f"the controller ended early: {self.proc.communicate()}")
        return self.pids()

    def cleanup(self) -> None:
        stop_all(self.proc, self.seen)


def job_status(store: str) -> tuple[str, list[str]]:
    with sqlite3.connect(store) as db:
        status = db.execute("SELECT status FROM jobs").fetchone()[0]
        return status, [s for (s,) in db.execute("SELECT state FROM trials")]


@pytest.mark.parametrize("executor", ["inprocess", "process"])
def test_a_sigkilled_controller_takes_its_script_trial_with_it(tmp_path, controllers, executor):
    ctl = controllers(tmp_path, executor)
    program, its_child = ctl.wait_for_trial()
    os.kill(ctl.proc.pid, signal.SIGKILL)  # the controller alone: its trial runs in a session of its own
    ctl.proc.wait(30)
    assert wait_until(lambda: not running(program) and not running(its_child), GONE), \
        f"the trial's program ({program}: {running(program)}) or its child ({its_child}: {running(its_child)}) " \
        "outlived the SIGKILLed controller"


def test_a_worker_in_a_silent_trial_dies_with_its_sigkilled_controller(tmp_path, controllers):
    ctl = controllers(tmp_path, "process", program=None)
    [worker] = ctl.wait_for_trial()
    assert worker != ctl.proc.pid
    os.kill(ctl.proc.pid, signal.SIGKILL)
    ctl.proc.wait(30)
    assert wait_until(lambda: not running(worker), GONE), "the worker outlived its SIGKILLed controller"


@pytest.mark.parametrize("sig, executor", [(signal.SIGTERM, "inprocess"), (signal.SIGTERM, "process"),
                                           (signal.SIGINT, "inprocess"), (signal.SIGINT, "process")])
def test_sigterm_and_ctrl_c_interrupt_the_job_and_stop_the_trial(tmp_path, controllers, sig, executor):
    ctl = controllers(tmp_path, executor)
    program, its_child = ctl.wait_for_trial()
    os.kill(ctl.proc.pid, sig)
    try:
        out, err = ctl.proc.communicate(timeout=GONE)
    except subprocess.TimeoutExpired:
        pytest.fail("the controller did not stop after the signal")
    assert ctl.proc.returncode == 130 and "interrupted" in out, (ctl.proc.returncode, out, err)
    assert job_status(ctl.store) == ("interrupted", ["running"])  # resumable: the trial runs again
    assert wait_until(lambda: not running(program) and not running(its_child), GONE), \
        "the trial's processes outlived the interrupted job"


# A program whose first copy takes a while to clean up after SIGTERM (saving a checkpoint, say);
# the second copy finishes at once. Each copy notes when it starts and ends.
SLOW_TO_STOP = textwrap.dedent('''
    import os, signal, sys, time
    marks = os.environ["MARKS"]
    def note(what):
        with open(os.path.join(marks, "events"), "a") as fh:
            fh.write(f"{what} {time.time()!r}\\n")
    if os.path.exists(os.path.join(marks, "first")):
        note("start-second")
        print("loss=0.5", flush=True)
        note("end-second")
        sys.exit(0)
    open(os.path.join(marks, "first"), "w").close()
    stopping = []
    def cleanup(*_):
        if stopping:
            return
        stopping.append(1)
        time.sleep(6)
        note("end-first")
        sys.exit(0)
    signal.signal(signal.SIGTERM, cleanup)
    with open(os.path.join(marks, f"pids-{os.getpid()}"), "w") as fh:
        fh.write(str(os.getpid()))
    note("start-first")
    while True:
        time.sleep(0.1)
''')


def test_a_resumed_trial_does_not_run_beside_an_earlier_copy_in_its_folder(tmp_path, controllers):
    ctl = controllers(tmp_path, "inprocess", program=SLOW_TO_STOP, grace=60)
    [first] = ctl.wait_for_trial()
    os.kill(ctl.proc.pid, signal.SIGKILL)
    ctl.proc.wait(30)
    resumed = ctl.start()  # at once, while the first copy may still be cleaning up
    try:
        out, err = resumed.communicate(timeout=UP)
    finally:
        if resumed.poll() is None:
            os.killpg(resumed.pid, signal.SIGKILL)
    assert resumed.returncode == 0, err
    assert job_status(ctl.store) == ("completed", ["completed"])
    events = dict(line.split() for line in (ctl.marks / "events").read_text().splitlines())
    assert "start-second" in events and "end-second" in events
    assert "end-first" in events, "the first copy was still running when the trial ran again"
    assert float(events["end-first"]) <= float(events["start-second"]), "two copies ran in one trial folder"
    assert not running(first)
