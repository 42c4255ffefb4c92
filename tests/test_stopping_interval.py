"""``interval_steps``, an option of every stopper: decide once per that many steps, record every report."""

from __future__ import annotations

import pytest

import hpcore
from hpcore.errors import ConfigError
from hpcore.stopping.asha import AshaStopper
from hpcore.stopping.median import MedianStopper
from hpcore.strategies.hyperband import HyperbandStopper

GOOD = [0.5, 0.4, 0.3, 0.2, 0.1, 0.05]


def median_with_three_good_trials(**options) -> MedianStopper:
    s = MedianStopper(direction="minimize", min_trials=3, **options)
    for t in range(3):
        for step, v in enumerate(GOOD, start=1):
            assert s.report(t, step, v + 0.01 * t) is None
    return s


def first_stop(stopper, trial_id: int, reports: list[tuple[int, float]]) -> int | None:
    for step, value in reports:
        if stopper.report(trial_id, step, value) is not None:
            return step
    return None


def test_median_decides_only_every_n_steps_after_the_warm_up():
    bad = [(step, 0.9) for step in range(1, 7)]
    assert first_stop(median_with_three_good_trials(), 3, bad) == 1
    assert first_stop(median_with_three_good_trials(interval_steps=3), 3, bad) == 3
    assert first_stop(median_with_three_good_trials(interval_steps=2, warmup_steps=1), 3, bad) == 3


def test_median_records_the_reports_between_decisions():
    # Running averages of the others use their steps 1-2 even though no decision was taken there:
    # a trial good at steps 1-2 and bad at 3 has a running average below the median's.
    s = median_with_three_good_trials(interval_steps=3)
    s.report(3, 1, 0.0)
    s.report(3, 2, 0.0)
    assert s.report(3, 3, 0.9) is None  # its best so far, 0.0 at step 1, is far ahead
    t = median_with_three_good_trials(interval_steps=3)
    assert first_stop(t, 3, [(1, 0.9), (2, 0.9), (3, 0.9)]) == 3  # the same trial without its good start


def test_a_trial_reporting_every_ten_steps_is_decided_at_each_report():
    s = median_with_three_good_trials(interval_steps=5)
    for t in range(3):
        for step in range(7, 31):
            s.report(t, step, 0.05)
    assert first_stop(s, 3, [(10, 0.9), (20, 0.9)]) == 10


def test_asha_judges_a_rung_passed_between_decisions_at_the_next_one():
    s = AshaStopper(direction="minimize", min_resource=1, max_resource=9, reduction_factor=3, min_trials=3,
                    interval_steps=2)
    for t, v in enumerate([0.1, 0.2, 0.3]):
        assert s.report(t, 1, v) is None and s.report(t, 2, v) is None
    assert s.report(3, 1, 0.9) is None  # step 1: no decision
    reason = s.report(3, 2, 0.9)
    assert reason is not None and "rung 1 (step 1)" in reason and "at step 2" in reason


def test_hyperband_takes_interval_steps_too():
    s = HyperbandStopper(direction="minimize", min_resource=1, max_resource=9, interval_steps=4)
    assert s.interval_steps == 4 and [s.checks(0, k) for k in (1, 4, 5, 8)] == [False, True, False, True]


@pytest.mark.parametrize("stopper", ["median", "asha"])
@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_a_bad_interval_names_the_option(stopper, bad):
    with pytest.raises(ConfigError, match=rf"{stopper} stopper: interval_steps=.*at least 1"):
        hpcore.TuningJob(lambda p: p["x"], {"x": hpcore.Float(0, 1)}, early_stopping=stopper,
                         stopper_options={"interval_steps": bad}, progress=False)


def test_a_job_with_interval_steps_stops_only_at_decision_steps():
    def train(params, reporter):
        for step in range(1, 13):
            if reporter.report(step, loss=params["x"] + 1.0 / step):
                return

    job = hpcore.TuningJob(train, {"x": hpcore.Float(0.0, 1.0)}, objective="loss", strategy="random", max_trials=12,
                           early_stopping="median", stopper_options={"interval_steps": 4, "min_trials": 2}, seed=1,
                           progress=False)
    result = job.run()
    stopped = [t.step for t in result.trials if t.state.value == "stopped"]
    assert stopped and all(step % 4 == 0 for step in stopped), stopped
