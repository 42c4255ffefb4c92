"""CommandTrainer: real subprocesses, real SQLite stores, hostile values, stops and failures."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import textwrap
import time

import pytest

import hpcore
from hpcore.errors import ConfigError, MetricError
from hpcore.reporter import Reporter
from hpcore.script import CommandTrainer
from hpcore.trial import TrialState

LOSS = [{"name": "loss", "regex": r"loss=([-+0-9.eE]+)"}]


def _script(tmp_path, body: str, name: str = "train.py") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_hyperparameters_arrive_as_args_env_and_json(tmp_path):
    script = _script(tmp_path, """
        import json, os, sys
        print("ARGV", json.dumps(sys.argv[1:]))
        print("ENV", os.environ["HP_LEARNING_RATE"], os.environ["HP_OPT_NAME"])
        print("JSON", open(os.environ["HP_JSON"]).read().replace("\\n", " "))
        print("CWD", os.getcwd())
        print("loss=0.5")
        print("loss=0.25")
    """)
    train = CommandTrainer([sys.executable, script], LOSS, workdir=str(tmp_path / "runs"))
    params = {"learning_rate": 0.01, "opt-name": "adam"}
    out = train(params, Reporter(7, params))
    assert out == {"loss": 0.25}  # the objective is the last value printed
    log = (tmp_path / "runs" / "trial-7" / "stdout.log").read_text()
    assert 'ARGV ["--learning_rate", "0.01", "--opt-name", "adam"]' in log
    assert "ENV 0.01 adam" in log
    assert json.loads((tmp_path / "runs" / "trial-7" / "hyperparameters.json").read_text()) == params
    assert f"CWD {tmp_path / 'runs' / 'trial-7'}" in log


def test_hostile_values_cannot_inject(tmp_path):
    canary = tmp_path / "canary"
    script = _script(tmp_path, """
        import sys
        print("GOT", repr(sys.argv[1:]))
        print("loss=1")
    """)
    train = CommandTrainer([sys.executable, script], LOSS, workdir=str(tmp_path / "runs"))
    hostile = {"a": f"; touch {canary}", "b": f"$(touch {canary})", "c": f"`touch {canary}`",
               "d": f"x && touch {canary}", "e": f"| touch {canary}"}
    assert train(hostile, Reporter(0, hostile)) == {"loss": 1.0}
    assert not canary.exists()
    log = (tmp_path / "runs" / "trial-0" / "stdout.log").read_text()
    assert f"'$(touch {canary})'" in log and f"'; touch {canary}'" in log  # passed as literal values


def test_regex_without_capture_group_is_rejected_at_creation(tmp_path):
    with pytest.raises(ConfigError, match="exactly one"):
        CommandTrainer(["true"], [{"name": "loss", "regex": r"loss=[0-9.]+"}])
    with pytest.raises(ConfigError, match="does not compile"):
        CommandTrainer(["true"], [{"name": "loss", "regex": r"loss=([0-9.]+"}])
    with pytest.raises(ConfigError, match="at least one"):
        CommandTrainer(["true"], [])


def test_missing_metric_fails_the_trial_naming_it(tmp_path):
    script = _script(tmp_path, """
        print("loss=0.3")
        print("training finished without accuracy")
    """)
    defs = [*LOSS, {"name": "accuracy", "regex": r"acc=([0-9.]+)"}]
    train = CommandTrainer([sys.executable, script], defs, workdir=str(tmp_path / "runs"))
    with pytest.raises(MetricError, match="accuracy") as err:
        train({"x": 1}, Reporter(0, {"x": 1}))
    assert "training finished without accuracy" in str(err.value)


def test_failures_and_missing_metrics_are_recorded_in_the_store(tmp_path):
    script = _script(tmp_path, """
        import argparse, sys
        p = argparse.ArgumentParser(); p.add_argument("--x", type=float); x = p.parse_args().x
        if x > 0.5:
            print("about to fail: x too large", flush=True)
            sys.exit(3)
        print(f"loss={(x - 0.2) ** 2}")
    """)
    store = str(tmp_path / "jobs.db")
    train = CommandTrainer([sys.executable, script], LOSS, workdir=str(tmp_path / "runs"))
    space = hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0)})
    result = hpcore.TuningJob(train, space, objective="loss", strategy="random", max_trials=6, seed=3,
                              store=store, progress=False).run()
    failed = [t for t in result.trials if t.state is TrialState.FAILED]
    done = [t for t in result.trials if t.state is TrialState.COMPLETED]
    assert all(t.params["x"] > 0.5 for t in failed) and all(t.params["x"] <= 0.5 for t in done)
    assert failed and done
    assert "exited with code 3" in failed[0].error and "about to fail: x too large" in failed[0].error
    with sqlite3.connect(store) as db:
        assert db.execute("select count(*) from sqlite_master").fetchone()[0] > 0


def test_reports_are_live_and_a_stop_sends_sigterm(tmp_path):
    marker = tmp_path / "terminated"
    script = _script(tmp_path, f"""
        import signal, sys, time
        def bye(*_):
            open({str(marker)!r}, "w").write("sigterm")
            sys.exit(0)
        signal.signal(signal.SIGTERM, bye)
        for step in range(1, 1000):
            print(f"loss={{1.0 / step}}", flush=True)
            time.sleep(0.05)
    """)
    train = CommandTrainer([sys.executable, script], LOSS, workdir=str(tmp_path / "runs"), grace_period=5)
    seen = []
    reporter = Reporter(0, {}, send=lambda step, metrics: seen.append((step, metrics["loss"])) or step >= 3)
    started = time.monotonic()
    out = train({}, reporter)
    assert time.monotonic() - started < 30  # the program would print for 50 s
    assert seen == [(1, 1.0), (2, 0.5), (3, 1.0 / 3)]
    assert out == {"loss": 1.0 / 3}
    assert marker.read_text() == "sigterm"


def test_a_program_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path):
    script = _script(tmp_path, """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("loss=1", flush=True)
        time.sleep(60)
    """)
    train = CommandTrainer([sys.executable, script], LOSS, workdir=str(tmp_path / "runs"), grace_period=0.5)
    started = time.monotonic()
    assert train({}, Reporter(0, {}, send=lambda s, m: True)) == {"loss": 1.0}
    assert time.monotonic() - started < 30  # the program would sleep for 60 s


def test_timeout_fails_with_the_tail_of_the_log(tmp_path):
    script = _script(tmp_path, """
        import time
        print("warming up", flush=True)
        time.sleep(60)
    """)
    train = CommandTrainer([sys.executable, script], LOSS, workdir=str(tmp_path / "runs"), timeout=1.0,
                           grace_period=0.5)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="warming up"):
        train({}, Reporter(0, {}))
    assert time.monotonic() - started < 30  # the program would sleep for 60 s


def test_interleaved_metrics_report_once_per_step(tmp_path):
    script = _script(tmp_path, """
        for epoch in range(1, 4):
            print(f"epoch {epoch} train_loss={1.0 / epoch}")
            print(f"epoch {epoch} auc={0.5 + epoch / 10}")
    """)
    defs = [{"name": "train_loss", "regex": r"train_loss=([0-9.]+)"}, {"name": "auc", "regex": r"auc=([0-9.]+)"}]
    seen = []
    train = CommandTrainer([sys.executable, script], defs, workdir=str(tmp_path / "runs"))
    train({}, Reporter(0, {}, send=lambda step, metrics: seen.append((step, metrics)) or False))
    assert [s for s, _ in seen] == [1, 2, 3]
    assert seen[-1][1] == {"train_loss": 1.0 / 3, "auc": 0.8}


def test_process_executor_runs_command_trials(tmp_path):
    script = _script(tmp_path, """
        import os
        x = float(os.environ["HP_X"])
        for step in range(1, 4):
            print(f"loss={(x - 0.3) ** 2 + 1.0 / step}", flush=True)
    """)
    train = CommandTrainer([sys.executable, script], LOSS, workdir=str(tmp_path / "runs"), pass_as=["env"])
    space = hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0)})
    result = hpcore.TuningJob(train, space, objective="loss", strategy="random", max_trials=4, max_parallel=2,
                              executor="process", seed=0, store=str(tmp_path / "p.db"), progress=False).run()
    assert [t.state for t in result.trials] == [TrialState.COMPLETED] * 4
    assert sorted(os.listdir(tmp_path / "runs")) == ["trial-0", "trial-1", "trial-2", "trial-3"]
    best = result.best
    assert best.value == pytest.approx((best.params["x"] - 0.3) ** 2 + 1.0 / 3)
