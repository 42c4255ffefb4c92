"""The ``presets:`` key of a job file: hpcore's ready-made ranges (:mod:`hpcore.presets`) by name.

::

    presets:
      optimizer: {optimizers: [adam, sgd], lr: [1.0e-4, 1.0e-1]}
      augmentation: {}                       # every default
      model: {kind: conv, filters: [8, 64]}  # kind: conv (the default) or mlp
    space:
      epochs: {type: int, min: 5, max: 30}   # the job's own ranges next to them

Each preset takes the keyword arguments of its function (``optimizer`` → :func:`~hpcore.presets.optimizer`,
``augmentation`` → :func:`~hpcore.presets.augmentation`, ``model`` → :func:`~hpcore.presets.conv_model`
or :func:`~hpcore.presets.mlp_model`), lists standing for tuples and ``null`` leaving a range out;
``{}``, ``true`` or an empty value take every default. A name in both ``space:`` and a preset is
refused, since the preset's ranges may be conditional: change a preset's range with its argument.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from hpcore import presets
from hpcore._suggest import did_you_mean
from hpcore.errors import ConfigError
from hpcore.space import Param

__all__ = ["PRESETS", "preset_ranges"]

PRESETS: dict[str, Callable[..., dict[str, Param]]] = {"optimizer": presets.optimizer,
                                                       "augmentation": presets.augmentation}
MODELS: dict[str, Callable[..., dict[str, Param]]] = {"conv": presets.conv_model, "mlp": presets.mlp_model}


def _arguments(where: str, fn: Callable[..., Any], given: Mapping[str, Any]) -> dict[str, Any]:
    known = list(inspect.signature(fn).parameters)
    out = {}
    for key, value in given.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown argument {key!r}{did_you_mean(key, known)}; "
                              f"it takes {', '.join(known)}")
        out[key] = tuple(value) if isinstance(value, list) else value
    return out


def preset_ranges(spec: Any) -> dict[str, Param]:
    """The ranges a job file's ``presets:`` mapping declares, in the order given.

    Raises:
        ConfigError: For an unknown preset or argument (naming the closest one) or a bad value.

    Example:
        >>> sorted(preset_ranges({"model": {"kind": "mlp", "units": [8, 64], "dropout": None}}))
        ['depth', 'units']
    """
    if not isinstance(spec, Mapping):
        raise ConfigError(f"presets: {spec!r}: give a mapping such as {{optimizer: {{}}, model: {{kind: conv}}}}")
    names = [*PRESETS, "model"]
    ranges: dict[str, Param] = {}
    for name, args in spec.items():
        if name not in names:
            raise ConfigError(f"presets: unknown preset {name!r}{did_you_mean(str(name), names)}; "
                              f"the presets are {', '.join(names)}")
        if args is None or args is True:
            args = {}
        if not isinstance(args, Mapping):
            raise ConfigError(f"presets.{name}: {args!r}: give its arguments as a mapping ({{}} for the defaults)")
        args = dict(args)
        if name == "model":
            kind = args.pop("kind", "conv")
            if kind not in MODELS:
                raise ConfigError(f"presets.model: kind={kind!r}: use one of {', '.join(MODELS)}")
            fn = MODELS[kind]
        else:
            fn = PRESETS[name]
        try:
            made = fn(**_arguments(f"presets.{name}", fn, args))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"presets.{name}: {exc}") from None
        twice = sorted(set(made) & set(ranges))
        if twice:
            raise ConfigError(f"presets.{name}: {', '.join(twice)} also come(s) from another preset; leave it "
                              "out of one of them (its argument: null)")
        ranges.update(made)
    return ranges
