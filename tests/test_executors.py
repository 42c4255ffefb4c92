"""Executors: the contract suite over each, and what only worker processes can do.

Nothing here depends on how fast the machine is: trials meet through files rather than timing, and
timeouts leave quick trials ample time.
"""

import os
import time

import pytest

import hpcore
from hpcore import Float, SearchSpace, TrialState
from hpcore.executors.inprocess import InProcessExecutor
from hpcore.executors.processes import ProcessExecutor

import executor_contract as contract
from trainfns import dies_once, fails_for_large_x, hangs_when_large, meets_its_partner, quadratic

EXECUTORS = {
    "inprocess": lambda: InProcessExecutor(),
    "process": lambda: ProcessExecutor(max_parallel=2, start_method="spawn"),
}


@pytest.mark.parametrize("name", sorted(EXECUTORS))
def test_contract_result_and_reports(name):
    contract.check_result_and_reports(EXECUTORS[name], quadratic)


@pytest.mark.parametrize("name", sorted(EXECUTORS))
def test_contract_stop_decision(name):
    contract.check_stop_decision_reaches_the_trial(EXECUTORS[name], quadratic)


@pytest.mark.parametrize("name", sorted(EXECUTORS))
def test_contract_errors(name):
    contract.check_errors_come_back_with_their_traceback(EXECUTORS[name], fails_for_large_x)


SPACE = SearchSpace({"x": Float(0.0, 1.0)})


def test_parallel_trials_run_side_by_side_in_workers_with_their_thread_caps(tmp_path, monkeypatch):
    monkeypatch.setenv("HPCORE_TEST_DIR", str(tmp_path))
    job = hpcore.TuningJob(meets_its_partner, SPACE, objective="loss", strategy="random", max_trials=4,
                           max_parallel=2, seed=0, progress=False, executor_options={"threads": 1})
    result = job.run()
    assert result.counts() == {"completed": 4}
    assert all(t.metrics["met"] for t in result.trials)  # each ran while its partner ran
    pids = {t.metrics["pid"] for t in result.trials}
    assert len(pids) == 2 and os.getpid() not in pids
    assert {t.metrics["threads"] for t in result.trials} == {"1"}


def test_a_killed_worker_is_not_the_trials_fault_it_reruns_on_a_fresh_worker(tmp_path, monkeypatch):
    monkeypatch.setenv("HPCORE_TEST_DIR", str(tmp_path))
    result = hpcore.TuningJob(dies_once, SPACE, strategy="random", max_trials=3, max_parallel=2, max_retries=0,
                              seed=0, progress=False).run()  # crash_retries=3 by default, max_retries untouched
    assert result.counts() == {"completed": 3}
    assert all(t.attempt == 1 for t in result.trials)
    without = hpcore.TuningJob(dies_once, SPACE, strategy="random", max_trials=2, max_parallel=2, seed=5,
                               crash_retries=0, max_retries=5, progress=False)
    monkeypatch.setenv("HPCORE_TEST_DIR", str(tmp_path / "b"))
    os.mkdir(tmp_path / "b")
    res = without.run()
    assert res.counts() == {"failed": 2}
    assert "worker process running the trial died (exit code -9)" in res.trials[0].error


def test_a_hanging_trial_is_killed_at_its_timeout_and_recorded_as_timed_out():
    result = hpcore.TuningJob(hangs_when_large, SPACE, strategy="grid", strategy_options={"resolution": 2},
                              max_trials=2, max_parallel=2, trial_timeout=5, progress=False).run()
    states = {t.params["x"]: t.state for t in result.trials}
    assert states == {0.0: TrialState.COMPLETED, 1.0: TrialState.TIMED_OUT}
    assert "trial_timeout=5" in result.trials[1].error


def test_cooperative_timeout_in_process():
    def slow(params, reporter):
        for step in range(1, 200):
            time.sleep(0.01)
            if reporter.report(step, loss=params["x"]):
                break
        return {"loss": params["x"]}

    result = hpcore.TuningJob(slow, SPACE, objective="loss", strategy="random", max_trials=1, trial_timeout=0.2,
                              progress=False).run()
    assert result.trials[0].state is TrialState.TIMED_OUT and result.trials[0].step < 199


def test_a_function_that_cannot_be_pickled_is_named():
    def local_train(params):
        return params["x"]

    job = hpcore.TuningJob(local_train, SPACE, strategy="random", max_trials=2, max_parallel=2, progress=False)
    with pytest.raises(hpcore.ConfigError) as err:
        job.run()
    msg = str(err.value)
    assert "local_train" in msg and "cannot be sent to worker processes" in msg and "module level" in msg


def test_inprocess_executor_refuses_parallel_trials():
    with pytest.raises(hpcore.ConfigError, match="use executor='process'"):
        hpcore.TuningJob(quadratic, SPACE, max_parallel=2, executor="inprocess", strategy="random").run()
