"""hpcore plugin (entry point ``lightning``): materialises presets as torch objects.

Implements the ``hpcore_make_*`` hooks for ``framework="torch"`` (alias ``"lightning"``): optimizer
presets become ``torch.optim.Adam``/``SGD``, ``init`` becomes a function that initialises a model's
Linear and Conv weights, data presets become the modules of :mod:`hpcore_lightning.transforms`.
torch is imported inside the hooks, so ``import hpcore`` never imports it; without torch the hooks
answer None and a one-line notice is logged when the plugin loads.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from typing import Any

from hpcore.hookspec import hookimpl

__all__ = ["FRAMEWORKS", "hpcore_make_augmentation", "hpcore_make_initializer", "hpcore_make_optimizer"]

FRAMEWORKS = ("torch", "lightning")
AVAILABLE = importlib.util.find_spec("torch") is not None
if not AVAILABLE:
    logging.getLogger("hpcore").info("hpcore plugin lightning: torch is not installed, its hooks are inactive "
                                     "(pip install 'hpcore[lightning]')")


def _ours(framework: str) -> bool:
    return AVAILABLE and framework in FRAMEWORKS


@hookimpl
def hpcore_make_optimizer(framework: str, params: dict[str, Any], model: Any) -> Any:
    """``torch.optim.Adam(lr, betas=(beta1, beta2), weight_decay)`` or ``SGD(lr, momentum, weight_decay)``.

    ``model`` is an ``nn.Module`` or an iterable of parameters; values the optimizer does not use
    (``momentum`` with Adam) are ignored.
    """
    if not _ours(framework):
        return None
    import torch

    name = str(params.get("optimizer", "adam")).lower()
    weights = model.parameters() if isinstance(model, torch.nn.Module) else model
    lr = float(params.get("lr", 1e-3))
    decay = float(params.get("weight_decay", 0.0))
    if name == "adam":
        betas = (float(params.get("beta1", 0.9)), float(params.get("beta2", 0.999)))
        return torch.optim.Adam(weights, lr=lr, betas=betas, weight_decay=decay)
    if name == "sgd":
        return torch.optim.SGD(weights, lr=lr, momentum=float(params.get("momentum", 0.0)), weight_decay=decay)
    raise ValueError(f"optimizer {name!r} is not one the torch adapter builds; use 'adam' or 'sgd'")


_INITS = {
    "xavier_uniform": ("xavier_uniform_", {}),
    "xavier_normal": ("xavier_normal_", {}),
    "he_uniform": ("kaiming_uniform_", {"nonlinearity": "relu"}),
    "he_normal": ("kaiming_normal_", {"nonlinearity": "relu"}),
}


@hookimpl
def hpcore_make_initializer(framework: str, params: dict[str, Any]) -> Callable[[Any], Any] | None:
    """A function ``init(model) -> model`` that draws the weights of every Linear and Conv layer
    with the scheme ``params["init"]`` names (Xavier/Glorot or He/Kaiming) and zeroes their biases.
    None when ``init`` is not set.
    """
    if not _ours(framework) or params.get("init") is None:
        return None
    name = str(params["init"])
    if name not in _INITS:
        raise ValueError(f"init {name!r} is unknown; use one of {', '.join(_INITS)}")
    import torch

    fn_name, kwargs = _INITS[name]
    draw = getattr(torch.nn.init, fn_name)
    kinds = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)

    def init(model: torch.nn.Module) -> torch.nn.Module:
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, kinds):
                    draw(module.weight, **kwargs)
                    if module.bias is not None:
                        module.bias.zero_()
        return model

    init.__name__ = f"init_{name}"
    return init


@hookimpl
def hpcore_make_augmentation(framework: str, params: dict[str, Any]) -> Any:
    """An ``nn.Sequential`` of the transforms the data preset's values ask for, in a fixed order:
    crop (``crop_scale``, ``crop_size``), ``resize``, ``hflip``, ``vflip``, ``rotation``, ``noise_std``.
    Values that do nothing (probability 0, 0 degrees, crop scale 1) add no transform.
    """
    if not _ours(framework):
        return None
    from torch import nn

    from hpcore_lightning import transforms as T

    steps: list[nn.Module] = []
    scale, size = params.get("crop_scale"), params.get("crop_size")
    if (scale is not None and float(scale) < 1.0) or size is not None:
        steps.append(T.RandomResizedCrop(float(scale if scale is not None else 1.0),
                                         int(size) if size is not None else None))
    if params.get("resize") is not None:
        steps.append(T.Resize(int(params["resize"])))
    for key, direction in (("hflip", "horizontal"), ("vflip", "vertical")):
        if float(params.get(key) or 0.0) > 0:
            steps.append(T.RandomFlip(float(params[key]), direction))
    if float(params.get("rotation") or 0.0) > 0:
        steps.append(T.RandomRotation(float(params["rotation"])))
    if float(params.get("noise_std") or 0.0) > 0:
        steps.append(T.GaussianNoise(float(params["noise_std"])))
    return nn.Sequential(*steps)
