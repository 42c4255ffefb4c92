"""Keras 3 adapter for hpcore (any backend; tested on torch).

``TuningCallback`` reports a monitored metric to the running trial after each epoch and stops the fit
when the trial should stop; ``make_optimizer``, ``make_initializer`` and ``make_augmentation`` turn
preset values into Keras objects through the plugin hooks. Keras is imported only when used.

Example:
    >>> import hpcore_keras
    >>> sorted(hpcore_keras.__all__)[0]
    'RandomFlipProbability'
"""

from __future__ import annotations

from typing import Any

from hpcore import plugins

__all__ = ["RandomFlipProbability", "RandomResizedCrop", "TuningCallback", "make_augmentation",
           "make_initializer", "make_optimizer"]


def _call(hook: str, what: str, **kwargs: Any) -> Any:
    out = plugins.call_hook(hook, framework="keras", **kwargs)
    if out is None:
        raise RuntimeError(f"no hpcore plugin built a Keras {what}: is keras installed and the 'keras' plugin "
                           "loaded (hpcore plugins)?")
    return out


def make_optimizer(params: dict[str, Any]) -> Any:
    """The Keras optimizer the trial's optimizer preset values describe (``hpcore_make_optimizer``)."""
    return _call("hpcore_make_optimizer", "optimizer", params=params, model=None)


def make_initializer(params: dict[str, Any], default: Any = "glorot_uniform") -> Any:
    """The Keras initializer ``params["init"]`` names, or ``default`` when it is not set."""
    if params.get("init") is None:
        return default
    return _call("hpcore_make_initializer", "initializer", params=params)


def make_augmentation(params: dict[str, Any]) -> Any:
    """A ``keras.Sequential`` of preprocessing layers from the trial's data preset values."""
    return _call("hpcore_make_augmentation", "augmentation", params=params)


def __getattr__(name: str) -> Any:
    # Importing these imports keras, which `import hpcore_keras` (and so `import hpcore`) must not.
    if name == "TuningCallback":
        from hpcore_keras.callback import TuningCallback

        return TuningCallback
    if name in ("RandomResizedCrop", "RandomFlipProbability"):
        from hpcore_keras import layers

        return getattr(layers, name)
    raise AttributeError(f"module 'hpcore_keras' has no attribute {name!r}")
