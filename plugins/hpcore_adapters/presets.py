"""What the trainer adapters read from a trial's preset values, decided once for every framework.

A trial holds only its active parameters (``momentum`` is absent when ``optimizer`` is ``adam``;
``crop_scale`` is absent when ``crop`` is off), so the adapters never index ``params`` directly:
:func:`optimizer_values` picks the values the chosen optimizer reads (the table
:data:`hpcore.presets.OPTIMIZER_PARAMS`), :func:`augmentation_steps` turns the data values into a
framework-neutral list of transforms. Each adapter then maps these onto its framework's classes and
argument names. Nothing here imports a framework.

Example:
    >>> from hpcore_adapters.presets import augmentation_steps, optimizer_values
    >>> optimizer_values({"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "beta1": 0.8}, "torch")
    ('sgd', {'lr': 0.1, 'momentum': 0.9})
    >>> augmentation_steps({"crop": False, "hflip": 0.5, "rotate": True, "rotation": 10.0})
    [('flip', (0.5, 'horizontal')), ('rotation', (10.0,))]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hpcore.presets import OPTIMIZER_PARAMS

__all__ = ["DEFAULT_LR", "augmentation_steps", "flag", "optimizer_values"]

DEFAULT_LR = 1e-3
"""The learning rate when a configuration has no ``lr``."""


def flag(value: Any) -> bool:
    """A switch's value as a bool: ``True``/``False`` or their spellings in text (``"true"``, ``"0"``).

    Example:
        >>> [flag(True), flag("False"), flag(0), flag("yes")]
        [True, False, False, True]
    """
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)


def optimizer_values(params: Mapping[str, Any], framework: str) -> tuple[str, dict[str, Any]]:
    """The optimizer's name and the values it reads that ``params`` holds.

    Args:
        params: A trial's hyperparameters; ``optimizer`` defaults to ``adam``, ``lr`` to
            :data:`DEFAULT_LR`. Every other absent (or None) value is left out, so the framework's own
            default applies; values the optimizer does not read are ignored.
        framework: The adapter's framework, for the error message.

    Returns:
        ``(name, values)`` with floats, and ``nesterov`` as a bool.

    Raises:
        ValueError: For an optimizer the adapters do not build, listing those they do.
    """
    name = str(params.get("optimizer", "adam")).lower()
    if name not in OPTIMIZER_PARAMS:
        known = ", ".join(repr(o) for o in OPTIMIZER_PARAMS)
        raise ValueError(f"optimizer {name!r} is not one the {framework} adapter builds; use one of {known}")
    values = {key: flag(params[key]) if key == "nesterov" else float(params[key])
              for key in OPTIMIZER_PARAMS[name] if params.get(key) is not None}
    values.setdefault("lr", DEFAULT_LR)
    return name, values


def augmentation_steps(params: Mapping[str, Any]) -> list[tuple[str, tuple[Any, ...]]]:
    """The transforms the data values ask for, in a fixed order, as ``(kind, arguments)``.

    Kinds: ``crop`` ``(scale, size or None)``, ``resize`` ``(size,)``, ``flip`` ``(p, direction)``
    for ``hflip`` then ``vflip``, ``rotation`` ``(degrees,)``, ``noise`` ``(std,)``. A switch that is
    off (``crop``, ``rotate``) adds nothing whatever the other values say; an absent switch counts as
    on, so flat spaces without switches work as before. Values that do nothing (probability 0,
    0 degrees, a crop scale of 1 without a size) add nothing.

    Example:
        >>> augmentation_steps({"crop": True, "crop_scale": 0.6, "crop_size": 24, "noise_std": 0.1})
        [('crop', (0.6, 24)), ('noise', (0.1,))]
    """
    steps: list[tuple[str, tuple[Any, ...]]] = []
    scale, size = params.get("crop_scale"), params.get("crop_size")
    if flag(params.get("crop", True)) and ((scale is not None and float(scale) < 1.0) or size is not None):
        steps.append(("crop", (float(scale) if scale is not None else 1.0, int(size) if size is not None else None)))
    if params.get("resize") is not None:
        steps.append(("resize", (int(params["resize"]),)))
    for key, direction in (("hflip", "horizontal"), ("vflip", "vertical")):
        if float(params.get(key) or 0.0) > 0:
            steps.append(("flip", (float(params[key]), direction)))
    if flag(params.get("rotate", True)) and float(params.get("rotation") or 0.0) > 0:
        steps.append(("rotation", (float(params["rotation"]),)))
    if float(params.get("noise_std") or 0.0) > 0:
        steps.append(("noise", (float(params["noise_std"]),)))
    return steps
