"""hpcore plugin (entry point ``keras``): materialises presets as Keras 3 objects.

Implements the ``hpcore_make_*`` hooks for ``framework="keras"``: optimizer presets become
``keras.optimizers.Adam``/``SGD``, ``init`` a Glorot or He initializer object, data presets a
``keras.Sequential`` of preprocessing layers. Keras is imported inside the hooks, so ``import hpcore``
never imports it; without Keras the hooks answer None and a one-line notice is logged at load.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from hpcore.hookspec import hookimpl

__all__ = ["hpcore_make_augmentation", "hpcore_make_initializer", "hpcore_make_optimizer"]

AVAILABLE = importlib.util.find_spec("keras") is not None
if not AVAILABLE:
    logging.getLogger("hpcore").info("hpcore plugin keras: keras is not installed, its hooks are inactive "
                                     "(pip install 'hpcore[keras]')")

_INITS = {"xavier_uniform": "GlorotUniform", "xavier_normal": "GlorotNormal",
          "he_uniform": "HeUniform", "he_normal": "HeNormal"}


def _ours(framework: str) -> bool:
    return AVAILABLE and framework == "keras"


@hookimpl
def hpcore_make_optimizer(framework: str, params: dict[str, Any], model: Any) -> Any:
    """``keras.optimizers.Adam(learning_rate, beta_1, beta_2, weight_decay)`` or
    ``SGD(learning_rate, momentum, weight_decay)``; ``model`` is not needed (Keras binds at compile).
    """
    if not _ours(framework):
        return None
    import keras

    name = str(params.get("optimizer", "adam")).lower()
    lr = float(params.get("lr", 1e-3))
    decay = float(params["weight_decay"]) if params.get("weight_decay") else None
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=lr, beta_1=float(params.get("beta1", 0.9)),
                                     beta_2=float(params.get("beta2", 0.999)), weight_decay=decay)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, momentum=float(params.get("momentum", 0.0)),
                                    weight_decay=decay)
    raise ValueError(f"optimizer {name!r} is not one the Keras adapter builds; use 'adam' or 'sgd'")


@hookimpl
def hpcore_make_initializer(framework: str, params: dict[str, Any]) -> Any:
    """The Keras initializer ``params["init"]`` names (Glorot/He, uniform/normal), or None when unset.

    Pass it as ``kernel_initializer=`` to Dense and Conv layers.
    """
    if not _ours(framework) or params.get("init") is None:
        return None
    name = str(params["init"])
    if name not in _INITS:
        raise ValueError(f"init {name!r} is unknown; use one of {', '.join(_INITS)}")
    import keras

    return getattr(keras.initializers, _INITS[name])()


@hookimpl
def hpcore_make_augmentation(framework: str, params: dict[str, Any]) -> Any:
    """A ``keras.Sequential`` of preprocessing layers for the data preset's values, in a fixed order:
    crop (``crop_scale``, ``crop_size``), ``resize``, ``hflip``, ``vflip``, ``rotation`` (degrees),
    ``noise_std``. Values that do nothing add no layer; active only in training, like every
    Keras preprocessing layer.
    """
    if not _ours(framework):
        return None
    import keras

    from hpcore_keras.layers import RandomFlipProbability, RandomResizedCrop

    layers: list[Any] = []
    scale, size = params.get("crop_scale"), params.get("crop_size")
    if (scale is not None and float(scale) < 1.0) or size is not None:
        layers.append(RandomResizedCrop(float(scale if scale is not None else 1.0),
                                        int(size) if size is not None else None))
    if params.get("resize") is not None:
        layers.append(keras.layers.Resizing(int(params["resize"]), int(params["resize"])))
    for key, direction in (("hflip", "horizontal"), ("vflip", "vertical")):
        if float(params.get(key) or 0.0) > 0:
            layers.append(RandomFlipProbability(float(params[key]), direction))
    if float(params.get("rotation") or 0.0) > 0:
        # Keras takes the rotation as a fraction of a full turn.
        layers.append(keras.layers.RandomRotation(float(params["rotation"]) / 360.0, fill_mode="constant"))
    if float(params.get("noise_std") or 0.0) > 0:
        layers.append(keras.layers.GaussianNoise(float(params["noise_std"])))
    if not layers:  # an empty Sequential cannot be built: no augmentation is the identity
        layers.append(keras.layers.Identity())
    return keras.Sequential(layers, name="hpcore_augmentation")
