"""hpcore plugin (entry point ``lightning``): materialises presets as torch objects, loads Lightning models.

Implements the ``hpcore_make_*`` hooks for ``framework="torch"`` (alias ``"lightning"``): optimizer
presets become ``torch.optim.Adam``/``AdamW``/``SGD``/``RMSprop``, ``init`` becomes a function that
initialises a model's Linear and Conv weights, data presets become the modules of
:mod:`hpcore_lightning.transforms`.
The ``lightning`` model format (what ``TuningCallback(save_model=True)`` saves) is read back by
:func:`load_lightning` for ``result.best.load_model()``.
torch is imported inside the hooks, so ``import hpcore`` never imports it; without torch the hooks
answer None and a one-line notice is logged when the plugin loads.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from typing import Any

from hpcore_adapters.presets import augmentation_steps, optimizer_values

from hpcore.hookspec import hookimpl
from hpcore.models import ModelNotFound, import_object

__all__ = ["FRAMEWORKS", "ModelClassNotFound", "hpcore_add_model_formats", "hpcore_make_augmentation",
           "hpcore_make_initializer", "hpcore_make_optimizer", "load_lightning"]

FRAMEWORKS = ("torch", "lightning")
AVAILABLE = importlib.util.find_spec("torch") is not None
if not AVAILABLE:
    logging.getLogger("hpcore").info("hpcore plugin lightning: torch is not installed, its hooks are inactive "
                                     "(pip install 'hpcore[lightning]')")


def _ours(framework: str) -> bool:
    return AVAILABLE and framework in FRAMEWORKS


@hookimpl
def hpcore_make_optimizer(framework: str, params: dict[str, Any], model: Any) -> Any:
    """``torch.optim.Adam`` / ``AdamW`` (``lr``, ``betas=(beta1, beta2)``, ``weight_decay``), ``SGD``
    (``lr``, ``momentum``, ``nesterov``, ``weight_decay``) or ``RMSprop`` (``lr``, ``alpha=rho``,
    ``momentum``, ``weight_decay``).

    ``model`` is an ``nn.Module`` or an iterable of parameters. An absent value takes torch's default
    (a missing beta its default alone); values the optimizer does not read are ignored. Nesterov
    momentum with a momentum of 0 is plain SGD, which is what is built (torch refuses the pair).
    Weight decay is L2 regularisation in Adam, SGD and RMSprop, decoupled in AdamW.
    """
    if not _ours(framework):
        return None
    import torch

    name, values = optimizer_values(params, "torch")
    weights = model.parameters() if isinstance(model, torch.nn.Module) else model
    kwargs = {key: values[key] for key in ("lr", "momentum", "weight_decay") if key in values}
    if "beta1" in values or "beta2" in values:
        kwargs["betas"] = (values.get("beta1", 0.9), values.get("beta2", 0.999))
    if "rho" in values:
        kwargs["alpha"] = values["rho"]
    if values.get("nesterov") and values.get("momentum", 0.0) > 0:
        kwargs["nesterov"] = True
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD,
           "rmsprop": torch.optim.RMSprop}[name]
    return cls(weights, **kwargs)


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
    crop (``crop_scale``, ``crop_size``; none when the ``crop`` switch is off), ``resize``, ``hflip``,
    ``vflip``, ``rotation`` (none when ``rotate`` is off), ``noise_std``. Values that do nothing
    (probability 0, 0 degrees, crop scale 1) add no transform.
    """
    if not _ours(framework):
        return None
    from torch import nn

    from hpcore_lightning import transforms as T

    build = {"crop": T.RandomResizedCrop, "resize": T.Resize, "flip": T.RandomFlip, "rotation": T.RandomRotation,
             "noise": T.GaussianNoise}
    return nn.Sequential(*(build[kind](*args) for kind, args in augmentation_steps(params)))


class ModelClassNotFound(ModelNotFound):
    """The LightningModule class a trial's model was saved with cannot be imported where it is loaded."""


_REBUILD = ("load_from_checkpoint rebuilds the module from the hyperparameters it saved: call "
            "self.save_hyperparameters() in its __init__")


def load_lightning(path: str, info: dict[str, Any], model_class: Any = None) -> Any:
    """The LightningModule saved at ``path``: ``cls.load_from_checkpoint(path, map_location="cpu")``, in eval mode.

    ``cls`` is ``model_class`` when given, else the class recorded at saving (``info["model_class"]``,
    ``module:qualname``). The module must have called ``self.save_hyperparameters()`` for its
    ``__init__`` arguments to be known.

    Raises:
        ModelClassNotFound: When the recorded class cannot be imported (defined in ``__main__``, a
            notebook or a function): pass ``load_model(model_class=MyModule)``.
    """
    cls = model_class
    if cls is None:
        ref = info.get("model_class")
        if not ref:
            raise ModelClassNotFound(f"the Lightning model {path} records no class: pass "
                                     "load_model(model_class=MyModule)")
        try:
            cls = import_object(str(ref))
        except (ImportError, AttributeError) as exc:
            raise ModelClassNotFound(
                f"the Lightning model was saved from class {ref}, which cannot be imported here ({exc}); a class "
                "defined in __main__, a notebook or a function is not importable: pass "
                "load_model(model_class=MyModule)") from exc
    if not hasattr(cls, "load_from_checkpoint"):
        raise TypeError(f"model_class={cls!r} is not a LightningModule class (it has no load_from_checkpoint)")
    try:
        module = cls.load_from_checkpoint(path, map_location="cpu")
    except TypeError as exc:  # __init__ arguments the checkpoint does not hold
        raise TypeError(f"{getattr(cls, '__qualname__', cls)}.load_from_checkpoint failed ({exc}); {_REBUILD}") from exc
    return module.eval()  # ready to predict: dropout off, batch norm on its running statistics


@hookimpl
def hpcore_add_model_formats() -> dict[str, Any]:
    """``{"lightning": load_lightning}``: Lightning ``.ckpt`` models (torch is imported only when one loads)."""
    return {"lightning": load_lightning}
