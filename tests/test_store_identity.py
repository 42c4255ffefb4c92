"""What a store holds is what a job resumes: its setup is compared whole, and a foreign file is left alone.

A store made by another training function, strategy or seed is refused (unless the user says to
continue it), a job with tuple choices resumes with its tuples, and a file that is not an hpcore
store (another application's database, a garbled file) is refused before anything is written.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import subprocess
import sys

import pytest

import hpcore
from hpcore import Categorical, Float, SearchSpace
from hpcore.errors import ConfigError, StoreError
from hpcore.script import CommandTrainer
from hpcore.store import Store

from trainfns import quadratic

TESTS = os.path.dirname(os.path.abspath(__file__))
SPACE = SearchSpace({"x": Float(0.0, 1.0)})


def other_train(params, reporter):
    return {"loss": -params["x"]}


def make(db, train=quadratic, **kw):
    kw.setdefault("max_trials", 3)
    kw.setdefault("strategy", "random")
    kw.setdefault("seed", 0)
    return hpcore.TuningJob(train, kw.pop("space", SPACE), objective="loss", store=db, progress=False, **kw)


@pytest.mark.parametrize("change, named", [
    ({"train": other_train}, "train changed from 'trainfns:quadratic' to 'test_store_identity:other_train'"),
    ({"strategy": "grid"}, "strategy changed from 'random' to 'grid'"),
    ({"seed": 1}, "seed changed from 0 to 1"),
])
def test_a_store_of_another_setup_is_refused_naming_the_change_and_the_fix(tmp_path, change, named):
    db = str(tmp_path / "tuning.db")
    first = make(db).run()
    with pytest.raises(StoreError) as err:
        make(db, max_trials=5, **change).run()
    assert named in str(err.value) and "another name= or store" in str(err.value)
    assert "resume='continue'" in str(err.value)
    store = Store(db, read_only=True)
    assert [t.value for t in store.trials("default")] == [t.value for t in first.trials]  # untouched
    store.close()


def test_resume_continue_goes_on_with_the_stored_results_and_records_the_new_setup(tmp_path, caplog):
    db = str(tmp_path / "tuning.db")
    make(db).run()
    with caplog.at_level(logging.WARNING, logger="hpcore"):
        result = make(db, train=other_train, max_trials=5, resume="continue").run()
    assert "continues with a new setup: train changed" in caplog.text
    assert len(result.trials) == 5
    assert [t.value for t in result.trials[3:]] == [-t.params["x"] for t in result.trials[3:]]
    assert make(db, train=other_train, max_trials=6).run().trials[5].value is not None  # now the stored setup


def test_resume_never_refuses_an_existing_job_and_a_bad_value_is_named(tmp_path):
    db = str(tmp_path / "tuning.db")
    make(db).run()
    with pytest.raises(StoreError, match="already \\(resume='never'\\)"):
        make(db, resume="never").run()
    with pytest.raises(ConfigError, match="resume='sometimes': use one of auto, continue, never"):
        make(db, resume="sometimes")


def test_a_command_is_named_by_its_command_not_by_an_address(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the trials' folders
    db = str(tmp_path / "tuning.db")
    cmd = [sys.executable, "-c", "import os; print('loss=%s' % os.environ['HP_X'])"]
    metrics = [{"name": "loss", "regex": r"loss=([-+0-9.eE]+)"}]
    make(db, train=CommandTrainer(cmd, metric_definitions=metrics), max_trials=1).run()
    # The same command again, in a new object: the same setup, so the job resumes.
    assert len(make(db, train=CommandTrainer(cmd, metric_definitions=metrics), max_trials=2).run().trials) == 2
    with pytest.raises(StoreError, match="train changed"):
        make(db, train=CommandTrainer(cmd + ["x"], metric_definitions=metrics), max_trials=3).run()


def test_a_job_with_tuple_choices_resumes_with_its_tuples(tmp_path):
    db = str(tmp_path / "tuning.db")
    space = SearchSpace({"shape": Categorical([(1, 2), (3, 4)]), "x": Float(0.0, 1.0)})

    def train(params, reporter):
        assert isinstance(params["shape"], tuple), params
        return {"loss": params["x"] + sum(params["shape"])}

    make(db, train=train, space=space, max_trials=2).run()
    result = make(db, train=train, space=space, max_trials=4).run()
    assert len(result.trials) == 4 and all(t.state.value == "completed" for t in result.trials)
    assert all(isinstance(t.params["shape"], tuple) for t in result.trials)


def _digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_another_applications_database_is_refused_and_left_as_it_was(tmp_path):
    db = str(tmp_path / "app.db")
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
        con.execute("INSERT INTO customers VALUES (1, 'ada')")
    before = _digest(db)
    with pytest.raises(StoreError, match="database of another application \\(tables: customers\\)"):
        make(db).run()
    assert _digest(db) == before and not os.path.exists(db + "-wal")


def test_a_garbled_file_is_refused_with_the_fix(tmp_path):
    db = tmp_path / "garbled.db"
    db.write_bytes(b"SQLite format 3\x00" + os.urandom(4000))
    before = _digest(str(db))
    with pytest.raises(StoreError, match="not a readable hpcore store .*give another file with store=PATH"):
        make(str(db)).run()
    assert _digest(str(db)) == before
    out = subprocess.run([sys.executable, "-m", "hpcore.cli", "status", str(db)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode != 0 and "not a readable hpcore store" in out.stderr and "Traceback" not in out.stderr


def test_the_job_file_and_the_cli_take_resume(tmp_path):
    job_file = tmp_path / "job.yaml"
    body = ("train: trainfns:quadratic\nobjective: loss\nstrategy: random\nseed: 0\nmax_trials: {n}\n"
            "store: tuning.db\nprogress: false\nspace:\n  x: {{type: float, min: 0, max: 1}}\n{extra}")
    env = dict(os.environ, PYTHONPATH=TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""))

    def tune(n, extra="", *args):
        job_file.write_text(body.format(n=n, extra=extra))
        return subprocess.run([sys.executable, "-m", "hpcore.cli", "tune", str(job_file), *args], env=env,
                              capture_output=True, text=True, timeout=120)

    assert tune(2).returncode == 0
    refused = tune(3, "", "--seed", "5")
    assert refused.returncode != 0 and "seed changed from 0 to 5" in refused.stderr
    assert tune(3, "", "--seed", "5", "--resume", "continue").returncode == 0
    never = tune(4, "resume: never\n")
    assert never.returncode != 0 and "resume='never'" in never.stderr
    assert "Traceback" not in refused.stderr + never.stderr
