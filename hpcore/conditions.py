"""Conditional parameters: which ranges of a space exist in a given configuration.

A range declared with ``when={"optimizer": "sgd"}`` is *active* in a configuration only where its
parent ``optimizer`` is ``"sgd"``; ``when={"optimizer": ["adam", "adamw"]}`` accepts either value,
and several entries must all hold. A parent may itself be conditional (``nesterov`` under
``momentum`` under ``optimizer``): a range is active only when all its parents are active and
satisfied. Parents are :class:`~hpcore.ranges.Categorical` or :class:`~hpcore.ranges.Int` ranges; a
condition names the parent's values, so ``when={"n_layers": [3, 4]}`` gives a third layer's width.

An inactive parameter has no value at all: a configuration (``trial.params``) has no key for it,
and its coordinate in the unit cube is NaN.

Example:
    >>> from hpcore import Categorical, Float, SearchSpace
    >>> space = SearchSpace({
    ...     "optimizer": Categorical(["adam", "sgd"]),
    ...     "momentum": Float(0.0, 0.99, when={"optimizer": "sgd"}),
    ... })
    >>> space.active({"optimizer": "adam"})
    ['optimizer']
    >>> sorted(space.decode([0.9, 0.5]))
    ['momentum', 'optimizer']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hpcore.errors import SearchSpaceError
from hpcore.ranges import Categorical, Float, Int, Param

__all__ = ["Conditions"]


class Conditions:
    """The condition graph of one space: checked once, then used to find active sets.

    Args:
        params: The space's ranges, in declaration order.

    Raises:
        SearchSpaceError: For a parent that does not exist, a Float parent, a value the parent can
            never take, a range that depends on itself, or a cycle, each naming the parameter and the fix.

    Attributes:
        order: Every name, parents before their children (declaration order otherwise).
        allowed: For each conditional name, parent name -> the indices of the allowed values
            (choice index for a Categorical parent, step index for an Int parent).
    """

    def __init__(self, params: Mapping[str, Param]) -> None:
        self.params = dict(params)
        self.allowed: dict[str, dict[str, frozenset[int]]] = {}
        for name, p in self.params.items():
            if p.when:
                self.allowed[name] = {parent: self._indices(name, parent, values)
                                      for parent, values in p.when.items()}
        self.order = self._topological()

    @property
    def conditional(self) -> list[str]:
        """Names of the conditional parameters, in declaration order."""
        return [n for n in self.params if n in self.allowed]

    def _indices(self, name: str, parent: str, values: tuple[Any, ...]) -> frozenset[int]:
        where = f"parameter {name!r}: when={{{parent!r}: {list(values)!r}}}"
        if parent == name:
            raise SearchSpaceError(f"{where}: a parameter cannot depend on itself; name another parameter")
        if parent not in self.params:
            raise SearchSpaceError(
                f"{where}: there is no parameter {parent!r}; the parameters are "
                f"{', '.join(map(repr, self.params))}; declare {parent!r} or correct the name")
        p = self.params[parent]
        if isinstance(p, Float):
            raise SearchSpaceError(
                f"{where}: {parent!r} is a Float range, and a condition needs a parent with distinct "
                f"values; declare {parent!r} as a Categorical (for example a switch "
                "Categorical([False, True])) or an Int range, and name its values")
        out = set()
        for v in values:
            try:
                if isinstance(p, Categorical):
                    out.add(p.index(v))
                else:
                    assert isinstance(p, Int)
                    out.add((p.validate(v, parent) - p.min) // p.step)
            except SearchSpaceError:
                can = (f"one of {p.values!r}" if isinstance(p, Categorical)
                       else f"an integer in range({p.min}, {p.max + 1}, {p.step})")  # type: ignore[union-attr]
                raise SearchSpaceError(
                    f"{where}: {parent!r} can never be {v!r}, so {name!r} would never be used; "
                    f"name {can}") from None
        return frozenset(out)

    def _topological(self) -> list[str]:
        order: list[str] = []
        state: dict[str, int] = {}  # 1: being visited, 2: done

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = path[path.index(name):] + [name]
                raise SearchSpaceError(
                    f"parameter {name!r}: its conditions form a cycle ({' -> '.join(cycle)}: each is "
                    "active only when the next one is); remove one of these when= conditions")
            state[name] = 1
            for parent in self.allowed.get(name, {}):
                visit(parent, [*path, name])
            state[name] = 2
            order.append(name)

        for name in self.params:
            visit(name, [])
        return order

    def value_index(self, parent: str, value: Any) -> int | None:
        """The index of ``value`` among the parent's values, or None when it is not one of them."""
        p = self.params[parent]
        try:
            if isinstance(p, Categorical):
                return p.index(value)
            assert isinstance(p, Int)
            return (p.validate(value, parent) - p.min) // p.step
        except SearchSpaceError:
            return None

    def satisfied(self, name: str, values: Mapping[str, Any], active: set[str]) -> bool:
        """Whether ``name`` is active, given the values and the active set of its parents."""
        for parent, allowed in self.allowed.get(name, {}).items():
            if parent not in active or parent not in values:
                return False
            if self.value_index(parent, values[parent]) not in allowed:
                return False
        return True

    def active(self, values: Mapping[str, Any]) -> set[str]:
        """The names active in a configuration (values of inactive names are ignored)."""
        active: set[str] = set()
        for name in self.order:
            if name not in self.allowed or self.satisfied(name, values, active):
                active.add(name)
        return active

    def describe(self, name: str) -> str:
        """The condition of ``name`` as text: ``optimizer in ['adam', 'adamw']``, or ``""``."""
        parts = []
        for parent, values in self.params[name].when.items():
            parts.append(f"{parent}={values[0]!r}" if len(values) == 1 else f"{parent} in {list(values)!r}")
        return " and ".join(parts)
