"""``asha`` against Optuna's ``SuccessiveHalvingPruner`` on identical reports, and the 0/1-based step offset."""

from __future__ import annotations

import random

import pytest

from hpcore.stopping.asha import AshaStopper

optuna = pytest.importorskip("optuna")

MIN_RESOURCE, MAX_STEPS, ETA = 2, 30, 3  # rungs 2, 6, 18: none at the last step


def curves(seed: int, n: int = 40) -> list[list[float]]:
    """Noisy rising curves with different speeds and ceilings (curves cross)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        ceiling, speed = rng.uniform(0.5, 1.0), rng.uniform(0.05, 1.0)
        out.append([ceiling * (1 - (1 - speed) ** step) + rng.gauss(0, 0.02) for step in range(1, MAX_STEPS + 1)])
    return out


def hpcore_stops(values: list[list[float]], direction: str) -> list[int]:
    """The step each trial ended at (1-based), trials run one after another."""
    stopper = AshaStopper(direction, min_resource=MIN_RESOURCE, max_resource=MAX_STEPS, reduction_factor=ETA)
    ends = []
    for trial, curve in enumerate(values):
        end = MAX_STEPS
        for step, v in enumerate(curve, start=1):
            if stopper.report(trial, step, v) is not None:
                end = step
                break
        ends.append(end)
    return ends


def optuna_stops(values: list[list[float]], direction: str, first_step: int) -> list[int]:
    """The epoch (1-based count) each trial ended at, reporting steps from ``first_step`` (0: as the
    integration callbacks do, 1: as hpcore's callbacks do)."""
    pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=MIN_RESOURCE, reduction_factor=ETA,
                                                    min_early_stopping_rate=0)
    study = optuna.create_study(direction=direction, pruner=pruner)
    ends = []
    for curve in values:
        trial, end = study.ask(), MAX_STEPS
        for epoch, v in enumerate(curve, start=1):
            trial.report(v, epoch - 1 + first_step)
            if trial.should_prune():
                end = epoch
                break
        if end < MAX_STEPS:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, curve[-1])
        ends.append(end)
    return ends


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_stops_on_one_based_steps(direction: str, seed: int) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    values = curves(seed)
    ours = hpcore_stops(values, direction)
    assert ours == optuna_stops(values, direction, first_step=1)
    assert set(ours) - {MAX_STEPS} <= {2, 6, 18} and MIN_RESOURCE in ours
    assert any(end < MAX_STEPS for end in ours) and any(end == MAX_STEPS for end in ours)


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_zero_based_steps_put_optunas_rungs_one_epoch_later(direction: str) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    values = curves(0)
    theirs = optuna_stops(values, direction, first_step=0)
    stopped = {end for end in theirs if end < MAX_STEPS}
    assert stopped and stopped <= {MIN_RESOURCE + 1, 3 * MIN_RESOURCE + 1, 9 * MIN_RESOURCE + 1}
    assert theirs != hpcore_stops(values, direction)
