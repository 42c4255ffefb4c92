"""Black-box test functions for comparing search strategies, all minimised.

Each entry of :data:`FUNCTIONS` is a :class:`Problem`: the function, the bounds of each
coordinate, the kind of each coordinate and the global minimum (so that the simple regret, the
best value found minus the minimum, is known exactly).

Kinds: ``"f"`` a float declared with the default (linear) scale, ``"logf"`` a float declared
log-scaled, ``"i"`` an integer, ``"c<n>"`` a categorical with ``n`` choices (passed to the
function as its index 0..n-1).

The Bayesian strategy's design (``docs/bayesian.md``) was tuned on seeds 0-9 of these six
functions; results reported as held-out use other seeds (100-129).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

__all__ = ["FUNCTIONS", "Problem", "branin", "hartmann6", "hpcore_params", "levy", "log_bowl", "mixed", "rosenbrock"]


class Problem(NamedTuple):
    """One benchmark problem.

    Attributes:
        f: The function, taking a list of coordinates (categoricals as indices).
        bounds: ``(low, high)`` of each coordinate (for ``c<n>``: ``(0, n)``, unused).
        kinds: The kind of each coordinate (see the module docstring).
        minimum: The global minimum of ``f``.
    """

    f: Callable[[Sequence[float]], float]
    bounds: list[tuple[float, float]]
    kinds: list[str]
    minimum: float


def branin(x: Sequence[float]) -> float:
    """Branin-Hoo on [-5, 10] x [0, 15]: three global minima of 0.397887."""
    x1, x2 = x
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return float((x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10)


_H6_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                  [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_H6_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                         [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])
_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann6(x: Sequence[float]) -> float:
    """Hartmann-6 on the unit cube: minimum -3.32237."""
    x = np.asarray(x, float)
    return float(-np.sum(_ALPHA * np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1))))


def rosenbrock(x: Sequence[float]) -> float:
    """Rosenbrock's valley in any dimension: minimum 0 at (1, ..., 1)."""
    x = np.asarray(x, float)
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def levy(x: Sequence[float]) -> float:
    """Levy's function in any dimension: many local minima, global minimum 0 at (1, ..., 1)."""
    w = 1 + (np.asarray(x, float) - 1) / 4
    return float(np.sin(np.pi * w[0]) ** 2
                 + np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(np.pi * w[:-1] + 1) ** 2))
                 + (w[-1] - 1) ** 2 * (1 + np.sin(2 * np.pi * w[-1]) ** 2))


def log_bowl(x: Sequence[float]) -> float:
    """A learning rate whose best value, 1e-3, shows only on a log axis, declared with the default scale.

    A strategy that finds out the scale by itself does well here; one that searches the declared
    linear range almost never samples below 1e-2.
    """
    lr, momentum = x
    return float((math.log10(lr) + 3.0) ** 2 + 4 * (momentum - 0.9) ** 2)


def mixed(x: Sequence[float]) -> float:
    """A boosted-trees-like space: a log-scaled float, an integer, a float and a categorical."""
    eta, depth, subsample, booster = x
    return float((math.log10(eta) + 1.3) ** 2 + 0.15 * (depth - 6) ** 2 + 3 * (subsample - 0.8) ** 2
                 + (0.0, 0.4, 1.0)[int(booster)])


FUNCTIONS: dict[str, Problem] = {
    "branin": Problem(branin, [(-5, 10), (0, 15)], ["f", "f"], 0.397887),
    "hartmann6": Problem(hartmann6, [(0, 1)] * 6, ["f"] * 6, -3.32237),
    "rosenbrock4": Problem(rosenbrock, [(-2.048, 2.048)] * 4, ["f"] * 4, 0.0),
    "levy6": Problem(levy, [(-10, 10)] * 6, ["f"] * 6, 0.0),
    "log_bowl": Problem(log_bowl, [(1e-6, 1.0), (0.0, 0.999)], ["f", "f"], 0.0),
    "mixed": Problem(mixed, [(1e-4, 1.0), (1, 12), (0.3, 1.0), (0, 3)], ["logf", "i", "f", "c3"], 0.0),
}


def hpcore_params(problem: Problem, choice: Callable[[int], Any] = lambda j: f"c{j}") -> dict[str, Any]:
    """The problem's coordinates as hpcore ranges ``x0, x1, ...``, each float with the default scale.

    Args:
        problem: The problem.
        choice: The value of a categorical's choice ``j`` (by default the string ``"c<j>"``).

    Example:
        >>> sorted(hpcore_params(FUNCTIONS["branin"]))
        ['x0', 'x1']
    """
    import hpcore

    params: dict[str, Any] = {}
    for i, ((lo, hi), kind) in enumerate(zip(problem.bounds, problem.kinds)):
        if kind == "f":  # the default scale ("auto"), as a user who declares only the range gets
            params[f"x{i}"] = hpcore.Float(lo, hi)
        elif kind == "logf":
            params[f"x{i}"] = hpcore.Float(lo, hi, scale="log")
        elif kind == "i":
            params[f"x{i}"] = hpcore.Int(lo, hi)
        else:
            params[f"x{i}"] = hpcore.Categorical([choice(j) for j in range(int(kind[1:]))])
    return params
