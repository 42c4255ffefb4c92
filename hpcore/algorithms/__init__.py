"""Named training algorithms: a training function with its default search space and objective.

``hpcore tune --algorithm NAME`` and job files with ``algorithm: NAME`` look algorithms up in the
``algorithms`` registry, which built-in modules and third-party plugins fill through the
``hpcore_add_algorithms`` hook, exactly as SageMaker's built-in algorithms come with recommended
ranges and an objective metric. The built-ins are ``linear-learner`` (torch), ``xgboost``, ``mlp``
(torch) and ``svm`` (scikit-learn); their frameworks are imported only when a trial runs. An
algorithm with a ``tabular`` model is also a candidate of ``hpcore autopilot`` (see
:mod:`hpcore.algorithms.tabular`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hpcore.algorithms.linear_learner import LinearLearner, linear_learner_space
from hpcore.algorithms.mlp import MLPTrainer, mlp_space
from hpcore.algorithms.svm import SVMTrainer
from hpcore.algorithms.tabular import (
    SVM_MAX_ROWS,
    TabularModel,
    fit_reporting_xgboost,
    fit_torch,
    linear_estimator,
    linear_tabular_space,
    mlp_estimator,
    mlp_tabular_space,
    svm_estimator,
    svm_tabular_space,
    xgboost_estimator,
    xgboost_tabular_space,
)
from hpcore.algorithms.xgboost import XGBoostTrainer, xgboost_space
from hpcore.hookspec import hookimpl
from hpcore.space import SearchSpace

__all__ = ["Algorithm", "hpcore_add_algorithms"]


@dataclass
class Algorithm:
    """A training algorithm ready to tune: ``TuningJob(algo.train, algo.space, algo.objective, algo.direction)``.

    Args:
        name: The registry name (``hpcore tune --algorithm NAME``).
        train: A picklable ``train(params, reporter)`` function.
        space: Its default search space.
        objective: The metric it reports and that tuning optimises.
        direction: ``maximize`` or ``minimize``.
        description: One line shown by ``hpcore plugins``.
        tabular: Its model for ``hpcore autopilot`` on any table, or None when it has none.

    Example:
        >>> import hpcore
        >>> algo = Algorithm("toy", lambda p, r: (p["x"] - 1) ** 2,
        ...                  hpcore.SearchSpace({"x": hpcore.Float(-2.0, 2.0)}), "objective", "minimize")
        >>> result = hpcore.TuningJob(**algo.job_args(), strategy="random", max_trials=3, seed=0,
        ...                           progress=False).run()
        >>> len(result.trials)
        3
    """

    name: str
    train: Callable[..., Any]
    space: SearchSpace
    objective: str
    direction: str
    description: str = ""
    tabular: TabularModel | None = None

    def job_args(self) -> dict[str, Any]:
        """The arguments of :class:`hpcore.TuningJob` this algorithm provides."""
        return {"train": self.train, "space": self.space, "objective": self.objective,
                "direction": self.direction}


@hookimpl
def hpcore_add_algorithms() -> dict[str, Algorithm]:
    return {
        "linear-learner": Algorithm(
            "linear-learner", LinearLearner(), linear_learner_space(), "validation_auc", "maximize",
            "logistic regression with Adam (torch) on the bundled fraud data; SageMaker's ranges",
            TabularModel(linear_tabular_space, linear_estimator, ("onehot",), True, fit_torch,
                         package="torch")),
        "xgboost": Algorithm(
            "xgboost", XGBoostTrainer(), xgboost_space(), "validation_auc", "maximize",
            "gradient-boosted trees (xgboost) on the bundled fraud data; SageMaker's ranges",
            TabularModel(xgboost_tabular_space, xgboost_estimator, ("ordinal", "onehot"), False,
                         fit_reporting_xgboost, package="xgboost-cpu")),
        "mlp": Algorithm(
            "mlp", MLPTrainer(), mlp_space(), "validation_auc", "maximize",
            "multilayer perceptron with Adam (torch) on the bundled fraud data",
            TabularModel(mlp_tabular_space, mlp_estimator, ("onehot",), True, fit_torch, package="torch")),
        "svm": Algorithm(
            "svm", SVMTrainer(), svm_tabular_space(), "validation_auc", "maximize",
            "RBF support-vector classifier (scikit-learn) on 10,000 rows of the bundled fraud data",
            TabularModel(svm_tabular_space, svm_estimator, ("onehot",), True, None,
                         ("binary", "multiclass"), SVM_MAX_ROWS)),
    }
