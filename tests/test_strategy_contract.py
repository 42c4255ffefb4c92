"""The contract every registered strategy honours (built-in and plugin alike)."""

import math

import pytest

import hpcore
from hpcore import Categorical, Float, Int, SearchSpace
from hpcore.plugins import registry

SPACE = SearchSpace({
    "lr": Float(1e-4, 1.0, scale="log", category="optimizer"),
    "x": Float(-2.0, 2.0),
    "n": Int(1, 20),
    "kind": Categorical(["a", "b", "c"]),
})


def objective(p):
    return (math.log10(p["lr"]) + 2) ** 2 + (p["x"] - 0.5) ** 2 + 0.1 * abs(p["n"] - 7) + (p["kind"] != "b")


STRATEGIES = sorted(registry("strategies"))
# Options a strategy cannot do without (a grid's resolution, hyperband's full training length).
OPTIONS = {"grid": {"resolution": 3}, "hyperband": {"max_resource": 9}}


def make(name, seed=0, space=SPACE, **kw):
    opts = dict(OPTIONS.get(name, {}))
    opts.update(kw)
    return hpcore.create_tuner(name, space, direction="minimize", seed=seed, **opts)


@pytest.mark.parametrize("name", STRATEGIES)
def test_asks_are_valid_and_can_be_outstanding_and_told_in_any_order(name):
    tuner = make(name)
    trials = [tuner.ask() for _ in range(4)]
    assert len({t.id for t in trials}) == 4
    for t in trials:
        assert SPACE.validate(t.params) == t.params
    assert sorted(tuner.pending) == [t.id for t in trials]
    for t in reversed(trials):
        tuner.tell(t, objective(t.params))
    assert not tuner.pending and len(tuner.observations) == 4
    with pytest.raises(KeyError, match="not pending"):
        tuner.tell(trials[0], 1.0)


@pytest.mark.parametrize("name", STRATEGIES)
def test_same_seed_and_results_give_the_same_trials(name):
    def run(seed):
        tuner = make(name, seed=seed)
        seen = []
        for _ in range(8):
            t = tuner.ask()
            seen.append(t.params)
            tuner.tell(t, objective(t.params))
        return seen

    assert run(3) == run(3)


@pytest.mark.parametrize("name", STRATEGIES)
def test_failures_and_non_finite_values_are_recorded_as_failed(name):
    tuner = make(name)
    a, b, c = tuner.ask(), tuner.ask(), tuner.ask()
    tuner.tell(a, None)
    tuner.tell(b, float("nan"))
    tuner.tell(c, 2.0, state="failed")
    assert [o.state for o in tuner.observations] == [hpcore.TrialState.FAILED] * 3
    assert all(o.loss is None for o in tuner.observations)
    d = tuner.ask()  # still proposes after only failures
    assert SPACE.validate(d.params) == d.params


@pytest.mark.parametrize("name", STRATEGIES)
def test_maximize_is_turned_into_a_loss_to_minimise(name):
    tuner = hpcore.create_tuner(name, SPACE, direction="maximize", seed=0, **OPTIONS.get(name, {}))
    t = tuner.ask()
    tuner.tell(t, 0.75)
    assert tuner.observations[0].loss == -0.75


@pytest.mark.parametrize("name", STRATEGIES)
def test_enqueued_and_observed_configurations(name):
    tuner = make(name)
    tuner.observe(SPACE.defaults(), 3.0, trial_id=5)
    tuner.enqueue({"lr": 0.01, "x": 0.5, "n": 7, "kind": "b"})
    t = tuner.ask()
    assert t.params == {"lr": 0.01, "x": 0.5, "n": 7, "kind": "b"} and t.id == 6
    with pytest.raises(hpcore.SearchSpaceError):
        tuner.enqueue({"lr": 5.0, "x": 0.5, "n": 7, "kind": "b"})


def test_random_beats_nothing_but_covers_the_space():
    tuner = make("random")
    kinds = {tuner.ask().params["kind"] for _ in range(60)}
    assert kinds == {"a", "b", "c"}


def test_grid_enumerates_every_combination_once_then_is_exhausted():
    space = SearchSpace({"a": Categorical(["x", "y"]), "b": Float(0, 1), "n": Int(1, 2)})
    tuner = hpcore.create_tuner("grid", space, resolution=3)
    assert tuner.remaining() == 12
    seen = []
    for _ in range(12):
        t = tuner.ask()
        seen.append(tuple(t.params.values()))
        tuner.tell(t, 0.0)
    assert len(set(seen)) == 12
    assert {s[1] for s in seen} == {0.0, 0.5, 1.0}
    with pytest.raises(hpcore.SearchExhausted):
        tuner.ask()
    shuffled = hpcore.create_tuner("grid", space, seed=1, resolution=3, shuffle=True)
    order = [tuple(shuffled.ask().params.values()) for _ in range(12)]
    assert sorted(order) == sorted(seen) and order != seen


def test_unknown_strategy_lists_the_registered_ones():
    with pytest.raises(hpcore.PluginError) as err:
        hpcore.create_tuner("tpe", SPACE)
    assert "unknown strategy 'tpe'" in str(err.value)
    for name in ("random", "grid"):
        assert name in str(err.value)


def test_bad_direction_is_named():
    with pytest.raises(hpcore.ConfigError, match="direction='max'"):
        hpcore.create_tuner("random", SPACE, direction="max")
