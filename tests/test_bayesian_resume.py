"""A ``bayesian`` strategy rebuilt from its told results proposes exactly what the original does.

Strategy level: a strategy asked and told step by step, and one rebuilt at some point by observing
the same results in the same order (and registering the same pending trials), propose identical
parameters from then on, also past the point where the hyperparameter fits thin out (50 rows),
with transferred results, and with trials pending (parallel asks).

Job level: a real job on a real SQLite store, killed mid-trial (SIGKILL of the controller process)
or interrupted by Ctrl-C (also when warm-started from an earlier job), then run again, ends with the
same parameters trial by trial as the same job run without interruption.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import hpcore
from hpcore import Categorical, Float, Int, SearchSpace
from hpcore.store import Store
from hpcore.strategies.bayesian import BayesianStrategy
from hpcore.trial import Trial

TESTS = os.path.dirname(os.path.abspath(__file__))

# An auto-scaled float (input warping), a linear float, an integer and a categorical.
SPACE = SearchSpace({"lr": Float(1e-5, 1.0), "x": Float(0.0, 1.0), "n": Int(1, 8),
                     "k": Categorical(["a", "b", "c"])})


def objective(p: dict) -> float | None:
    """Smooth, with a failing corner (a failed trial enters the model at the worst value)."""
    if p["x"] > 0.8:
        return None
    return ((math.log10(p["lr"]) + 3.0) ** 2 / 10 + (p["x"] - 0.3) ** 2
            + {"a": 0.0, "b": 0.1, "c": 0.3}[p["k"]] + 0.01 * p["n"])


def tell(tuner: BayesianStrategy, trial: Trial) -> None:
    value = objective(trial.params)
    # Every seventh trial counts as early-stopped: a noisier observation than a completed one.
    tuner.tell(trial, value, "stopped" if value is not None and trial.id % 7 == 6 else None)


def rebuilt(tuner: BayesianStrategy, **options) -> BayesianStrategy:
    """A new strategy given what a resumed job gives it: the results in tell order, the pending trials."""
    fresh = BayesianStrategy(tuner.space, seed=tuner.seed, **options)
    for o in tuner.observations:
        fresh.observe(o.params, o.loss, o.state, trial_id=o.trial_id)  # minimised: loss is the value
    for t in tuner.pending.values():
        fresh.add_pending(Trial(t.id, dict(t.params)))
    return fresh


@pytest.mark.parametrize("seed", [0, 3])
def test_a_strategy_rebuilt_from_its_results_proposes_the_same_trials(seed):
    original = BayesianStrategy(SPACE, seed=seed, n_initial=4)
    copies = {}
    for i in range(20):
        if i in (6, 11, 15):  # during the design, and after 7 and 11 model-based asks (local ones among them)
            copies[i] = rebuilt(original, n_initial=4)
        for c in copies.values():
            assert c.n_asked == original.n_asked
        trial = original.ask()
        for start, copy in copies.items():
            again = copy.ask()
            assert (again.id, again.params) == (trial.id, trial.params), f"rebuilt after {start} results"
        tell(original, trial)
        for copy in copies.values():
            tell(copy, copy.pending[trial.id])
    assert any(o.loss is None for o in original.observations)  # failures were in the history
    assert original._chain.link is not None and original._chain.link.n_told == 19


@pytest.mark.slow
def test_the_same_beyond_fifty_results_where_fits_are_spaced_out():
    # 46 observed results, then asks: the fits at 47..50 and 55 are warm-started links of the chain.
    # Rebuilt at 57 results, between two links, the copy must find the link at 55 again.
    rng = np.random.default_rng(1)
    original = BayesianStrategy(SPACE, seed=2, n_candidates=256)
    for _ in range(46):
        params = SPACE.sample(rng)
        original.observe(params, objective(params))
    for _ in range(11):
        tell(original, original.ask())
    copy = rebuilt(original, n_candidates=256)
    for _ in range(3):
        a, b = original.ask(), copy.ask()
        assert a.params == b.params
        tell(original, a)
        tell(copy, b)
    assert original._chain.link.n_told == copy._chain.link.n_told == 55


def test_the_same_with_transferred_results():
    space = SearchSpace({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})

    def f(p):
        return (p["x"] - 0.3) ** 2 + (p["y"] - 0.6) ** 2

    earlier = [({"x": x, "y": y}, f({"x": x, "y": y}) + 0.05) for x, y in np.random.default_rng(0).random((8, 2))]
    original = BayesianStrategy(space, seed=4)
    original.transfer(earlier)
    for _ in range(8):
        t = original.ask()
        original.tell(t, f(t.params))
    copy = BayesianStrategy(space, seed=4)
    for o in original.observations:  # a resumed job observes its results before the transfer
        copy.observe(o.params, o.loss, trial_id=o.trial_id)
    copy.transfer(earlier)
    for _ in range(2):
        a, b = original.ask(), copy.ask()
        assert a.params == b.params
        original.tell(a, f(a.params))
        copy.tell(b, f(b.params))


def test_parallel_asks_are_the_same_given_the_same_results_and_pending_trials():
    # Batches of 3: each batch is asked with the previous one partly told. A copy rebuilt from the
    # told results (in tell order) and the pending trials asks the same next batch.
    original = BayesianStrategy(SPACE, seed=5, n_initial=4)
    batch = [original.ask() for _ in range(4)]
    for step in range(5):
        for t in sorted(batch, key=lambda t: -t.id)[:2]:  # two finish, the later-asked one first
            tell(original, t)
        batch = [t for t in batch if t.id in original.pending]
        copy = rebuilt(original, n_initial=4)
        new, again = [original.ask() for _ in range(2)], [copy.ask() for _ in range(2)]
        assert [(t.id, t.params) for t in new] == [(t.id, t.params) for t in again], f"batch {step}"
        batch += new
    assert len(original.pending) == 4 and len(original.observations) == 10


# -- job level ---------------------------------------------------------------------------------

SCRIPT = textwrap.dedent('''
    import json, math, os, signal, sys
    import hpcore

    def train(params, reporter):
        if reporter.trial_id == int(os.environ.get("KILL_AT", "-1")):
            marker = os.environ["KILL_MARKER"]
            if not os.path.exists(marker):  # the first run only
                open(marker, "w").close()
                os.kill(os.getpid(), signal.SIGKILL)
        if params["x"] > 0.93:
            raise ValueError("diverged")
        loss = ((math.log10(params["lr"]) + 3.0) ** 2 / 10 + (params["x"] - 0.3) ** 2
                + {"a": 0.0, "b": 0.1, "c": 0.3}[params["k"]] + 0.01 * params["n"])
        reporter.report(1, loss=loss * 2)
        return {"loss": loss}

    if __name__ == "__main__":
        space = hpcore.SearchSpace({"lr": hpcore.Float(1e-5, 1.0), "x": hpcore.Float(0.0, 1.0),
                                    "n": hpcore.Int(1, 8), "k": hpcore.Categorical(["a", "b", "c"])})
        job = hpcore.TuningJob(train, space, objective="loss", store=sys.argv[1], progress=False, seed=7,
                               max_trials=int(sys.argv[2]), fail_fast=None,
                               strategy_options={"n_initial": 3, "n_candidates": 256})
        job.run()
''')


def _params(db: str) -> dict[int, tuple]:
    store = Store(db, read_only=True)
    try:
        assert [j["status"] for j in store.jobs()] == ["completed"]
        return {t.id: (t.params, str(t.state), t.value) for t in store.trials("default")}
    finally:
        store.close()


def _job(script, db, n, env=None):
    return subprocess.run([sys.executable, str(script), db, str(n)], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join([TESTS, os.environ.get("PYTHONPATH", "")]),
                                   **(env or {})))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted job's trials, and its script."""
    tmp = tmp_path_factory.mktemp("bayesian-resume")
    script = tmp / "job.py"
    script.write_text(SCRIPT)
    out = _job(script, str(tmp / "reference.db"), 14)
    assert out.returncode == 0, out.stderr
    return script, _params(str(tmp / "reference.db"))


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", [5, 10])  # mid-trial: after 2 and after 7 model-based asks
def test_a_job_killed_mid_trial_resumes_to_the_uninterrupted_trials(tmp_path, reference, kill_at):
    script, expected = reference
    db = str(tmp_path / "killed.db")
    env = {"KILL_AT": str(kill_at), "KILL_MARKER": str(tmp_path / "killed")}
    first = _job(script, db, 14, env)
    assert first.returncode == -signal.SIGKILL, first.stderr
    store = Store(db, read_only=True)
    states = {t.id: str(t.state) for t in store.trials("default")}
    store.close()
    assert states[kill_at] == "running" and len(states) == kill_at + 1
    again = _job(script, db, 14, env)
    assert again.returncode == 0, again.stderr
    got = _params(db)
    assert sorted(got) == sorted(expected) == list(range(14))
    assert any(state == "failed" for _, state, _ in expected.values())
    for i in expected:
        assert got[i] == expected[i], f"trial {i}"


def _train_interrupted_at(trial_id: int | None):
    def train(params, reporter):
        if reporter.trial_id == trial_id and not interrupted:
            interrupted.append(trial_id)
            os.kill(os.getpid(), signal.SIGINT)  # the user's Ctrl-C, while the trial runs
        value = objective(params)
        if value is None:
            raise ValueError("diverged")
        return {"loss": value}

    interrupted: list[int] = []
    return train


def _inprocess_job(train, db: str, **options) -> hpcore.TuningJob:
    options.setdefault("strategy_options", {"n_initial": 3, "n_candidates": 256})
    return hpcore.TuningJob(train, SPACE, objective="loss", store=db, progress=False, seed=9, max_trials=12,
                            fail_fast=None, **options)


@pytest.mark.slow
@pytest.mark.parametrize("warm", [None, "identical", "transfer"])
def test_a_job_interrupted_by_ctrl_c_resumes_to_the_uninterrupted_trials(tmp_path, warm):
    options = {}
    if warm:  # an earlier job's results: observations of this job's strategy, or transferred ones
        parent = str(tmp_path / "parent.db")
        _inprocess_job(_train_interrupted_at(None), parent, strategy="random", strategy_options={}).run()
        options = {"warm_start": parent, "warm_start_type": warm}
    _inprocess_job(_train_interrupted_at(None), str(tmp_path / "reference.db"), **options).run()
    expected = _params(str(tmp_path / "reference.db"))
    db = str(tmp_path / "interrupted.db")
    train = _train_interrupted_at(8)
    with pytest.raises(KeyboardInterrupt):
        _inprocess_job(train, db, **options).run()
    store = Store(db, read_only=True)
    assert {t.id: str(t.state) for t in store.trials("default")}[8] == "running"
    store.close()
    _inprocess_job(train, db, **options).run()  # the same process: a new job object resumes from the store
    got = _params(db)
    assert sorted(got) == sorted(expected) == list(range(12))
    for i in expected:
        assert got[i] == expected[i], f"trial {i}"
