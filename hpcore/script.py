"""Tuning any training program, in any language: hyperparameters in, metrics parsed from its output.

Each trial runs the command as a subprocess in its own folder (``<workdir>/trial-<id>``, output kept
in ``stdout.log``) and passes the hyperparameters three ways, as SageMaker passes them to training
containers: command-line options (``--lr 0.01``), environment variables (``HP_LR=0.01``) and a JSON
file (``hyperparameters.json``, its path in ``HP_JSON``). Metrics are read from the output line by
line while the program runs, with SageMaker-style metric definitions (a name and a regex with
exactly one capture group), and reported live, so early stopping can end a poor trial: it gets
SIGTERM, then SIGKILL after ``grace_period`` seconds. The objective is the last value printed.

Nothing of a trial outlives it: the program runs in its own process group, which is stopped
(SIGTERM, then SIGKILL) when the trial ends, whichever way, and also when the process running the
trial dies, even by SIGKILL (see :mod:`hpcore._lifeline`). A trial run again in the same folder
after a crash first stops any copy of the program still running there.

No shell is ever involved (``Popen(list)``): a hyperparameter value such as ``; rm -rf ~`` reaches
the program as one literal argument.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from hpcore import _lifeline
from hpcore._threads import thread_env
from hpcore.errors import ConfigError, MetricError

__all__ = ["CommandTrainer", "check_names", "parse_metric_definitions"]

PASS_MODES = ("args", "env", "json")
TAIL_LINES = 20


def parse_metric_definitions(defs: Sequence[Mapping[str, str]]) -> list[tuple[str, re.Pattern[str]]]:
    """Validates SageMaker-style metric definitions: ``[{"name": ..., "regex": ...}]``.

    ``Name``/``Regex`` (SageMaker's spelling) are accepted too.

    Raises:
        ConfigError: When a definition lacks a name or regex, a regex does not compile, or it does
            not have exactly one capture group (the group is the value).

    Example:
        >>> [(n, p.pattern) for n, p in parse_metric_definitions([{"name": "loss", "regex": "loss=([0-9.]+)"}])]
        [('loss', 'loss=([0-9.]+)')]
    """
    if not defs:
        raise ConfigError("metric_definitions: give at least one {name: ..., regex: ...} to read metrics")
    out: list[tuple[str, re.Pattern[str]]] = []
    for i, d in enumerate(defs):
        if not isinstance(d, Mapping):
            raise ConfigError(f"metric_definitions[{i}]={d!r}: use a mapping with name and regex")
        name, regex = d.get("name", d.get("Name")), d.get("regex", d.get("Regex"))
        if not isinstance(name, str) or not name or not isinstance(regex, str) or not regex:
            raise ConfigError(f"metric_definitions[{i}]={dict(d)!r}: needs a non-empty name and regex")
        try:
            pattern = re.compile(regex)
        except re.error as exc:
            raise ConfigError(f"metric {name!r}: regex {regex!r} does not compile: {exc}") from None
        if pattern.groups != 1:
            raise ConfigError(
                f"metric {name!r}: regex {regex!r} has {pattern.groups} capture groups; it needs exactly one, "
                f"around the number, for example 'loss = ([-+0-9.eE]+)'")
        if name in (n for n, _ in out):
            raise ConfigError(f"metric {name!r} is defined twice in metric_definitions")
        out.append((name, pattern))
    return out


def _env_name(name: str) -> str:
    return "HP_" + re.sub(r"[^0-9A-Za-z]", "_", name).upper()


def _option_key(name: str) -> str:
    # argparse (and click) read --a-b and --a_b into the same variable, a_b.
    return name.replace("-", "_")


def check_names(names: Sequence[str], pass_as: Sequence[str] = PASS_MODES) -> None:
    """Refuses parameter names that would reach the program under one name.

    ``a-b``, ``a.b``, ``A_B`` and ``a_b`` all become the environment variable ``HP_A_B``; ``--a-b``
    and ``--a_b`` are read into the same variable by argparse. Only the modes in ``pass_as`` count.

    Raises:
        ConfigError: Naming both parameters, what they share and the fix.

    Example:
        >>> check_names(["lr", "batch_size"])
        >>> check_names(["a-b", "a_b"], pass_as=["json"])
    """
    rules = []
    if "env" in pass_as:
        rules.append((_env_name, "both become the environment variable {key}"))
    if "args" in pass_as:
        rules.append((_option_key, "become the options --{a} and --{b}, which argparse reads into the same "
                                   "variable {key}"))
    for key_of, what in rules:
        seen: dict[str, str] = {}
        for name in names:
            key = key_of(name)
            if key in seen:
                raise ConfigError(f"parameters {seen[key]!r} and {name!r} "
                                  f"{what.format(a=seen[key], b=name, key=key)}; rename one of them")
            seen[key] = name


def _text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (bool, type(None))) else str(value)


class CommandTrainer:
    """A picklable training function that runs a command per trial and parses its metrics.

    Args:
        command: The program and its arguments, as a list (or a string split like a shell would,
            without ever running one). Arguments naming existing files are made absolute, since
            the program runs in its trial folder; ``python`` means the interpreter running hpcore.
        metric_definitions: ``[{"name": "auc", "regex": "val_auc=([0-9.]+)"}]``; each metric must
            appear in the output of a trial that is not stopped early.
        workdir: Folder holding the trial folders (default ``hpcore-trials``, relative to ``base_dir``).
        timeout: Seconds a trial may run; then it is terminated and fails.
        grace_period: Seconds between SIGTERM and SIGKILL when a trial is stopped.
        env: Extra environment variables for the program.
        pass_as: Which of ``args``, ``env``, ``json`` to use to pass hyperparameters (all by default).
        base_dir: Folder relative file arguments are looked up in (default: the current one).

    Raises:
        ConfigError: For an empty command, an unknown ``pass_as`` or invalid metric definitions.

    Example:
        >>> import sys, tempfile
        >>> from hpcore.reporter import Reporter
        >>> train = CommandTrainer([sys.executable, "-c", "import sys; print('loss=' + sys.argv[2])"],
        ...                        [{"name": "loss", "regex": "loss=([0-9.]+)"}], workdir=tempfile.mkdtemp())
        >>> train({"x": 0.25}, Reporter(0, {"x": 0.25}))
        {'loss': 0.25}
    """

    def __init__(self, command: str | Sequence[str], metric_definitions: Sequence[Mapping[str, str]], *,
                 workdir: str = "hpcore-trials", timeout: float | None = None, grace_period: float = 10.0,
                 env: Mapping[str, Any] | None = None, pass_as: Sequence[str] = PASS_MODES,
                 base_dir: str | None = None) -> None:
        argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
        if not argv:
            raise ConfigError("command is empty; give the program to run, for example [python, train.py]")
        if isinstance(pass_as, str):
            pass_as = [pass_as]
        bad = [m for m in pass_as if m not in PASS_MODES]
        if bad:
            raise ConfigError(f"pass_as: unknown mode(s) {bad}; use any of {', '.join(PASS_MODES)}")
        if timeout is not None and not timeout > 0:
            raise ConfigError(f"timeout={timeout!r}: use a number of seconds > 0")
        if argv[0] in ("python", "python3"):  # the interpreter running hpcore, venv included
            argv[0] = sys.executable
        base = os.path.abspath(base_dir or os.getcwd())
        # The program runs inside its trial folder: a relative script path would no longer resolve.
        self.command = [os.path.join(base, a) if os.path.exists(os.path.join(base, a)) and not os.path.isabs(a)
                        and a not in (".", "..") else a for a in argv]
        self.metrics = parse_metric_definitions(metric_definitions)
        self.workdir = os.path.join(base, workdir)  # absolute workdirs stay as they are
        self.timeout, self.grace_period = timeout, float(grace_period)
        self.env = {str(k): str(v) for k, v in (env or {}).items()}
        self.pass_as = tuple(pass_as)

    def __repr__(self) -> str:
        return f"CommandTrainer({shlex.join(self.command)!r})"

    def check_space(self, space: Mapping[str, Any]) -> None:
        """Refuses a space whose parameter names collide once passed (:func:`check_names`).

        :class:`~hpcore.TuningJob` calls it when the job is created, before any trial runs.
        """
        check_names(list(space), self.pass_as)

    # -- one trial ------------------------------------------------------------------------------
    def _prepare(self, params: dict[str, Any], folder: str, threads: int | None) -> tuple[list[str], dict[str, str]]:
        check_names(list(params), self.pass_as)
        os.makedirs(folder, exist_ok=True)
        argv = list(self.command)
        env = dict(os.environ)
        env.update(thread_env(threads or 1))
        env.update(self.env)
        json_path = os.path.join(folder, "hyperparameters.json")
        with open(json_path, "w", encoding="utf-8") as fh:
            json.dump(params, fh, indent=2, sort_keys=True)
        if "json" in self.pass_as:
            env["HP_JSON"] = json_path
        for name, value in params.items():
            if "args" in self.pass_as:
                argv += [f"--{name}", _text(value)]
            if "env" in self.pass_as:
                env[_env_name(name)] = _text(value)
        return argv, env

    def _stop(self, proc: subprocess.Popen[str]) -> None:
        """SIGTERM to the program's process group, SIGKILL after the grace period."""
        _lifeline.stop_group(proc.pid, self.grace_period, leader=proc)

    @staticmethod
    def _check_program(program: str, env: Mapping[str, str], folder: str) -> None:
        """Fails as Popen would for a program that cannot be run (it is started by the supervisor)."""
        if os.sep in program or (os.altsep and os.altsep in program):
            path = program if os.path.isabs(program) else os.path.join(folder, program)
            found = os.path.isfile(path) and os.access(path, os.X_OK)
        else:
            found = shutil.which(program, path=env.get("PATH", os.defpath)) is not None
        if not found:
            raise RuntimeError(f"cannot start {program!r}: no such program, or it is not executable")

    def __call__(self, params: dict[str, Any], reporter: Any = None) -> dict[str, float]:
        trial_id = getattr(reporter, "trial_id", 0)
        attempt = getattr(reporter, "attempt", 0)
        folder = os.path.join(self.workdir, f"trial-{trial_id}" + (f".{attempt}" if attempt else ""))
        # A copy of the program left running there by an earlier controller would run beside this one.
        _lifeline.stop_leftover(folder, self.grace_period)
        argv, env = self._prepare(dict(params), folder, getattr(reporter, "threads", None))
        self._check_program(argv[0], env, folder)
        command, fds = _lifeline.supervised(argv, self.grace_period)
        try:
            proc = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, text=True, bufsize=1, errors="replace",
                                    start_new_session=True, shell=False, pass_fds=fds)
        except OSError as exc:
            raise RuntimeError(f"cannot start {argv[0]!r}: {exc}") from None
        try:
            _lifeline.record(folder, proc.pid)
            return self._follow(proc, argv, folder, reporter)
        finally:  # an exception (Ctrl-C, SIGTERM, the controller's own failure) stops the program too
            self._stop(proc)
            _lifeline.clear(folder)

    def _follow(self, proc: subprocess.Popen[str], argv: list[str], folder: str, reporter: Any) -> dict[str, float]:
        """Reads the program's output, reporting metrics, until it ends, times out or is stopped."""
        log_path = os.path.join(folder, "stdout.log")
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        last: dict[str, float] = {}
        counts: dict[str, int] = {}
        pending: dict[str, float] = {}
        pending_step, reported_step = 0, 0
        stopped = timed_out = False

        def flush() -> bool:
            nonlocal pending, reported_step
            if not pending or reporter is None:
                pending = {}
                return False
            reported_step = max(pending_step, reported_step + 1)
            stop = bool(reporter.report(reported_step, **pending))
            pending = {}
            return stop

        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:  # a thread, so that the timeout is checked while the program is silent
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        with open(log_path, "w", encoding="utf-8") as log:
            while True:
                wait = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
                try:
                    line = lines.get(timeout=wait)
                except queue.Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        timed_out = True
                        break
                    continue
                if line is None:
                    break
                log.write(line)
                log.flush()
                tail.append(line.rstrip("\n"))
                for name, pattern in self.metrics:
                    m = pattern.search(line)
                    if m is None:
                        continue
                    try:
                        value = float(m.group(1))
                    except (TypeError, ValueError):
                        continue  # "loss=abc": not a value, as SageMaker ignores it
                    counts[name] = counts.get(name, 0) + 1
                    last[name] = value
                    # One report per step: a step is sent once every metric has appeared for it, or
                    # when the next step starts (the program may print fewer metrics at some steps).
                    if counts[name] > pending_step and pending:
                        stopped = flush() or stopped
                    pending_step = max(pending_step, counts[name])
                    pending[name] = value
                    if len(pending) == len(self.metrics):
                        stopped = flush() or stopped
                if stopped:
                    break
            if not stopped and not timed_out:
                stopped = flush()
        self._stop(proc)
        code = proc.wait()
        shown = "\n".join(f"    {t}" for t in tail) or "    (no output)"
        if timed_out:
            raise TimeoutError(f"trial ran past timeout={self.timeout}s and was terminated; last lines of "
                               f"{log_path}:\n{shown}")
        if stopped:
            return last
        if code != 0:
            raise RuntimeError(f"{shlex.join(argv[:2])}... exited with code {code}; last lines of {log_path}:\n{shown}")
        missing = [name for name, _ in self.metrics if name not in last]
        if missing:
            raise MetricError(
                f"metric(s) {', '.join(missing)} never appeared in the output (regex "
                f"{', '.join(repr(p.pattern) for n, p in self.metrics if n in missing)}); last lines of "
                f"{log_path}:\n{shown}")
        return last
