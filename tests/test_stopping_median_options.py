"""The median rule's options (completed_only, compare, percentile) by hand and against Optuna's
MedianPruner and PercentilePruner."""

from __future__ import annotations

import random

import pytest

from hpcore import ConfigError, create_stopper
from hpcore.stopping.median import MedianStopper
from hpcore.trial import TrialState

DIRECTIONS = [("minimize", 1.0), ("maximize", -1.0)]


def fmt(x: float) -> str:
    return f"{x:.6g}"


def history(stopper: MedianStopper, sign: float) -> None:
    """Trial 0 completed, trial 1 was stopped, trial 2 is still running at step 4.

    The decisions taken while the history is fed are not what the tests look at: a stopper records
    every valid report whatever it decides.
    """
    curves = {0: [1.0, 0.8, 0.6], 1: [0.4, 0.3, 0.2], 2: [0.5, 0.45, 0.4, 0.35]}
    for trial, values in curves.items():
        for step, v in enumerate(values, start=1):
            stopper.report(trial, step, sign * v)
    stopper.finish(0, TrialState.COMPLETED, sign * 0.6)
    stopper.finish(1, TrialState.STOPPED, sign * 0.2)


@pytest.mark.parametrize("direction,sign", DIRECTIONS)
def test_completed_only_compares_with_completed_trials_alone(direction: str, sign: float) -> None:
    every = MedianStopper(direction, min_trials=1, running_average=False)
    only = MedianStopper(direction, min_trials=1, running_average=False, completed_only=True)
    for s in (every, only):
        history(s, sign)
    # Step 1: the values of all three trials are 1.0, 0.4, 0.5 -> median 0.5, and 0.6 is worse; the
    # only completed trial has 1.0, which 0.6 beats.
    assert every.report(3, 1, sign * 0.6) == (f"median: best {fmt(sign * 0.6)} at step 1 is worse than the "
                                              f"median {fmt(sign * 0.5)} of 3 trials values at this step")
    assert only.report(3, 1, sign * 0.6) is None
    # Trial 4 against trial 0 alone: 0.7 beats 1.0; best 0.7 beats 0.8; best 0.65 is worse than 0.6.
    assert only.report(4, 1, sign * 0.7) is None
    assert only.report(4, 2, sign * 0.9) is None
    assert only.report(4, 3, sign * 0.65) == (f"median: best {fmt(sign * 0.65)} at step 3 is worse than the "
                                              f"median {fmt(sign * 0.6)} of 1 completed trials values at this step")


@pytest.mark.parametrize("direction,sign", DIRECTIONS)
def test_completed_only_waits_for_min_trials_completed(direction: str, sign: float) -> None:
    s = MedianStopper(direction, min_trials=2, completed_only=True)
    history(s, sign)
    # Only trial 0 completed: no decision at any step, however bad the report.
    assert [s.report(3, k, sign * 9.0) for k in (1, 2, 3)] == [None, None, None]
    s.finish(2, TrialState.COMPLETED, sign * 0.35)
    assert s.report(3, 4, sign * 9.0) is None  # only trial 2 reached step 4
    t = MedianStopper(direction, min_trials=2, completed_only=True)
    history(t, sign)
    t.finish(2, TrialState.COMPLETED, sign * 0.35)
    # Step 1: running averages 1.0 (trial 0) and 0.5 (trial 2) -> median 0.75; 0.8 is worse.
    assert t.report(4, 1, sign * 0.8) == (f"median: best {fmt(sign * 0.8)} at step 1 is worse than the median "
                                          f"{fmt(sign * 0.75)} of 2 completed trials")


@pytest.mark.parametrize("direction,sign", DIRECTIONS)
def test_compare_running_average_is_symmetric(direction: str, sign: float) -> None:
    best = MedianStopper(direction, min_trials=3)
    mean = MedianStopper(direction, min_trials=3, compare="running_average")
    for s in (best, mean):
        history(s, sign)
        # Step 1: median of 1.0, 0.4, 0.5 is 0.5; 0.49 beats it (its best and its average alike).
        assert s.report(3, 1, sign * 0.49) is None
    # Step 2: running averages 0.9, 0.35, 0.475 -> median 0.475. The best so far, 0.47, beats it;
    # the trial's own running average, (0.49 + 0.47) / 2 = 0.48, does not.
    assert best.report(3, 2, sign * 0.47) is None
    assert mean.report(3, 2, sign * 0.47) == (f"median: running average {fmt(sign * 0.48)} at step 2 is worse "
                                              f"than the median {fmt(sign * 0.475)} of 3 trials")


@pytest.mark.parametrize("direction,sign", DIRECTIONS)
def test_values_at_the_step_are_the_reported_ones(direction: str, sign: float) -> None:
    # 0.1 + 0.2 + 0.7 - (0.1 + 0.2) is not 0.7 in floating point: the rule must use 0.7 itself, so
    # that a best of exactly 0.7 ties the median and continues.
    s = MedianStopper(direction, min_trials=1, running_average=False)
    for step, v in enumerate([0.1, 0.2, 0.7], start=1):
        s.report(0, step, sign * v)
    s.report(1, 1, sign * 0.9)
    s.report(1, 2, sign * 0.8)
    assert s.report(1, 3, sign * 0.7) is None


@pytest.mark.parametrize("direction,sign", DIRECTIONS)
def test_percentile_moves_the_threshold(direction: str, sign: float) -> None:
    # Step 1 values of the others: 0.1, 0.2, 0.3, 0.4 (losses). The median is 0.25; the 60th
    # percentile, counted from the best, 0.1 + 0.6 * 3 * 0.1 = 0.28 (linear interpolation).
    def stopper(percentile: float) -> MedianStopper:
        s = MedianStopper(direction, min_trials=1, percentile=percentile)
        for t, v in enumerate([0.1, 0.2, 0.3, 0.4]):
            s.report(t, 1, sign * v)
        return s

    assert stopper(50).report(9, 1, sign * 0.27) == (
        f"median: best {fmt(sign * 0.27)} at step 1 is worse than the median {fmt(sign * 0.25)} of 4 trials")
    assert stopper(60).report(9, 1, sign * 0.27) is None
    assert stopper(60).report(9, 1, sign * 0.29) == (f"median: best {fmt(sign * 0.29)} at step 1 is worse "
                                                     f"than the 60th percentile {fmt(sign * 0.28)} of 4 trials")
    # 20th percentile: 0.1 + 0.2 * 0.3 = 0.16; 0.18 is better than the median but stopped.
    assert stopper(20).report(9, 1, sign * 0.18) is not None
    assert stopper(20).report(9, 1, sign * 0.15) is None


def test_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="compare"):
        create_stopper("median", compare="last")
    for bad in (-1, 100.5, "55", True):
        with pytest.raises(ConfigError, match="percentile"):
            create_stopper("median", percentile=bad)
    s = create_stopper("median", "maximize", completed_only=True, compare="running_average")
    assert isinstance(s, MedianStopper) and s.completed_only and s.compare == "running_average"


# -- the same decisions as Optuna's MedianPruner and PercentilePruner ---------------------------
@pytest.mark.parametrize("direction", ["minimize", "maximize"])
@pytest.mark.parametrize("min_trials,warmup,percentile", [(1, 0, 50), (3, 0, 50), (2, 2, 50), (3, 0, 60),
                                                          (2, 1, 30)])
@pytest.mark.parametrize("seed", [0, 1])
def test_values_at_the_step_of_completed_trials_is_optuna_median_pruner(
        direction: str, min_trials: int, warmup: int, percentile: float, seed: int) -> None:
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=min_trials, n_warmup_steps=warmup + 1)
              if percentile == 50 else optuna.pruners.PercentilePruner(
                  percentile, n_startup_trials=min_trials, n_warmup_steps=warmup + 1))
    study = optuna.create_study(direction=direction, pruner=pruner)
    stopper = MedianStopper(direction, min_trials=min_trials, warmup_steps=warmup, running_average=False,
                            completed_only=True, percentile=percentile)
    rng = random.Random(seed)
    steps, running, started, decisions = 8, {}, 0, 0
    while started < 24 or running:
        if started < 24 and (len(running) < 3 and rng.random() < 0.6 or not running):
            running[started] = (study.ask(), 0, rng.uniform(0.0, 1.0), rng.random() < 0.15)
            started += 1
            continue
        tid = rng.choice(sorted(running))
        trial, step, quality, fails = running[tid]
        step += 1
        # Values on a grid (as accuracies on a validation set are), so that ties with the median occur.
        value = round(20 * (quality + 1.0 / step + rng.gauss(0.0, 0.05))) / 20
        value = value if direction == "minimize" else -value
        trial.report(value, step)
        pruned = bool(trial.should_prune())
        assert (stopper.report(tid, step, value) is not None) == pruned, (tid, step)
        decisions += pruned
        if pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            stopper.finish(tid, TrialState.STOPPED, value)
        elif fails and step == 3:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            stopper.finish(tid, TrialState.FAILED, None)
        elif step == steps:
            study.tell(trial, value)
            stopper.finish(tid, TrialState.COMPLETED, value)
        else:
            running[tid] = (trial, step, quality, fails)
            continue
        del running[tid]
    assert decisions >= 3  # the histories do exercise the rule


# -- through a job file -------------------------------------------------------------------------
def train_lines(params: dict, reporter: object) -> float:
    """Loss curves that never cross: a larger ``x`` is worse at every step."""
    loss = 0.0
    for step in range(1, 7):
        loss = params["x"] + 1.0 / step
        if reporter.report(step, loss=loss):  # type: ignore[attr-defined]
            break
    return loss


def test_job_file_options_reach_the_stopper() -> None:
    from hpcore.jobfile import job_from_dict

    job = job_from_dict({
        "train": f"{__name__}:train_lines", "space": {"x": {"type": "float", "min": 0, "max": 1}},
        "objective": "loss", "strategy": "random", "max_trials": 12, "seed": 3, "progress": False,
        "early_stopping": "median",
        "stopper_options": {"min_trials": 2, "running_average": False, "completed_only": True}})
    trials = sorted(job.run().trials, key=lambda r: r.id)
    completed = [r for r in trials if r.state is TrialState.COMPLETED]
    stopped = [r for r in trials if r.state is TrialState.STOPPED]
    assert all(r.state is TrialState.COMPLETED for r in trials[:2])  # nobody to compare with before
    assert stopped and all("completed trials values at this step" in (r.reason or "") for r in stopped)
    # Without crossings, a trial is stopped exactly when it is worse than the median of the completed
    # trials before it, at its first step.
    for r in trials[2:]:
        before = sorted(c.params["x"] for c in completed if c.id < r.id)
        median = (before[(len(before) - 1) // 2] + before[len(before) // 2]) / 2
        assert (r.state is TrialState.STOPPED) == (r.params["x"] > median), r.id
