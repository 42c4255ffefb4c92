"""Tabular models of the algorithm plugins: the ``fit``/``predict`` contract the autopilot tunes.

An :class:`~hpcore.algorithms.Algorithm` may carry a :class:`TabularModel` (its ``tabular`` field);
``hpcore autopilot`` builds one candidate pipeline per registered algorithm that has one, so a
third-party plugin adds an autopilot candidate by registering an algorithm with ``tabular=...``.
The built-ins are the linear learner and the multilayer perceptron (torch, see
:mod:`hpcore.algorithms.mlp`) and xgboost. Frameworks are imported only when a model is fitted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpcore.space import Categorical, Float, Int, SearchSpace

__all__ = ["EpochCallback", "TabularModel", "XGBoostModel", "fit_xgboost", "xgboost_tabular_space"]

# on_epoch(step, model) -> stop?  Called during training with the model as it is at ``step``.
EpochCallback = Callable[[int, Any], bool]


@dataclass
class TabularModel:
    """A trainable model for tables, with a search space per problem type and its preferred preprocessing.

    Args:
        space: ``space(problem_type) -> SearchSpace`` (``binary``, ``multiclass``, ``regression``).
        fit: ``fit(params, x, y, problem_type, n_classes, seed=0, threads=1, on_epoch=None)``
            returning a fitted model whose ``predict(x)`` gives class probabilities ``(n, k)`` or
            values ``(n,)``. ``x`` is a float32 matrix; ``y`` integer codes or floats.
        encodings: Categorical encodings that suit it (``onehot``, ``ordinal``), preferred first.
        scale: Whether it needs standardised, imputed inputs (networks do, trees do not).

    Example:
        >>> import numpy as np
        >>> model = TabularModel(lambda problem: xgboost_tabular_space(), fit_xgboost, ("ordinal",), False)
        >>> model.encodings
        ('ordinal',)
    """

    space: Callable[[str], SearchSpace]
    fit: Callable[..., Any]
    encodings: tuple[str, ...] = ("onehot",)
    scale: bool = True


def xgboost_tabular_space(problem_type: str = "binary") -> SearchSpace:
    """xgboost's most impactful parameters, with its own defaults and 300 rounds as the default."""
    return SearchSpace({
        "eta": Float(0.01, 0.5, scale="log", category="optimizer", default=0.1),
        "num_round": Int(30, 1000, scale="log", category="optimizer", default=300),
        "max_depth": Int(2, 10, default=6),
        "min_child_weight": Float(1.0, 50.0, scale="log", default=1.0),
        "lambda": Float(1e-3, 30.0, scale="log", default=1.0),
        "alpha": Float(1e-4, 10.0, scale="log", default=1e-4),
        "subsample": Float(0.5, 1.0, category="data", default=1.0),
        "colsample_bytree": Float(0.3, 1.0, category="data", default=1.0),
    })


@dataclass
class XGBoostModel:
    """A fitted booster; ``predict`` returns probabilities ``(n, k)`` or values."""

    booster: Any
    problem_type: str
    rounds: int | None = None

    def predict(self, x: np.ndarray) -> np.ndarray:
        import xgboost as xgb

        kwargs = {"iteration_range": (0, self.rounds)} if self.rounds else {}
        p = self.booster.predict(xgb.DMatrix(x), **kwargs)
        if self.problem_type == "binary":
            return np.column_stack([1.0 - p, p])
        return p


def fit_xgboost(params: dict[str, Any], x: np.ndarray, y: np.ndarray, problem_type: str, n_classes: int,
                seed: int = 0, threads: int = 1, on_epoch: EpochCallback | None = None) -> XGBoostModel:
    """Trains gradient-boosted trees; calls ``on_epoch`` every 25 rounds (stopping when it says so)."""
    try:
        import xgboost as xgb
    except ImportError:
        raise ImportError("the xgboost candidate needs xgboost: pip install 'hpcore[xgboost]'") from None
    objective = {"binary": "binary:logistic", "multiclass": "multi:softprob",
                 "regression": "reg:squarederror"}[problem_type]
    booster_params: dict[str, Any] = {
        "objective": objective, "seed": seed, "nthread": threads, "tree_method": "hist",
        "eta": float(params["eta"]), "max_depth": int(params["max_depth"]),
        "min_child_weight": float(params["min_child_weight"]), "lambda": float(params["lambda"]),
        "alpha": float(params["alpha"]), "subsample": float(params["subsample"]),
        "colsample_bytree": float(params["colsample_bytree"]), "verbosity": 0,
    }
    if problem_type == "multiclass":
        booster_params["num_class"] = n_classes
    callbacks = []
    if on_epoch is not None:
        class _Report(xgb.callback.TrainingCallback):
            def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
                if (epoch + 1) % 25:
                    return False
                # Returning True is xgboost's own way to stop training.
                return bool(on_epoch(epoch + 1, XGBoostModel(model, problem_type, epoch + 1)))

        callbacks.append(_Report())
    booster = xgb.train(booster_params, xgb.DMatrix(x, label=y), num_boost_round=int(params["num_round"]),
                        callbacks=callbacks, verbose_eval=False)
    return XGBoostModel(booster, problem_type)


def linear_tabular_space(problem_type: str = "binary") -> SearchSpace:
    """The linear learner on tables: Adam's learning rate, L2 weight decay, epochs and batch size."""
    return SearchSpace({
        "learning_rate": Float(1e-4, 0.3, scale="log", category="optimizer", default=0.01),
        "weight_decay": Float(1e-7, 1e-1, scale="log", default=1e-5),
        "epochs": Int(5, 100, scale="log", category="optimizer", default=30),
        "batch_size": Categorical([32, 128, 512], category="data", default=128),
    })


def mlp_tabular_space(problem_type: str = "binary") -> SearchSpace:
    """The multilayer perceptron: width, depth, dropout, Adam, weight decay, epochs, batch size."""
    return SearchSpace({
        "hidden_units": Int(16, 512, scale="log", default=128),
        "layers": Int(1, 3, default=2),
        "dropout": Float(0.0, 0.5, default=0.1),
        "learning_rate": Float(1e-4, 0.03, scale="log", category="optimizer", default=1e-3),
        "weight_decay": Float(1e-7, 1e-2, scale="log", category="optimizer", default=1e-5),
        "epochs": Int(10, 150, scale="log", category="optimizer", default=30),
        "batch_size": Categorical([32, 128, 512], category="data", default=128),
    })
