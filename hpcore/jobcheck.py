"""Checks of a tuning job's plugins that run when the job is created, before it writes its store.

A strategy, stopper or executor option that is only refused once :meth:`TuningJob.run` has recorded
the job would leave it ``running`` in the store with nothing to resume; these checks run in
``TuningJob.__init__`` instead.
"""

from __future__ import annotations

from typing import Any

from hpcore import plugins
from hpcore.checks import check_options
from hpcore.errors import ConfigError
from hpcore.executors.base import Executor
from hpcore.stopping import create_stopper
from hpcore.strategies import create_tuner

__all__ = ["check_plugins"]


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
                  fixed=("space", "direction", "seed"))
    create_tuner(job.strategy_name, job.space, job.direction, job.seed, **job.strategy_options)
    factory = plugins.lookup("stoppers", job.early_stopping)
    if job.early_stopping != "none":
        check_options("stopper", job.early_stopping, factory, job.stopper_options, fixed=("direction",))
        create_stopper(job.early_stopping, job.direction, **job.stopper_options)
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
