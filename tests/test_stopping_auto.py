"""The ``auto`` stopper, decision by decision on constructed curves, and in real jobs."""

from __future__ import annotations

import math

import pytest

import hpcore
from hpcore.errors import ConfigError
from hpcore.stopping.auto import AutoStopper
from hpcore.trial import TrialState

STEPS = 20


def exp_curve(final: float, speed: float, start: float = 1.0):
    return lambda step: final + (start - final) * math.exp(-speed * step)


def complete(s: AutoStopper, trial_id: int, curve, steps: int = STEPS) -> None:
    """A trial that ran to the end (a job would have stopped it if the stopper said so: not here)."""
    for step in range(1, steps + 1):
        s.report(trial_id, step, curve(step))
    s.finish(trial_id, TrialState.COMPLETED, curve(steps))


def first_stop(s: AutoStopper, trial_id: int, curve, steps: int = STEPS) -> int | None:
    for step in range(1, steps + 1):
        if s.report(trial_id, step, curve(step)) is not None:
            return step
    return None


def with_references(direction: str = "minimize", **options) -> AutoStopper:
    """Three finished trials: fast learners ending at 0.30, 0.25 and 0.20."""
    s = AutoStopper(direction=direction, **options)
    for t, final in enumerate((0.30, 0.25, 0.20)):
        complete(s, t, exp_curve(final, 0.5))
    return s


def test_it_never_acts_before_min_trials_have_run_to_the_end():
    s = AutoStopper(min_trials=3)
    complete(s, 0, exp_curve(0.2, 0.5))
    complete(s, 1, exp_curve(0.25, 0.5))
    hopeless = exp_curve(0.9, 0.5, start=2.0)
    assert first_stop(s, 2, hopeless) is None  # two references only
    s.finish(2, TrialState.COMPLETED, hopeless(STEPS))
    assert first_stop(s, 3, hopeless) is not None


def test_a_plateau_far_behind_is_stopped_after_the_warm_up():
    s = with_references(min_trials=3, warmup=0.2)
    step = first_stop(s, 3, exp_curve(0.9, 0.5, start=2.0))
    assert step == 5  # the first step past 20% of the 20 steps


def test_a_slow_starter_still_falling_fast_is_not_stopped():
    # For 7 steps it is behind every reference, but it is still falling fast: it ends at 0.11.
    s = with_references(min_trials=3, warmup=0.1)
    slow = exp_curve(0.10, 0.25, start=1.5)
    assert all(slow(k) > 0.3 for k in range(1, 8))
    assert first_stop(s, 3, slow) is None


def test_a_trial_like_a_reference_that_ended_best_is_kept():
    # A slow reference that ended best: a trial whose start looks like its start is kept.
    s = with_references(min_trials=3, warmup=0.1)
    late = lambda step: 0.15 + 1.2 / (1.0 + math.exp((step - 8) / 1.5))  # noqa: E731  (flat, then falls)
    complete(s, 3, late)
    assert first_stop(s, 4, lambda step: late(step) - 0.01) is None
    # The same start without a reference like it is stopped while it is flat.
    t = with_references(min_trials=3, warmup=0.1)
    assert first_stop(t, 4, lambda step: late(step) - 0.01) is not None


def test_maximize_mirrors_minimize():
    lo = with_references("minimize", min_trials=3)
    hi = AutoStopper(direction="maximize", min_trials=3)
    for t, final in enumerate((0.30, 0.25, 0.20)):
        complete(hi, t, lambda step, f=final: -exp_curve(f, 0.5)(step))
    bad = exp_curve(0.9, 0.5, start=2.0)
    assert first_stop(lo, 3, bad) == first_stop(hi, 3, lambda step: -bad(step)) is not None


def test_it_never_acts_at_the_last_step_or_on_values_that_are_not_finite():
    s = with_references(min_trials=3)
    assert s.report(3, 1, 5.0) is None
    assert s.report(3, 3, math.nan) is None and s.report(3, 4, math.inf) is None
    s2 = with_references(min_trials=3)
    assert s2.report(3, STEPS, 9.0) is None  # a full run: nothing left to save


def test_decisions_replay_identically():
    def decisions():
        s = with_references(min_trials=3)
        return [s.report(3, k, exp_curve(0.5, 0.3)(k)) for k in range(1, STEPS + 1)]

    assert decisions() == decisions()


@pytest.mark.parametrize("option, value", [("threshold", 0), ("threshold", 1.5), ("min_trials", 0),
                                           ("warmup", 1.0), ("window", 0), ("bandwidth", 0)])
def test_bad_options_name_themselves(option, value):
    with pytest.raises(ConfigError, match=rf"auto stopper: {option}="):
        AutoStopper(**{option: value})


def steps_train(params, reporter):
    for step in range(1, STEPS + 1):
        loss = params["x"] + (1.0 + params["x"]) * math.exp(-0.4 * step)
        if reporter.report(step, loss=loss):
            return


@pytest.mark.parametrize("executor", ["inprocess", "process"])
def test_a_job_with_auto_stops_hopeless_trials_and_keeps_the_best(executor):
    space = {"x": hpcore.Float(0.0, 1.0)}
    none = hpcore.TuningJob(steps_train, space, objective="loss", strategy="random", max_trials=16, seed=2,
                            progress=False).run()
    job = hpcore.TuningJob(steps_train, space, objective="loss", strategy="random", max_trials=16, seed=2,
                           early_stopping="auto", executor=executor, max_parallel=1, progress=False)
    result = job.run()
    stopped = [t for t in result.trials if t.state.value == "stopped"]
    assert stopped and all("auto: probability" in t.reason for t in stopped)
    assert result.best.params == none.best.params
    assert sum(t.step for t in result.trials) < 0.7 * sum(t.step for t in none.trials)


def test_auto_through_the_xgboost_callback_counts_rounds():
    np = pytest.importorskip("numpy")
    xgb = pytest.importorskip("xgboost")
    from hpcore_xgboost import TuningCallback

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 5))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(0, 0.5, 400) > 0).astype(float)
    dtrain, dvalid = xgb.DMatrix(x[:300], label=y[:300]), xgb.DMatrix(x[300:], label=y[300:])

    def train(params, reporter):
        xgb.train({"objective": "binary:logistic", "eval_metric": "logloss", "nthread": 1, "eta": params["eta"],
                   "max_depth": 2}, dtrain, 30, evals=[(dvalid, "validation")], verbose_eval=False,
                  callbacks=[TuningCallback(monitor="validation-logloss", save_model=False, interval=2)])

    result = hpcore.TuningJob(train, {"eta": hpcore.Float(0.001, 0.5, scale="log")}, objective="validation-logloss",
                              strategy="random", early_stopping="auto", max_trials=12, seed=0, progress=False).run()
    stopped = [t for t in result.trials if t.state.value == "stopped"]
    assert stopped and all(t.reason.startswith("auto:") and t.step % 2 == 0 and 4 < t.step < 30 for t in stopped)
    assert all(t.step == 30 for t in result.trials if t.state.value == "completed")


def test_a_noisy_slow_learner_is_not_read_as_levelling_off():
    # Its first three values fall by 0.115 then 0.079: read without the noise (sd 0.006), the
    # ratio 0.69 projects it to end near 0.5, behind the best reference (0.29); it ends at 0.23.
    s = AutoStopper(min_trials=3, warmup=0.1)
    jitter = [0.006, -0.006, 0.004, -0.004, 0.0, 0.005, -0.005, 0.003, -0.003, 0.0] * 2
    for t, final in enumerate((0.29, 0.32, 0.35)):
        complete(s, t, lambda step, f=final: f + 0.6 * math.exp(-0.5 * step) + jitter[step - 1])
    for step, value in enumerate((0.87, 0.755, 0.676), start=1):
        assert s.report(3, step, value) is None
