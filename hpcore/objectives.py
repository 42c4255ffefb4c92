"""Several objectives and constraints: what a trial is judged on.

An :class:`Objectives` holds the names of the objective metrics, one direction each, and the
constraints (:class:`Constraint`, parsed from strings such as ``"latency_ms <= 5"``). It turns a
trial's metrics into its objective values, its losses (every objective minimised) and its
constraint violations, and decides feasibility. The Pareto front and the hypervolume of a set of
losses are in :mod:`hpcore.pareto`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hpcore.errors import ConfigError

__all__ = ["Constraint", "Objectives", "satisfies"]

_OPS = ("<=", ">=", "<", ">")
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][\w.\-/]*)\s*(<=|>=|<|>)\s*(\S+)\s*$")


@dataclass(frozen=True)
class Constraint:
    """A limit on one metric: ``METRIC OP NUMBER`` with OP one of ``<=``, ``<``, ``>=``, ``>``.

    Its *violation* for a value is how far the value is on the wrong side of the bound (``value -
    bound`` for ``<=`` and ``<``, ``bound - value`` for ``>=`` and ``>``): at most 0 is feasible
    (below 0 for the strict forms).

    Example:
        >>> c = Constraint.parse("latency_ms <= 5")
        >>> c.metric, c.op, c.bound
        ('latency_ms', '<=', 5.0)
        >>> round(c.violation(4.2), 6), c.feasible(4.2), c.feasible(6.0)
        (-0.8, True, False)
    """

    metric: str
    op: str
    bound: float

    @classmethod
    def parse(cls, text: str) -> Constraint:
        """Parses ``"METRIC OP NUMBER"`` (no code is evaluated).

        Raises:
            ConfigError: For anything else, naming the expected form.
        """
        if isinstance(text, Constraint):
            return text
        form = "write 'METRIC OP NUMBER' with OP one of <=, <, >=, >, for example 'latency_ms <= 5'"
        if not isinstance(text, str):
            raise ConfigError(f"constraint {text!r} is not a string: {form}")
        m = _CONSTRAINT.match(text)
        if m is None:
            raise ConfigError(f"constraint {text!r} cannot be read: {form}")
        name, op, number = m.groups()
        try:
            bound = float(number)
        except ValueError:
            raise ConfigError(f"constraint {text!r}: {number!r} is not a number; {form}") from None
        if not math.isfinite(bound):
            raise ConfigError(f"constraint {text!r}: the bound must be a finite number; {form}")
        return cls(name, op, bound)

    def violation(self, value: float) -> float:
        """How far ``value`` is beyond the bound (at most 0: within it)."""
        return float(value) - self.bound if self.op in ("<=", "<") else self.bound - float(value)

    def feasible(self, value: float) -> bool:
        """Whether ``value`` satisfies the constraint (NaN never does)."""
        return self.holds(self.violation(value))

    def holds(self, violation: float) -> bool:
        """Whether a violation (from :meth:`violation`) is within the bound."""
        return violation < 0 if self.op in ("<", ">") else violation <= 0

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.bound!r}"


def satisfies(metrics: Mapping[str, Any], constraints: Sequence[Constraint]) -> bool:
    """Whether every constraint holds for these metrics (a missing or non-numeric one does not)."""
    for c in constraints:
        v = metrics.get(c.metric)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not c.feasible(v):
            return False
    return True


class Objectives:
    """The objective metrics a job optimises, their directions and its constraints.

    Args:
        names: One metric name, or a list of several (several objectives: the result is a Pareto
            front).
        directions: ``"minimize"`` or ``"maximize"`` for one objective; a list with one entry per
            objective for several.
        constraints: Strings ``"METRIC OP NUMBER"`` (or :class:`Constraint` objects).

    Raises:
        ConfigError: For an empty or repeated name, a direction list of another length, an unknown
            direction or an unreadable constraint, naming it and the fix.

    Example:
        >>> o = Objectives(["auc", "latency_ms"], ["maximize", "minimize"], ["size_mb < 10"])
        >>> o.losses({"auc": 0.9, "latency_ms": 3.0, "size_mb": 12.0})
        [-0.9, 3.0]
        >>> o.is_feasible({"size_mb": 12.0})
        False
    """

    def __init__(self, names: str | Sequence[str], directions: str | Sequence[str] = "minimize",
                 constraints: Sequence[str | Constraint] | None = None) -> None:
        self.multi = not isinstance(names, str)
        self.names = [names] if isinstance(names, str) else list(names)
        if not self.names:
            raise ConfigError("objective=[]: name at least one metric to optimise")
        for n in self.names:
            if not isinstance(n, str) or not n:
                raise ConfigError(f"objective {n!r}: give the name of a metric to optimise")
        if len(set(self.names)) < len(self.names):
            raise ConfigError(f"objective={self.names!r} names a metric twice; name each objective once")
        if isinstance(directions, str):
            if self.multi and len(self.names) > 1:
                raise ConfigError(f"direction={directions!r} is one direction for {len(self.names)} objectives; "
                                  f"give one per objective, for example direction={['maximize'] * len(self.names)!r}")
            directions = [directions] * len(self.names)
        directions = list(directions)
        if len(directions) != len(self.names):
            raise ConfigError(f"direction={directions!r} has {len(directions)} entries for the objectives "
                              f"{self.names!r}; give one direction per objective")
        for d in directions:
            if d not in ("minimize", "maximize"):
                raise ConfigError(f"direction={d!r}: use 'minimize' or 'maximize'")
        self.directions = directions
        if isinstance(constraints, str):
            constraints = [constraints]
        self.constraints = [Constraint.parse(c) for c in (constraints or [])]
        self.signs = [1.0 if d == "minimize" else -1.0 for d in directions]

    @property
    def objective(self) -> str | list[str]:
        """The objective as given: one name, or the list of names."""
        return list(self.names) if self.multi else self.names[0]

    @property
    def direction(self) -> str | list[str]:
        """The direction as given: one, or one per objective."""
        return list(self.directions) if self.multi else self.directions[0]

    @property
    def several(self) -> bool:
        """True with more than one objective (the result is then a Pareto front)."""
        return len(self.names) > 1

    def metrics_needed(self) -> list[str]:
        """Every metric a trial must give: the objectives, then the constrained metrics."""
        return self.names + [c.metric for c in self.constraints if c.metric not in self.names]

    def values(self, metrics: Mapping[str, Any]) -> list[float] | None:
        """The objective values in ``metrics``, in order (None when one is missing or not finite)."""
        out = []
        for n in self.names:
            v = metrics.get(n)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                return None
            out.append(float(v))
        return out

    def losses(self, metrics: Mapping[str, Any]) -> list[float] | None:
        """The objective values turned into values to minimise (a maximised one is negated)."""
        vals = self.values(metrics)
        return None if vals is None else [s * v for s, v in zip(self.signs, vals, strict=True)]

    def violations(self, metrics: Mapping[str, Any]) -> list[float] | None:
        """One violation per constraint (at most 0: satisfied), or None when a metric is missing."""
        out = []
        for c in self.constraints:
            v = metrics.get(c.metric)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                return None
            out.append(c.violation(v))
        return out

    def is_feasible(self, metrics: Mapping[str, Any]) -> bool:
        """Whether every constraint holds for these metrics (a missing metric: not feasible)."""
        return satisfies(metrics, self.constraints)

    def missing(self, metrics: Mapping[str, Any]) -> list[str]:
        """The needed metrics that ``metrics`` lacks."""
        return [n for n in self.metrics_needed() if metrics.get(n) is None]

    def result_value(self, value: float | None, metrics: Mapping[str, Any]) -> float | list[float] | None:
        """What a strategy is told for a trial: its value (one objective) or its values (several),
        None when it has no usable result."""
        if value is None:
            return None
        return self.values(metrics) if self.several else value

    def config(self) -> dict[str, Any]:
        """The plain form stored with a job (``constraints`` only when there are some)."""
        out: dict[str, Any] = {"objective": self.objective, "direction": self.direction}
        if self.constraints:
            out["constraints"] = [str(c) for c in self.constraints]
        return out

    def __repr__(self) -> str:
        extra = f", constraints={[str(c) for c in self.constraints]!r}" if self.constraints else ""
        return f"Objectives({self.objective!r}, {self.direction!r}{extra})"
