"""The median, ASHA and Hyperband rules against decisions computed by hand, in both directions."""

from __future__ import annotations

import math
import random

import pytest

from hpcore import ConfigError, create_stopper, create_tuner
from hpcore.plugins import lookup
from hpcore.space import Float, SearchSpace
from hpcore.stopping.asha import AshaStopper
from hpcore.stopping.median import MedianStopper
from hpcore.strategies.hyperband import HyperbandStopper, HyperbandStrategy, bracket_schedule
from hpcore.trial import TrialState

DIRECTIONS = [("minimize", 1.0), ("maximize", -1.0)]


def fmt(x: float) -> str:
    return f"{x:.6g}"


# -- median -------------------------------------------------------------------------------------
def median_history(stopper: MedianStopper, sign: float) -> None:
    """Trials 0 and 1 ended after step 3; trial 2 is still running at step 2 (none was stopped)."""
    for trial, values in [(0, [1.0, 0.8, 0.6]), (1, [0.6, 0.5, 0.4]), (2, [0.7, 1.9])]:
        for step, v in enumerate(values, start=1):
            assert stopper.report(trial, step, sign * v) is None
    stopper.finish(0, TrialState.COMPLETED, sign * 0.6)
    stopper.finish(1, TrialState.COMPLETED, sign * 0.4)


@pytest.mark.parametrize("direction,sign", DIRECTIONS)
def test_median_decisions_by_hand(direction: str, sign: float) -> None:
    s = create_stopper("median", direction, min_trials=2, warmup_steps=1)
    median_history(s, sign)
    # Step 1 is the warm-up (the median of 1.0, 0.6, 0.7 would be 0.7, better than 0.9).
    assert s.report(3, 1, sign * 0.9) is None
    # Step 2: averages 0.9, 0.55, 1.3 (trial 2 is running but reached step 2, so it counts) -> 0.9;
    # best 0.9 ties the median, and only strictly worse stops. Without trial 2 the median would be 0.725.
    assert s.report(3, 2, sign * 1.0) is None
    # Step 3: only trials 0 and 1 reached it: averages 0.8 and 0.5 -> 0.65; best 0.9 is worse.
    assert s.report(3, 3, sign * 0.95) == (f"median: best {fmt(sign * 0.9)} at step 3 is worse than the median "
                                           f"{fmt(sign * 0.65)} of 2 trials")


@pytest.mark.parametrize("direction,sign", DIRECTIONS)
def test_median_min_trials_and_warmup(direction: str, sign: float) -> None:
    few = MedianStopper(direction, min_trials=3)
    median_history(few, sign)
    # Steps 1 and 2 have three trials each (medians 0.7 and 0.9), step 3 only two: no decision there.
    assert [few.report(3, k, sign * 5.0) for k in (1, 2, 3)] == [
        f"median: best {fmt(sign * 5.0)} at step 1 is worse than the median {fmt(sign * 0.7)} of 3 trials",
        f"median: best {fmt(sign * 5.0)} at step 2 is worse than the median {fmt(sign * 0.9)} of 3 trials",
        None]
    warm = MedianStopper(direction, min_trials=2, warmup_steps=3)
    median_history(warm, sign)
    assert [warm.report(3, k, sign * 5.0) for k in (1, 2, 3)] == [None, None, None]
    assert warm.report(3, 4, sign * 5.0) is None  # nobody reached step 4: no comparison possible


@pytest.mark.parametrize("direction,sign", DIRECTIONS)
def test_median_unaligned_steps(direction: str, sign: float) -> None:
    s = MedianStopper(direction, min_trials=1)
    s.report(0, 2, sign * 1.0)  # trial 0 reports every other step
    s.report(0, 4, sign * 0.5)
    s.report(1, 1, sign * 9.0)  # trial 1 never got past step 2
    s.report(1, 2, sign * 9.0)
    s.report(2, 1, sign * 1.2)
    s.report(2, 2, sign * 1.3)
    # At step 3 only trial 0 counts (it reached step 4); its running average up to step 3 is 1.0.
    assert s.report(2, 3, sign * 1.4) == (f"median: best {fmt(sign * 1.2)} at step 3 is worse than the median "
                                          f"{fmt(sign * 1.0)} of 1 trials")


def test_median_ignores_bad_reports() -> None:
    s = MedianStopper("minimize", min_trials=1)
    s.report(0, 1, 1.0)
    s.report(0, 2, 1.0)
    for bad in [(1, 1, math.nan), (1, 1, math.inf), (1, 1, 0.1), (1, 1, 5.0), (1, 0, 5.0)]:
        s.report(*bad)
    # Trial 1 holds exactly one report, (1, 0.1): its NaN, infinity, duplicate and earlier steps were dropped.
    assert s.report(1, 2, 3.0) is None  # best 0.1 beats the median 1.0


# -- ASHA ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("direction,sign", DIRECTIONS)
def test_asha_decisions_by_hand(direction: str, sign: float) -> None:
    s = create_stopper("asha", direction, min_resource=1, max_resource=9, reduction_factor=3)
    assert s.rungs == [1, 3]

    def stop(n: int, keep: int, cutoff: float, value: float, step: int, rung: int, level: int) -> str:
        return (f"asha: {fmt(sign * value)} at step {step} is not in the best {keep} of {n} values at rung "
                f"{rung} (step {level}); cutoff {fmt(sign * cutoff)}")

    steps = [
        (0, 1, 0.5, None),  # first at rung 1: alone
        (1, 1, 0.4, None),  # n=2, keep 1: the best
        (2, 1, 0.6, stop(3, 1, 0.4, 0.6, 1, 1, 1)),
        (3, 1, 0.45, stop(4, 1, 0.4, 0.45, 1, 1, 1)),
        (4, 1, 0.3, None),  # new best
        (5, 1, 0.42, stop(6, 2, 0.4, 0.42, 1, 1, 1)),  # n=6, keep 2: 0.3 and 0.4 are ahead
        (6, 1, 0.35, None),  # n=7, keep 2: only 0.3 ahead
        (0, 2, 0.45, None),  # between rungs
        (0, 3, 0.4, None),  # first at rung 2
        (4, 3, 0.5, stop(2, 1, 0.4, 0.5, 3, 2, 3)),
        (6, 5, 0.38, None),  # skipped step 3: recorded at rung 2 with its step-5 value, the best there
        (6, 10, 0.3, "asha: step 10 is past max_resource=9"),
    ]
    for trial, step, value, expected in steps:
        assert s.report(trial, step, sign * value) == expected, (trial, step)
    assert s.ladder.recorded[1] == {0: sign * 0.4, 4: sign * 0.5, 6: sign * 0.38}


@pytest.mark.parametrize("direction,sign", DIRECTIONS)
def test_asha_min_trials_and_keep_count(direction: str, sign: float) -> None:
    s = AshaStopper(direction, min_resource=2, reduction_factor=2, min_trials=2)
    assert s.report(0, 1, sign * 9.0) is None  # below min_resource: never judged
    assert [s.report(t, 2, sign * v) for t, v in [(0, 1.0), (1, 2.0)]] == [None, None]  # too few others
    assert s.report(2, 2, sign * 3.0) is not None  # n=3, keep 1: 1.0 and 2.0 ahead
    assert s.report(3, 2, sign * 1.5) is None  # n=4, keep 2: only 1.0 ahead
    assert s.report(4, 2, sign * 2.5) is not None  # n=5, keep 2: 1.0 and 1.5 ahead
    ties = AshaStopper(direction, reduction_factor=3)
    # keep 1 each time, and a tie is not "better": equal values all continue, a worse one stops.
    assert [ties.report(t, 1, sign * v) for t, v in [(0, 1.0), (1, 1.0), (2, 1.0)]] == [None, None, None]
    assert ties.report(3, 1, sign * 1.1) is not None


def test_asha_rejects_bad_options() -> None:
    with pytest.raises(ConfigError, match="reduction_factor"):
        AshaStopper(reduction_factor=1)
    with pytest.raises(ConfigError, match="max_resource"):
        AshaStopper(min_resource=5, max_resource=3)
    with pytest.raises(ConfigError, match="unknown option.*eta; the options it takes: .*reduction_factor"):
        create_stopper("asha", eta=3)


# -- Hyperband ----------------------------------------------------------------------------------
def test_bracket_counts_match_the_hyperband_paper() -> None:
    # Li et al. (2018), Table 1, R=81 and eta=3: n_i = 81, 34, 15, 8, 5 configurations per bracket.
    cycle = bracket_schedule(5, 3)
    assert [cycle.count(b) for b in range(5)] == [81, 34, 15, 8, 5]
    assert len(set(cycle[:20])) == 5  # every bracket appears early, not only after 81 aggressive trials


@pytest.mark.parametrize("direction,sign", DIRECTIONS)
def test_hyperband_brackets_race_separately(direction: str, sign: float) -> None:
    s = HyperbandStopper(direction, min_resource=1, max_resource=27, reduction_factor=3)
    assert [ladder.levels for ladder in s.ladders] == [[1, 3, 9], [3, 9], [9], []]
    ids: dict[int, list[int]] = {}
    for t in range(49):
        ids.setdefault(s.bracket_of(t), []).append(t)
    assert {b: len(v) for b, v in ids.items()} == {0: 27, 1: 12, 2: 6, 3: 4}
    a, b0 = ids[0][:2]
    c = ids[1][0]
    assert s.report(a, 1, sign * 0.1) is None
    assert s.report(b0, 1, sign * 0.9) is not None  # bracket 0, rung at step 1: 0.1 is ahead
    assert s.report(c, 1, sign * 0.9) is None  # bracket 1 has no rung at step 1
    assert s.report(c, 3, sign * 0.9) is None  # first at bracket 1's rung 1 (step 3)
    assert s.report(a, 3, sign * 0.95) is None  # first at bracket 0's rung 2: bracket 1 is not compared
    last = ids[3][0]
    assert [s.report(last, k, sign * 99.0) for k in range(1, 28)] == [None] * 27  # no rung: runs to the end
    assert s.report(last, 28, sign * 99.0) == "hyperband: step 28 is past max_resource=27"


def test_hyperband_strategy_options_and_registration() -> None:
    space = SearchSpace({"lr": Float(1e-3, 1.0, scale="log")})
    tuner = create_tuner("hyperband", space, direction="maximize", seed=3, max_resource=9, reduction_factor=2)
    assert isinstance(tuner, HyperbandStrategy)
    stopper = tuner.make_stopper()
    assert stopper.direction == "maximize" and [x.levels for x in stopper.ladders] == [[1, 2, 4, 8], [2, 4, 8],
                                                                                       [4, 8], [8], []]
    assert tuner.make_stopper() is not stopper  # a fresh stopper per run
    trials = [tuner.ask() for _ in range(5)]
    assert [tuner.bracket_of(t.id) for t in trials] == [stopper.bracket_of(t.id) for t in trials]
    with pytest.raises(ConfigError, match="max_resource"):
        create_tuner("hyperband", space)
    with pytest.raises(ConfigError, match="min_resource"):
        create_tuner("hyperband", space, min_resource=0, max_resource=9)


@pytest.mark.parametrize("direction,sign", DIRECTIONS)
def test_hyperband_fewer_brackets_drops_the_bracket_that_never_stops(direction: str, sign: float) -> None:
    # 27 / 1 is not a power of 2: the rung levels 1, 2, 4, 8, 16 make six brackets; five are Optuna's.
    s = HyperbandStopper(direction, min_resource=1, max_resource=27, reduction_factor=2, brackets=5)
    assert [ladder.levels for ladder in s.ladders] == [[1, 2, 4, 8, 16], [2, 4, 8, 16], [4, 8, 16], [8, 16], [16]]
    assert s.schedule == bracket_schedule(5, 2)
    assert [s.schedule.count(b) for b in range(5)] == [16, 10, 7, 5, 5]  # ceil(5 / (s + 1) * 2**s)
    first, second = [t for t in range(len(s.schedule)) if s.bracket_of(t) == 4][:2]
    assert [s.report(first, k, sign * 0.1) for k in range(1, 17)] == [None] * 16
    assert [s.report(second, k, sign * 0.9) for k in range(1, 16)] == [None] * 15
    # The least aggressive bracket now has a rung at 16: keep max(1, 2 // 2) = 1, and 0.1 is ahead.
    assert s.report(second, 16, sign * 0.9) == (f"hyperband bracket 4: {fmt(sign * 0.9)} at step 16 is not in the "
                                                f"best 1 of 2 values at rung 1 (step 16); cutoff {fmt(sign * 0.1)}")
    every = HyperbandStopper(direction, min_resource=1, max_resource=27, reduction_factor=2)
    assert len(every.ladders) == 6 and every.ladders[-1].levels == []


def test_hyperband_brackets_option_is_checked() -> None:
    space = SearchSpace({"lr": Float(1e-3, 1.0, scale="log")})
    tuner = create_tuner("hyperband", space, seed=0, max_resource=27, reduction_factor=4, brackets=3)
    assert [x.levels for x in tuner.make_stopper().ladders] == [[1, 4, 16], [4, 16], [16]]
    for bad in (0, 5, 2.5):
        with pytest.raises(ConfigError, match="brackets"):
            create_tuner("hyperband", space, max_resource=27, reduction_factor=4, brackets=bad)


def test_stoppers_are_registered_plugins() -> None:
    assert lookup("stoppers", "median") is MedianStopper
    assert lookup("stoppers", "asha") is AshaStopper
    assert lookup("strategies", "hyperband") is HyperbandStrategy
    with pytest.raises(ConfigError, match="min_trials"):
        create_stopper("median", min_trials=0)


# -- state is a pure function of each trial's own reports (what resuming relies on) -----------
def make_reports(seed: int) -> dict[int, list[tuple[int, float]]]:
    rng = random.Random(seed)
    out: dict[int, list[tuple[int, float]]] = {}
    for t in range(12):
        n = rng.randint(1, 12)
        out[t] = [(k, rng.random() + 1.0 / k) for k in range(1, n + 1)]
    return out


def state_of(stopper: object) -> object:
    if isinstance(stopper, MedianStopper):
        return {t: (h.steps, h.sums, h.best) for t, h in stopper._trials.items()}
    if isinstance(stopper, HyperbandStopper):
        return [ladder.recorded for ladder in stopper.ladders]
    assert isinstance(stopper, AshaStopper)
    return stopper.ladder.recorded


@pytest.mark.parametrize("name,options", [("median", {"min_trials": 2}),
                                          ("asha", {"max_resource": 27}),
                                          ("hyperband", {"max_resource": 27})])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_replay_order_does_not_change_the_state(name: str, options: dict, seed: int) -> None:
    def make() -> object:
        if name == "hyperband":
            return HyperbandStopper("minimize", **options)
        return create_stopper(name, "minimize", **options)

    reports = make_reports(seed)
    live, replayed = make(), make()
    # Live: reports of all trials interleaved at random, each trial stopping at its first "stop".
    cursors = {t: 0 for t in reports}
    kept: dict[int, list[tuple[int, float]]] = {t: [] for t in reports}
    rng = random.Random(seed + 100)
    while cursors:
        t = rng.choice(sorted(cursors))
        step, v = reports[t][cursors[t]]
        kept[t].append((step, v))
        cursors[t] += 1
        if live.report(t, step, v) is not None or cursors[t] == len(reports[t]):
            del cursors[t]
            live.finish(t, TrialState.COMPLETED, v)
    # Replay: what a resumed job does, one finished trial after another, in another order.
    for t in sorted(kept, reverse=True):
        for step, v in kept[t]:
            replayed.report(t, step, v)
        replayed.finish(t, TrialState.COMPLETED, kept[t][-1][1])
    assert state_of(live) == state_of(replayed)
    probe = [(99, k, 0.5 + 1.0 / k) for k in range(1, 13)]
    assert [live.report(*p) for p in probe] == [replayed.report(*p) for p in probe]


def test_median_on_values_at_the_step_is_stricter_than_on_running_averages():
    from hpcore.stopping.median import MedianStopper

    # Three trials that improve steadily (maximize): at step 3 their values are 0.6, 0.7, 0.8 but
    # their running averages only 0.5, 0.6, 0.7.
    curves = {0: [0.4, 0.5, 0.6], 1: [0.5, 0.6, 0.7], 2: [0.6, 0.7, 0.8]}
    for running, expected in ((True, None), (False, "values at this step")):
        s = MedianStopper(direction="maximize", min_trials=3, running_average=running)
        for t, values in curves.items():
            for step, v in enumerate(values, 1):
                assert s.report(t, step, v) is None
        s.report(3, 1, 0.55)
        s.report(3, 2, 0.6)
        # Best so far 0.65 at step 3: above the median running average 0.6, below the median value 0.7.
        decision = s.report(3, 3, 0.65)
        if expected is None:
            assert decision is None
        else:
            assert expected in decision and "median 0.7 " in decision
