"""Hyperparameter ranges and the search space.

A :class:`SearchSpace` maps names to ranges (:class:`Float`, :class:`Int`, :class:`Categorical`).
Strategies work in the unit cube: every range encodes a value to one coordinate in ``[0, 1]`` and
decodes any coordinate back to a valid value, so a strategy never has to know about scales, steps or
choices. The encoding per scale:

* ``linear`` (and ``auto``): ``u = (x - min) / (max - min)``;
* ``log``: ``u = log(x / min) / log(max / min)``;
* ``reverse_log``: ``u = log((1 - min) / (1 - x)) / log((1 - min) / (1 - max))``, which spreads the
  values close to 1 (momentum, beta2) as ``log`` spreads the values close to 0.

``auto`` is encoded linearly; the ``bayesian`` strategy learns a warping of each ``auto`` dimension
from the data, and ``random``/``grid`` treat it as ``linear``.
Integers occupy equal-width cells of the unit interval (one per value on the step grid), so uniform
sampling gives every value, ends included, the same chance.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from hpcore.errors import SearchSpaceError

CATEGORIES = ("model", "optimizer", "data")
SCALES = ("auto", "linear", "log", "reverse_log")

__all__ = ["CATEGORIES", "SCALES", "Categorical", "Float", "Int", "Param", "SearchSpace"]


def _check_category(category: str, where: str) -> str:
    if category not in CATEGORIES:
        raise SearchSpaceError(
            f"{where}: unknown category {category!r}; use one of {', '.join(CATEGORIES)}"
        )
    return category


class Param:
    """Base of the three range types. Subclasses implement the unit-cube encoding."""

    kind: str = ""
    category: str
    default: Any

    def encode(self, value: Any) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def decode(self, u: float) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def validate(self, value: Any, name: str = "value") -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def sample(self, rng: np.random.Generator) -> Any:
        """Draws one value uniformly in the encoded scale."""
        return self.decode(float(rng.random()))

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict()  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True, default=str))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if k != "type")
        return f"{type(self).__name__}({args})"


class _Numeric(Param):
    def __init__(self, min: float, max: float, scale: str, category: str, default: Any) -> None:
        where = f"{type(self).__name__}(min={min!r}, max={max!r}, scale={scale!r})"
        for label, v in (("min", min), ("max", max)):
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise SearchSpaceError(f"{where}: {label} must be a number, got {v!r}")
            if not math.isfinite(v):
                raise SearchSpaceError(f"{where}: {label} must be finite, got {v!r}")
        if scale not in SCALES:
            raise SearchSpaceError(f"{where}: unknown scale {scale!r}; use one of {', '.join(SCALES)}")
        if not min < max:
            raise SearchSpaceError(
                f"{where}: min must be less than max; swap them or use Categorical([{min!r}]) "
                "for a fixed value"
            )
        if scale == "log" and min <= 0:
            raise SearchSpaceError(
                f"{where}: log scale needs min > 0; raise min (for example to {max / 1e4:g}) "
                "or use scale='linear'"
            )
        self.scale = scale
        self.category = _check_category(category, where)

    @property
    def is_log(self) -> bool:
        return self.scale == "log"


class Float(_Numeric):
    """A real-valued range ``[min, max]``.

    Args:
        min: Lower bound (included).
        max: Upper bound (included).
        scale: ``auto`` (default), ``linear``, ``log`` (needs ``min > 0``) or ``reverse_log``
            (needs ``0 <= min < max < 1``).
        category: ``model`` (default), ``optimizer`` or ``data``.
        default: The value a default configuration uses; the middle of the scale when omitted.

    Raises:
        SearchSpaceError: When the bounds, scale or category are invalid.

    Example:
        >>> lr = Float(1e-5, 1e-1, scale="log", category="optimizer")
        >>> lr.decode(lr.encode(1e-3))
        0.001
    """

    kind = "float"

    def __init__(self, min: float, max: float, scale: str = "auto", category: str = "model",
                 default: float | None = None) -> None:
        super().__init__(min, max, scale, category, default)
        self.min, self.max = float(min), float(max)
        if scale == "reverse_log" and not (self.min >= 0 and self.max < 1):
            raise SearchSpaceError(
                f"Float(min={min!r}, max={max!r}, scale='reverse_log'): reverse_log needs "
                "0 <= min < max < 1; use it for values close to 1 such as momentum, or use scale='log'"
            )
        self.default = float(f"{self.decode(0.5):.12g}") if default is None else self.validate(default, "default")

    def encode(self, value: float) -> float:
        x = float(value)
        if self.scale == "log":
            u = math.log(x / self.min) / math.log(self.max / self.min)
        elif self.scale == "reverse_log":
            u = math.log((1 - self.min) / (1 - x)) / math.log((1 - self.min) / (1 - self.max))
        else:
            u = (x - self.min) / (self.max - self.min)
        return min(1.0, max(0.0, u))

    def decode(self, u: float) -> float:
        u = min(1.0, max(0.0, float(u)))
        if self.scale == "log":
            x = self.min * math.exp(u * math.log(self.max / self.min))
        elif self.scale == "reverse_log":
            x = 1 - (1 - self.min) * math.exp(-u * math.log((1 - self.min) / (1 - self.max)))
        else:
            x = self.min + u * (self.max - self.min)
        # Round-off at the ends must never step outside the declared range.
        return min(self.max, max(self.min, x))

    def validate(self, value: Any, name: str = "value") -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise SearchSpaceError(f"{name}={value!r} is not a number")
        if not self.min <= value <= self.max:
            raise SearchSpaceError(f"{name}={value!r} lies outside [{self.min:g}, {self.max:g}]")
        return float(value)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "float", "min": self.min, "max": self.max, "scale": self.scale,
                "category": self.category, "default": self.default}


class Int(_Numeric):
    """An integer range ``[min, max]`` on a grid of ``step``.

    Args:
        min: Lower bound (included).
        max: Upper bound (included when it lies on the step grid).
        scale: ``auto`` (default), ``linear`` or ``log`` (needs ``min > 0``); ``reverse_log`` is for
            floats only, as in SageMaker.
        step: Spacing of the allowed values, counted from ``min``.
        category: ``model`` (default), ``optimizer`` or ``data``.
        default: The value a default configuration uses; the middle of the scale when omitted.

    Raises:
        SearchSpaceError: When the bounds, step, scale or category are invalid.

    Example:
        >>> depth = Int(1, 8, category="model")
        >>> [depth.decode(u) for u in (0.0, 0.5, 1.0)]
        [1, 5, 8]
    """

    kind = "int"

    def __init__(self, min: int, max: int, scale: str = "auto", step: int = 1,
                 category: str = "model", default: int | None = None) -> None:
        for label, v in (("min", min), ("max", max), ("step", step)):
            if isinstance(v, float) and v.is_integer():
                continue
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise SearchSpaceError(f"Int({label}={v!r}): {label} must be an integer")
        super().__init__(int(min), int(max), scale, category, default)
        if scale == "reverse_log":
            raise SearchSpaceError(
                f"Int(min={min!r}, max={max!r}, scale='reverse_log'): reverse_log is for Float "
                "ranges only; use Float or scale='log'"
            )
        if int(step) < 1:
            raise SearchSpaceError(f"Int(min={min!r}, max={max!r}, step={step!r}): step must be >= 1")
        self.min, self.step = int(min), int(step)
        self.n_values = (int(max) - self.min) // self.step + 1
        self.max = self.min + (self.n_values - 1) * self.step
        self.default = self.decode(0.5) if default is None else self.validate(default, "default")

    def _edges(self) -> tuple[float, float]:
        # Cells of half a step around each end, so both ends are as likely as any other value.
        half = self.step / 2
        if self.scale == "log":
            return math.log(self.min - half if self.min - half > 0 else self.min / 2), math.log(self.max + half)
        return self.min - half, self.max + half

    def encode(self, value: int) -> float:
        lo, hi = self._edges()
        x = math.log(value) if self.scale == "log" else float(value)
        return min(1.0, max(0.0, (x - lo) / (hi - lo)))

    def decode(self, u: float) -> int:
        lo, hi = self._edges()
        x = lo + min(1.0, max(0.0, float(u))) * (hi - lo)
        if self.scale == "log":
            x = math.exp(x)
        k = int(round((x - self.min) / self.step))
        return self.min + min(self.n_values - 1, max(0, k)) * self.step

    def values(self) -> list[int]:
        """All allowed values, in order."""
        return [self.min + k * self.step for k in range(self.n_values)]

    def validate(self, value: Any, name: str = "value") -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise SearchSpaceError(f"{name}={value!r} is not an integer")
        if not self.min <= value <= self.max or (value - self.min) % self.step:
            raise SearchSpaceError(
                f"{name}={value!r} is not in range({self.min}, {self.max + 1}, {self.step})"
            )
        return int(value)

    def to_dict(self) -> dict[str, Any]:
        d = {"type": "int", "min": self.min, "max": self.max, "scale": self.scale,
             "category": self.category, "default": self.default}
        if self.step != 1:
            d["step"] = self.step
        return d


class Categorical(Param):
    """A choice among distinct values (strings, numbers, booleans or None).

    Args:
        values: The choices; at least one, without duplicates.
        category: ``model`` (default), ``optimizer`` or ``data``.
        default: The value a default configuration uses; the first choice when omitted.

    Raises:
        SearchSpaceError: When the list is empty, holds duplicates or the category is unknown.

    Example:
        >>> opt = Categorical(["adam", "sgd"], category="optimizer")
        >>> opt.decode(opt.encode("sgd"))
        'sgd'
    """

    kind = "categorical"
    scale = "linear"

    def __init__(self, values: list[Any] | tuple[Any, ...], category: str = "model",
                 default: Any = None) -> None:
        where = f"Categorical({values!r})"
        if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
            raise SearchSpaceError(f"{where}: values must be a list of choices")
        if len(values) == 0:
            raise SearchSpaceError(f"{where}: needs at least one value")
        seen: list[Any] = []
        for v in values:
            if v in seen and type(v) is type(seen[seen.index(v)]):
                raise SearchSpaceError(f"{where}: duplicated value {v!r}; list each choice once")
            seen.append(v)
        self.values = list(values)
        self.category = _check_category(category, where)
        self.default = self.values[0] if default is None else self.validate(default, "default")

    def index(self, value: Any) -> int:
        for i, v in enumerate(self.values):
            if v == value and type(v) is type(value):
                return i
        for i, v in enumerate(self.values):  # 1 == 1.0, "True" from YAML is still not True
            if v == value:
                return i
        raise SearchSpaceError(f"value {value!r} is not one of {self.values!r}")

    def encode(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self.values)

    def decode(self, u: float) -> Any:
        k = int(min(1.0, max(0.0, float(u))) * len(self.values))
        return self.values[min(k, len(self.values) - 1)]

    def validate(self, value: Any, name: str = "value") -> Any:
        try:
            return self.values[self.index(value)]
        except SearchSpaceError:
            raise SearchSpaceError(f"{name}={value!r} is not one of {self.values!r}") from None

    def to_dict(self) -> dict[str, Any]:
        return {"type": "categorical", "values": list(self.values), "category": self.category,
                "default": self.default}


_TYPES = {"float": Float, "int": Int, "integer": Int, "categorical": Categorical}


def param_from_dict(name: str, spec: Mapping[str, Any]) -> Param:
    """Builds one range from its plain-dict form (as written in a job file)."""
    if not isinstance(spec, Mapping):
        raise SearchSpaceError(f"parameter {name!r}: expected a mapping with 'type', got {spec!r}")
    spec = dict(spec)
    kind = spec.pop("type", None)
    if kind is None:
        kind = "categorical" if "values" in spec else (
            "int" if all(isinstance(spec.get(k), int) for k in ("min", "max")) else "float")
    if kind not in _TYPES:
        raise SearchSpaceError(f"parameter {name!r}: unknown type {kind!r}; use float, int or categorical")
    cls = _TYPES[kind]
    allowed = {"float": {"min", "max", "scale", "category", "default"},
               "int": {"min", "max", "scale", "step", "category", "default"},
               "categorical": {"values", "category", "default"}}[cls.kind]
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise SearchSpaceError(
            f"parameter {name!r}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(allowed))}"
        )
    try:
        if cls is Categorical:
            return Categorical(**spec)
        return cls(**{k: (float(v) if isinstance(v, str) else v) for k, v in spec.items()
                      if k in ("min", "max")} | {k: v for k, v in spec.items() if k not in ("min", "max")})
    except TypeError as exc:
        raise SearchSpaceError(f"parameter {name!r}: {exc}") from None
    except SearchSpaceError as exc:
        raise SearchSpaceError(f"parameter {name!r}: {exc}") from None


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

    # Encoding
    def encode(self, params: Mapping[str, Any]) -> np.ndarray:
        """Maps a configuration to a point of the unit cube, shape ``(len(space),)``."""
        return np.array([p.encode(params[n]) for n, p in self._params.items()], dtype=float)

    def decode(self, u: np.ndarray | list[float]) -> dict[str, Any]:
        """Maps a point of the unit cube, shape ``(len(space),)``, to a valid configuration."""
        u = np.asarray(u, dtype=float).reshape(-1)
        if u.shape[0] != len(self):
            raise ValueError(f"expected {len(self)} coordinates, got {u.shape[0]}")
        return {n: p.decode(float(x)) for (n, p), x in zip(self._params.items(), u)}

    def sample(self, rng: np.random.Generator | int | None = None) -> dict[str, Any]:
        """Draws one configuration uniformly in the encoded scales."""
        rng = np.random.default_rng(rng)
        return self.decode(rng.random(len(self)))

    def defaults(self) -> dict[str, Any]:
        """The default configuration (each range's ``default``)."""
        return {n: p.default for n, p in self._params.items()}

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Checks a full configuration and returns it with canonical value types.

        Raises:
            SearchSpaceError: Naming the missing, unknown or out-of-range parameters.
        """
        missing = [n for n in self._params if n not in params]
        extra = [n for n in params if n not in self._params]
        if missing or extra:
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
                [f"unknown {', '.join(extra)}"] if extra else [])
            raise SearchSpaceError(f"configuration does not match the space: {'; '.join(parts)}")
        return {n: p.validate(params[n], n) for n, p in self._params.items()}

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
        """A text table of the space, grouped by category."""
        lines = []
        for cat in CATEGORIES:
            group = self.by_category(cat)
            if not group:
                continue
            lines.append(f"{cat} ({len(group)})")
            for n, p in group.items():
                if isinstance(p, Categorical):
                    rng = "{" + ", ".join(map(repr, p.values)) + "}"
                else:
                    rng = f"[{p.min:g}, {p.max:g}] {p.scale}"
                    if isinstance(p, Int) and p.step != 1:
                        rng += f" step {p.step}"
                lines.append(f"  {n:<24} {p.kind:<12} {rng}  default={p.default!r}")
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

        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str) -> SearchSpace:
        import yaml

        return cls.from_dict(yaml.safe_load(text))

    def fingerprint(self) -> str:
        """A short hash of the space, equal for equal spaces."""
        return hashlib.sha256(self.to_json(sort_keys=True).encode()).hexdigest()[:16]

    def differences(self, other: SearchSpace) -> list[str]:
        """Human-readable differences from ``other`` (empty when the spaces are equal)."""
        diffs = []
        for n in self._params:
            if n not in other:
                diffs.append(f"{n!r} is new")
            elif self[n] != other[n]:
                diffs.append(f"{n!r} changed from {other[n]!r} to {self[n]!r}")
        diffs += [f"{n!r} was removed" for n in other if n not in self._params]
        return diffs
