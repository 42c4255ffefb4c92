"""Early stopping inside tuning jobs: steps saved, worker processes, bad reports, hooks and resume."""

from __future__ import annotations

import math
import os
import signal
import time
import warnings
from typing import Any

import pytest

import hpcore
from hpcore import plugins
from hpcore.stopping.basic import Stopper
from hpcore.trial import TrialState

STEPS = 9
SPACE = hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0)})


def curve(x: float, step: int) -> float:
    """A loss curve: every step lowers it, and a smaller ``x`` is lower at every step."""
    return x + 1.0 / step


def train_min(params: dict[str, Any], reporter: hpcore.Reporter) -> dict[str, float]:
    loss = math.nan
    for step in range(1, STEPS + 1):
        loss = curve(params["x"], step)
        if reporter.report(step, loss=loss):
            break
    return {"loss": loss}


def train_max(params: dict[str, Any], reporter: hpcore.Reporter) -> dict[str, float]:
    acc = math.nan
    for step in range(1, STEPS + 1):
        acc = -curve(params["x"], step)
        if reporter.report(step, acc=acc):
            break
    return {"acc": acc}


def run(direction: str, early_stopping: str = "none", strategy: str = "grid", **kw: Any) -> hpcore.TuningResult:
    train, objective = (train_min, "loss") if direction == "minimize" else (train_max, "acc")
    options = {"resolution": 12, "shuffle": True} if strategy == "grid" else {}
    options.update(kw.pop("strategy_options", {}))
    job = hpcore.TuningJob(train, SPACE, objective=objective, direction=direction, strategy=strategy,
                           early_stopping=early_stopping, max_trials=12, seed=5, progress=False,
                           strategy_options=options, **kw)
    return job.run()


def steps_used(result: hpcore.TuningResult) -> int:
    return sum(r.step or 0 for r in result.trials)


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
@pytest.mark.parametrize("rule,options,share", [("median", {"min_trials": 2}, 0.75),
                                                ("asha", {"max_resource": STEPS, "reduction_factor": 3}, 0.5)])
def test_stopping_saves_steps_without_losing_the_best(direction: str, rule: str, options: dict,
                                                      share: float) -> None:
    full = run(direction)
    stopped = run(direction, rule, stopper_options=options)
    assert steps_used(full) == 12 * STEPS
    # The best configuration is ahead at every step, so no rule may stop it: same best, same value.
    assert stopped.best.params == full.best.params and stopped.best.value == full.best.value
    assert stopped.best.state is TrialState.COMPLETED
    assert steps_used(stopped) <= share * steps_used(full)
    reasons = [r.reason for r in stopped.trials if r.state is TrialState.STOPPED]
    assert reasons and all(r.startswith(f"{rule}: ") for r in reasons)
    assert all(r.step < STEPS for r in stopped.trials if r.state is TrialState.STOPPED)


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_hyperband_strategy_brings_its_stopper(direction: str) -> None:
    full = run(direction, strategy="random")
    hb = run(direction, strategy="hyperband", strategy_options={"max_resource": STEPS})
    assert [r.params for r in hb.trials] == [r.params for r in full.trials]  # random configurations
    assert steps_used(hb) < steps_used(full)
    reasons = [r.reason for r in hb.trials if r.state is TrialState.STOPPED]
    assert reasons and all(r.startswith("hyperband bracket ") for r in reasons)


def train_slow(params: dict[str, Any], reporter: hpcore.Reporter) -> dict[str, float]:
    import time

    loss = math.nan
    for step in range(1, STEPS + 1):
        time.sleep(0.02)
        loss = curve(params["x"], step)
        if reporter.report(step, loss=loss):
            break
    return {"loss": loss, "pid": os.getpid()}


@pytest.mark.slow
def test_worker_processes_stop_a_trial_mid_way() -> None:
    # The grid goes from the best x (0) to the worst (1): from trial 2 on, each trial is worse than
    # both trials that reached step 2 before it, so the median rule stops it at step 2.
    job = hpcore.TuningJob(train_slow, SPACE, objective="loss", strategy="grid", early_stopping="median",
                           stopper_options={"min_trials": 2, "warmup_steps": 1}, max_trials=5, max_parallel=2,
                           executor="process", strategy_options={"resolution": 5}, seed=0, progress=False)
    result = job.run()
    pids = {r.metrics.get("pid") for r in result.trials}
    assert os.getpid() not in pids and len(pids - {None}) >= 1
    stopped = [r for r in result.trials if r.state is TrialState.STOPPED]
    assert stopped and all(1 < r.step < STEPS for r in stopped)
    assert all(r.reason.startswith("median: best ") for r in stopped)
    assert result.trials[0].state is TrialState.COMPLETED and result.trials[0].step == STEPS


class Recording(Stopper):
    """Stops at step 4; records every call so a test can see what reached the stopper."""

    name = "recording"
    calls: list[tuple[Any, ...]] = []

    def report(self, trial_id: int, step: int, value: float) -> str | None:
        Recording.calls.append(("report", trial_id, step, value))
        return "recording: step 4" if step >= 4 else None

    def finish(self, trial_id: int, state: TrialState, value: float | None) -> None:
        Recording.calls.append(("finish", trial_id, str(state), value))


class RecordingPlugin:
    """Registers the recording stopper and records the lifecycle hooks in order."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    @hpcore.hookimpl
    def hpcore_add_stoppers(self) -> dict[str, Any]:
        return {"recording": Recording}

    @hpcore.hookimpl
    def hpcore_job_start(self, job: Any) -> None:
        self.events.append(("job_start",))

    @hpcore.hookimpl
    def hpcore_trial_start(self, trial: Any) -> None:
        self.events.append(("trial_start", trial.id))

    @hpcore.hookimpl
    def hpcore_trial_report(self, trial: Any, step: int, stop: bool) -> None:
        self.events.append(("trial_report", trial.id, step, stop))

    @hpcore.hookimpl
    def hpcore_trial_finish(self, record: Any) -> None:
        self.events.append(("trial_finish", record.id, str(record.state), record.step, record.reason))

    @hpcore.hookimpl
    def hpcore_job_finish(self, result: Any) -> None:
        self.events.append(("job_finish", len(result.trials)))


@pytest.fixture
def recorder() -> Any:
    plugin = RecordingPlugin()
    plugins.register(plugin, name="test-stopping-recorder")
    Recording.calls = []
    yield plugin
    plugins.unregister(plugin)


def train_bad_reports(params: dict[str, Any], reporter: hpcore.Reporter) -> float:
    reporter.report(1, loss=1.0)
    reporter.report(2, loss=0.9)
    reporter.report(2, loss=0.1)  # duplicate step: ignored
    reporter.report(1, loss=0.1)  # going back: ignored
    reporter.report(3, loss=math.nan)  # stored, not given to the stopper
    for step in range(4, 8):
        if reporter.report(step, loss=0.5):
            return 0.5
    return 0.5


def test_bad_reports_never_reach_the_stopper(recorder: RecordingPlugin) -> None:
    job = hpcore.TuningJob(train_bad_reports, SPACE, objective="loss", strategy="random",
                           early_stopping="recording", max_trials=1, seed=0, progress=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = job.run()
    messages = " | ".join(str(w.message) for w in caught)
    assert "does not follow step 2" in messages and "not finite" in messages
    assert Recording.calls == [("report", 0, 1, 1.0), ("report", 0, 2, 0.9), ("report", 0, 4, 0.5),
                               ("finish", 0, "stopped", 0.5)]
    (record,) = result.trials
    assert (record.state, record.step, record.reason) == (TrialState.STOPPED, 4, "recording: step 4")


def train_until_told(params: dict[str, Any], reporter: hpcore.Reporter) -> float:
    loss = math.nan
    for step in range(1, 6):
        loss = 1.0 / step
        if reporter.report(step, loss=loss):
            break
    return loss


def test_hook_order_with_a_stop(recorder: RecordingPlugin) -> None:
    job = hpcore.TuningJob(train_until_told, SPACE, objective="loss", strategy="random",
                           early_stopping="recording", max_trials=2, seed=0, progress=False)
    job.run()
    per_trial = []
    for t in (0, 1):
        per_trial += [("trial_start", t)]
        per_trial += [("trial_report", t, s, s >= 4) for s in range(1, 5)]
        per_trial += [("trial_finish", t, "stopped", 4, "recording: step 4")]
    assert recorder.events == [("job_start",), *per_trial, ("job_finish", 2)]
    assert [c[0] for c in Recording.calls] == ["report"] * 4 + ["finish"] + ["report"] * 4 + ["finish"]


# -- resume after a crash ------------------------------------------------------------------------
CRASH = {"trial": None}
CROSSING = hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0), "y": hpcore.Float(0.0, 2.0)})


def train_crossing(params: dict[str, Any], reporter: hpcore.Reporter) -> float:
    """Curves that cross: a large ``y`` starts badly and ends well when ``x`` is small."""
    loss = math.nan
    for step in range(1, STEPS + 1):
        if CRASH["trial"] is not None and reporter.trial_id >= CRASH["trial"] and step == 2:
            os.kill(os.getpid(), signal.SIGINT)  # the user's Ctrl-C, mid-trial
            time.sleep(5)  # the KeyboardInterrupt arrives here
        loss = params["x"] + params["y"] * (2.0 / step - 0.3)
        if reporter.report(step, loss=loss):
            break
    return loss


def crossing_job(rule: str, direction: str, store: str | None, max_trials: int = 16) -> hpcore.TuningJob:
    strategy, options, sopts = "random", {}, {}
    if rule == "hyperband":
        strategy, options, rule = "hyperband", {"max_resource": STEPS}, "none"
    elif rule == "asha":
        sopts = {"max_resource": STEPS, "reduction_factor": 2}
    elif rule == "median-completed":  # Optuna's MedianPruner rule: needs the trials' end states on replay
        rule, sopts = "median", {"min_trials": 3, "completed_only": True, "running_average": False}
    else:
        sopts = {"min_trials": 3}
    return hpcore.TuningJob(train_crossing, CROSSING, objective="loss", direction=direction, strategy=strategy,
                            early_stopping=rule, stopper_options=sopts, strategy_options=options,
                            max_trials=max_trials, store=store, seed=11, progress=False)


def outline(result: hpcore.TuningResult) -> list[tuple[Any, ...]]:
    return [(r.id, str(r.state), r.step, r.reason, r.value) for r in sorted(result.trials, key=lambda r: r.id)]


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
@pytest.mark.parametrize("rule", ["median", "median-completed", "asha", "hyperband"])
def test_resume_after_a_crash_keeps_the_decisions(tmp_path: Any, rule: str, direction: str) -> None:
    CRASH["trial"] = None
    expected = outline(crossing_job(rule, direction, None).run())
    assert any(t[1] == "stopped" for t in expected[9:])  # the rule has decisions to get right after the crash
    store = str(tmp_path / "jobs.db")
    CRASH["trial"] = 9
    try:
        with pytest.raises(KeyboardInterrupt):
            crossing_job(rule, direction, store).run()
    finally:
        CRASH["trial"] = None
    resumed = crossing_job(rule, direction, store).run()
    assert outline(resumed) == expected
