"""hpcore: automatic hyperparameter tuning inside the trainers you already use.

Example:
    >>> import hpcore
    >>> space = hpcore.SearchSpace({"x": hpcore.Float(-2.0, 2.0)})
    >>> job = hpcore.TuningJob(lambda p, r: (p["x"] - 1) ** 2, space, strategy="random",
    ...                        max_trials=10, seed=0, progress=False)
    >>> result = job.run()
    >>> len(result.trials)
    10
"""

from __future__ import annotations

from hpcore.errors import (
    ConfigError,
    HpcoreError,
    MetricError,
    NoBestTrial,
    PluginError,
    SearchExhausted,
    SearchSpaceError,
    StoreError,
    TrialsFailed,
)
from hpcore.hookspec import hookimpl
from hpcore.job import TuningJob, TuningResult
from hpcore.reporter import Reporter, current_reporter
from hpcore.space import CATEGORIES, SCALES, Categorical, Float, Int, SearchSpace
from hpcore.stopping import Stopper, create_stopper
from hpcore.strategies import Strategy, create_tuner
from hpcore.trial import Trial, TrialRecord, TrialState

__version__ = "0.1.0"

# Submodules reachable as attributes without importing their (optional, heavier) dependencies up front.
_LAZY = ("plot", "presets", "advice", "report", "autopilot", "dashboard")


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"hpcore.{name}")
    raise AttributeError(f"module 'hpcore' has no attribute {name!r}")

__all__ = [
    "CATEGORIES",
    "SCALES",
    "Categorical",
    "ConfigError",
    "Float",
    "HpcoreError",
    "Int",
    "MetricError",
    "NoBestTrial",
    "PluginError",
    "Reporter",
    "SearchExhausted",
    "SearchSpace",
    "SearchSpaceError",
    "Stopper",
    "StoreError",
    "Strategy",
    "Trial",
    "TrialRecord",
    "TrialState",
    "TrialsFailed",
    "TuningJob",
    "TuningResult",
    "__version__",
    "create_stopper",
    "create_tuner",
    "current_reporter",
    "hookimpl",
]
