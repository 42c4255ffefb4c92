"""Job files: a tuning job declared in YAML (or JSON), for ``hpcore tune JOB.yaml``.

A job names what to train in one of three ways — ``train: package.module:function``, ``command:``
(any program; see :mod:`hpcore.script`) or ``algorithm:`` (a registered algorithm, which also brings
its default space and objective) — and then the same settings as :class:`~hpcore.TuningJob`::

    train: mypackage.training:train
    objective: val_auc
    direction: maximize
    strategy: bayesian
    early_stopping: median
    max_trials: 30
    max_parallel: 2
    store: tuning.db
    space:
      lr: {type: float, min: 1.0e-5, max: 1.0e-1, scale: log, category: optimizer}
      depth: {type: int, min: 1, max: 8}
      optimizer: {type: categorical, values: [adam, sgd], category: optimizer}

``presets:`` adds hpcore's ready-made ranges by name (:mod:`hpcore.jobpresets`), ``enqueue:`` and
``try_defaults:`` run known configurations first. Every key, with an example: ``docs/job-files.md``.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Mapping
from typing import Any

from hpcore import plugins
from hpcore._suggest import did_you_mean
from hpcore.errors import ConfigError
from hpcore.job import TuningJob
from hpcore.jobpresets import preset_ranges
from hpcore.space import SearchSpace

__all__ = ["JOB_KEYS", "load_job_file", "job_from_dict", "resolve_callable"]

# Keys passed to TuningJob unchanged.
JOB_OPTIONS = (
    "objective", "direction", "constraints", "strategy", "max_trials", "max_parallel", "max_runtime",
    "target",
    "max_trials_without_improvement", "min_improvement", "complete_on_convergence", "max_retries",
    "crash_retries", "artifacts", "keep_artifacts", "fail_fast", "trial_timeout", "early_stopping", "executor",
    "store", "name", "seed", "resume", "durability",
    "progress", "strategy_options", "stopper_options", "executor_options", "enqueue", "try_defaults",
)
JOB_KEYS = ("train", "command", "algorithm", "space", "presets", "metric_definitions", "script", "warm_start",
            "warm_start_type") + JOB_OPTIONS


def resolve_callable(ref: str, base_dir: str | None = None) -> Any:
    """Imports ``package.module:function`` (the job file's folder is importable too)."""
    if not isinstance(ref, str) or ":" not in ref:
        raise ConfigError(f"train: {ref!r} should look like 'package.module:function'")
    module_name, _, attr = ref.partition(":")
    if base_dir and base_dir not in sys.path:
        sys.path.insert(0, base_dir)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"train: cannot import module {module_name!r} ({exc}); check the name and sys.path") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"train: module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ConfigError(f"train: {ref!r} is not callable")
    return obj


def job_from_dict(data: Mapping[str, Any], base_dir: str | None = None, **overrides: Any) -> TuningJob:
    """Builds a :class:`TuningJob` from a job file's mapping (``overrides`` win over the file).

    Raises:
        ConfigError: For unknown keys (listing the valid ones), a missing space or training target.

    Example:
        >>> job = job_from_dict({"train": "math:hypot", "space": {"x": {"type": "float", "min": 0, "max": 1}},
        ...                      "strategy": "random", "max_trials": 2, "progress": False})
        >>> job.max_trials
        2
    """
    if not isinstance(data, Mapping):
        raise ConfigError("a job file must hold a mapping of settings (train:, space:, objective: ...)")
    data = dict(data)
    data.update({k: v for k, v in overrides.items() if v is not None})
    unknown = sorted(set(data) - set(JOB_KEYS))
    if unknown:
        hints = "".join(f"\n  {k!r}{did_you_mean(k, JOB_KEYS) or ' (no key is close)'}" for k in unknown)
        raise ConfigError(f"unknown job key(s): {', '.join(map(repr, unknown))}{hints}\n"
                          f"valid keys: {', '.join(sorted(JOB_KEYS))} (see docs/job-files.md)")
    sources = [k for k in ("train", "command", "algorithm") if data.get(k)]
    if "algorithm" in sources and len(sources) > 1:
        sources.remove("algorithm")  # an algorithm's defaults with a different train/command
    if len(sources) != 1:
        raise ConfigError("a job needs exactly one of train: (module:function), command: (a program) "
                          f"or algorithm: (a registered algorithm); got {sources or 'none'}")
    kwargs: dict[str, Any] = {}
    train: Any = None
    space: Any = None
    if data.get("algorithm"):
        algo = plugins.lookup("algorithms", data["algorithm"])
        train, space = algo.train, algo.space
        kwargs.update(objective=algo.objective, direction=algo.direction)
    if data.get("train"):
        train = resolve_callable(data["train"], base_dir)
    elif data.get("command"):
        from hpcore.script import CommandTrainer

        script = dict(data.get("script") or {})
        if base_dir:  # the command and its workdir are relative to the job file, not to where hpcore runs
            script.setdefault("base_dir", base_dir)
        train = CommandTrainer(command=data["command"], metric_definitions=data.get("metric_definitions") or [],
                               **script)
    elif data.get("metric_definitions") or data.get("script"):
        raise ConfigError("metric_definitions: and script: only apply to a command: job")
    if data.get("space") is not None:
        space = SearchSpace(data["space"]) if not isinstance(data["space"], SearchSpace) else data["space"]
    if data.get("presets") is not None:
        space = _with_presets(space, preset_ranges(data["presets"]))
    if space is None:
        raise ConfigError("a job needs a space: mapping of parameter names to ranges")
    kwargs.update({k: data[k] for k in JOB_OPTIONS if k in data})
    for key in ("store", "artifacts"):  # local paths are relative to the job file (an URL is not a path)
        value = kwargs.get(key)
        if base_dir and isinstance(value, str) and not os.path.isabs(value) and "://" not in value:
            kwargs[key] = os.path.join(base_dir, value)
    for key in ("warm_start", "warm_start_type"):
        if key in data:
            kwargs[key] = data[key]
    try:
        return TuningJob(train, space, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"job file: {exc}") from None


def _with_presets(space: SearchSpace | None, ranges: dict[str, Any]) -> SearchSpace:
    own = {n: space[n] for n in space} if space is not None else {}
    both = sorted(set(own) & set(ranges))
    if both:
        raise ConfigError(f"{', '.join(both)}: in both space: and presets:; remove it from space:, or change the "
                          "preset's range with its argument (presets: {optimizer: {lr: [1.0e-4, 1.0e-1]}})")
    return SearchSpace({**own, **ranges})


def _loader() -> Any:
    """A SafeLoader that refuses a key given twice in one mapping, and reads ``1e-5`` as a number.

    PyYAML keeps the last of two equal keys silently, and reads ``1e-5`` as a string (YAML 1.1 wants
    ``1.0e-5``); YAML 1.2 and JSON read it as a number, as people writing job files expect.
    """
    import yaml

    class JobLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            if isinstance(node, yaml.MappingNode):
                seen: dict[Any, int] = {}
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":  # '<<: *defaults' may be overridden
                        continue
                    key = self.construct_object(key_node, deep=True)
                    line = key_node.start_mark.line + 1
                    try:
                        first = seen.get(key)
                    except TypeError:  # an unhashable key: SafeLoader refuses it below
                        continue
                    seen[key] = line
                    if first is not None:
                        raise ConfigError(f"{key_node.start_mark.name}: line {line}: key {key!r} is given twice "
                                          f"in the same mapping (first on line {first}); keep one of them")
            return super().construct_mapping(node, deep=deep)

    JobLoader.add_implicit_resolver(
        "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
        list("-+0123456789"))
    return JobLoader


def load_job_file(path: str, **overrides: Any) -> TuningJob:
    """Reads a YAML or JSON job file and builds its :class:`TuningJob`.

    Relative ``store`` paths and ``train`` modules are taken relative to the file's folder.

    Raises:
        ConfigError: When the file cannot be read, is not valid YAML, gives a key twice in one mapping
            (naming the key and its lines) or holds an invalid job.
    """
    import yaml

    try:
        with open(path) as fh:
            data = yaml.load(fh, Loader=_loader())  # noqa: S506 - a SafeLoader subclass
    except OSError as exc:
        raise ConfigError(f"cannot read job file {path!r}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"job file {path!r} is not valid YAML: {exc}") from None
    return job_from_dict(data or {}, base_dir=os.path.dirname(os.path.abspath(path)), **overrides)
