"""Executors: where trials run — ``inprocess``, ``process`` (worker processes), ``dask``, or a plugin's."""

from hpcore.executors.base import Executor, Outcome, Task

__all__ = ["Executor", "Outcome", "Task"]
