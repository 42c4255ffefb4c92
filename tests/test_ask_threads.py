"""Asks run with one BLAS thread (``hpcore._threads.blas_threads``), measured through threadpoolctl."""

from __future__ import annotations

import pytest

threadpoolctl = pytest.importorskip("threadpoolctl")

import hpcore  # noqa: E402
from hpcore import Float, SearchSpace  # noqa: E402
from hpcore.strategies.random import RandomStrategy  # noqa: E402


def blas_threads_now() -> list[int]:
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]


class Recording(RandomStrategy):
    """Random search that records the BLAS threads while it suggests."""

    seen: list[list[int]]

    def suggest(self, trial_id, rng):
        self.seen.append(blas_threads_now())
        return super().suggest(trial_id, rng)


def make() -> Recording:
    s = Recording(SearchSpace({"x": Float(0.0, 1.0)}), seed=0)
    s.seen = []
    return s


def test_an_ask_runs_with_one_blas_thread_and_restores_the_setting(monkeypatch) -> None:
    monkeypatch.delenv("HPCORE_BLAS_THREADS", raising=False)
    assert blas_threads_now(), "numpy's BLAS is not visible to threadpoolctl"
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        s = make()
        s.tell(s.ask(), 1.0)
        assert s.seen == [[1] * len(blas_threads_now())]
        assert set(blas_threads_now()) == {2}  # restored after the ask


def test_the_limit_follows_hpcore_blas_threads(monkeypatch) -> None:
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        monkeypatch.setenv("HPCORE_BLAS_THREADS", "0")  # no limit
        s = make()
        s.ask()
        assert set(s.seen[0]) == {2}
        monkeypatch.setenv("HPCORE_BLAS_THREADS", "many")
        with pytest.raises(ValueError, match="HPCORE_BLAS_THREADS='many'.*whole number"):
            s.ask()


def test_the_bayesian_strategy_asks_with_one_thread(monkeypatch) -> None:
    """The GP's factorisations happen inside the limit (the model-based asks, not only the design)."""
    monkeypatch.delenv("HPCORE_BLAS_THREADS", raising=False)
    import scipy.linalg

    seen: list[int] = []
    real = scipy.linalg.cholesky
    space = SearchSpace({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})
    tuner = hpcore.create_tuner("bayesian", space, seed=0, n_initial=3)

    def spy(*a, **k):
        seen.append(max(blas_threads_now()))
        return real(*a, **k)

    monkeypatch.setattr("hpcore._gp.gp.cholesky", spy)
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        for _ in range(5):
            t = tuner.ask()
            tuner.tell(t, (t.params["x"] - 0.3) ** 2 + t.params["y"])
    assert seen and set(seen) == {1}, seen
