"""hpcore plugin (entry point ``keras``): materialises presets as Keras 3 objects.

Implements the ``hpcore_make_*`` hooks for ``framework="keras"``: optimizer presets become
``keras.optimizers.Adam``/``AdamW``/``SGD``/``RMSprop``, ``init`` a Glorot or He initializer object, data presets a
``keras.Sequential`` of preprocessing layers; and the ``keras`` model format (``hpcore_add_model_formats``):
the ``.keras`` file ``TuningCallback`` saves, read back by ``result.best.load_model()``. Keras is imported
inside the hooks, so ``import hpcore`` never imports it; without Keras the hooks answer None and a one-line
notice is logged at load.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from hpcore_adapters.presets import augmentation_steps, optimizer_values

from hpcore.hookspec import hookimpl

__all__ = ["hpcore_add_model_formats", "hpcore_make_augmentation", "hpcore_make_initializer", "hpcore_make_optimizer",
           "load_keras_model"]

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
    """``keras.optimizers.Adam`` / ``AdamW`` (``learning_rate``, ``beta_1``, ``beta_2``,
    ``weight_decay``), ``SGD`` (``learning_rate``, ``momentum``, ``nesterov``, ``weight_decay``) or
    ``RMSprop`` (``learning_rate``, ``rho``, ``momentum``, ``weight_decay``); ``model`` is not needed
    (Keras binds at compile).

    An absent value takes Keras's default (AdamW's weight decay 0.004, no decay elsewhere); values the
    optimizer does not read are ignored. Keras 3 applies weight decay decoupled from the gradient in
    every optimizer, so Adam and AdamW differ only in their default decay.
    """
    if not _ours(framework):
        return None
    import keras

    name, values = optimizer_values(params, "Keras")
    names = {"lr": "learning_rate", "beta1": "beta_1", "beta2": "beta_2", "momentum": "momentum",
             "nesterov": "nesterov", "rho": "rho", "weight_decay": "weight_decay"}
    kwargs = {names[key]: value for key, value in values.items()}
    if name != "adamw" and not kwargs.get("weight_decay"):
        kwargs.pop("weight_decay", None)  # None, not 0: Keras skips the decay step entirely
    cls = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW, "sgd": keras.optimizers.SGD,
           "rmsprop": keras.optimizers.RMSprop}[name]
    return cls(**kwargs)


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
    crop (``crop_scale``, ``crop_size``; none when the ``crop`` switch is off), ``resize``, ``hflip``,
    ``vflip``, ``rotation`` (degrees; none when ``rotate`` is off), ``noise_std``. Values that do
    nothing add no layer; active only in training, like every Keras preprocessing layer.
    """
    if not _ours(framework):
        return None
    import keras

    from hpcore_keras.layers import RandomFlipProbability, RandomResizedCrop

    build = {
        "crop": RandomResizedCrop,
        "resize": lambda size: keras.layers.Resizing(size, size),
        "flip": RandomFlipProbability,
        # Keras takes the rotation as a fraction of a full turn.
        "rotation": lambda degrees: keras.layers.RandomRotation(degrees / 360.0, fill_mode="constant"),
        "noise": keras.layers.GaussianNoise,
    }
    layers = [build[kind](*args) for kind, args in augmentation_steps(params)]
    if not layers:  # an empty Sequential cannot be built: no augmentation is the identity
        layers.append(keras.layers.Identity())
    return keras.Sequential(layers, name="hpcore_augmentation")


def load_keras_model(path: str, info: dict[str, Any] | None = None, model_class: Any = None) -> Any:
    """The Keras model saved in the ``.keras`` file ``path`` (``keras.saving.load_model``), compiled.

    Args:
        path: The ``.keras`` file.
        info: The model's description (``hpcore-model.json``); not needed.
        model_class: The custom objects the model's config names and Keras cannot find registered
            (``keras.saving.register_keras_serializable`` makes this unnecessary): a dict
            ``{"name": class_or_function}``, one class, or a list of them (each under its ``__name__``).

    Example:
        >>> import os; os.environ.setdefault("KERAS_BACKEND", "torch")
        'torch'
        >>> import keras, tempfile
        >>> net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> path = os.path.join(tempfile.mkdtemp(), "model.keras")
        >>> net.save(path)
        >>> load_keras_model(path).output_shape
        (None, 1)
    """
    if not AVAILABLE:
        raise ModuleNotFoundError(f"loading the Keras model {path} needs keras: pip install 'hpcore[keras]'")
    import keras

    return keras.saving.load_model(path, custom_objects=_custom_objects(model_class))


def _custom_objects(model_class: Any) -> dict[str, Any] | None:
    if model_class is None or isinstance(model_class, dict):
        return model_class
    items = model_class if isinstance(model_class, (list, tuple)) else [model_class]
    return {getattr(obj, "__name__", str(obj)): obj for obj in items}


@hookimpl
def hpcore_add_model_formats() -> dict[str, Any]:
    """The ``keras`` format: a ``.keras`` file, loaded by :func:`load_keras_model`."""
    return {"keras": load_keras_model}
