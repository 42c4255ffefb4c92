"""Grid search: every combination of a few values per range, each tried once.

In a conditional space (``when=``) the grid holds only valid configurations: a range contributes its
axis only in the branches where it is active, so the grid is the sum over the parents' values of
the product of the active ranges' axes, smaller than the product of every axis.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

import numpy as np

from hpcore.errors import ConfigError, SearchExhausted
from hpcore.hookspec import hookimpl
from hpcore.space import Categorical, Int, SearchSpace
from hpcore.strategies.base import Strategy

__all__ = ["GridStrategy"]


class GridStrategy(Strategy):
    """Tries the Cartesian product of a grid per range, in order (or shuffled with ``shuffle``).

    Categorical ranges contribute all their values; float ranges ``resolution`` values evenly
    spaced in their scale, ends included; integer ranges all their values when there are at most
    ``resolution`` of them, else ``resolution`` values evenly spaced in their scale (and, for the
    parent of a conditional range, every value its conditions name). A conditional range
    contributes its axis only where it is active, so every configuration of the grid is valid and
    :attr:`size` counts only those. When the grid is
    used up, :meth:`ask` raises :class:`~hpcore.errors.SearchExhausted` and a tuning job ends.

    Args:
        space: The search space.
        direction: ``"minimize"`` or ``"maximize"`` (grid search ignores it).
        seed: Used only with ``shuffle=True``.
        resolution: Values per numeric range (at least 2).
        shuffle: Visit the grid in a random order, so a job cut short still covers it evenly.

    Example:
        >>> from hpcore import Categorical, Float, SearchSpace
        >>> g = GridStrategy(SearchSpace({"a": Categorical(["x", "y"]), "b": Float(0, 1)}), resolution=3)
        >>> g.remaining()
        6
        >>> g.ask().params
        {'a': 'x', 'b': 0.0}
    """

    name = "grid"

    def __init__(self, space: SearchSpace, direction: str | Sequence[str] = "minimize", seed: int | None = None,
                 resolution: int = 5, shuffle: bool = False, constraints: Sequence[str] | None = None) -> None:
        super().__init__(space, direction, seed, constraints)
        if int(resolution) < 2:
            raise ConfigError(f"grid resolution={resolution!r}: use at least 2 values per range")
        axes = {n: self._axis(p, int(resolution)) for n, p in self.space.items()}
        for p in self.space.values():  # an Int parent's axis holds every value a condition names
            for parent, values in p.when.items():
                if isinstance(self.space[parent], Int):
                    axes[parent] = sorted(set(axes[parent]) | {int(v) for v in values})
        # One branch per assignment of the parents' values: the parents' values and the axes of the
        # other ranges active there. An unconditional space has one branch, the whole product.
        self._branches = [(fixed, [(n, axes[n]) for n in names])
                          for fixed, names in self._branch_list(axes)]
        sizes = [int(np.prod([len(a) for _, a in free])) for _, free in self._branches]
        self._starts = list(np.cumsum([0, *sizes[:-1]]).astype(int))
        self.size = int(sum(sizes))
        self._order: np.ndarray | None = None
        if shuffle:
            self._order = np.random.default_rng(self._entropy).permutation(self.size)
        self._cursor = 0

    def _branch_list(self, axes: dict[str, list[Any]]) -> list[tuple[dict[str, Any], list[str]]]:
        """Every valid assignment of the parents' values, with the other names active under it."""
        cond = self.space.conditions
        parents = [n for n in cond.order if any(n in c for c in cond.allowed.values())]
        out: list[tuple[dict[str, Any], list[str]]] = []

        def walk(i: int, fixed: dict[str, Any], active: set[str]) -> None:
            if i == len(parents):
                free = [n for n in self.space if n not in parents
                        and (n not in cond.allowed or cond.satisfied(n, fixed, active))]
                out.append((fixed, free))
                return
            name = parents[i]
            if name in cond.allowed and not cond.satisfied(name, fixed, active):
                walk(i + 1, fixed, active)  # inactive in this branch: no axis
                return
            for v in axes[name]:
                walk(i + 1, {**fixed, name: v}, active | {name})

        walk(0, {}, set())
        return out

    @staticmethod
    def _axis(p: Any, resolution: int) -> list[Any]:
        if isinstance(p, Categorical):
            return list(p.values)
        if isinstance(p, Int) and p.n_values <= resolution:
            return p.values()
        out: list[Any] = []
        for u in np.linspace(0.0, 1.0, resolution):
            v = p.decode(float(u))
            if v not in out:
                out.append(v)
        return out

    def _point(self, k: int) -> dict[str, Any]:
        b = bisect_right(self._starts, k) - 1
        fixed, free = self._branches[b]
        k -= self._starts[b]
        values: dict[str, Any] = dict(fixed)
        for name, axis in reversed(free):  # the last range varies fastest
            k, r = divmod(k, len(axis))
            values[name] = axis[r]
        return {n: values[n] for n in self.space if n in values}

    def remaining(self) -> int:
        return max(0, self.size - self._cursor)

    def suggest(self, trial_id: int, rng: np.random.Generator) -> dict[str, Any]:
        seen = [o.params for o in self.observations] + [t.params for t in self.pending.values()]
        while self._cursor < self.size:
            k = int(self._order[self._cursor]) if self._order is not None else self._cursor
            self._cursor += 1
            params = self._point(k)
            if params not in seen:
                return params
        raise SearchExhausted(f"the grid of {self.size} configurations has been fully tried")


@hookimpl
def hpcore_add_strategies() -> dict[str, type[Strategy]]:
    return {"grid": GridStrategy}
