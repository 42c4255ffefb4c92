"""A job killed with SIGKILL in the middle of a trial resumes with every finished trial intact."""

import os
import subprocess
import sys
import textwrap

import pytest

from hpcore.store import Store

from proctools import kill_mid_job

TESTS = os.path.dirname(os.path.abspath(__file__))

SCRIPT = textwrap.dedent('''
    import sys
    import hpcore
    from trainfns import slow_steps

    if __name__ == "__main__":
        space = hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0)})
        job = hpcore.TuningJob(slow_steps, space, objective="loss", strategy="random", max_trials=6,
                               max_parallel=int(sys.argv[2]), seed=11, store=sys.argv[1], progress=False)
        print(job.run().summary())
''')


@pytest.mark.parametrize("parallel", [1, 2])
def test_sigkill_mid_trial_then_resume(tmp_path, parallel):
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    db = str(tmp_path / "t.db")
    env = dict(os.environ, PYTHONPATH=TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, str(script), db, str(parallel)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    before = kill_mid_job(proc, db, timeout=90)
    done_before = {i: t for i, t in before.items() if t.state.finished}
    interrupted = [i for i, t in before.items() if not t.state.finished]
    assert len(done_before) >= 2 and interrupted

    out = subprocess.run([sys.executable, str(script), db, str(parallel)], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    store = Store(db, read_only=True)
    after = {t.id: t for t in store.trials("default")}
    reports = store.reports("default")
    store.close()
    assert sorted(after) == list(range(6))  # none duplicated, none lost
    assert all(t.state.value == "completed" for t in after.values())
    for i, t in done_before.items():  # finished trials kept exactly as they were
        assert (after[i].params, after[i].value, after[i].finished) == (t.params, t.value, t.finished)
    for i in interrupted:  # interrupted trials ran again with the same parameters, from the start
        assert after[i].params == before[i].params and after[i].finished is not None
        steps = [s for trial, _, s, _ in reports if trial == i]
        assert steps == sorted(set(steps)) and steps[0] == 1
