"""XGBoost adapter for hpcore (xgboost >= 2; ``xgboost-cpu`` is enough).

``TuningCallback`` is an ``xgboost.callback.TrainingCallback`` that reports an evaluation metric to
the running trial after each round and stops boosting when the trial should stop; ``booster_params``
maps optimizer preset values onto booster parameters. xgboost is imported only when used.

Example:
    >>> import hpcore_xgboost
    >>> hpcore_xgboost.booster_params({"lr": 0.1, "weight_decay": 0.01, "momentum": 0.9})
    {'learning_rate': 0.1, 'reg_lambda': 0.01}
"""

from __future__ import annotations

from typing import Any

from hpcore import plugins

__all__ = ["TuningCallback", "booster_params", "flatten_evals_log"]


def booster_params(params: dict[str, Any]) -> dict[str, float]:
    """Booster parameters from the trial's optimizer preset values (``hpcore_make_optimizer``)."""
    out = plugins.call_hook("hpcore_make_optimizer", framework="xgboost", params=params, model=None)
    if out is None:
        raise RuntimeError("no hpcore plugin built xgboost parameters: is xgboost installed and the 'xgboost' "
                           "plugin loaded (hpcore plugins)?")
    return dict(out)


def __getattr__(name: str) -> Any:
    if name in ("TuningCallback", "flatten_evals_log"):  # these import xgboost
        from hpcore_xgboost import callback

        return getattr(callback, name)
    raise AttributeError(f"module 'hpcore_xgboost' has no attribute {name!r}")
