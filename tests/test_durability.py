"""durability="normal" or "full": what the store's connection is set to, through the API, job files and the CLI.

SQLite in WAL mode with ``synchronous=NORMAL`` survives a crash of the process (the crash suite kills
the controller at every write in that mode); ``FULL`` also syncs the write-ahead log at every commit,
which is what survives an OS crash or a power cut. A power cut cannot be simulated here, so these
tests check the setting each job's writer really runs with, read back from SQLite itself.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import hpcore
from hpcore.errors import ConfigError

from trainfns import quadratic

TESTS = os.path.dirname(os.path.abspath(__file__))
SYNCHRONOUS = {1: "normal", 2: "full"}  # PRAGMA synchronous's numbers


def writer_setting(job: hpcore.TuningJob) -> tuple[str, str]:
    """(journal mode, synchronous) of the connection the job wrote its store with."""
    db = job.store._db
    return db.execute("PRAGMA journal_mode").fetchone()[0], SYNCHRONOUS[db.execute("PRAGMA synchronous").fetchone()[0]]


@pytest.mark.parametrize("durability", ["normal", "full"])
def test_the_job_writes_its_store_with_the_durability_asked_for(tmp_path, durability):
    job = hpcore.TuningJob(quadratic, hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0)}), objective="loss",
                           strategy="random", max_trials=2, store=str(tmp_path / "t.db"), progress=False,
                           durability=durability)
    assert len(job.run().trials) == 2
    assert writer_setting(job) == ("wal", durability)


def test_normal_is_the_default_and_a_bad_value_names_the_choices(tmp_path):
    job = hpcore.TuningJob(quadratic, hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0)}), objective="loss",
                           max_trials=1, store=str(tmp_path / "t.db"), progress=False)
    job.run()
    assert writer_setting(job) == ("wal", "normal")
    with pytest.raises(ConfigError, match="durability='always': use one of normal, full"):
        hpcore.TuningJob(quadratic, hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0)}), objective="loss",
                         durability="always")


def test_job_files_and_the_cli_take_durability(tmp_path):
    from hpcore.jobfile import load_job_file

    path = tmp_path / "job.yaml"
    path.write_text("train: trainfns:quadratic\nobjective: loss\nmax_trials: 1\nstore: t.db\nprogress: false\n"
                    "durability: full\nspace:\n  x: {type: float, min: 0, max: 1}\n")
    assert load_job_file(str(path)).durability == "full"
    assert load_job_file(str(path), durability="normal").durability == "normal"  # the CLI's flag wins
    env = dict(os.environ, PYTHONPATH=TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-m", "hpcore.cli", "tune", str(path), "--durability", "sometimes"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--durability: invalid choice: 'sometimes'" in out.stderr
