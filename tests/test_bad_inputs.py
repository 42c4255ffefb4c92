"""Bad input, table by table: each case names the error it must raise and the message it must give.

Three tables: the Python API (a job that refuses its input must not have written its store), job
files run by ``hpcore tune`` as a real subprocess (exit code 2, one message on stderr, no traceback)
and other command-line arguments. Then the ranges that used to be silently wrong, and what
``hpcore status`` prints from a store holding terminal escapes.
"""

from __future__ import annotations

import io
import os
import re
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

import hpcore
from hpcore import Categorical, Float, Int, SearchSpace
from hpcore.cli import main
from hpcore.errors import ConfigError, PluginError, SearchSpaceError
from hpcore.script import CommandTrainer

from trainfns import quadratic, returns_accuracy_only, returns_nan

TESTS = os.path.dirname(os.path.abspath(__file__))
SPACE = SearchSpace({"x": Float(0.0, 1.0)})
LOSS = [{"name": "loss", "regex": r"loss=([-+0-9.eE]+)"}]


def job_rows(store: str) -> list[tuple[str, str]]:
    """The (name, status) of every job in a store file; [] when it does not exist or holds none."""
    if not os.path.exists(store):
        return []
    db = sqlite3.connect(store)
    try:
        return db.execute("SELECT name, status FROM jobs").fetchall()
    except sqlite3.OperationalError:  # the file exists but no table was created
        return []
    finally:
        db.close()


def job(store, train=quadratic, **kw):
    kw.setdefault("objective", "loss")
    kw.setdefault("strategy", "random")
    kw.setdefault("max_trials", 3)
    kw.setdefault("seed", 0)
    return hpcore.TuningJob(train, kw.pop("space", SPACE), store=store, progress=False, **kw)


def command(store, **script):
    return CommandTrainer([sys.executable, "-c", "print('loss=1')"], LOSS,
                          workdir=os.path.join(os.path.dirname(store), "trials"), **script)


NAN = float("nan")

# (id, make(store), error type, message regex). make may return a TuningJob: it is then run, so that
# an error raised only by run() (after the store is written) or no error at all fails the case.
API_CASES = [
    # Newly refused (a raw traceback, a late error or silent acceptance before).
    ("target-string", lambda s: job(s, target="0.5"), ConfigError,
     r"target='0.5': use a finite number, or None \(it is a string"),
    ("seed-string", lambda s: job(s, seed="abc"), ConfigError, r"seed='abc': use a whole number >= 0"),
    ("seed-negative", lambda s: job(s, seed=-1), ConfigError, r"seed=-1: use a whole number >= 0"),
    ("seed-float", lambda s: job(s, seed=1.5), ConfigError, r"seed=1.5: use a whole number >= 0"),
    ("tuner-seed-string", lambda s: hpcore.create_tuner("random", SPACE, seed="abc").ask(), ConfigError,
     r"seed='abc': use a whole number >= 0"),
    ("tuner-seed-negative", lambda s: hpcore.create_tuner("random", SPACE, seed=-1).ask(), ConfigError,
     r"seed=-1: use a whole number >= 0"),
    ("tuner-seed-float", lambda s: hpcore.create_tuner("bayesian", SPACE, seed=1.5).ask(), ConfigError,
     r"seed=1.5: use a whole number >= 0"),
    ("patience-string", lambda s: job(s, max_trials_without_improvement="3"), ConfigError,
     r"max_trials_without_improvement='3': use a whole number >= 1, or None \(it is a string"),
    ("min-improvement-string", lambda s: job(s, min_improvement="0.01"), ConfigError,
     r"min_improvement='0.01': use a finite number >= 0 \(it is a string"),
    ("strategy-option-unknown", lambda s: job(s, strategy="grid", strategy_options={"resolutoin": 3}),
     ConfigError, r"strategy 'grid': unknown option\(s\) resolutoin; the options it takes: resolution, shuffle"),
    ("strategy-option-none-taken", lambda s: job(s, strategy_options={"n_initial": 3}), ConfigError,
     r"strategy 'random': unknown option\(s\) n_initial; it takes no options"),
    ("strategy-option-of-the-job", lambda s: job(s, strategy_options={"seed": 1}), ConfigError,
     r"strategy 'random': seed is an argument of the job itself.*TuningJob\(seed=\.\.\.\)"),
    ("tuner-option-unknown", lambda s: hpcore.create_tuner("grid", SPACE, resolutoin=3), ConfigError,
     r"strategy 'grid': unknown option\(s\) resolutoin; the options it takes: resolution"),
    ("strategy-option-value", lambda s: job(s, strategy="hyperband"), ConfigError,
     r"hyperband needs max_resource"),
    ("executor-option-unknown", lambda s: job(s, executor_options={"thread": 2}), ConfigError,
     r"executor 'inprocess': unknown option\(s\) thread; the options it takes: threads"),
    ("executor-option-of-the-job", lambda s: job(s, executor="process", executor_options={"max_parallel": 2}),
     ConfigError, r"executor 'process': max_parallel is an argument of the job itself"),
    ("stopper-option-unknown", lambda s: job(s, early_stopping="median", stopper_options={"warmup": 1}),
     ConfigError, r"stopper 'median': unknown option\(s\) warmup; the options it takes: warmup_steps, min_trials"),
    ("stopper-option-value", lambda s: job(s, early_stopping="median", stopper_options={"percentile": 120}),
     ConfigError, r"percentile=120: use a number from 0 to 100"),
    ("stopper-options-without-stopper", lambda s: job(s, stopper_options={"min_trials": 2}), ConfigError,
     r"stopper_options=\{'min_trials': 2\} apply to early_stopping, which is 'none'"),
    ("command-env-names-collide", lambda s: job(s, command(s), space={"a-b": Float(0, 1), "a_b": Float(0, 1)}),
     ConfigError, r"parameters 'a-b' and 'a_b' both become the environment variable HP_A_B; rename one"),
    ("command-option-names-collide",
     lambda s: job(s, command(s, pass_as=["args"]), space={"a-b": Float(0, 1), "a_b": Float(0, 1)}), ConfigError,
     r"parameters 'a-b' and 'a_b' become the options --a-b and --a_b, which argparse reads into the same "
     r"variable a_b"),
    ("int-step-beyond-range", lambda s: Int(0, 3, step=10), SearchSpaceError,
     r"Int\(min=0, max=3, step=10\): step 10 is larger than the range 0\.\.3.*use a step of at most 3"),
    ("categorical-nan", lambda s: Categorical([NAN, 1.0]), SearchSpaceError,
     r"NaN cannot be a choice \(it is not equal to itself"),
    ("categorical-1-and-true", lambda s: Categorical([1, True]), SearchSpaceError,
     r"the choices 1 and True are equal in Python \(1 == True\)"),
    ("categorical-1-and-1.0", lambda s: Categorical([1, 1.0]), SearchSpaceError,
     r"the choices 1 and 1.0 are equal in Python"),
    ("categorical-equal-in-a-job", lambda s: job(s, space={"c": {"values": [0, False]}}), SearchSpaceError,
     r"parameter 'c': .*the choices 0 and False are equal"),
    # Refused before already: guarded here so that they stay refused, with the same words.
    ("min-above-max", lambda s: Float(2.0, 1.0), SearchSpaceError, r"min must be less than max; swap them"),
    ("log-min-zero", lambda s: job(s, space={"lr": {"type": "float", "min": 0, "max": 1, "scale": "log"}}),
     SearchSpaceError, r"parameter 'lr'.*log scale needs min > 0; raise min"),
    ("categorical-duplicate", lambda s: Categorical(["a", "a"]), SearchSpaceError,
     r"duplicated value 'a'; list each choice once"),
    ("unknown-strategy", lambda s: job(s, strategy="cmaes"), PluginError,
     r"unknown strategy 'cmaes'; registered strategies: .*bayesian.*random"),
    ("unknown-stopper", lambda s: job(s, early_stopping="patience"), PluginError,
     r"unknown stopper 'patience'; registered stoppers: .*median"),
    ("unknown-executor", lambda s: job(s, executor="slurm"), PluginError,
     r"unknown executor 'slurm'; registered executors: .*inprocess.*process"),
    ("max-trials-zero", lambda s: job(s, max_trials=0), ConfigError, r"max_trials=0: use a whole number >= 1"),
    ("direction", lambda s: job(s, direction="down"), ConfigError, r"direction='down': use 'minimize' or"),
    ("unknown-category", lambda s: Float(0, 1, category="training"), SearchSpaceError,
     r"unknown category 'training'; use one of model, optimizer, data"),
]


@pytest.mark.parametrize("make, error, message", [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES])
def test_api_bad_input(tmp_path, make, error, message):
    store = str(tmp_path / "tune.db")
    with pytest.raises(error, match=message):
        made = make(store)
        if isinstance(made, hpcore.TuningJob):
            made.run()
    assert job_rows(store) == []  # refused before the job was recorded


# Trials that run but cannot give an objective: the trial fails with a message naming what it gave.
TRIAL_CASES = [
    ("objective-missing", returns_accuracy_only,
     r"objective 'loss' is missing from what the trial returned and reported \(it gave: accuracy, f1\)"),
    ("objective-nan", returns_nan, r"objective 'loss' is nan \(not finite\)"),
    ("objective-not-a-number", lambda p: "0.5",
     r"the training function returned str; return a number, a dict of metrics holding 'loss'"),
]


@pytest.mark.parametrize("train, message", [c[1:] for c in TRIAL_CASES], ids=[c[0] for c in TRIAL_CASES])
def test_trial_bad_output(tmp_path, train, message):
    result = job(str(tmp_path / "tune.db"), train, max_trials=2).run()
    assert result.counts() == {"failed": 2}
    assert all(re.search(message, r.error or "") for r in result.trials), [r.error for r in result.trials]


# -- job files, run by the hpcore command ---------------------------------------------------------
BASE = """\
train: trainfns:quadratic
objective: loss
strategy: random
max_trials: 3
store: runs/tune.db
progress: false
space:
  x: {type: float, min: 0.0, max: 1.0}
"""


def yaml_job(extra: str = "", **replace: str) -> str:
    text = BASE
    for key, line in replace.items():
        text = "\n".join(line if ln.startswith(f"{key}:") else ln for ln in text.splitlines()) + "\n"
    return text + extra  # top-level keys, or parameters when indented under space:


COMMAND_JOB = """\
command: [python, -c, "print('loss=1')"]
metric_definitions: [{name: loss, regex: "loss=([0-9.]+)"}]
objective: loss
strategy: random
max_trials: 2
store: runs/tune.db
progress: false
space:
  a-b: {type: float, min: 0.0, max: 1.0}
  a_b: {type: float, min: 0.0, max: 1.0}
"""

# (id, job file text, message regex on stderr).
YAML_CASES = [
    ("duplicate-key", BASE + "max_trials: 5\n",
     r"job\.yaml: line 9: key 'max_trials' is given twice in the same mapping \(first on line 4\); keep one"),
    ("duplicate-parameter", BASE + "  x: {type: float, min: 0.0, max: 2.0}\n",
     r"line 9: key 'x' is given twice in the same mapping \(first on line 8\)"),
    ("duplicate-flow-key", BASE.replace("space:\n  x: {type: float, min: 0.0, max: 1.0}",
                                        "space: {x: {type: float, min: 0.0, max: 1.0, max: 2.0}}"),
     r"line 7: key 'max' is given twice in the same mapping \(first on line 7\)"),
    ("target-string", yaml_job('target: "0.5"\n'), r"target='0.5': use a finite number"),
    ("seed-string", yaml_job("seed: abc\n"), r"seed='abc': use a whole number >= 0"),
    ("seed-negative", yaml_job("seed: -1\n"), r"seed=-1: use a whole number >= 0"),
    ("patience-string", yaml_job('max_trials_without_improvement: "3"\n'),
     r"max_trials_without_improvement='3': use a whole number >= 1"),
    ("min-improvement-string", yaml_job('min_improvement: "0.01"\n'),
     r"min_improvement='0.01': use a finite number"),
    ("strategy-option-unknown", yaml_job("strategy_options: {resolutoin: 3}\n", strategy="strategy: grid"),
     r"strategy 'grid': unknown option\(s\) resolutoin; the options it takes: resolution, shuffle"),
    ("executor-option-unknown", yaml_job("executor_options: {thread: 1}\n"),
     r"executor 'inprocess': unknown option\(s\) thread; the options it takes: threads"),
    ("stopper-option-unknown", yaml_job("early_stopping: asha\nstopper_options: {eta: 3}\n"),
     r"stopper 'asha': unknown option\(s\) eta; the options it takes: min_resource, max_resource"),
    ("command-env-names-collide", COMMAND_JOB, r"parameters 'a-b' and 'a_b' both become the environment "
                                               r"variable HP_A_B"),
    ("int-step-beyond-range", yaml_job("  n: {type: int, min: 0, max: 3, step: 10}\n"),
     r"parameter 'n': Int\(min=0, max=3, step=10\): step 10 is larger than the range"),
    ("categorical-1-and-true", yaml_job("  c: {values: [1, true]}\n"), r"the choices 1 and True are equal"),
    ("categorical-nan", yaml_job("  c: {values: [.nan, 1.0]}\n"), r"NaN cannot be a choice"),
    # Refused before already.
    ("unknown-key", yaml_job("max_trails: 3\n"),
     r"unknown job key\(s\): 'max_trails'\n  'max_trails' \(did you mean 'max_trials'\?\)\nvalid keys: "),
    ("min-above-max", BASE.replace("min: 0.0, max: 1.0", "min: 2.0, max: 1.0"),
     r"parameter 'x'.*min must be less than max"),
    ("log-min-zero", yaml_job("  lr: {type: float, min: 0, max: 1, scale: log}\n"),
     r"parameter 'lr'.*log scale needs min > 0"),
    ("unknown-strategy", yaml_job(strategy="strategy: tpe"), r"unknown strategy 'tpe'; registered strategies:"),
    ("unknown-executor", yaml_job("executor: slurm\n"), r"unknown executor 'slurm'; registered executors:"),
    ("max-trials-zero", yaml_job(max_trials="max_trials: 0"), r"max_trials=0: use a whole number >= 1"),
    ("not-yaml", yaml_job("space: [\n"), r"is not valid YAML"),
]


def hp(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "hpcore.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)


def assert_refused(out: subprocess.CompletedProcess[str], message: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr, out.stderr
    assert re.search(message, out.stderr), out.stderr


@pytest.mark.parametrize("text, message", [c[1:] for c in YAML_CASES], ids=[c[0] for c in YAML_CASES])
def test_job_file_bad_input(tmp_path, text, message):
    (tmp_path / "job.yaml").write_text(text)
    assert_refused(hp("tune", "job.yaml", cwd=tmp_path), message)
    assert job_rows(str(tmp_path / "runs" / "tune.db")) == []


def test_job_files_read_exponents_as_numbers(tmp_path):
    # YAML 1.1 reads 1e-3 as a string; job files read it as the number people mean.
    (tmp_path / "job.yaml").write_text(yaml_job("  lr: {type: float, min: 1e-5, max: 1e-1, scale: log}\n"
                                                "min_improvement: 1e-3\nmax_trials_without_improvement: 2\n"))
    out = hp("tune", "job.yaml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert job_rows(str(tmp_path / "runs" / "tune.db")) == [("default", "completed")]


# -- other command-line arguments -----------------------------------------------------------------
@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("store") / "tune.db")
    job(path, max_trials=3).run()
    return path


# (id, arguments ({store} is a finished job's store), message regex on stderr).
CLI_CASES = [
    ("status-unknown-state", ["status", "{store}", "--state", "bogus"],
     r"state 'bogus' does not exist; use one of running, completed, stopped, failed, timed_out"),
    ("status-unknown-sort", ["status", "{store}", "--sort", "speed"], r"--sort 'speed': no such column; columns:"),
    ("status-missing-store", ["status", "{tmp}/missing.db"], r"does not exist"),
    ("status-unknown-job", ["status", "{store}", "--name", "other"], r"has no job 'other'; jobs: default"),
    ("report-unwritable", ["report", "{store}", "-o", "{store}/report.html"],
     r"-o '.*tune\.db/report\.html': cannot write the report there"),
    ("tune-seed-negative", ["tune", "--algorithm", "linear-learner", "--seed", "-1"], r"seed=-1: use a whole number"),
    ("tune-max-trials-zero", ["tune", "--algorithm", "linear-learner", "--max-trials", "0"],
     r"max_trials=0: use a whole number >= 1"),
    ("tune-unknown-strategy", ["tune", "--algorithm", "linear-learner", "--strategy", "tpe"],
     r"unknown strategy 'tpe'; registered strategies:"),
    ("tune-nothing", ["tune"], r"needs a job file or --algorithm NAME"),
    ("tune-seed-not-int", ["tune", "--seed", "abc"], r"argument --seed: invalid int value: 'abc'"),
]


@pytest.mark.parametrize("args, message", [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_cli_bad_arguments(tmp_path, store, args, message):
    out = hp(*[a.format(store=store, tmp=tmp_path) for a in args], cwd=tmp_path)
    assert_refused(out, message)


def test_report_into_a_folder_writes_report_html_there(tmp_path, store, capsys):
    (tmp_path / "out").mkdir()
    assert main(["report", store, "-o", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert main(["report", store, "-o", str(tmp_path / "new") + "/"]) == 0
    assert (tmp_path / "new" / "report.html").exists()
    assert str(tmp_path / "new" / "report.html") in capsys.readouterr().out


# -- ranges that were silently wrong --------------------------------------------------------------
@pytest.mark.parametrize("param", [Float(1e-300, 1e300, scale="log"), Float(-1e308, 1e308)])
def test_ranges_over_the_whole_float_range_draw_over_all_of_it(param):
    rng = np.random.default_rng(0)
    draws = np.array([param.sample(rng) for _ in range(400)])
    assert draws.min() >= param.min and draws.max() <= param.max
    if param.scale == "log":  # each tenth of the 600 decades gets its share of the draws
        decades = np.log10(draws)
        assert np.histogram(decades, bins=10, range=(-300, 300))[0].min() > 20
        assert 1e-10 < param.default < 1e10  # the geometric mean, 1
    else:
        assert np.histogram(draws / 1e300, bins=10, range=(-1e8, 1e8))[0].min() > 20
        assert abs(param.default) < 1e300
    for u in (0.0, 0.25, 0.5, 0.9, 1.0):
        assert param.encode(param.decode(u)) == pytest.approx(u, abs=1e-12)


# -- what hpcore status prints from a hostile store -----------------------------------------------
@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("hostile") / "tune.db")
    space = SearchSpace({"p\x1b[31m": Categorical(["a\x1b[2Jb", "c\rd"]), "x": Float(0.0, 1.0)})
    hpcore.TuningJob(lambda p: p["x"], space, strategy="random", max_trials=4, seed=1, store=path,
                     name="j\x1b]0;owned\x07", progress=False).run()
    return path


def test_status_strips_control_characters_when_not_a_terminal(hostile_store):
    for args in (["status", hostile_store], ["best", hostile_store]):
        out = hp(*args)
        assert out.returncode == 0, out.stderr
        assert not any(c in out.stdout for c in "\x1b\r\x07"), repr(out.stdout)
    table = hp("status", hostile_store).stdout
    assert "p[31m" in table and ("a[2Jb" in table or "cd" in table)  # the rest of the text is kept


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_status_shows_control_characters_escaped_on_a_terminal(hostile_store, monkeypatch):
    screen = _Terminal()
    monkeypatch.setattr(sys, "stdout", screen)
    assert main(["status", hostile_store]) == 0
    text = screen.getvalue()
    assert "\x1b" not in text and "\r" not in text and "\x07" not in text
    assert "p\\x1b[31m" in text  # the parameter's name, visible for what it is
    assert "a\\x1b[2Jb" in text or "c\\rd" in text
