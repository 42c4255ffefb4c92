"""The contract suite every executor must pass; run it over a new executor with `check_executor`."""

from __future__ import annotations

import time
from collections.abc import Callable

from hpcore.executors.base import Executor, Outcome, Task


def drain(ex: Executor, timeout: float = 60.0) -> list[Outcome]:
    out: list[Outcome] = []
    deadline = time.monotonic() + timeout
    while ex.running() and time.monotonic() < deadline:
        out += ex.poll(0.1)
    assert not ex.running(), "executor did not finish its tasks in time"
    return out


def check_result_and_reports(make: Callable[[], Executor], train: Callable) -> None:
    """A returned value comes back; every report reaches on_report, in order, with its step."""
    seen = []
    ex = make()
    ex.start(train, on_report=lambda t, s, m: seen.append((t, s, m["loss"])) or False)
    try:
        assert ex.free_slots() >= 1
        ex.submit(Task(7, {"x": 0.25}))
        assert ex.running() == [7]
        (o,) = drain(ex)
    finally:
        ex.shutdown()
    assert o.kind == "ok" and o.trial_id == 7 and abs(o.result["loss"] - ((0.25 - 0.3) ** 2 + 0.1 / 3)) < 1e-12
    assert [(t, s) for t, s, _ in seen] == [(7, 1), (7, 2), (7, 3)]
    assert o.last_step == 3 and o.finished >= o.started


def check_stop_decision_reaches_the_trial(make: Callable[[], Executor], train: Callable) -> None:
    """The decision sent back for a report is what reporter.report returns, at that very report."""
    ex = make()
    ex.start(train, on_report=lambda t, s, m: s >= 2)
    try:
        ex.submit(Task(0, {"x": 0.1}))
        (o,) = drain(ex)
    finally:
        ex.shutdown()
    assert o.kind == "ok" and o.last_step == 2 and o.result["epochs"] == 2


def check_errors_come_back_with_their_traceback(make: Callable[[], Executor], train: Callable) -> None:
    ex = make()
    ex.start(train, on_report=lambda t, s, m: False)
    try:
        ex.submit(Task(1, {"x": 0.9}))
        (o,) = drain(ex)
        ex.submit(Task(2, {"x": 0.1}))  # the executor still works after an error
        (o2,) = drain(ex)
    finally:
        ex.shutdown()
    assert o.kind == "error" and "ValueError" in o.error and "too large" in o.error
    assert o2.kind == "ok"


def check_attempt_and_threads_reach_the_trial(make: Callable[[], Executor], train: Callable) -> None:
    """A retry's attempt number and the task's thread cap are what the trial's reporter sees.

    ``train`` returns ``{"attempt": reporter.attempt, "threads": reporter.threads, "omp": $OMP_NUM_THREADS}``.
    """
    ex = make()
    ex.start(train, on_report=lambda t, s, m: False)
    try:
        ex.submit(Task(3, {"x": 0.5}, attempt=2, threads=1))
        (o,) = drain(ex)
    finally:
        ex.shutdown()
    assert o.kind == "ok" and (o.trial_id, o.attempt) == (3, 2)
    assert o.result == {"attempt": 2, "threads": 1, "omp": "1"}


def check_every_free_slot_runs_a_trial(make: Callable[[], Executor], train: Callable) -> None:
    """Filling every free slot runs each task once; each report and result goes to its own trial."""
    seen: list[tuple[int, int, float]] = []
    ex = make()
    ex.start(train, on_report=lambda t, s, m: seen.append((t, s, m["loss"])) or False)
    try:
        slots = ex.free_slots()
        assert slots >= 1
        tasks = [Task(10 + i, {"x": i / 10}) for i in range(slots)]
        for task in tasks:
            ex.submit(task)
        assert ex.free_slots() == 0 and sorted(ex.running()) == [t.trial_id for t in tasks]
        out = drain(ex)
        assert ex.free_slots() == slots  # every slot is free again
    finally:
        ex.shutdown()
    assert sorted(o.trial_id for o in out) == [t.trial_id for t in tasks]
    for o in out:
        x = (o.trial_id - 10) / 10
        assert o.kind == "ok" and abs(o.result["loss"] - ((x - 0.3) ** 2 + 0.1 / 3)) < 1e-12
        assert [(s, round(v, 12)) for t, s, v in seen if t == o.trial_id] == \
            [(s, round((x - 0.3) ** 2 + 0.1 / s, 12)) for s in (1, 2, 3)]
