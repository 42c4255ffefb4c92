"""Tuning jobs in process: results, criteria, bad input, resume, hooks."""

import math
import os
import stat

import pytest

import hpcore
from hpcore import Float, Int, SearchSpace, TrialState

from trainfns import fails_for_large_x, flaky, quadratic, returns_accuracy_only, returns_nan

SPACE = SearchSpace({"x": Float(0.0, 1.0)})


def job(train=quadratic, **kw):
    kw.setdefault("objective", "loss")
    kw.setdefault("strategy", "random")
    kw.setdefault("seed", 0)
    kw.setdefault("progress", False)
    return hpcore.TuningJob(train, kw.pop("space", SPACE), **kw)


def test_runs_the_budget_and_finds_the_best_trial():
    result = job(max_trials=12).run()
    assert len(result.trials) == 12 and result.counts() == {"completed": 12}
    losses = [t.value for t in result.trials]
    assert result.best.value == min(losses)
    assert result.best.params["x"] == pytest.approx(result.trials[losses.index(min(losses))].params["x"])
    assert result.best.metrics["epochs"] == 3 and result.best.step == 3
    assert "max_trials=12 reached" in result.end_reason


def test_dataframe_has_one_row_per_trial_with_params_state_and_metrics(tmp_path):
    pd = pytest.importorskip("pandas")
    result = job(max_trials=4).run()
    df = result.dataframe()
    assert isinstance(df, pd.DataFrame) and len(df) == 4
    assert {"trial", "state", "value", "x", "metric_loss", "duration", "retries"} <= set(df.columns)
    result.to_csv(tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().count("\n") == 5


def test_a_number_returned_is_the_objective_and_maximize_picks_the_largest():
    space = SearchSpace({"x": Float(-1, 1)})
    result = job(lambda p: 1 - p["x"] ** 2, space=space, objective="score", direction="maximize",
                 max_trials=10).run()
    assert result.best.value == max(t.value for t in result.trials)


def test_a_trial_that_raises_is_failed_with_its_traceback_and_the_job_goes_on():
    result = job(fails_for_large_x, max_trials=10).run()
    failed = [t for t in result.trials if t.state is TrialState.FAILED]
    assert failed and len(failed) < 10
    assert all("ValueError" in t.error and "too large" in t.error for t in failed)
    assert all(t.params["x"] > 0.5 for t in failed)
    assert result.best.params["x"] <= 0.5


def test_missing_objective_fails_the_trial_listing_the_metrics_it_gave():
    result = job(returns_accuracy_only, max_trials=2).run()
    assert result.counts() == {"failed": 2}
    msg = result.trials[0].error
    assert "objective 'loss' is missing" in msg and "accuracy, f1" in msg


def test_nan_objective_fails_the_trial_with_that_reason():
    result = job(returns_nan, max_trials=2).run()
    assert result.counts() == {"failed": 2}
    assert "not finite" in result.trials[0].error and result.best_or_none is None


def test_objective_taken_from_the_last_report_when_nothing_is_returned():
    def train(params, reporter):
        for step in range(1, 4):
            reporter.report(step, loss=params["x"] * step)

    result = job(train, max_trials=3).run()
    assert all(t.value == pytest.approx(3 * t.params["x"]) for t in result.trials)


def test_retries_run_a_failed_trial_again_with_the_same_parameters(tmp_path, monkeypatch):
    monkeypatch.setenv("HPCORE_TEST_DIR", str(tmp_path))
    result = job(flaky, objective="objective", max_trials=3, max_retries=1).run()
    assert result.counts() == {"completed": 3}
    assert all(t.attempt == 1 for t in result.trials)
    monkeypatch.setenv("HPCORE_TEST_DIR", str(tmp_path / "fresh"))
    os.mkdir(tmp_path / "fresh")
    no_retry = job(flaky, objective="objective", max_trials=3, seed=1, fail_fast=None).run()
    assert no_retry.counts() == {"failed": 3}


def test_target_value_ends_the_job_early():
    result = job(lambda p: p["x"], objective="v", max_trials=200, target=0.05).run()
    assert len(result.trials) < 200 and result.best.value <= 0.05
    assert "target v=0.05 reached" in result.end_reason


def test_best_not_improving_for_n_trials_ends_the_job():
    result = job(lambda p: 1.0, objective="v", max_trials=100, max_trials_without_improvement=5).run()
    assert len(result.trials) == 6 and "not improved for 5 trials" in result.end_reason


def test_max_runtime_stops_starting_trials_and_asks_running_ones_to_stop():
    def slow(params, reporter):
        for step in range(1, 1000):
            if reporter.report(step, loss=params["x"]):
                return None
            import time

            time.sleep(0.01)

    result = job(slow, max_trials=50, max_runtime=0.3).run()
    assert len(result.trials) == 1
    assert result.trials[0].state is TrialState.STOPPED and "max_runtime" in result.trials[0].reason


def test_same_seed_gives_the_same_trials():
    a = [t.params for t in job(max_trials=5, seed=7).run().trials]
    b = [t.params for t in job(max_trials=5, seed=7).run().trials]
    c = [t.params for t in job(max_trials=5, seed=8).run().trials]
    assert a == b and a != c


def test_resume_keeps_finished_trials_and_extends_the_budget(tmp_path):
    store = str(tmp_path / "t.db")
    first = job(max_trials=4, store=store).run()
    again = job(max_trials=4, store=store).run()
    assert [t.params for t in again.trials] == [t.params for t in first.trials]  # nothing re-run
    more = job(max_trials=7, store=store).run()
    assert len(more.trials) == 7 and [t.id for t in more.trials] == list(range(7))
    uninterrupted = job(max_trials=7, store=str(tmp_path / "u.db")).run()
    assert [t.params for t in more.trials] == [t.params for t in uninterrupted.trials]


def test_resume_refuses_a_different_space_and_names_the_difference(tmp_path):
    store = str(tmp_path / "t.db")
    job(max_trials=2, store=store).run()
    other = SearchSpace({"x": Float(0.0, 2.0), "y": Int(1, 3)})
    with pytest.raises(hpcore.StoreError) as err:
        job(max_trials=2, store=store, space=other).run()
    msg = str(err.value)
    assert "'x' changed" in msg and "'y' is new" in msg and "name=" in msg
    with pytest.raises(hpcore.StoreError, match="direction changed"):
        job(max_trials=2, store=store, direction="maximize").run()
    assert len(job(max_trials=2, store=store, name="second", space=other).run().trials) == 2


def test_a_store_that_cannot_be_written_is_a_clear_error(tmp_path):
    if os.geteuid() == 0:
        target = "/proc/hpcore-cannot-write/t.db"
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
        target = str(ro / "t.db")
    with pytest.raises(hpcore.StoreError, match="cannot write the store .*choose a writable file"):
        job(max_trials=1, store=target).run()


@pytest.mark.parametrize("kw, words", [
    ({"max_trials": 0}, "max_trials=0"),
    ({"max_parallel": -1}, "max_parallel=-1"),
    ({"max_retries": -1}, "max_retries=-1"),
    ({"objective": ""}, "objective=''"),
    ({"max_runtime": 0}, "max_runtime=0"),
    ({"warm_start_type": "clone"}, "warm_start_type='clone'"),
])
def test_bad_job_arguments_are_named(kw, words):
    with pytest.raises(hpcore.ConfigError, match=words.replace("(", r"\(")):
        job(**kw)


def test_unknown_strategy_in_a_job_lists_the_registered_ones():
    with pytest.raises(hpcore.PluginError, match="unknown strategy 'cmaes'; registered strategies: .*random"):
        job(strategy="cmaes")


class Recorder:
    def __init__(self):
        self.calls = []

    @hpcore.hookimpl
    def hpcore_job_start(self, job):
        self.calls.append("job_start")

    @hpcore.hookimpl
    def hpcore_trial_start(self, trial):
        self.calls.append(f"trial_start {trial.id}")

    @hpcore.hookimpl
    def hpcore_trial_report(self, trial, step, stop):
        self.calls.append(f"report {trial.id}:{step}")

    @hpcore.hookimpl
    def hpcore_trial_finish(self, record):
        self.calls.append(f"finish {record.id} {record.state}")

    @hpcore.hookimpl
    def hpcore_job_finish(self, result):
        self.calls.append(f"job_finish {len(result.trials)}")


def test_lifecycle_hooks_are_called_in_order():
    rec = Recorder()
    name = hpcore.plugins.register(rec)
    try:
        job(max_trials=2).run()
    finally:
        hpcore.plugins.unregister(name)
    assert rec.calls == ["job_start",
                         "trial_start 0", "report 0:1", "report 0:2", "report 0:3", "finish 0 completed",
                         "trial_start 1", "report 1:1", "report 1:2", "report 1:3", "finish 1 completed",
                         "job_finish 2"]


def test_reports_must_carry_numbers():
    def bad(params, reporter):
        reporter.report(1, loss="low")

    result = job(bad, max_trials=1).run()
    assert "metric loss='low' is not a number" in result.trials[0].error


def test_progress_bar_shows_best_value(capsys):
    job(max_trials=3, progress=True).run()
    err = capsys.readouterr().err
    assert "3/3" in err and "best loss=" in err


def test_warm_start_identical_feeds_earlier_trials_to_the_strategy(tmp_path):
    store = str(tmp_path / "parent.db")
    parent = job(max_trials=5, store=store).run()
    child = job(max_trials=2, warm_start=store, seed=3)
    child.run()
    assert len(child.strategy.observations) == 7
    assert {o.trial_id for o in child.strategy.observations[:5]} == {None}
    with pytest.raises(hpcore.ConfigError, match="optimises 'loss' \\(minimize\\)"):
        job(max_trials=1, warm_start=parent, direction="maximize").run()
    assert math.isfinite(parent.best.value)


def test_a_named_stopper_over_hyperband_warns_that_it_replaces_the_brackets():
    with pytest.warns(UserWarning, match="replaces the hyperband strategy's own stopping rule"):
        job(strategy="hyperband", strategy_options={"max_resource": 3}, early_stopping="median", max_trials=2).run()


def test_warm_start_transfer_informs_the_model_without_counting_as_trials(tmp_path):
    store = str(tmp_path / "parent.db")
    job(max_trials=6, store=store).run()
    child = job(strategy="bayesian", max_trials=3, warm_start=store, warm_start_type="transfer", seed=1)
    result = child.run()
    assert len(result.trials) == 3 and len(child.strategy.observations) == 3
    with pytest.raises(hpcore.ConfigError, match="cannot use warm_start_type='transfer'"):
        job(max_trials=1, warm_start=store, warm_start_type="transfer").run()
