"""scikit-learn estimators that hpcore's autopilot puts in the pipelines it saves.

A saved autopilot model is a plain fitted :class:`sklearn.pipeline.Pipeline`; when its model is one
of these classes, unpickling it imports this package and the estimator's own module only:

- :class:`~hpcore.estimators.torch_mlp.TorchMLPClassifier` and
  :class:`~hpcore.estimators.torch_mlp.TorchMLPRegressor`: a feed-forward network (no hidden layer:
  the linear learner) trained with torch and Adam; prediction needs numpy only.
- :class:`~hpcore.estimators.xgb.XGBLabelClassifier`: xgboost's ``XGBClassifier`` with the labels
  of the target (text or numbers) instead of codes ``0..k-1``.

Nothing here is imported by ``import hpcore``; each class loads on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TorchMLPClassifier", "TorchMLPRegressor", "XGBLabelClassifier"]

_HOMES = {"TorchMLPClassifier": "torch_mlp", "TorchMLPRegressor": "torch_mlp", "XGBLabelClassifier": "xgb"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"hpcore.estimators.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'hpcore.estimators' has no attribute {name!r}")
