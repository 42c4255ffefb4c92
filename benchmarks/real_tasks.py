"""Real tuning tasks: scikit-learn models on bundled or generated data, all minimised (``bench_real.py``).

Each entry of :data:`TASKS` is a :class:`Task`: a model tuned by 3-fold cross-validation (the
folds shuffled with seed 0, stratified for classification; every model's ``random_state`` fixed,
one thread), so that a configuration always gets the same loss. The loss is ``error`` (1 -
accuracy), ``log_loss`` (the mean negative log-likelihood of the true class, probabilities
clipped to [1e-15, 1]) or ``rmse``. A model that diverges (NaN or infinite outputs) gets uniform
class probabilities, or predictions clipped to the target's range widened by its span, so every
loss is finite; one whose fit refuses to finish with non-finite weights (scikit-learn's MLPs) gets
the same, or the majority class for ``error``. Warnings (convergence, overflow) are silenced.

Every task's ranges are written once, with the scales a practitioner would declare (``log`` for
learning rates, C, gamma, alpha, tolerances and counts spanning orders of magnitude; ``linear``
elsewhere), and give two spaces: ``declared`` (those scales) and ``auto`` (the same names,
bounds, types and defaults, every numeric scale ``auto``). Data are bundled with scikit-learn
(``load_*``) or generated (``make_*``, seed 0); nothing is downloaded.

=================  ===============================================================================  ====  ========
task               model and data                                                                   dims  loss
=================  ===============================================================================  ====  ========
tree_digits        DecisionTreeClassifier; digits (1797 x 64)                                          6  error
mlp_sgd_cancer     MLPClassifier, solver sgd, 1 hidden layer, 10 epochs; breast cancer                 8  log_loss
svm_wine           SVC(probability=True), rbf/poly/sigmoid; wine                                       5  log_loss
forest_diabetes    RandomForestRegressor; diabetes (442 x 10)                                          6  rmse
extratrees_digits  ExtraTreesClassifier; the first 900 digits                                          6  error
hgb_classif        HistGradientBoostingClassifier; make_classification (1000 x 20)                     8  log_loss
xgb_friedman       XGBRegressor (hist, n_jobs=1); make_friedman1 (600 x 10)                           10  rmse
sgd_classif        SGDClassifier, elastic net; make_classification (1500 x 30)                         9  error
logreg_digits      LogisticRegression (lbfgs); the first 900 digits                                    5  log_loss
elasticnet_poly    PolynomialFeatures + ElasticNet; diabetes                                           6  rmse
svr_friedman       SVR, rbf/poly/sigmoid; make_friedman1 (400 x 10)                                    6  rmse
knn_digits         PCA + KNeighborsClassifier; the first 900 digits                                    5  error
mlp_sgd_friedman   MLPRegressor, solver sgd, 2 hidden layers, 15 epochs; make_friedman1 (400 x 10)    10  rmse
=================  ===============================================================================  ====  ========

The inputs of the SVMs, MLPs, linear models and kNN are standardised inside each fold (and the
SVR's and MLPRegressor's target too); trees take the raw features. The SVMs' solver stops after
100,000 iterations (``SVM_MAX_ITER``), as a practitioner caps it: unbounded, a corner of their
ranges takes minutes per evaluation. ``python
benchmarks/real_tasks.py`` prints the median time of one evaluation per task.
"""

from __future__ import annotations

import one_thread  # noqa: F401  (first: before numpy; real_tasks.py run as a script times one thread)

# isort: split
import time
import warnings
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, NamedTuple

import numpy as np

import hpcore
from hpcore import Categorical, Float, Int

__all__ = ["TASKS", "Task", "auto_space", "evaluate"]


class Task(NamedTuple):
    """One tuning task.

    Attributes:
        declared: The space with a practitioner's scales (``linear`` or ``log``).
        auto: The same ranges, every numeric scale ``auto``.
        model: Builds the (unfitted) estimator from a configuration.
        data: The dataset's name (see :func:`_data`).
        loss: ``error``, ``log_loss`` or ``rmse``.
    """

    declared: hpcore.SearchSpace
    auto: hpcore.SearchSpace
    model: Callable[[Mapping[str, Any]], Any]
    data: str
    loss: str


def auto_space(space: hpcore.SearchSpace) -> hpcore.SearchSpace:
    """``space`` with every Float and Int scale set to ``auto`` (same bounds, types and defaults)."""
    plain = space.to_dict()
    return hpcore.SearchSpace({n: {**d, "scale": "auto"} if d["type"] in ("float", "int") else d
                               for n, d in plain.items()})


def _task(ranges: Mapping[str, Any], model: Callable[[Mapping[str, Any]], Any], data: str, loss: str) -> Task:
    declared = hpcore.SearchSpace(dict(ranges))
    return Task(declared, auto_space(declared), model, data, loss)


# --- data and cross-validation -------------------------------------------------------------------

@cache
def _data(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets as ds

    if name == "digits":
        return ds.load_digits(return_X_y=True)
    if name == "digits900":
        X, y = ds.load_digits(return_X_y=True)
        return X[:900], y[:900]
    if name == "cancer":
        return ds.load_breast_cancer(return_X_y=True)
    if name == "wine":
        return ds.load_wine(return_X_y=True)
    if name == "diabetes":
        return ds.load_diabetes(return_X_y=True)
    if name.startswith("friedman"):
        return ds.make_friedman1(n_samples=int(name[8:]), n_features=10, noise=1.0, random_state=0)
    if name == "classif1000":
        return ds.make_classification(n_samples=1000, n_features=20, n_informative=8, n_redundant=4,
                                      flip_y=0.05, class_sep=0.8, random_state=0)
    if name == "classif1500":
        return ds.make_classification(n_samples=1500, n_features=30, n_informative=6, n_redundant=6,
                                      flip_y=0.05, class_sep=0.7, random_state=0)
    raise KeyError(name)


@cache
def _folds(name: str, classify: bool) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    from sklearn.model_selection import KFold, StratifiedKFold

    X, y = _data(name)
    cv = StratifiedKFold(3, shuffle=True, random_state=0) if classify else KFold(3, shuffle=True, random_state=0)
    return tuple(cv.split(X, y))


def _diverged_loss(y: np.ndarray, tr: np.ndarray, te: np.ndarray, loss: str) -> float:
    """The loss of a fit that diverged: the training fold's majority class (``error``), uniform
    probabilities (``log_loss``), or predictions at the target's range widened by its span (``rmse``)."""
    if loss == "error":
        values, counts = np.unique(y[tr], return_counts=True)
        return float(np.mean(y[te] != values[np.argmax(counts)]))
    if loss == "log_loss":
        return float(np.log(len(np.unique(y[tr]))))
    return _rmse(np.full(len(te), np.nan), y, tr, te)


def _rmse(pred: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray) -> float:
    """RMSE of ``pred`` with NaN and outliers put at the training target's range widened by its span."""
    lo, hi = y[tr].min(), y[tr].max()
    pred = np.clip(np.nan_to_num(np.asarray(pred, dtype=float), nan=hi + (hi - lo)), lo - (hi - lo), hi + (hi - lo))
    return float(np.sqrt(np.mean((pred - y[te]) ** 2)))


def _fold_loss(model: Any, X: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray, loss: str) -> float:
    try:
        model.fit(X[tr], y[tr])
    except ValueError as exc:  # scikit-learn's MLPs refuse to return non-finite weights
        if "non-finite" not in str(exc):
            raise
        return _diverged_loss(y, tr, te, loss)
    if loss == "error":
        return float(np.mean(model.predict(X[te]) != y[te]))
    if loss == "log_loss":
        proba = np.asarray(model.predict_proba(X[te]), dtype=float)
        classes = list(model.classes_)
        proba = np.where(np.isfinite(proba).all(axis=1, keepdims=True), proba, 1.0 / len(classes))
        p = proba[np.arange(len(te)), [classes.index(c) for c in y[te]]]
        return float(-np.mean(np.log(np.clip(p, 1e-15, 1.0))))
    return _rmse(model.predict(X[te]), y, tr, te)


def evaluate(task: Task, params: Mapping[str, Any]) -> float:
    """The mean loss over the 3 folds of the task's model configured by ``params``."""
    X, y = _data(task.data)
    values = task.declared.validate(params)
    losses = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for tr, te in _folds(task.data, task.loss != "rmse"):
            losses.append(_fold_loss(task.model(values), X, y, tr, te, task.loss))
    return float(np.mean(losses))


def _scaled(model: Any) -> Any:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), model)


def _scaled_target(model: Any) -> Any:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    return TransformedTargetRegressor(_scaled(model), transformer=StandardScaler())


# --- the tasks -----------------------------------------------------------------------------------

def _tree(p: Mapping[str, Any]) -> Any:
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(random_state=0, **p)


TREE = {"max_depth": Int(1, 30, scale="linear"), "min_samples_split": Int(2, 512, scale="log"),
        "min_samples_leaf": Int(1, 256, scale="log"), "max_features": Float(0.05, 1.0, scale="linear"),
        "criterion": Categorical(["gini", "entropy"]), "ccp_alpha": Float(1e-6, 1e-1, scale="log")}


def _mlp_classifier(p: Mapping[str, Any]) -> Any:
    from sklearn.neural_network import MLPClassifier

    return _scaled(MLPClassifier(hidden_layer_sizes=(p["width"],), solver="sgd", random_state=0, max_iter=10,
                                 **{k: v for k, v in p.items() if k != "width"}))


MLP_CANCER = {"learning_rate_init": Float(1e-4, 1.0, scale="log", category="optimizer"),
              "momentum": Float(0.0, 0.99, scale="linear", category="optimizer"),
              "nesterovs_momentum": Categorical([True, False], category="optimizer"),
              "alpha": Float(1e-7, 1e-1, scale="log"), "batch_size": Int(16, 256, scale="log", category="optimizer"),
              "width": Int(2, 128, scale="log"),
              "learning_rate": Categorical(["constant", "invscaling", "adaptive"], category="optimizer"),
              "power_t": Float(0.1, 0.9, scale="linear", category="optimizer")}


# libsvm's iterations are capped (scikit-learn's default is no cap): at a corner such as C = 1000,
# gamma = 10 with a polynomial kernel its solver otherwise runs for minutes on one configuration.
SVM_MAX_ITER = 100_000


def _svc(p: Mapping[str, Any]) -> Any:
    from sklearn.svm import SVC

    return _scaled(SVC(probability=True, random_state=0, max_iter=SVM_MAX_ITER, **p))


SVM_WINE = {"C": Float(1e-3, 1e3, scale="log"), "gamma": Float(1e-4, 10.0, scale="log"),
            "kernel": Categorical(["rbf", "poly", "sigmoid"]), "degree": Int(2, 5, scale="linear"),
            "coef0": Float(0.0, 1.0, scale="linear")}


def _forest(p: Mapping[str, Any]) -> Any:
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(random_state=0, n_jobs=1, **p)


FOREST = {"n_estimators": Int(4, 40, scale="log"), "max_depth": Int(2, 20, scale="linear"),
          "min_samples_split": Int(2, 128, scale="log"), "min_samples_leaf": Int(1, 64, scale="log"),
          "max_features": Float(0.1, 1.0, scale="linear"), "bootstrap": Categorical([True, False])}


def _extratrees(p: Mapping[str, Any]) -> Any:
    from sklearn.ensemble import ExtraTreesClassifier

    return ExtraTreesClassifier(random_state=0, n_jobs=1, **p)


EXTRATREES = {"n_estimators": Int(4, 40, scale="log"), "max_depth": Int(2, 30, scale="linear"),
              "min_samples_split": Int(2, 128, scale="log"), "min_samples_leaf": Int(1, 64, scale="log"),
              "max_features": Float(0.02, 1.0, scale="log"), "criterion": Categorical(["gini", "entropy"])}


def _hgb(p: Mapping[str, Any]) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(early_stopping=False, random_state=0, **p)


HGB = {"learning_rate": Float(1e-3, 1.0, scale="log", category="optimizer"),
       "max_iter": Int(5, 60, scale="log", category="optimizer"), "max_leaf_nodes": Int(2, 64, scale="log"),
       "max_depth": Int(1, 12, scale="linear"), "min_samples_leaf": Int(1, 128, scale="log"),
       "l2_regularization": Float(1e-8, 10.0, scale="log"), "max_features": Float(0.1, 1.0, scale="linear"),
       "max_bins": Int(8, 255, scale="log", category="data")}


def _xgb(p: Mapping[str, Any]) -> Any:
    from xgboost import XGBRegressor

    return XGBRegressor(tree_method="hist", n_jobs=1, random_state=0, verbosity=0, **p)


XGB = {"n_estimators": Int(5, 80, scale="log", category="optimizer"),
       "learning_rate": Float(1e-3, 1.0, scale="log", category="optimizer"),
       "max_depth": Int(1, 10, scale="linear"), "min_child_weight": Float(1e-2, 100.0, scale="log"),
       "subsample": Float(0.3, 1.0, scale="linear"), "colsample_bytree": Float(0.3, 1.0, scale="linear"),
       "colsample_bylevel": Float(0.3, 1.0, scale="linear"), "reg_alpha": Float(1e-8, 10.0, scale="log"),
       "reg_lambda": Float(1e-8, 10.0, scale="log"), "gamma": Float(1e-8, 10.0, scale="log")}


def _sgd(p: Mapping[str, Any]) -> Any:
    from sklearn.linear_model import SGDClassifier

    return _scaled(SGDClassifier(penalty="elasticnet", random_state=0, **p))


SGD = {"loss": Categorical(["hinge", "log_loss", "modified_huber"]), "alpha": Float(1e-7, 1.0, scale="log"),
       "l1_ratio": Float(0.0, 1.0, scale="linear"),
       "learning_rate": Categorical(["constant", "optimal", "invscaling", "adaptive"], category="optimizer"),
       "eta0": Float(1e-5, 1.0, scale="log", category="optimizer"),
       "power_t": Float(0.05, 1.0, scale="linear", category="optimizer"),
       "max_iter": Int(2, 200, scale="log", category="optimizer"),
       "tol": Float(1e-5, 1e-1, scale="log", category="optimizer"),
       "average": Categorical([False, True], category="optimizer")}


def _logreg(p: Mapping[str, Any]) -> Any:
    from sklearn.linear_model import LogisticRegression

    return _scaled(LogisticRegression(solver="lbfgs", random_state=0, **p))


LOGREG = {"C": Float(1e-4, 1e3, scale="log"), "tol": Float(1e-6, 1e-1, scale="log", category="optimizer"),
          "max_iter": Int(5, 300, scale="log", category="optimizer"), "fit_intercept": Categorical([True, False]),
          "class_weight": Categorical([None, "balanced"])}


def _elasticnet(p: Mapping[str, Any]) -> Any:
    from sklearn.linear_model import ElasticNet
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    net = ElasticNet(random_state=0, **{k: v for k, v in p.items() if k != "degree"})
    return make_pipeline(PolynomialFeatures(p["degree"], include_bias=False), StandardScaler(), net)


ELASTICNET = {"degree": Int(1, 3, scale="linear", category="data"), "alpha": Float(1e-5, 10.0, scale="log"),
              "l1_ratio": Float(0.0, 1.0, scale="linear"), "tol": Float(1e-6, 1e-1, scale="log", category="optimizer"),
              "max_iter": Int(5, 1000, scale="log", category="optimizer"),
              "selection": Categorical(["cyclic", "random"], category="optimizer")}


def _svr(p: Mapping[str, Any]) -> Any:
    from sklearn.svm import SVR

    return _scaled_target(SVR(max_iter=SVM_MAX_ITER, **p))


SVR_FRIEDMAN = {"C": Float(1e-2, 1e3, scale="log"), "epsilon": Float(1e-4, 1.0, scale="log"),
                "gamma": Float(1e-4, 10.0, scale="log"), "kernel": Categorical(["rbf", "poly", "sigmoid"]),
                "degree": Int(2, 4, scale="linear"), "coef0": Float(0.0, 1.0, scale="linear")}


def _knn(p: Mapping[str, Any]) -> Any:
    from sklearn.decomposition import PCA
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    steps = [StandardScaler()] if p["standardise"] else []
    return make_pipeline(*steps, PCA(p["n_components"], random_state=0),
                         KNeighborsClassifier(p["n_neighbors"], weights=p["weights"], p=p["p"], n_jobs=1))


KNN = {"n_neighbors": Int(1, 100, scale="log"), "weights": Categorical(["uniform", "distance"]),
       "p": Categorical([1, 2]), "n_components": Int(2, 60, scale="log", category="data"),
       "standardise": Categorical([False, True], category="data")}


def _mlp_regressor(p: Mapping[str, Any]) -> Any:
    from sklearn.neural_network import MLPRegressor

    rest = {k: v for k, v in p.items() if k not in ("width_1", "width_2")}
    return _scaled_target(MLPRegressor(hidden_layer_sizes=(p["width_1"], p["width_2"]), solver="sgd",
                                       random_state=0, max_iter=15, **rest))


MLP_FRIEDMAN = {**{k: v for k, v in MLP_CANCER.items() if k != "width"},
                "width_1": Int(4, 128, scale="log"), "width_2": Int(4, 128, scale="log")}

TASKS: dict[str, Task] = {
    "tree_digits": _task(TREE, _tree, "digits", "error"),
    "mlp_sgd_cancer": _task(MLP_CANCER, _mlp_classifier, "cancer", "log_loss"),
    "svm_wine": _task(SVM_WINE, _svc, "wine", "log_loss"),
    "forest_diabetes": _task(FOREST, _forest, "diabetes", "rmse"),
    "extratrees_digits": _task(EXTRATREES, _extratrees, "digits900", "error"),
    "hgb_classif": _task(HGB, _hgb, "classif1000", "log_loss"),
    "xgb_friedman": _task(XGB, _xgb, "friedman600", "rmse"),
    "sgd_classif": _task(SGD, _sgd, "classif1500", "error"),
    "logreg_digits": _task(LOGREG, _logreg, "digits900", "log_loss"),
    "elasticnet_poly": _task(ELASTICNET, _elasticnet, "diabetes", "rmse"),
    "svr_friedman": _task(SVR_FRIEDMAN, _svr, "friedman400", "rmse"),
    "knn_digits": _task(KNN, _knn, "digits900", "error"),
    "mlp_sgd_friedman": _task(MLP_FRIEDMAN, _mlp_regressor, "friedman400", "rmse"),
}


def eval_times(n: int = 10, seed: int = 0) -> dict[str, float]:
    """The median seconds of one evaluation per task, at ``n`` random points of the declared space."""
    out = {}
    for name, task in TASKS.items():
        rng = np.random.default_rng(seed)
        times = []
        for _ in range(n):
            params = task.declared.sample(rng)
            t0 = time.perf_counter()
            evaluate(task, params)
            times.append(time.perf_counter() - t0)
        out[name] = float(np.median(times))
    return out


if __name__ == "__main__":
    for task_name, s in eval_times().items():
        print(f"{task_name:<18} {1000 * s:7.1f} ms per evaluation (median of 10)")
