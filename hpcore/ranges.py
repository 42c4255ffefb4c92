"""Hyperparameter ranges: :class:`Float`, :class:`Int` and :class:`Categorical`.

Each range encodes a value to one coordinate in ``[0, 1]`` and decodes any coordinate back to a
valid value (see :mod:`hpcore.space` for the encoding of each scale).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from hpcore._choices import check_choices, check_scalar_choice, normalise_when
from hpcore.errors import SearchSpaceError

CATEGORIES = ("model", "optimizer", "data")
SCALES = ("auto", "linear", "log", "reverse_log")
# An ``auto`` range from min > 0 spanning this ratio (two decades) or more starts on a log scale
# (Param.unit_scale); chosen on the design seeds of benchmarks/bench_real.py (docs/search-space.md).
AUTO_LOG_RATIO = 100.0
# An ``auto`` Int whose bounds are both powers of two at least this factor apart (four doublings:
# batch sizes 16-256, widths 2-128, leaves 4-64) starts on a log scale too: sizes that are doubled.
AUTO_DOUBLING_RATIO = 16

__all__ = ["AUTO_DOUBLING_RATIO", "AUTO_LOG_RATIO", "CATEGORIES", "SCALES", "Categorical", "Float", "Int", "Param",
           "param_from_dict"]


def _check_category(category: str, where: str) -> str:
    if category not in CATEGORIES:
        raise SearchSpaceError(
            f"{where}: unknown category {category!r}; use one of {', '.join(CATEGORIES)}"
        )
    return category


class Param:
    """Base of the three range types. Subclasses implement the unit-cube encoding.

    Every range may be *conditional*: ``when={"optimizer": "sgd"}`` makes it exist only in the
    configurations where each named parent has one of the given values (see
    :mod:`hpcore.conditions`).
    """

    kind: str = ""
    category: str
    default: Any
    when: dict[str, tuple[Any, ...]] = {}  # noqa: RUF012 - replaced per instance, never mutated

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

    def _with_when(self, d: dict[str, Any]) -> dict[str, Any]:
        if self.when:
            d["when"] = {k: (list(v) if len(v) > 1 else v[0]) for k, v in self.when.items()}
        return d


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
        """Whether the range was declared ``scale="log"``."""
        return self.scale == "log"

    @property
    def unit_scale(self) -> str:
        """The scale of the unit coordinate: the declared one, or the one ``auto`` starts from.

        An ``auto`` range with ``min > 0`` whose ``max / min`` is at least ``AUTO_LOG_RATIO`` (100: two decades)
        starts as ``log``, any other ``auto`` range as ``linear``; the ``bayesian`` strategy then
        warps the coordinate as its data say, either way (see :mod:`hpcore.space`).
        """
        if self.scale != "auto":
            return self.scale
        return "log" if self.min > 0 and self.max >= AUTO_LOG_RATIO * self.min else "linear"


class Float(_Numeric):
    """A real-valued range ``[min, max]``.

    Args:
        min: Lower bound (included).
        max: Upper bound (included).
        scale: ``auto`` (default), ``linear``, ``log`` (needs ``min > 0``) or ``reverse_log``
            (needs ``0 <= min < max < 1``).
        category: ``model`` (default), ``optimizer`` or ``data``.
        default: The value a default configuration uses; the middle of the scale when omitted.
        when: Makes the range conditional: ``{"optimizer": "sgd"}`` or ``{"optimizer": ["adam",
            "adamw"]}``; it exists only where every named parent has one of its values.

    Raises:
        SearchSpaceError: When the bounds, scale, category or condition are invalid.

    Example:
        >>> lr = Float(1e-5, 1e-1, scale="log", category="optimizer")
        >>> lr.decode(lr.encode(1e-3))
        0.001
    """

    kind = "float"

    def __init__(self, min: float, max: float, scale: str = "auto", category: str = "model",
                 default: float | None = None, when: Mapping[str, Any] | None = None) -> None:
        super().__init__(min, max, scale, category, default)
        self.when = normalise_when(when, f"Float(min={min!r}, max={max!r})")
        self.min, self.max = float(min), float(max)
        if scale == "reverse_log" and not (self.min >= 0 and self.max < 1):
            raise SearchSpaceError(
                f"Float(min={min!r}, max={max!r}, scale='reverse_log'): reverse_log needs "
                "0 <= min < max < 1; use it for values close to 1 such as momentum, or use scale='log'"
            )
        self.default = float(f"{self.decode(0.5):.12g}") if default is None else self.validate(default, "default")

    def _ends(self) -> tuple[float, float]:
        """The ends of the range in the scale's own coordinate: ``log(x)``, ``-log(1 - x)`` or ``x``.

        Differences of logs, never ``log(max / min)``: the ratio overflows for ranges such as
        ``Float(1e-300, 1e300, scale='log')``, which would then decode every coordinate to ``max``.
        """
        if self.unit_scale == "log":
            return math.log(self.min), math.log(self.max)
        if self.scale == "reverse_log":
            return -math.log1p(-self.min), -math.log1p(-self.max)
        return self.min, self.max

    def encode(self, value: float) -> float:
        x, (lo, hi) = float(value), self._ends()
        if self.unit_scale == "log":
            t = math.log(x) if x > 0 else -math.inf
        elif self.scale == "reverse_log":
            t = -math.log1p(-x) if x < 1 else math.inf
        else:
            t = x
        # Halves keep hi - lo finite for the widest linear ranges (-1e308 to 1e308).
        u = (t / 2 - lo / 2) / (hi / 2 - lo / 2)
        return min(1.0, max(0.0, u))

    def decode(self, u: float) -> float:
        u = min(1.0, max(0.0, float(u)))
        lo, hi = self._ends()
        t = lo * (1 - u) + hi * u  # no hi - lo: finite for any finite ends
        if self.unit_scale == "log":
            x = math.exp(t)
        elif self.scale == "reverse_log":
            x = -math.expm1(-t)
        else:
            x = t
        # 15 significant digits drop the round-off of exp/log (1e-3 comes back as 1e-3, not
        # 0.0010000000000000005); the clamp keeps round-off at the ends inside the declared range.
        return min(self.max, max(self.min, float(f"{x:.15g}")))

    def validate(self, value: Any, name: str = "value") -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise SearchSpaceError(f"{name}={value!r} is not a number")
        if not self.min <= value <= self.max:
            raise SearchSpaceError(f"{name}={value!r} lies outside [{self.min:g}, {self.max:g}]")
        return float(value)

    def to_dict(self) -> dict[str, Any]:
        return self._with_when({"type": "float", "min": self.min, "max": self.max, "scale": self.scale,
                                "category": self.category, "default": self.default})


def _power_of_two(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


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
        when: Makes the range conditional, as for :class:`Float`.

    Raises:
        SearchSpaceError: When the bounds, step, scale or category are invalid.

    Example:
        >>> depth = Int(1, 8, category="model")
        >>> [depth.decode(u) for u in (0.0, 0.5, 1.0)]
        [1, 5, 8]
    """

    kind = "int"

    def __init__(self, min: int, max: int, scale: str = "auto", step: int = 1,
                 category: str = "model", default: int | None = None,
                 when: Mapping[str, Any] | None = None) -> None:
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
        if int(step) > int(max) - int(min):
            # The step grid from min would hold min alone: a range that silently becomes one value.
            raise SearchSpaceError(
                f"Int(min={min!r}, max={max!r}, step={step!r}): step {step!r} is larger than the range "
                f"{min!r}..{max!r}, which would leave the single value {min!r}; use a step of at most "
                f"{int(max) - int(min)}, or Categorical([{min!r}]) for a fixed value")
        self.min, self.step = int(min), int(step)
        self.n_values = (int(max) - self.min) // self.step + 1
        self.max = self.min + (self.n_values - 1) * self.step
        self.default = self.decode(0.5) if default is None else self.validate(default, "default")
        self.when = normalise_when(when, f"Int(min={min!r}, max={max!r})")

    def edges(self) -> tuple[float, float]:
        """The interval the unit cube maps onto (in ``log`` for a log scale): the values' range widened
        by half a step at each end, so that both ends are as likely as any other value."""
        half = self.step / 2
        if self.unit_scale == "log":
            return math.log(self.min - half if self.min - half > 0 else self.min / 2), math.log(self.max + half)
        return self.min - half, self.max + half

    @property
    def unit_scale(self) -> str:
        """As for every range (:attr:`_Numeric.unit_scale`), and one more ``auto`` rule for integers:
        bounds that are both powers of two, ``max >= AUTO_DOUBLING_RATIO * min`` (16), start as ``log``
        (``Int(16, 256)`` for a batch size, ``Int(2, 128)`` for a width: sizes chosen by doubling).
        """
        if self.scale == "auto" and self.step == 1 and _power_of_two(self.min) and _power_of_two(self.max) \
                and self.max >= AUTO_DOUBLING_RATIO * self.min:
            return "log"
        return super().unit_scale

    def encode(self, value: int) -> float:
        lo, hi = self.edges()
        x = math.log(value) if self.unit_scale == "log" else float(value)
        return min(1.0, max(0.0, (x - lo) / (hi - lo)))

    def decode(self, u: float) -> int:
        lo, hi = self.edges()
        x = lo + min(1.0, max(0.0, float(u))) * (hi - lo)
        if self.unit_scale == "log":
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
        return self._with_when(d)


class Categorical(Param):
    """A choice among distinct values (strings, numbers, booleans, None, or tuples of them).

    Args:
        values: The choices; at least one, without duplicates.
        category: ``model`` (default), ``optimizer`` or ``data``.
        default: The value a default configuration uses; the first choice when omitted.
        when: Makes the range conditional, as for :class:`Float`.

    Raises:
        SearchSpaceError: When the list is empty, holds NaN, equal values (``1``, ``1.0`` and ``True``
            are equal in Python), a dict, list or other non-scalar choice, or the category is unknown.

    Example:
        >>> opt = Categorical(["adam", "sgd"], category="optimizer")
        >>> opt.decode(opt.encode("sgd"))
        'sgd'
    """

    kind = "categorical"
    scale = "linear"

    def __init__(self, values: list[Any] | tuple[Any, ...], category: str = "model",
                 default: Any = None, when: Mapping[str, Any] | None = None) -> None:
        where = f"Categorical({values!r})"
        if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
            raise SearchSpaceError(f"{where}: values must be a list of choices")
        if len(values) == 0:
            raise SearchSpaceError(f"{where}: needs at least one value")
        for v in values:
            check_scalar_choice(v, where)
        check_choices(values, where)
        self.values = list(values)
        self.category = _check_category(category, where)
        self.default = self.values[0] if default is None else self.validate(default, "default")
        self.when = normalise_when(when, where)

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
        return self._with_when({"type": "categorical", "values": list(self.values),
                                "category": self.category, "default": self.default})


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
    allowed = {"float": {"min", "max", "scale", "category", "default", "when"},
               "int": {"min", "max", "scale", "step", "category", "default", "when"},
               "categorical": {"values", "category", "default", "when"}}[cls.kind]
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise SearchSpaceError(
            f"parameter {name!r}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(allowed))}"
        )
    try:
        if cls is Categorical:
            # JSON and YAML have no tuples: a choice written [3, 3] is the tuple (3, 3).
            values = spec.get("values")
            if isinstance(values, list):
                spec["values"] = [tuple(v) if isinstance(v, list) else v for v in values]
                if isinstance(spec.get("default"), list):
                    spec["default"] = tuple(spec["default"])
            return Categorical(**spec)
        return cls(**{k: (float(v) if isinstance(v, str) else v) for k, v in spec.items()
                      if k in ("min", "max")} | {k: v for k, v in spec.items() if k not in ("min", "max")})
    except TypeError as exc:
        raise SearchSpaceError(f"parameter {name!r}: {exc}") from None
    except SearchSpaceError as exc:
        raise SearchSpaceError(f"parameter {name!r}: {exc}") from None


