"""The adapters' checkpoint schedule: every N reports, spaced out when checkpoints would cost too much."""

from __future__ import annotations

import time

import pytest
from hpcore_adapters import DEFAULT_BUDGET, CheckpointSchedule

import hpcore


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def reports(schedule: CheckpointSchedule, clock: Clock, n: int, seconds: float, cost: float) -> list[int]:
    """The reports (1-based) at which ``schedule`` checkpoints, each report after ``seconds`` of training."""
    done = []
    for i in range(1, n + 1):
        clock.now += seconds
        if schedule.due():
            def save() -> None:
                clock.now += cost
            schedule.timed(save)
            done.append(i)
    return done


def test_long_epochs_get_a_checkpoint_every_n_reports():
    clock = Clock()
    s = CheckpointSchedule(5, DEFAULT_BUDGET, clock=clock)
    s.begin()
    assert reports(s, clock, 20, seconds=1.0, cost=0.01) == [5, 10, 15, 20]


def test_checkpoints_that_cost_more_than_the_budget_are_spaced_out():
    clock = Clock()
    s = CheckpointSchedule(5, 0.25, clock=clock)
    s.begin()
    # 0.5 s rounds, 2.5 s checkpoints, at most a quarter of the time: one per 10 s, every 20 rounds.
    done = reports(s, clock, 100, seconds=0.5, cost=2.5)
    assert done == [5, 25, 45, 65, 85]


def test_no_budget_is_exactly_every_n_and_zero_is_never():
    clock = Clock()
    exact = CheckpointSchedule(5, None, clock=clock)
    exact.begin()
    assert reports(exact, clock, 20, seconds=0.001, cost=1.0) == [5, 10, 15, 20]
    never = CheckpointSchedule(0, None, clock=clock)
    never.begin()
    assert reports(never, clock, 20, seconds=1.0, cost=0.0) == []


def test_a_new_fit_forgets_the_last_checkpoints_cost():
    clock = Clock()
    s = CheckpointSchedule(2, 0.01, clock=clock)
    s.begin()
    assert reports(s, clock, 4, seconds=0.01, cost=1.0) == [2]
    s.begin()
    assert reports(s, clock, 4, seconds=0.01, cost=1.0) == [2]


@pytest.mark.parametrize("budget", [0, 1, 1.5, -0.1, "1%", True])
def test_a_bad_budget_names_the_argument_and_the_fix(budget):
    with pytest.raises(ValueError, match=r"checkpoint_budget=.*between 0 and 1.*or None"):
        CheckpointSchedule(5, budget)


def test_a_real_xgboost_fit_spaces_slow_checkpoints_and_still_resumes():
    np = pytest.importorskip("numpy")
    xgb = pytest.importorskip("xgboost")
    from hpcore_xgboost import TuningCallback

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    d = xgb.DMatrix(x, label=(x[:, 0] > 0).astype(float), nthread=1)
    params = {"objective": "binary:logistic", "nthread": 1, "max_depth": 2}

    def train(budget):
        steps = []
        with hpcore.Reporter(0, {}) as reporter:
            save = reporter.save_checkpoint

            def slow(*args, **kwargs):  # a checkpoint of 50 ms, far more than a round
                time.sleep(0.05)
                out = save(*args, **kwargs)
                steps.append(kwargs["step"])
                return out

            reporter.save_checkpoint = slow
            cb = TuningCallback(monitor="train-logloss", save_model=False, checkpoint_every=5, checkpoint_budget=budget)
            xgb.train(params, d, 40, evals=[(d, "train")], callbacks=[cb], verbose_eval=False)
            files = reporter.files
        return steps, files

    exact, _ = train(None)
    assert exact == [5, 10, 15, 20, 25, 30, 35, 40]
    spaced, files = train(DEFAULT_BUDGET)
    assert spaced == [5]  # 50 ms allows the next one only after 5 s of rounds
    with hpcore.Reporter(0, {}, files=files):
        cb = TuningCallback(monitor="train-logloss", save_model=False)
        booster, done = cb.restore()
        assert done == 5 and booster.num_boosted_rounds() == 5
