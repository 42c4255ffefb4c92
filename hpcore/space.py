"""Hyperparameter ranges and the search space.

A :class:`SearchSpace` maps names to ranges (:class:`Float`, :class:`Int`, :class:`Categorical`).
Strategies work in the unit cube: every range encodes a value to one coordinate in ``[0, 1]`` and
decodes any coordinate back to a valid value, so a strategy never has to know about scales, steps or
choices. The encoding per scale:

* ``linear``: ``u = (x - min) / (max - min)``;
* ``log``: ``u = log(x / min) / log(max / min)``;
* ``reverse_log``: ``u = log((1 - min) / (1 - x)) / log((1 - min) / (1 - max))``, which spreads the
  values close to 1 (momentum, beta2) as ``log`` spreads the values close to 0.

``auto`` is encoded as ``log`` when ``min > 0`` and ``max >= 100 * min`` (``AUTO_LOG_RATIO``) or for
an ``Int`` between powers of two at least 16 apart (``AUTO_DOUBLING_RATIO``), as ``linear``
otherwise (``Param.unit_scale`` tells which), for every strategy; the ``bayesian`` strategy then
learns a warping of each ``auto`` dimension from the data, which can move it either way.
Integers occupy equal-width cells of the unit interval (one per value on the step grid), so uniform
sampling gives every value, ends included, the same chance.

Conditional ranges (``when=``, see :mod:`hpcore.conditions`) exist only in some configurations:
``decode`` leaves out the inactive ones, ``encode`` gives them the coordinate NaN, and ``validate``
requires exactly the active ones.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from hpcore._suggest import did_you_mean
from hpcore.conditions import Conditions
from hpcore.errors import SearchSpaceError
from hpcore.ranges import (
    CATEGORIES,
    SCALES,
    Categorical,
    Float,
    Int,
    Param,
    _check_category,
    param_from_dict,
)

__all__ = ["CATEGORIES", "SCALES", "Categorical", "Float", "Int", "Param", "SearchSpace", "param_from_dict"]


class SearchSpace(Mapping[str, Param]):
    """An ordered mapping of hyperparameter names to ranges.

    Args:
        params: Names mapped to :class:`Float`, :class:`Int` or :class:`Categorical` ranges, or to
            their plain-dict form (``{"type": "float", "min": 0.1, "max": 1}``).

    Raises:
        SearchSpaceError: On an empty space, a non-string name or an invalid range (named).

    Example:
        >>> space = SearchSpace({
        ...     "lr": Float(1e-5, 1e-1, scale="log", category="optimizer"),
        ...     "depth": Int(1, 8),
        ...     "flip": Float(0.0, 0.5, category="data"),
        ... })
        >>> sorted(space.by_category("optimizer"))
        ['lr']
        >>> space.decode(space.encode(space.defaults())) == space.defaults()
        True
    """

    def __init__(self, params: Mapping[str, Param | Mapping[str, Any]]) -> None:
        if not isinstance(params, Mapping) or not params:
            raise SearchSpaceError("a search space needs at least one parameter: SearchSpace({'lr': Float(...)})")
        self._params: dict[str, Param] = {}
        for name, p in params.items():
            if not isinstance(name, str) or not name:
                raise SearchSpaceError(f"parameter names must be non-empty strings, got {name!r}")
            if isinstance(p, Param):
                self._params[name] = p
            else:
                self._params[name] = param_from_dict(name, p)
        self.conditions = Conditions(self._params)

    # Mapping protocol
    def __getitem__(self, name: str) -> Param:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __repr__(self) -> str:
        return f"SearchSpace({self._params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchSpace) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    # Conditions
    @property
    def conditional(self) -> list[str]:
        """Names of the conditional parameters (declared with ``when=``)."""
        return self.conditions.conditional

    def active(self, params: Mapping[str, Any]) -> list[str]:
        """The names active in a configuration, in declaration order.

        Example:
            >>> space = SearchSpace({"opt": Categorical(["adam", "sgd"]),
            ...                      "momentum": Float(0, 0.9, when={"opt": "sgd"})})
            >>> space.active({"opt": "sgd", "momentum": 0.5})
            ['opt', 'momentum']
        """
        act = self.conditions.active(params)
        return [n for n in self._params if n in act]

    def _only_active(self, values: dict[str, Any]) -> dict[str, Any]:
        if not self.conditions.allowed:
            return values
        act = self.conditions.active(values)
        return {n: v for n, v in values.items() if n in act}

    # Encoding
    def encode(self, params: Mapping[str, Any]) -> np.ndarray:
        """Maps a configuration to a point of the unit cube, shape ``(len(space),)``; the coordinate
        of an inactive parameter is NaN."""
        act = self.conditions.active(params) if self.conditions.allowed else self._params
        return np.array([p.encode(params[n]) if n in act else np.nan for n, p in self._params.items()],
                        dtype=float)

    def decode(self, u: np.ndarray | list[float]) -> dict[str, Any]:
        """Maps a point of the unit cube, shape ``(len(space),)``, to a valid configuration (the
        coordinates of the parameters it leaves inactive are ignored)."""
        u = np.asarray(u, dtype=float).reshape(-1)
        if u.shape[0] != len(self):
            raise ValueError(f"expected {len(self)} coordinates, got {u.shape[0]}")
        return self._only_active({n: p.decode(0.5 if np.isnan(x) else float(x))
                                  for (n, p), x in zip(self._params.items(), u)})

    def sample(self, rng: np.random.Generator | int | None = None) -> dict[str, Any]:
        """Draws one configuration uniformly in the encoded scales."""
        rng = np.random.default_rng(rng)
        return self.decode(rng.random(len(self)))

    def defaults(self) -> dict[str, Any]:
        """The default configuration (each active range's ``default``)."""
        return self._only_active({n: p.default for n, p in self._params.items()})

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Checks a configuration and returns it with canonical value types.

        A configuration holds exactly the active parameters: a conditional one whose condition does
        not hold must be left out.

        Raises:
            SearchSpaceError: Naming the missing, unknown, inactive or out-of-range parameters.
        """
        extra = [n for n in params if n not in self._params]
        values = {n: p.validate(params[n], n) for n, p in self._params.items() if n in params}
        act = self.conditions.active(values) if self.conditions.allowed else set(self._params)
        missing = [n for n in self._params if n in act and n not in params]
        inactive = [n for n in values if n not in act]
        if missing or extra or inactive:
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
                [f"unknown {', '.join(extra)}"] if extra else []) + [
                f"{n} is inactive here (it exists only when {self.conditions.describe(n)}); leave it out"
                for n in inactive]
            raise SearchSpaceError(f"configuration does not match the space: {'; '.join(parts)}")
        return {n: v for n, v in values.items()}

    def check_partial(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Checks the parameters a partial configuration gives (names and values), as :meth:`validate`
        does for a whole one.

        Raises:
            SearchSpaceError: Naming an unknown parameter (with the closest known one) or a bad value.
        """
        for n in params:
            if n not in self._params:
                raise SearchSpaceError(f"unknown parameter {n!r}{did_you_mean(n, self._params)}; the space has "
                                       f"{', '.join(self._params)}")
        return {n: self._params[n].validate(v, n) for n, v in params.items()}

    def complete(self, partial: Mapping[str, Any], proposal: Mapping[str, Any]) -> dict[str, Any]:
        """``partial``'s values, the others from ``proposal`` (or their defaults), keeping the active ones.

        Example:
            >>> space = SearchSpace({"lr": Float(1e-4, 1e-1, scale="log"), "depth": Int(1, 8)})
            >>> space.complete({"lr": 0.01}, {"lr": 0.002, "depth": 5})
            {'lr': 0.01, 'depth': 5}
        """
        merged = {n: p.default for n, p in self._params.items()} | dict(proposal) | dict(partial)
        return self.validate(self._only_active(merged))

    # Categories
    def by_category(self, category: str) -> dict[str, Param]:
        """The parameters of one category, in declaration order."""
        _check_category(category, "by_category")
        return {n: p for n, p in self._params.items() if p.category == category}

    def categories(self) -> dict[str, list[str]]:
        """Parameter names grouped by category (only the categories in use)."""
        out: dict[str, list[str]] = {}
        for n, p in self._params.items():
            out.setdefault(p.category, []).append(n)
        return out

    def subspace(self, names: list[str] | tuple[str, ...]) -> SearchSpace:
        """A new space with only the given parameters."""
        return SearchSpace({n: self._params[n] for n in names})

    def summary(self) -> str:
        """A text table of the space, grouped by category (with how many ranges are conditional)."""
        lines = []
        for cat in CATEGORIES:
            group = self.by_category(cat)
            if not group:
                continue
            n_cond = sum(1 for n in group if n in self.conditions.allowed)
            lines.append(f"{cat} ({len(group)}{f', {n_cond} conditional' if n_cond else ''})")
            for n, p in group.items():
                if isinstance(p, Categorical):
                    rng = "{" + ", ".join(map(repr, p.values)) + "}"
                else:
                    rng = f"[{p.min:g}, {p.max:g}] {p.scale}"
                    if isinstance(p, Int) and p.step != 1:
                        rng += f" step {p.step}"
                cond = f"  when {self.conditions.describe(n)}" if p.when else ""
                lines.append(f"  {n:<24} {p.kind:<12} {rng}  default={p.default!r}{cond}")
        return "\n".join(lines)

    # Plain forms
    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The plain-dict form, accepted back by ``SearchSpace(...)`` and ``from_dict``."""
        return {n: p.to_dict() for n, p in self._params.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, Any]]) -> SearchSpace:
        return cls(dict(data))

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str) -> SearchSpace:
        return cls.from_dict(json.loads(text))

    def to_yaml(self) -> str:
        import yaml

        # Through JSON: YAML's safe dumper has no tuples (a choice (3, 3) is written [3, 3]).
        return yaml.safe_dump(json.loads(self.to_json()), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str) -> SearchSpace:
        import yaml

        return cls.from_dict(yaml.safe_load(text))

    def fingerprint(self) -> str:
        """A short hash of the space, equal for equal spaces."""
        return hashlib.sha256(self.to_json(sort_keys=True).encode()).hexdigest()[:16]

    def restore(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Parameters read back from a store, each categorical value the declared choice itself.

        JSON has no tuples: a choice ``(3, 3)`` is stored as ``[3, 3]``; this gives the training
        function the tuple again on a resume.

        Example:
            >>> space = SearchSpace({"kernel": Categorical([(3, 3), (5, 5)])})
            >>> space.restore({"kernel": [5, 5]})
            {'kernel': (5, 5)}
        """
        out = dict(params)
        for n, p in self._params.items():
            if isinstance(p, Categorical) and n in out:
                key = _plain_key(out[n])
                out[n] = next((v for v in p.values if _plain_key(v) == key), out[n])
        return out

    def differences(self, other: SearchSpace) -> list[str]:
        """Human-readable differences from ``other`` (empty when the spaces are equal).

        Ranges are compared in their plain (JSON) form, as a store keeps them: a choice ``(3, 3)``
        equals the ``[3, 3]`` it was stored as.
        """
        diffs = []
        for n in self._params:
            if n not in other:
                diffs.append(f"{n!r} is new")
            elif _plain_key(self[n].to_dict()) != _plain_key(other[n].to_dict()):
                diffs.append(f"{n!r} changed from {other[n]!r} to {self[n]!r}")
        diffs += [f"{n!r} was removed" for n in other if n not in self._params]
        return diffs


def _plain_key(value: Any) -> str:
    """A value as JSON text: equal for a tuple and the list a store turns it into."""
    return json.dumps(value, sort_keys=True, default=str)
