"""Stopped trials reach the strategy at their estimated final values, in a run and after a resume alike."""

from __future__ import annotations

import math

import pytest

import hpcore
from hpcore.fidelity import FinalEstimate
from hpcore.trial import TrialState


def test_the_estimate_adds_the_median_gain_of_the_completed_curves_from_that_step():
    fe = FinalEstimate(min_curves=3)
    for t, (final, speed) in enumerate([(0.2, 0.5), (0.3, 0.5), (0.25, 0.2)]):
        for step in range(1, 11):
            fe.report(t, step, final + math.exp(-speed * step))
        fe.finish(t, TrialState.STOPPED if t == 2 else TrialState.COMPLETED)
    assert fe.final(9, 3, 0.8) == 0.8  # two completed curves only: told as it is
    fe.report(2, 11, 0.26)
    fe.finish(3, TrialState.COMPLETED)  # a trial with no reports is no reference
    for step in range(1, 11):
        fe.report(4, step, 0.4 + math.exp(-0.3 * step))
    fe.finish(4, TrialState.COMPLETED)
    gains = sorted(math.exp(-s * 10) - math.exp(-s * 3) for s in (0.5, 0.5, 0.3))
    assert fe.final(9, 3, 0.8) == pytest.approx(0.8 + gains[1])
    assert fe.final(9, 10, 0.8) == 0.8  # no completed curve went beyond step 10
    assert fe.final(9, None, 0.8) == 0.8 and math.isnan(fe.final(9, 3, math.nan))


def train(params, reporter):
    loss = math.nan
    for step in range(1, 10):
        loss = (params["x"] - 0.3) ** 2 + 1.0 / step
        if reporter.report(step, loss=loss):
            break
    return loss


def observed(job):
    return {o.trial_id: (o.state, round(o.loss, 12)) for o in job.strategy.observations}


def test_a_resumed_job_tells_its_strategy_the_same_estimates(tmp_path):
    store = str(tmp_path / "t.db")

    def job(n):
        return hpcore.TuningJob(train, {"x": hpcore.Float(0.0, 1.0)}, objective="loss", strategy="bayesian",
                                early_stopping="median", stopper_options={"min_trials": 2}, max_trials=n, seed=4,
                                store=store if n < 99 else None, progress=False)

    whole = job(99)
    whole.max_trials = 14
    result = whole.run()
    stopped = [t for t in result.trials if t.state is TrialState.STOPPED]
    assert stopped
    first = job(14)
    first.run()
    again = job(14)
    again.run()  # nothing left to run: the strategy is rebuilt from the store
    assert observed(again) == observed(first) == observed(whole)
    assert any(observed(whole)[t.id][1] != round(t.value, 12) for t in stopped)  # estimates, not raw values
