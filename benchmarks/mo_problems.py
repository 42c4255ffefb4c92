"""Problems with several objectives, and problems with constraints, for the benchmarks
``bench_multiobjective.py`` and ``bench_constrained.py``.

Every problem is declared once, as an hpcore :class:`~hpcore.SearchSpace` (linear or log scales
only, which Optuna declares the same way) and a function of a configuration. Every objective is
minimised.

Several objectives (:data:`MO_PROBLEMS`, each a :class:`MOProblem`), scored by the hypervolume of
the objective vectors found, bounded by a fixed reference point that is the same for every
contender:

* ``zdt1`` and ``zdt2`` (Zitzler, Deb & Thiele 2000) in 6 dimensions on [0, 1]^6: ``f1 = x0``,
  ``g = 1 + 9 * sum(x1..x5) / 5``, ``f2 = g * (1 - sqrt(f1 / g))`` (convex front ``f2 = 1 -
  sqrt(f1)``) or ``g * (1 - (f1 / g)^2)`` (concave front ``f2 = 1 - f1^2``), the front where
  ``g = 1``. Reference point: the front's nadir (1, 1) plus 0.1, that is (1.1, 1.1); the optimal
  hypervolume is ``1.1 * 1.1 - integral of the front`` = 1.21 - 1/3 (zdt1) and 1.21 - 2/3 (zdt2).
  Only points with ``g`` below 1.1 count, so a search that does not find ``x1..x5`` near 0 scores
  0: random search almost never gets there in 60 trials, Optuna's GPSampler got 0.84 and 0.79 of
  the optimum (median of design seeds 0-1).
* ``dtlz2`` (Deb, Thiele, Laumanns & Zitzler 2002) with 3 objectives in 6 dimensions: ``g =
  sum((x2..x5 - 0.5)^2)``, ``f = (1 + g) * (cos a cos b, cos a sin b, sin a)`` with ``a = x0 pi/2``,
  ``b = x1 pi/2``; the front is the unit sphere's positive octant (``g = 0``). Reference point: the
  nadir (1, 1, 1) plus 0.1; the optimal hypervolume is ``1.1^3 - pi / 6`` (the box less the
  octant of the unit ball, every point of which no front point dominates).
* ``forest`` (breast cancer, bundled with scikit-learn): a random forest (2-40 trees, depth 1-12,
  minimum leaf size 1-32, share of features per split 0.05-0.5), objectives ``1 - ROC AUC`` of 3-fold
  stratified cross-validation (fold seed 0) and ``log10`` of its total number of tree nodes (the
  mean over the three folds' forests): deterministic, ``random_state=0`` everywhere, one thread.
  Reference point (0.1, 3.5): above the worst value of each objective in the 1000 trials of
  random search below (0.0947, and 3.09: 1,235 nodes). Its optimal hypervolume is not known:
  the ratio is taken to the hypervolume of the front of a long run (:data:`REFERENCE`).

Constraints (:data:`CONSTRAINED`, each a :class:`ConProblem`): one objective, constraints as
``"METRIC OP NUMBER"`` strings, and a function returning the value and the metrics. Scored by the
best value among feasible trials, as a regret from the known best feasible value:

* ``constrained_branin`` (Gelbart, Snoek & Adams 2014): Branin on [-5, 10] x [0, 15] subject to
  ``(x1 - 2.5)^2 + (x2 - 7.5)^2 <= 50``. The disk (69.8 % of the box, 50 pi / 225) excludes two
  of Branin's three global minima; the best feasible value is the third, 0.397887 at (pi, 2.275).
* ``narrow_feasible``: ``sum((x - t)^2)`` on [0, 1]^5 with ``t = (0.9, 0.1, 0.9, 0.1, 0.5)``,
  subject to ``dist <= 0.5`` (``dist``: the distance from the box's centre) and ``total >= 2.6``
  (``total``: the sum of the coordinates). 6.8 % of the box is feasible (2,000,000 uniform
  samples) and both constraints hold with equality at the best feasible value ``0.002 + (0.8 -
  sqrt(0.248))^2 = 0.0932064`` (write ``x = c + a e + w`` with ``e`` the unit diagonal: ``a``
  as small as ``total`` allows, ``w`` along ``t - c`` as long as ``dist`` allows).
* ``trees_size_limit`` (breast cancer): 1 - ROC AUC (as for ``forest``) of extremely randomised
  trees (2-50 trees, depth 1-12, leaf size 1-32, share of features 0.05-1), subject to
  ``n_nodes <= 200`` (mean over the folds of the forest's total node count): about half of the
  space is feasible (508 of the 1000 random trials below), the largest forests are not. The
  best feasible value is not known: regret is measured from a long run's best (:data:`REFERENCE`).

Reference values of the scikit-learn problems: ``python benchmarks/bench_multiobjective.py
--reference 1000 --problems forest`` and ``python benchmarks/bench_constrained.py --reference 1000
--problems trees_size_limit`` (hpcore random search and Optuna's TPE, 1000 trials each, seed 0;
for ``forest``, the hypervolume of both runs' points together: 0.23364, against 0.23293 and
0.23202 alone; for ``trees_size_limit``, TPE's best feasible value 0.0057674, against random
search's 0.0071840), recorded in :data:`REFERENCE`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, NamedTuple

import numpy as np
from functions import branin

import hpcore
from hpcore import Float, Int

__all__ = ["CONSTRAINED", "MO_PROBLEMS", "REFERENCE", "REFERENCE_PARAMS", "ConProblem", "MOProblem", "feasible"]


class MOProblem(NamedTuple):
    """One problem with several objectives, all minimised.

    Attributes:
        space: The search space.
        f: The objective values of a configuration, in order.
        ref: The hypervolume's reference point (one entry per objective).
        best_hv: The optimal hypervolume (``"exact"``) or that of a long run's front (``"reference"``).
        hv_from: How ``best_hv`` was obtained.
    """

    space: hpcore.SearchSpace
    f: Callable[[Mapping[str, Any]], list[float]]
    ref: tuple[float, ...]
    best_hv: float
    hv_from: str


class ConProblem(NamedTuple):
    """One problem with one minimised objective and constraints.

    Attributes:
        space: The search space.
        f: The objective value and the constrained metrics of a configuration.
        constraints: ``"METRIC OP NUMBER"`` strings, as hpcore takes them.
        minimum: The best feasible value (``"exact"``) or a long run's best (``"reference"``).
        regret_from: How ``minimum`` was obtained.
    """

    space: hpcore.SearchSpace
    f: Callable[[Mapping[str, Any]], tuple[float, dict[str, float]]]
    constraints: tuple[str, ...]
    minimum: float
    regret_from: str


def feasible(constraints: tuple[str, ...] | list[str], metrics: Mapping[str, float]) -> bool:
    """Whether ``metrics`` satisfy every constraint string (hpcore's reading of them)."""
    from hpcore.objectives import Constraint

    parsed = [Constraint.parse(c) for c in constraints]
    return all(c.feasible(metrics[c.metric]) for c in parsed)


def _cube(n: int) -> hpcore.SearchSpace:
    return hpcore.SearchSpace({f"x{i}": Float(0.0, 1.0, scale="linear") for i in range(n)})


def _x(p: Mapping[str, Any]) -> np.ndarray:
    return np.array([float(p[f"x{i}"]) for i in range(len(p))])


# --- several objectives: synthetic ---------------------------------------------------------------

def zdt1(p: Mapping[str, Any]) -> list[float]:
    """ZDT1: convex front ``f2 = 1 - sqrt(f1)`` where ``x1..x5 = 0``."""
    x = _x(p)
    g = 1 + 9 * x[1:].sum() / (len(x) - 1)
    return [float(x[0]), float(g * (1 - math.sqrt(x[0] / g)))]


def zdt2(p: Mapping[str, Any]) -> list[float]:
    """ZDT2: concave front ``f2 = 1 - f1^2`` where ``x1..x5 = 0``."""
    x = _x(p)
    g = 1 + 9 * x[1:].sum() / (len(x) - 1)
    return [float(x[0]), float(g * (1 - (x[0] / g) ** 2))]


def dtlz2(p: Mapping[str, Any]) -> list[float]:
    """DTLZ2 with 3 objectives: the front is the unit sphere's octant, where ``x2..x5 = 0.5``."""
    x = _x(p)
    r = 1 + float(np.sum((x[2:] - 0.5) ** 2))
    a, b = x[0] * math.pi / 2, x[1] * math.pi / 2
    return [r * math.cos(a) * math.cos(b), r * math.cos(a) * math.sin(b), r * math.sin(a)]


# --- scikit-learn ----------------------------------------------------------------------------------

@cache
def _breast_cancer() -> tuple[Any, Any]:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(return_X_y=True)


def _auc_error_and_nodes(model: Any) -> tuple[float, float]:
    """1 - ROC AUC of 3-fold stratified cross-validation (fold seed 0) and the folds' mean node count."""
    from sklearn.model_selection import StratifiedKFold, cross_validate

    X, y = _breast_cancer()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = cross_validate(model, X, y, cv=StratifiedKFold(3, shuffle=True, random_state=0), scoring="roc_auc",
                             return_estimator=True, n_jobs=1)
    nodes = float(np.mean([sum(t.tree_.node_count for t in m.estimators_) for m in out["estimator"]]))
    return float(1.0 - np.mean(out["test_score"])), nodes


def _trees_space(max_trees: int, max_features: float) -> hpcore.SearchSpace:
    return hpcore.SearchSpace({
        "n_estimators": Int(2, max_trees, scale="log"),
        "max_depth": Int(1, 12, scale="linear"),
        "min_samples_leaf": Int(1, 32, scale="log"),
        "max_features": Float(0.05, max_features, scale="linear"),
    })


def _trees(cls: Any, p: Mapping[str, Any]) -> Any:
    return cls(n_estimators=int(p["n_estimators"]), max_depth=int(p["max_depth"]),
               min_samples_leaf=int(p["min_samples_leaf"]), max_features=float(p["max_features"]),
               n_jobs=1, random_state=0)


FOREST_SPACE = _trees_space(40, 0.5)  # at most 0.3 s an evaluation


def forest(p: Mapping[str, Any]) -> list[float]:
    """A random forest on breast cancer: ``[1 - AUC, log10(total tree nodes)]``."""
    from sklearn.ensemble import RandomForestClassifier

    err, nodes = _auc_error_and_nodes(_trees(RandomForestClassifier, p))
    return [err, math.log10(nodes)]


# --- constraints ---------------------------------------------------------------------------------

BRANIN_SPACE = hpcore.SearchSpace({"x1": Float(-5.0, 10.0, scale="linear"), "x2": Float(0.0, 15.0, scale="linear")})


def constrained_branin(p: Mapping[str, Any]) -> tuple[float, dict[str, float]]:
    """Branin, and the squared distance ``disk`` from (2.5, 7.5) that must stay within 50."""
    x1, x2 = float(p["x1"]), float(p["x2"])
    return branin([x1, x2]), {"disk": (x1 - 2.5) ** 2 + (x2 - 7.5) ** 2}


_TARGET = np.array([0.9, 0.1, 0.9, 0.1, 0.5])


def narrow_feasible(p: Mapping[str, Any]) -> tuple[float, dict[str, float]]:
    """``|x - t|^2``, the distance ``dist`` from the centre and the coordinates' ``total``."""
    x = _x(p)
    return float(np.sum((x - _TARGET) ** 2)), {"dist": float(np.linalg.norm(x - 0.5)), "total": float(x.sum())}


TREES_SPACE = _trees_space(50, 1.0)  # at most 0.25 s an evaluation


def trees_size_limit(p: Mapping[str, Any]) -> tuple[float, dict[str, float]]:
    """Extremely randomised trees on breast cancer: 1 - AUC, and ``n_nodes`` (the folds' mean)."""
    from sklearn.ensemble import ExtraTreesClassifier

    err, nodes = _auc_error_and_nodes(_trees(ExtraTreesClassifier, p))
    return err, {"n_nodes": nodes}


# The long runs' values (see the module docstring); a run beyond them is reported. forest: the
# hypervolume of hpcore random's and TPE's 2000 points together (0.23293 and 0.23202 alone).
REFERENCE = {"forest": 0.23363905110677322, "trees_size_limit": 0.00576737737348465}
REFERENCE_PARAMS = {"trees_size_limit": {"n_estimators": 4, "max_depth": 12, "min_samples_leaf": 4,
                                         "max_features": 0.840300527450656}}  # TPE's, 709 of 1000 feasible

MO_PROBLEMS: dict[str, MOProblem] = {
    "zdt1": MOProblem(_cube(6), zdt1, (1.1, 1.1), 1.21 - 1 / 3, "exact"),
    "zdt2": MOProblem(_cube(6), zdt2, (1.1, 1.1), 1.21 - 2 / 3, "exact"),
    "dtlz2": MOProblem(_cube(6), dtlz2, (1.1, 1.1, 1.1), 1.1**3 - math.pi / 6, "exact"),
    "forest": MOProblem(FOREST_SPACE, forest, (0.1, 3.5), REFERENCE["forest"], "reference"),
}

CONSTRAINED: dict[str, ConProblem] = {
    "constrained_branin": ConProblem(BRANIN_SPACE, constrained_branin, ("disk <= 50",), 0.39788735772973816, "exact"),
    "narrow_feasible": ConProblem(_cube(5), narrow_feasible, ("dist <= 0.5", "total >= 2.6"),
                                  0.002 + (0.8 - math.sqrt(0.248)) ** 2, "exact"),
    "trees_size_limit": ConProblem(TREES_SPACE, trees_size_limit, ("n_nodes <= 200",), REFERENCE["trees_size_limit"],
                                   "reference"),
}
