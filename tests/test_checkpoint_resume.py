"""A trial run again continues from its last checkpoint: after the controller was SIGKILLed (in
process and with worker processes) and after its worker process died. Its steps and curve continue
without a gap or a duplicate, and fewer steps run than a restart from step 1 would."""

import os
import subprocess
import sys
import textwrap

import hpcore
from hpcore.artifacts import latest_checkpoint
from hpcore.store import Store

from proctools import stop_all, wait_until
from trainfns import checkpointed, steps_run

TESTS = os.path.dirname(os.path.abspath(__file__))
SPACE = hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0)})
SCRIPT = textwrap.dedent('''
    import sys
    import hpcore
    from trainfns import checkpointed

    if __name__ == "__main__":
        space = hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0)})
        job = hpcore.TuningJob(checkpointed, space, objective="loss", strategy="random", max_trials=4,
                               max_parallel=int(sys.argv[2]), seed=3, store=sys.argv[1], progress=False)
        print(job.run().summary())
''')


def uninterrupted(x):
    total = 0.0
    for step in range(1, 21):
        total += x / step
    return total


def _check_continued(db, trial_ids, restarted_after):
    """Every trial completed with steps 1..20 once each and the value of an uninterrupted run; the
    trials in ``restarted_after`` ran again from their checkpoint, not from step 1."""
    store = Store(db, read_only=True)
    trials = {t.id: t for t in store.trials("default")}
    reports = store.reports("default")
    store.close()
    assert sorted(trials) == trial_ids
    for t in trials.values():
        assert t.state.value == "completed", t.error
        assert [s for i, _, s, _ in reports if i == t.id] == list(range(1, 21))  # no gap, no duplicate
        assert t.value == uninterrupted(t.params["x"])  # the restored state is the state it had
    for i, ckpt in restarted_after.items():
        ran = steps_run(trials[i].artifact_dir)
        again = next(j for j in range(1, len(ran)) if ran[j] <= ran[j - 1])  # where the second run starts
        assert ran[again:] == list(range(ckpt + 1, 21)), ran
        assert len(ran) < again + 20  # fewer steps than running again from step 1


def test_the_controller_killed_in_process_resumes_the_trial_from_its_checkpoint(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    db = str(tmp_path / "t.db")
    env = dict(os.environ, PYTHONPATH=TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""), HPCORE_DIE_AT="1:10")
    first = subprocess.run([sys.executable, str(script), db, "1"], env=env, capture_output=True, timeout=120)
    assert first.returncode == -9  # the trial killed its own process: the controller, in process
    store = Store(db, read_only=True)
    before = {t.id: t.state.value for t in store.trials("default")}
    store.close()
    assert before == {0: "completed", 1: "running"}
    second = subprocess.run([sys.executable, str(script), db, "1"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert second.returncode == 0, second.stderr
    _check_continued(db, [0, 1, 2, 3], {1: 8})
    assert steps_run(os.path.join(str(tmp_path / "t.artifacts"), "default", "1")) == \
        list(range(1, 11)) + list(range(9, 21))


def test_the_controller_killed_with_worker_processes_resumes_trials_from_their_checkpoints(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    db = str(tmp_path / "t.db")
    env = dict(os.environ, PYTHONPATH=TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""),
               HPCORE_STEP_SLEEP="0.05")
    proc = subprocess.Popen([sys.executable, str(script), db, "2"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    root = str(tmp_path / "t.artifacts" / "default")

    def checkpointed_and_past_it():
        for i in ("0", "1"):
            ran = os.path.join(root, i, "ran.log")
            if not os.path.exists(ran) or len(steps_run(os.path.join(root, i))) < 10:
                return False
        return True

    try:
        assert wait_until(checkpointed_and_past_it, 60, step=0.02), "the trials did not get past step 10"
        os.killpg(proc.pid, 9)  # the controller and its workers
        proc.wait(10)
    finally:
        stop_all(proc, [])
    store = Store(db, read_only=True)
    running = [t.id for t in store.trials("default") if not t.state.finished]
    store.close()
    carried = {i: latest_checkpoint(os.path.join(root, str(i))) for i in running}
    assert running and all(carried.values())
    out = subprocess.run([sys.executable, str(script), db, "2"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    store = Store(db, read_only=True)
    ids = sorted(t.id for t in store.trials("default"))
    store.close()
    # A trial killed after a checkpoint was taken continues after the last one it completed.
    _check_continued(db, ids, {i: c[0] for i, c in carried.items()})


def test_a_dead_worker_process_is_rerun_from_the_checkpoint_without_max_retries(tmp_path, monkeypatch):
    monkeypatch.setenv("HPCORE_DIE_AT", "0:6")
    db = str(tmp_path / "t.db")
    result = hpcore.TuningJob(checkpointed, SPACE, objective="loss", strategy="random", max_trials=3,
                              max_parallel=2, max_retries=0, seed=0, store=db, progress=False).run()
    trial = result.trials[0]
    assert trial.attempt == 1 and trial.state.value == "completed"
    assert steps_run(trial.artifact_dir) == list(range(1, 7)) + list(range(5, 21))
    _check_continued(db, [0, 1, 2], {})
    curve = hpcore.TuningResult.from_store(db).curves[0]
    assert [s for s, _ in curve] == list(range(1, 21))


def test_a_dead_worker_continues_from_a_checkpoint_uploaded_to_an_url(tmp_path, monkeypatch):
    monkeypatch.setenv("HPCORE_DIE_AT", "0:6")
    db = str(tmp_path / "t.db")
    result = hpcore.TuningJob(checkpointed, SPACE, objective="loss", strategy="random", max_trials=2,
                              max_parallel=2, seed=0, store=db, artifacts=f"local://{tmp_path}/remote",
                              progress=False).run()
    trial = result.trials[0]
    assert (trial.attempt, trial.metrics["first_step"]) == (1, 5)  # continued after the checkpoint at step 4
    assert trial.value == uninterrupted(trial.params["x"])
    assert [s for s, _ in hpcore.TuningResult.from_store(db).curves[0]] == list(range(1, 21))
    assert result.trials[1].metrics["first_step"] == 1
