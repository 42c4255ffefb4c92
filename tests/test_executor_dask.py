"""The ``dask`` executor on real LocalClusters: the executor contract, jobs, resources, and faults.

One 2-worker cluster (single-threaded worker processes, with nannies) is shared by the module; tests
that kill or restart its workers leave it with two working workers again. A LocalCluster closes
for good a nanny whose restarted worker has not registered within
``distributed.deploy.lost-worker-timeout`` (15 s), which a loaded machine can exceed: the module
raises it. The tests of a hung trial and of a dead controller get a cluster of their own, so that
they do not depend on what the tests before them left. Waits poll for their condition with generous
bounds, for a loaded machine.
"""

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

distributed = pytest.importorskip("distributed")
import dask  # noqa: E402

import hpcore  # noqa: E402
from hpcore import Float, SearchSpace, TrialState  # noqa: E402
from hpcore._threads import available_cores  # noqa: E402
from hpcore.executors.dask import DaskExecutor  # noqa: E402
from hpcore.executors.inprocess import InProcessExecutor  # noqa: E402
from hpcore.executors.processes import ProcessExecutor  # noqa: E402
from hpcore.hookspec import hookimpl  # noqa: E402
from hpcore.jobfile import job_from_dict  # noqa: E402
from hpcore.store import Store  # noqa: E402

import executor_contract as contract  # noqa: E402
from proctools import kill_mid_job, wait_until  # noqa: E402
from trainfns import checkpointed, fails_for_large_x, hangs_when_large, quadratic, slow_steps, steps_run  # noqa: E402

TESTS = os.path.dirname(os.path.abspath(__file__))
SPACE = SearchSpace({"x": Float(0.0, 1.0)})


# Training functions: module-level, so the workers import them from tests/ (on their sys.path).
def attempt_and_threads(params, reporter):
    return {"attempt": reporter.attempt, "threads": reporter.threads, "omp": os.environ.get("OMP_NUM_THREADS")}


def where_and_when(params, reporter):
    started = time.time()
    time.sleep(params.get("sleep", 0.6))
    return {"loss": params["x"], "pid": os.getpid(), "threads": reporter.threads, "started": started,
            "ended": time.time(), "worker": distributed.get_worker().address}


def dies_mid_trial(params, reporter):
    """Reports once, then SIGKILLs its own worker: trial 1 on its first attempt, trial 2 on every one."""
    reporter.report(1, loss=params["x"] + 1.0)
    if (reporter.trial_id == 1 and reporter.attempt == 0) or reporter.trial_id == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.2)
    return {"loss": params["x"]}


def checkpointed_dies_once(params, reporter):
    """trainfns.checkpointed, whose trial 0 kills its Dask worker after step 6 on its first run."""
    os.environ["HPCORE_DIE_AT"] = "0:6"  # in the worker's process, which the env of the test does not reach
    return checkpointed(params, reporter)


def reports_slowly(params, reporter):
    for step in range(1, 400):  # 100 s unless told to stop
        time.sleep(0.25)
        if reporter.report(step, loss=1.0 / step):
            break
    return {"loss": 1.0 / step}


def sleeps_by_x(params, reporter):
    time.sleep(0.05 + 0.3 * params["x"])  # results come back in another order than submitted
    return (params["x"] - 0.3) ** 2 + (params["y"] - 0.6) ** 2


@pytest.fixture(scope="module", autouse=True)
def patient_clusters():
    """Restarted workers may take their time to come back (see the module docstring)."""
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "300s"}):
        yield


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        yield c


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster, set_as_default=False) as c:
        yield c


@pytest.fixture
def own_cluster():
    """A fresh 2-worker cluster (with nannies) and its client, for one test."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c, \
            distributed.Client(c, set_as_default=False) as cl:
        yield c, cl


def _executing(client):
    """Trials running on the cluster's workers."""
    def count(dask_worker):
        return sum(1 for ts in dask_worker.state.executing if str(ts.key).startswith("hpcore-trial-"))

    return sum(client.run(count).values())


def _healthy(client, n=2, timeout=120):
    """Waits until the cluster has ``n`` workers again (after a test killed or restarted one)."""
    client.wait_for_workers(n, timeout=timeout)


# -- the contract -------------------------------------------------------------------------------
def test_contract_result_and_reports(client):
    contract.check_result_and_reports(lambda: DaskExecutor(max_parallel=2, client=client), quadratic)


def test_contract_stop_decision(client):
    contract.check_stop_decision_reaches_the_trial(lambda: DaskExecutor(max_parallel=2, client=client), quadratic)


def test_contract_errors(client):
    contract.check_errors_come_back_with_their_traceback(lambda: DaskExecutor(max_parallel=2, client=client),
                                                         fails_for_large_x)


@pytest.fixture(params=["inprocess", "process", "dask"])
def make_executor(request):
    if request.param == "dask":
        client = request.getfixturevalue("client")
        return lambda: DaskExecutor(max_parallel=2, client=client)
    if request.param == "process":
        return lambda: ProcessExecutor(max_parallel=2, start_method="spawn")
    return lambda: InProcessExecutor()


def test_contract_attempt_and_threads(make_executor):
    contract.check_attempt_and_threads_reach_the_trial(make_executor, attempt_and_threads)


def test_contract_every_free_slot(make_executor):
    contract.check_every_free_slot_runs_a_trial(make_executor, quadratic)


# -- jobs ---------------------------------------------------------------------------------------
def test_job_runs_trials_on_the_workers_with_their_share_of_cores(client, tmp_path):
    job = hpcore.TuningJob(where_and_when, SPACE, objective="loss", strategy="random", max_trials=4,
                           max_parallel=2, seed=0, progress=False, executor="dask",
                           executor_options={"client": client}, store=str(tmp_path / "t.db"))
    result = job.run()
    assert result.counts() == {"completed": 4}
    workers = set(client.scheduler_info()["workers"])
    assert {t.metrics["worker"] for t in result.trials} == workers
    assert os.getpid() not in {t.metrics["pid"] for t in result.trials}
    # 2 single-threaded workers on this host: each trial gets half the cores.
    assert {t.metrics["threads"] for t in result.trials} == {max(1, available_cores() // 2)}


def test_reports_stream_during_the_trial_and_early_stopping_works(client):
    result = hpcore.TuningJob(slow_steps, SPACE, objective="loss", strategy="grid",
                              strategy_options={"resolution": 3}, early_stopping="median",
                              stopper_options={"min_trials": 1}, max_trials=3, progress=False,
                              executor="dask", executor_options={"client": client}).run()
    got = {t.params["x"]: (t.state, t.step) for t in result.trials}
    # x=0 runs its 20 steps; the others are worse than its average at step 1 and stop right there.
    assert got == {0.0: (TrialState.COMPLETED, 20), 0.5: (TrialState.STOPPED, 1), 1.0: (TrialState.STOPPED, 1)}


def test_job_file_with_a_scheduler_address(cluster, tmp_path):
    job = job_from_dict({"train": "trainfns:quadratic", "objective": "loss", "strategy": "random", "seed": 1,
                         "space": {"x": {"type": "float", "min": 0, "max": 1}}, "max_trials": 3, "max_parallel": 2,
                         "progress": False, "executor": "dask", "store": "j.db",
                         "executor_options": {"address": cluster.scheduler_address}}, base_dir=str(tmp_path))
    result = job.run()
    assert result.counts() == {"completed": 3} and os.path.exists(tmp_path / "j.db")


class _Concurrency:
    """Records, at each trial start, the parameters of the trials still running."""

    def __init__(self):
        self.live, self.pairs = {}, []

    @hookimpl
    def hpcore_trial_start(self, job, trial):
        self.pairs += [(trial.params, other) for other in self.live.values()]
        self.live[trial.id] = trial.params

    @hookimpl
    def hpcore_trial_finish(self, job, trial, record):
        self.live.pop(trial.id, None)


def test_bayesian_keeps_parallel_trials_apart(client):
    watch = _Concurrency()
    name = hpcore.plugins.register(watch, name="test-dask-concurrency")
    try:
        space = SearchSpace({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})
        result = hpcore.TuningJob(sleeps_by_x, space, strategy="bayesian", max_trials=14, max_parallel=4, seed=3,
                                  progress=False, executor="dask", executor_options={"client": client}).run()
    finally:
        hpcore.plugins.unregister(name)
    assert result.counts() == {"completed": 14}
    assert len(watch.pairs) >= 3 * 10  # each start after the first batch had 3 trials running beside it
    gaps = [max(abs(a["x"] - b["x"]), abs(a["y"] - b["y"])) for a, b in watch.pairs]
    assert min(gaps) > 1e-3, "a trial was proposed on top of one still running"


# -- resources ----------------------------------------------------------------------------------
def test_trials_take_a_worker_resource_each():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=":0",
                                  resources={"GPU": 1}) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        def run(options, n):
            return hpcore.TuningJob(where_and_when, SPACE, objective="loss", strategy="random", max_trials=n,
                                    max_parallel=2, seed=0, progress=False, executor="dask",
                                    executor_options={"client": client, **options}).run()

        gpu = run({"resources": {"GPU": 1}}, 3)
        free = run({}, 2)
    spans = sorted((t.metrics["started"], t.metrics["ended"]) for t in gpu.trials)
    assert gpu.counts() == {"completed": 3}
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])), "one GPU, two trials on it"
    (a_start, a_end), (b_start, b_end) = sorted((t.metrics["started"], t.metrics["ended"]) for t in free.trials)
    assert b_start < a_end  # without the resource both worker threads run a trial at once


# -- faults -------------------------------------------------------------------------------------
def test_a_killed_worker_is_one_crash_and_the_trial_reruns_elsewhere(client, tmp_path):
    db = str(tmp_path / "k.db")
    result = hpcore.TuningJob(dies_mid_trial, SPACE, objective="loss", strategy="random", max_trials=4,
                              max_parallel=2, crash_retries=1, seed=0, progress=False, store=db,
                              executor="dask", executor_options={"client": client}).run()
    by_id = {t.id: t for t in result.trials}
    assert sorted(by_id) == [0, 1, 2, 3]
    assert [(i, by_id[i].state, by_id[i].attempt) for i in (0, 1, 3)] == \
        [(0, TrialState.COMPLETED, 0), (1, TrialState.COMPLETED, 1), (3, TrialState.COMPLETED, 0)]
    # Killed on both of its attempts: two crashes, crash_retries=1 spent, then failed.
    assert (by_id[2].state, by_id[2].attempt) == (TrialState.FAILED, 1)
    assert "Dask worker" in by_id[2].error and "died" in by_id[2].error
    store = Store(db, read_only=True)
    reports = store.reports("default")
    store.close()
    assert sorted((t, a) for t, a, _, _ in reports if t in (0, 1, 3)) == [(0, 0), (1, 1), (3, 0)]
    _healthy(client)


def test_a_lost_worker_mid_trial_reruns_the_trial_from_its_checkpoint(client, tmp_path):
    db = str(tmp_path / "k.db")
    result = hpcore.TuningJob(checkpointed_dies_once, SPACE, objective="loss", strategy="random", max_trials=2,
                              max_parallel=2, seed=0, progress=False, store=db, executor="dask",
                              executor_options={"client": client}).run()
    trial = result.trials[0]
    assert (trial.state, trial.attempt) == (TrialState.COMPLETED, 1)  # a crash rerun: max_retries is 0
    assert steps_run(trial.artifact_dir) == list(range(1, 7)) + list(range(5, 21))  # from the checkpoint at 4
    assert [s for s, _ in hpcore.TuningResult.from_store(db).curves[0]] == list(range(1, 21))
    assert trial.value == sum(trial.params["x"] / s for s in range(1, 21))
    _healthy(client)


def test_a_hanging_trial_times_out_and_its_worker_is_freed(own_cluster):
    _, client = own_cluster
    _healthy(client)
    # The timeout leaves the quick trial (x=0) ample time even on a loaded machine.
    result = hpcore.TuningJob(hangs_when_large, SPACE, strategy="grid", strategy_options={"resolution": 2},
                              max_trials=2, max_parallel=2, trial_timeout=8, progress=False,
                              executor="dask", executor_options={"client": client}).run()
    states = {t.params["x"]: t.state for t in result.trials}
    assert states == {0.0: TrialState.COMPLETED, 1.0: TrialState.TIMED_OUT}
    error = result.trials[1].error
    assert "trial_timeout=8" in error and "restarted" in error
    hung = re.search(r"Dask worker (\S+) was restarted", error).group(1)
    _healthy(client)
    workers = list(client.scheduler_info()["workers"])
    assert hung not in workers  # a fresh worker process took its place, instead of a thread asleep for 60 s
    futures = [client.submit(time.sleep, 0.1, workers=[w], pure=False) for w in workers]
    assert [f.result(timeout=120) for f in futures] == [None] * len(futures)


def test_an_unreachable_scheduler_is_a_clear_error_in_bounded_time():
    job = hpcore.TuningJob(quadratic, SPACE, objective="loss", strategy="random", max_trials=1, progress=False,
                           executor="dask", executor_options={"address": "tcp://127.0.0.1:9", "connect_timeout": 2})
    t0 = time.monotonic()
    with pytest.raises(hpcore.ConfigError, match="tcp://127.0.0.1:9") as err:
        job.run()
    assert time.monotonic() - t0 < 30
    assert "no Dask scheduler answered" in str(err.value)


def test_a_function_that_cannot_be_pickled_is_named(client):
    lock = threading.Lock()

    def holds_a_lock(params):
        with lock:
            return params["x"]

    job = hpcore.TuningJob(holds_a_lock, SPACE, strategy="random", max_trials=1, progress=False,
                           executor="dask", executor_options={"client": client})
    with pytest.raises(hpcore.ConfigError, match="holds_a_lock.*cannot be pickled"):
        job.run()


def test_a_function_the_workers_cannot_import_is_named(client, tmp_path, monkeypatch):
    (tmp_path / "only_here.py").write_text("def train(params):\n    return params['x']\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # the controller sees the module; the workers do not
    from only_here import train

    job = hpcore.TuningJob(train, SPACE, strategy="random", max_trials=1, progress=False,
                           executor="dask", executor_options={"client": client})
    with pytest.raises(hpcore.ConfigError) as err:
        job.run()
    assert "only_here:train" in str(err.value) and "cannot be loaded on the Dask worker" in str(err.value)
    assert "No module named 'only_here'" in str(err.value)


SCRIPT = textwrap.dedent('''
    import sys
    import hpcore
    from trainfns import slow_steps

    if __name__ == "__main__":
        space = hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0)})
        job = hpcore.TuningJob(slow_steps, space, objective="loss", strategy="random", max_trials=6,
                               max_parallel=2, seed=11, store=sys.argv[1], progress=False, executor="dask")
        print(job.run().summary())
''')


def test_controller_killed_mid_job_resumes_on_the_same_store(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    db = str(tmp_path / "t.db")
    env = dict(os.environ, PYTHONPATH=TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, str(script), db], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    before = kill_mid_job(proc, db, timeout=90)  # the controller, its LocalCluster and its workers
    done_before = {i: t for i, t in before.items() if t.state.finished}
    interrupted = [i for i, t in before.items() if not t.state.finished]
    assert len(done_before) >= 2 and interrupted

    out = subprocess.run([sys.executable, str(script), db], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    store = Store(db, read_only=True)
    after = {t.id: t for t in store.trials("default")}
    reports = store.reports("default")
    store.close()
    assert sorted(after) == list(range(6))  # none duplicated, none lost
    assert all(t.state is TrialState.COMPLETED for t in after.values())
    for i, t in done_before.items():
        assert (after[i].params, after[i].value, after[i].finished) == (t.params, t.value, t.finished)
    for i in interrupted:
        assert after[i].params == before[i].params
        steps = [s for trial, _, s, _ in reports if trial == i]
        assert steps == sorted(set(steps)) and steps[0] == 1


def test_hpcore_and_the_dask_plugin_load_without_importing_distributed():
    code = ("import sys, hpcore\n"
            "from hpcore import plugins\n"
            "assert plugins.lookup('executors', 'dask').__name__ == 'DaskExecutor'\n"
            "assert not {'dask', 'distributed'} & set(sys.modules), 'dask imported eagerly'\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


EXTERNAL = textwrap.dedent('''
    import sys
    import hpcore
    from test_executor_dask import reports_slowly

    if __name__ == "__main__":
        job = hpcore.TuningJob(reports_slowly, {"x": hpcore.Float(0.0, 1.0)}, objective="loss", strategy="random",
                               max_trials=1, progress=False, executor="dask",
                               executor_options={"address": sys.argv[1]})
        job.run()
''')


def test_a_dead_controller_frees_the_workers_of_an_external_cluster(own_cluster, tmp_path):
    cluster, client = own_cluster
    _healthy(client)
    script = tmp_path / "ctl.py"
    script.write_text(EXTERNAL)
    env = dict(os.environ, PYTHONPATH=TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, str(script), cluster.scheduler_address], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert wait_until(lambda: _executing(client) or proc.poll() is not None, 120) and proc.poll() is None, \
            "the controller did not start its trial"
        assert _executing(client) == 1
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    # The trial would report for 100 s more.
    assert wait_until(lambda: _executing(client) == 0, 90), "the orphaned trial still holds its worker"


def test_the_auto_stopper_stops_trials_running_on_the_workers(client):
    result = hpcore.TuningJob(slow_steps, SPACE, objective="loss", strategy="random", early_stopping="auto",
                              max_trials=10, max_parallel=2, seed=5, progress=False,
                              executor="dask", executor_options={"client": client}).run()
    stopped = [t for t in result.trials if t.state is TrialState.STOPPED]
    assert stopped and all(t.reason.startswith("auto: probability") and t.step < 20 for t in stopped)
    completed = [t for t in result.trials if t.state is TrialState.COMPLETED]
    assert len(completed) >= 3 and result.best.value == min(t.value for t in completed)
