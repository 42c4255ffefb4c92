"""The controller killed at every store write of a short job, then resumed, ends as if never killed.

Each case runs a real controller process on a real SQLite file and SIGKILLs it right after (or right
before) its N-th write to the store, for every N of the job; the same command is then run again to
resume. The resumed store must equal an uninterrupted run's trial by trial: the same trial ids (none
lost, none duplicated), parameters, states, values and intermediate reports. The store as the kill
left it must open and be consistent on its own.

The hook that kills lives in the test's controller script only: hpcore has no test switch.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest

from hpcore.store import Store

TESTS = os.path.dirname(os.path.abspath(__file__))

# The store's writes that record the job's state; each is committed when the method returns.
WRITES = ("create_job", "set_job_status", "start_trial", "add_report", "finish_trial", "drop_reports")

SCRIPT = textwrap.dedent('''
    import json, os, signal, sys
    import hpcore
    from hpcore.store import Store
    from trainfns import two_steps

    KILL_AT = int(os.environ.get("CRASH_AT", "0"))
    BEFORE = os.environ.get("CRASH_MODE") == "before"
    count = 0

    def counted(name):
        original = getattr(Store, name)

        def write(self, *args, **kwargs):
            global count
            count += 1
            if count == KILL_AT and BEFORE:
                os.kill(os.getpid(), signal.SIGKILL)
            out = original(self, *args, **kwargs)
            if count == KILL_AT and not BEFORE:
                os.kill(os.getpid(), signal.SIGKILL)
            return out
        setattr(Store, name, write)

    for name in WRITES:
        counted(name)

    if __name__ == "__main__":
        db, setup = sys.argv[1], json.loads(sys.argv[2])
        space = hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0), "k": hpcore.Categorical(["a", "b", "c"])})
        job = hpcore.TuningJob(two_steps, space, objective="loss", store=db, progress=False, seed=5, **setup)
        job.run()
        print("WRITES", count)
''').replace("WRITES)", repr(WRITES) + ")", 1).replace("in WRITES:", "in " + repr(WRITES) + ":", 1)

SETUPS = {
    "inprocess-random": {"strategy": "random", "max_trials": 3},
    "inprocess-bayesian": {"strategy": "bayesian", "max_trials": 4,
                           "strategy_options": {"n_initial": 2, "n_candidates": 64}},
    "process-random": {"strategy": "random", "max_trials": 3, "max_parallel": 2, "executor": "process"},
}


def _run(script, db, setup, env_extra=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([TESTS, os.environ.get("PYTHONPATH", "")]))
    env.update(env_extra or {})
    proc = subprocess.Popen([sys.executable, str(script), db, json.dumps(setup)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        try:  # a real crash leaves no controller; clear any worker it had, whatever they do on their own
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return proc.returncode, out, err


def _snapshot(db):
    """Everything a user reads back, per trial id: the record and its reports (in step order)."""
    store = Store(db, read_only=True)
    try:
        jobs = {j["name"]: j["status"] for j in store.jobs()}
        trials = {t.id: t for t in store.trials("default")} if jobs else {}
        reports = store.reports("default") if jobs else []
    finally:
        store.close()
    return jobs, trials, reports


def _summary(trials, reports):
    out = {}
    for i, t in trials.items():
        steps = [(s, m) for trial, attempt, s, m in reports if trial == i and attempt == t.attempt]
        out[i] = (t.params, str(t.state), t.value, t.metrics, t.step, steps)
    return out


def _check_killed_store(db):
    """The store as the kill left it: readable, states known, no report of a trial it lacks."""
    if not os.path.exists(db):
        return []
    problems = []
    try:
        jobs, trials, reports = _snapshot(db)
    except Exception as exc:  # the point of the test: say what broke rather than stop at the first
        return [f"the killed store does not open: {exc!r}"]
    for trial, _, _, _ in reports:
        if trial not in trials:
            problems.append(f"a report of trial {trial}, which the store does not hold")
    return problems


@pytest.mark.slow
@pytest.mark.parametrize("variant,modes", [("inprocess-random", ("after", "before")),
                                           ("inprocess-bayesian", ("after",)),
                                           ("process-random", ("after",))])
def test_a_kill_at_any_write_resumes_to_the_uninterrupted_result(tmp_path, variant, modes):
    setup = SETUPS[variant]
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    ref_db = str(tmp_path / "reference.db")
    rc, out, err = _run(script, ref_db, setup)
    assert rc == 0, err
    n_writes = int(out.split("WRITES")[-1])
    jobs, trials, reports = _snapshot(ref_db)
    reference = _summary(trials, reports)
    assert jobs == {"default": "completed"} and sorted(reference) == list(range(setup["max_trials"]))
    assert all(state == "completed" and steps for _, state, _, _, _, steps in reference.values())

    def kill_and_resume(mode, n):
        failures = []
        db = str(tmp_path / f"{mode}-{n}.db")
        rc, _, err = _run(script, db, setup, {"CRASH_AT": str(n), "CRASH_MODE": mode})
        if rc != -signal.SIGKILL:
            return [f"{mode} write {n}: the controller was not killed (rc {rc}): {err[-300:]}"]
        failures += [f"{mode} write {n}: {p}" for p in _check_killed_store(db)]
        for _ in range(3):  # resume until the job completes
            rc, _, err = _run(script, db, setup)
            if rc == 0:
                break
        if rc != 0:
            return failures + [f"{mode} write {n}: the resume failed (rc {rc}): {err.strip()[-400:]}"]
        jobs, trials, reports = _snapshot(db)
        got = _summary(trials, reports)
        if jobs != {"default": "completed"}:
            failures.append(f"{mode} write {n}: job status {jobs}")
        for i in sorted(set(reference) | set(got)):
            if got.get(i) != reference.get(i):
                failures.append(f"{mode} write {n}: trial {i} is {got.get(i)}, uninterrupted {reference.get(i)}")
        return failures

    # Two cases at a time: each is a chain of short processes that mostly wait on their imports.
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda case: kill_and_resume(*case), [(m, n) for m in modes for n in range(1, n_writes + 1)])
        failures = [f for r in results for f in r]
    assert not failures, f"{len(failures)} of {n_writes * len(modes)} kills differ:\n" + "\n".join(failures)


FULL_DISK = textwrap.dedent('''
    import json, resource, signal, sys
    import hpcore
    from trainfns import two_steps

    if __name__ == "__main__":
        db, limit = sys.argv[1], int(sys.argv[2])
        if limit:  # files may grow to `limit` bytes: past it every write fails, as on a full disk
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        space = hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0), "k": hpcore.Categorical(["a", "b", "c"])})
        job = hpcore.TuningJob(two_steps, space, objective="loss", store=db, progress=False, seed=5,
                               strategy="random", max_trials=12, max_parallel=int(sys.argv[3]))
        job.run()
''')


@pytest.mark.slow
@pytest.mark.parametrize("parallel", ["1", "2"])
def test_a_full_disk_stops_the_job_with_a_store_error_and_it_resumes_once_there_is_room(tmp_path, parallel):
    script = tmp_path / "full.py"
    script.write_text(FULL_DISK)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([TESTS, os.environ.get("PYTHONPATH", "")]))
    ref_db, db = str(tmp_path / "reference.db"), str(tmp_path / "t.db")
    subprocess.run([sys.executable, str(script), ref_db, "0", parallel], env=env, check=True, timeout=120)
    jobs, trials, reports = _snapshot(ref_db)
    reference = _summary(trials, reports)

    # How many bytes a trial writes depends on timing (two workers share transactions), so the limit grows
    # until it bites mid-job: some trials committed, others not.
    finished = []
    for limit in (120_000, 160_000, 240_000, 360_000, 540_000):
        for f in glob.glob(db + "*"):
            os.remove(f)
        full = subprocess.run([sys.executable, str(script), db, str(limit), parallel], env=env, capture_output=True,
                              text=True, timeout=120)
        if full.returncode == 0:  # the whole job fit under the limit
            finished.append(len(reference))
            break
        assert full.returncode == 1 and "StoreError: cannot write the store" in full.stderr, full.stderr
        assert db in full.stderr
        jobs, trials, reports = _snapshot(db)  # what was committed before the disk filled is readable
        finished.append(sum(t.state.finished for t in trials.values()))
        if 0 < finished[-1] < len(reference):
            break
    assert 0 < finished[-1] < len(reference), f"no limit bit mid-job: finished trials {finished}"
    assert _check_killed_store(db) == []

    subprocess.run([sys.executable, str(script), db, "0", parallel], env=env, check=True, timeout=120)
    jobs, trials, reports = _snapshot(db)
    assert jobs == {"default": "completed"}
    assert _summary(trials, reports) == reference
