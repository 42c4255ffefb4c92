"""Grid search: every combination of a few values per range, each tried once."""

from __future__ import annotations

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
    ``resolution`` of them, else ``resolution`` values evenly spaced in their scale. When the grid is
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

    def __init__(self, space: SearchSpace, direction: str = "minimize", seed: int | None = None,
                 resolution: int = 5, shuffle: bool = False) -> None:
        super().__init__(space, direction, seed)
        if int(resolution) < 2:
            raise ConfigError(f"grid resolution={resolution!r}: use at least 2 values per range")
        axes = [self._axis(p, int(resolution)) for p in self.space.values()]
        self.size = int(np.prod([len(a) for a in axes]))
        self._axes = axes
        self._order: np.ndarray | None = None
        if shuffle:
            self._order = np.random.default_rng(self._entropy).permutation(self.size)
        self._cursor = 0

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
        idx = []
        for axis in reversed(self._axes):
            k, r = divmod(k, len(axis))
            idx.append(r)
        return {n: axis[i] for n, axis, i in zip(self.space, self._axes, reversed(idx))}

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
