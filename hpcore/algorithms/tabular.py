"""Tabular models of the algorithm plugins: the scikit-learn estimators the autopilot tunes.

An :class:`~hpcore.algorithms.Algorithm` may carry a :class:`TabularModel` (its ``tabular`` field);
``hpcore autopilot`` builds one candidate pipeline per registered algorithm that has one, so a
third-party plugin adds an autopilot candidate by registering an algorithm with ``tabular=...``: a
search space and a function that makes an unfitted scikit-learn estimator from a configuration.
The built-ins are the linear learner and the multilayer perceptron
(:class:`~hpcore.estimators.torch_mlp.TorchMLPClassifier` and its regressor, torch), xgboost
(its scikit-learn API) and a support-vector classifier (scikit-learn's ``SVC``, for classification
tables of up to 10,000 rows). Frameworks and scikit-learn are imported only when an estimator is
made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpcore.space import Categorical, Float, Int, SearchSpace

__all__ = ["EpochCallback", "TabularModel", "fit_reporting_xgboost", "fit_torch", "linear_estimator",
           "linear_tabular_space", "mlp_estimator", "mlp_tabular_space", "svm_estimator", "svm_tabular_space",
           "xgboost_estimator", "xgboost_tabular_space"]
PROBLEMS = ("binary", "multiclass", "regression")
SVM_MAX_ROWS = 10_000  # a kernel machine's fit grows with the square of the rows and more

# on_epoch(step, predict) -> stop?  ``predict(x)`` gives the model's outputs as they are at ``step``:
# class probabilities (n, k) of a classifier, values (n,) of a regressor.
EpochCallback = Callable[[int, Callable[[Any], np.ndarray]], bool]
REPORT_ROUNDS = 25  # boosting rounds between two reports of an xgboost fit


@dataclass
class TabularModel:
    """A trainable model for tables: its search space and its scikit-learn estimator.

    Args:
        space: ``space(problem_type) -> SearchSpace`` (``binary``, ``multiclass``, ``regression``).
        estimator: ``estimator(params, problem_type, seed=0, threads=1)`` returning an unfitted
            scikit-learn estimator (a classifier with ``predict_proba``, or a regressor) that learns
            from a float matrix and the target's labels or values.
        encodings: Categorical encodings that suit it (``onehot``, ``ordinal``), preferred first.
        scale: Whether it needs standardised, imputed inputs (networks do, trees do not).
        fit: ``fit(estimator, x, y, on_epoch)`` fitting it while calling ``on_epoch`` (see
            :data:`EpochCallback`) during training, so that poor trials stop early; None fits it
            with ``estimator.fit(x, y)`` and reports once, at the end.
        problems: The problem types it can learn (the autopilot offers it on those only).
        max_rows: The largest table it suits (None: any); the autopilot leaves it out above.
        package: The distribution it is trained with beyond scikit-learn (``torch``, ``xgboost-cpu``),
            whose version a saved model's card records.

    Example:
        >>> model = TabularModel(xgboost_tabular_space, xgboost_estimator, ("ordinal",), False)
        >>> type(model.estimator(model.space("regression").defaults(), "regression")).__name__
        'XGBRegressor'
    """

    space: Callable[[str], SearchSpace]
    estimator: Callable[..., Any]
    encodings: tuple[str, ...] = ("onehot",)
    scale: bool = True
    fit: Callable[[Any, Any, Any, EpochCallback | None], Any] | None = None
    problems: tuple[str, ...] = PROBLEMS
    max_rows: int | None = None
    package: str | None = None

    def suits(self, problem_type: str, rows: int) -> bool:
        """Whether the autopilot should offer this model on a table of ``rows`` rows of this problem type."""
        return problem_type in self.problems and (self.max_rows is None or rows <= self.max_rows)

    def fit_estimator(self, estimator: Any, x: Any, y: Any, on_epoch: EpochCallback | None = None) -> Any:
        """Fits ``estimator`` on ``x``, ``y`` (reporting through ``on_epoch`` when it can); returns it."""
        if self.fit is not None:
            return self.fit(estimator, x, y, on_epoch)
        return estimator.fit(x, y)


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


def xgboost_estimator(params: dict[str, Any], problem_type: str, seed: int = 0, threads: int = 1) -> Any:
    """xgboost's scikit-learn estimator for ``params`` (labels kept for classification: ``XGBLabelClassifier``)."""
    try:
        from xgboost import XGBRegressor

        from hpcore.estimators.xgb import XGBLabelClassifier
    except ImportError:
        raise ImportError("the xgboost candidate needs xgboost: pip install 'hpcore[xgboost]'") from None
    cls = XGBRegressor if problem_type == "regression" else XGBLabelClassifier
    return cls(n_estimators=int(params["num_round"]), learning_rate=float(params["eta"]),
               max_depth=int(params["max_depth"]), min_child_weight=float(params["min_child_weight"]),
               reg_lambda=float(params["lambda"]), reg_alpha=float(params["alpha"]),
               subsample=float(params["subsample"]), colsample_bytree=float(params["colsample_bytree"]),
               tree_method="hist", n_jobs=threads, random_state=seed, verbosity=0)


def fit_reporting_xgboost(estimator: Any, x: Any, y: Any, on_epoch: EpochCallback | None) -> Any:
    """Fits an xgboost estimator, calling ``on_epoch`` every :data:`REPORT_ROUNDS` rounds (it may stop it).

    The callback is set for this fit only: the fitted estimator keeps ``callbacks=None``.
    """
    if on_epoch is None:
        return estimator.fit(x, y)
    import xgboost as xgb
    from sklearn.base import is_classifier

    classify = is_classifier(estimator)

    class _Report(xgb.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            if (epoch + 1) % REPORT_ROUNDS:
                return False

            def predict(rows: Any, rounds: int = epoch + 1) -> np.ndarray:
                p = model.predict(xgb.DMatrix(rows), iteration_range=(0, rounds))
                return np.column_stack([1.0 - p, p]) if classify and p.ndim == 1 else p

            return bool(on_epoch(epoch + 1, predict))  # True is xgboost's own way to stop training

    estimator.set_params(callbacks=[_Report()])
    try:
        return estimator.fit(x, y)
    finally:
        estimator.set_params(callbacks=None)


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


def svm_tabular_space(problem_type: str = "binary") -> SearchSpace:
    """The RBF support-vector classifier: the penalty ``C`` and the kernel width ``gamma``, both log.

    The default ``gamma`` (0.02) is scikit-learn's ``"scale"`` for about 50 standardised columns.
    """
    return SearchSpace({
        "C": Float(0.01, 1000.0, scale="log", default=1.0),
        "gamma": Float(1e-4, 1.0, scale="log", default=0.02),
    })


def svm_estimator(params: dict[str, Any], problem_type: str, seed: int = 0, threads: int = 1) -> Any:
    """scikit-learn's ``SVC`` with an RBF kernel and Platt-scaled probabilities (classification only).

    The probabilities come from ``CalibratedClassifierCV(SVC(...), method="sigmoid", ensemble=False)``:
    Platt scaling fitted on 5 internal folds, then one SVC on all rows, which is what
    ``SVC(probability=True)`` did before scikit-learn 1.9 deprecated it. libsvm's iterations are
    capped (``max_iter=100_000``): a corner of ``C`` and ``gamma`` can otherwise take minutes to
    converge, and a capped fit still predicts.
    """
    if problem_type == "regression":
        raise ValueError("the svm tabular model classifies; it has no regression estimator")
    from sklearn.calibration import CalibratedClassifierCV

    return CalibratedClassifierCV(svc(params, seed), method="sigmoid", cv=5, ensemble=False)


def svc(params: dict[str, Any], seed: int = 0) -> Any:
    """The bare RBF ``SVC`` of ``params`` (``C``, ``gamma``), libsvm capped at 100,000 iterations."""
    from sklearn.svm import SVC

    return SVC(C=float(params["C"]), gamma=float(params["gamma"]), max_iter=100_000, random_state=seed)


def linear_estimator(params: dict[str, Any], problem_type: str, seed: int = 0, threads: int = 1) -> Any:
    """The linear learner: :class:`~hpcore.estimators.torch_mlp.TorchMLPClassifier` (or regressor), no hidden layer."""
    return _torch_estimator(dict(params, layers=0), problem_type, seed, threads)


def mlp_estimator(params: dict[str, Any], problem_type: str, seed: int = 0, threads: int = 1) -> Any:
    """The multilayer perceptron as a :class:`~hpcore.estimators.torch_mlp.TorchMLPClassifier` (or regressor)."""
    return _torch_estimator(params, problem_type, seed, threads)


def _torch_estimator(params: dict[str, Any], problem_type: str, seed: int, threads: int) -> Any:
    from hpcore.estimators.torch_mlp import TorchMLPClassifier, TorchMLPRegressor

    cls = TorchMLPRegressor if problem_type == "regression" else TorchMLPClassifier
    names = ("hidden_units", "layers", "dropout", "learning_rate", "weight_decay", "epochs", "batch_size")
    return cls(**{k: params[k] for k in names if k in params}, random_state=seed, n_threads=threads)


def fit_torch(estimator: Any, x: Any, y: Any, on_epoch: EpochCallback | None) -> Any:
    """Fits a torch estimator, calling ``on_epoch`` after every epoch."""
    return estimator.fit(x, y, on_epoch=on_epoch)
