"""Checks of a tuning job's settings and plugins that run when the job is created, before it writes its store.

A setting, strategy, stopper or executor option that is only refused once :meth:`TuningJob.run`
has recorded the job would leave it ``running`` in the store with nothing to resume (a string
``target`` would only fail at the first finished trial); these checks run in
``TuningJob.__init__`` instead.
"""

from __future__ import annotations

from typing import Any

from hpcore import plugins
from hpcore.checks import check_number, check_options
from hpcore.errors import ConfigError
from hpcore.executors.base import Executor
from hpcore.keeping import check_keep
from hpcore.stopping import create_stopper
from hpcore.strategies import create_tuner

__all__ = ["check_plugins", "check_settings"]

RESUME = ("auto", "continue", "never")
DURABILITY = ("normal", "full")


def check_settings(job: Any) -> None:
    """Refuses a bad limit, criterion or choice of ``job``, naming it; normalises the numbers.

    Raises:
        ConfigError: For a value of the wrong type or out of range, with the values allowed.
    """
    for label in ("max_trials", "max_parallel"):
        v = getattr(job, label)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{label}={v!r}: use a whole number >= 1")
    for label in ("max_retries", "crash_retries"):
        v = getattr(job, label)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ConfigError(f"{label}={v!r}: use a whole number >= 0")
    check_keep(job.keep_artifacts)
    if job.artifacts is not None and (not isinstance(job.artifacts, str) or not job.artifacts):
        raise ConfigError(f"artifacts={job.artifacts!r}: give a folder or an fsspec URL (s3://bucket/path), "
                          "or None to keep trials' files next to the store")
    for label in ("max_runtime", "trial_timeout"):
        v = getattr(job, label)
        if v is not None and not (isinstance(v, (int, float)) and v > 0):
            raise ConfigError(f"{label}={v!r}: use a number of seconds > 0, or None")
    job.target = check_number("target", job.target)
    several = job.objectives.several
    for label in ("target", "max_trials_without_improvement"):
        if several and getattr(job, label) is not None:
            raise ConfigError(f"{label}= applies to one objective and this job has {len(job.objectives.names)} "
                              f"({', '.join(job.objectives.names)}); remove it, or tune one objective with the "
                              "others as constraints")
    job.max_trials_without_improvement = check_number(
        "max_trials_without_improvement", job.max_trials_without_improvement, integer=True, minimum=1)
    job.min_improvement = check_number("min_improvement", job.min_improvement, minimum=0, optional=False)
    job.fail_fast = check_number("fail_fast", job.fail_fast, integer=True, minimum=1)
    for label, allowed in (("resume", RESUME), ("durability", DURABILITY),
                           ("warm_start_type", ("identical", "transfer"))):
        if getattr(job, label) not in allowed:
            raise ConfigError(f"{label}={getattr(job, label)!r}: use one of {', '.join(allowed)}")


def check_plugins(job: Any) -> None:
    """Refuses an unknown strategy, stopper or executor of ``job`` (listing the registered ones) or
    options they do not take (listing those they take).

    The strategy and the stopper are built once and dropped, so that their own checks of the option
    values (hyperband's ``max_resource``, the median stopper's ``percentile``...) run now too. An
    executor is only checked by name and option names: building one may start processes or connect
    to a cluster.

    Raises:
        PluginError: For an unknown name.
        ConfigError: For an option that is unknown, misplaced or has a bad value.
    """
    factory = plugins.lookup("strategies", job.strategy_name)
    check_options("strategy", job.strategy_name, factory, job.strategy_options,
                  fixed=("space", "direction", "seed", "constraints"))
    create_tuner(job.strategy_name, job.space, job.direction, job.seed, job.constraints, **job.strategy_options)
    factory = plugins.lookup("stoppers", job.early_stopping)
    if job.early_stopping != "none":
        check_options("stopper", job.early_stopping, factory, job.stopper_options, fixed=("direction",))
        create_stopper(job.early_stopping, job.objectives.directions[0], **job.stopper_options)
    elif job.stopper_options:
        raise ConfigError(
            f"stopper_options={job.stopper_options!r} apply to early_stopping, which is 'none'; set "
            "early_stopping= to a stopper (median, asha...) or remove them (the hyperband strategy's own "
            "rule takes its options in strategy_options)")
    if isinstance(job._executor_arg, Executor):
        if job.executor_options:
            raise ConfigError(f"executor_options={job.executor_options!r} apply to an executor given by name; "
                              "configure the Executor instance itself instead")
        return
    name = job._executor_name()
    check_options("executor", name, plugins.lookup("executors", name), job.executor_options,
                  fixed=("max_parallel", "trial_timeout"))
