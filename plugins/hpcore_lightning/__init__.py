"""Lightning (and plain torch) adapter for hpcore.

``TuningCallback`` reports a monitored metric to the running trial and stops the fit when the trial
should stop; ``make_optimizer``, ``init_weights`` and ``make_augmentation`` turn preset values into
torch objects through the plugin hooks. Nothing here imports torch or Lightning until it is used.

Example:
    >>> import hpcore_lightning
    >>> sorted(hpcore_lightning.__all__)[:2]
    ['TuningCallback', 'init_weights']
"""

from __future__ import annotations

from typing import Any

from hpcore import plugins

__all__ = ["TuningCallback", "init_weights", "make_augmentation", "make_optimizer"]


def _call(hook: str, what: str, **kwargs: Any) -> Any:
    out = plugins.call_hook(hook, framework="torch", **kwargs)
    if out is None:
        raise RuntimeError(f"no hpcore plugin built a torch {what}: is torch installed and the 'lightning' "
                           "plugin loaded (hpcore plugins)?")
    return out


def make_optimizer(params: dict[str, Any], model: Any) -> Any:
    """The torch optimizer the trial's optimizer preset values describe (``hpcore_make_optimizer``)."""
    return _call("hpcore_make_optimizer", "optimizer", params=params, model=model)


def init_weights(model: Any, params: dict[str, Any]) -> Any:
    """Initialises ``model``'s Linear/Conv weights with ``params["init"]``; returns the model.

    Leaves the model as it is when ``init`` is not set.
    """
    if params.get("init") is None:
        return model
    return _call("hpcore_make_initializer", "initializer", params=params)(model)


def make_augmentation(params: dict[str, Any]) -> Any:
    """An ``nn.Sequential`` of image transforms from the trial's data preset values."""
    return _call("hpcore_make_augmentation", "augmentation", params=params)


def __getattr__(name: str) -> Any:
    if name == "TuningCallback":  # importing it needs no framework, but keep the package light
        from hpcore_lightning.callback import TuningCallback

        return TuningCallback
    raise AttributeError(f"module 'hpcore_lightning' has no attribute {name!r}")
