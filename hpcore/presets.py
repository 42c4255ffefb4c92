"""Ready-made ranges for the three categories of hyperparameters, framework-neutral.

Each function returns ``{name: range}`` to merge into a :class:`~hpcore.SearchSpace`; the trainer
adapters turn the values into real objects (``torch.optim.Adam``, a Keras ``RandomFlip`` ...) through
the ``hpcore_make_*`` hooks. The names below are the contract between presets and adapters:

* optimizer: ``optimizer`` (``adam`` | ``sgd``), ``lr``, ``beta1``, ``beta2`` (Adam),
  ``momentum`` (SGD), ``weight_decay``, ``init`` (``xavier_uniform`` | ``xavier_normal`` |
  ``he_uniform`` | ``he_normal``);
* data: ``crop_scale`` (smallest area fraction a random crop keeps), ``crop_size`` (side in pixels,
  when set), ``resize`` (side in pixels), ``hflip`` / ``vflip`` (probability), ``rotation`` (degrees),
  ``noise_std`` (Gaussian noise);
* model: ``filter_size``, ``filters`` (first block's width), ``depth`` (blocks), ``pooling``
  (``max`` | ``avg``), ``stride``, ``padding`` (``same`` | ``valid``), ``dropout``, ``units``.

Values a configuration does not use (``momentum`` with Adam) are ignored by the adapters.

Example:
    >>> from hpcore import SearchSpace, presets
    >>> space = SearchSpace({**presets.optimizer(), **presets.augmentation(), **presets.conv_model()})
    >>> sorted(space.categories())
    ['data', 'model', 'optimizer']
"""

from __future__ import annotations

from hpcore.space import Categorical, Float, Int, Param

__all__ = ["INITIALIZERS", "OPTIMIZERS", "augmentation", "conv_model", "mlp_model", "optimizer"]

OPTIMIZERS = ("adam", "sgd")
INITIALIZERS = ("xavier_uniform", "xavier_normal", "he_uniform", "he_normal")


def optimizer(optimizers: tuple[str, ...] = OPTIMIZERS, lr: tuple[float, float] = (1e-5, 1e-1),
              beta1: tuple[float, float] | None = (0.8, 0.999), beta2: tuple[float, float] | None = (0.9, 0.9999),
              momentum: tuple[float, float] | None = (0.0, 0.99),
              weight_decay: tuple[float, float] | None = (1e-7, 1e-2),
              init: tuple[str, ...] | None = INITIALIZERS) -> dict[str, Param]:
    """Optimizer ranges: algorithm, learning rate (log), Adam's betas (reverse log), SGD momentum,
    weight decay (log) and weight initialisation. Pass None to leave a range out.

    Example:
        >>> sorted(optimizer(optimizers=("adam",), init=None))
        ['beta1', 'beta2', 'lr', 'momentum', 'optimizer', 'weight_decay']
    """
    unknown = [o for o in optimizers if o not in OPTIMIZERS]
    if unknown:
        raise ValueError(f"optimizer preset: unknown optimizer(s) {unknown}; use {list(OPTIMIZERS)}")
    out: dict[str, Param] = {
        "optimizer": Categorical(list(optimizers), category="optimizer"),
        "lr": Float(*lr, scale="log", category="optimizer"),
    }
    if beta1 is not None:
        out["beta1"] = Float(*beta1, scale="reverse_log", category="optimizer", default=0.9)
    if beta2 is not None:
        out["beta2"] = Float(*beta2, scale="reverse_log", category="optimizer", default=0.999)
    if momentum is not None:
        out["momentum"] = Float(*momentum, scale="reverse_log", category="optimizer", default=0.9)
    if weight_decay is not None:
        out["weight_decay"] = Float(*weight_decay, scale="log", category="optimizer")
    if init is not None:
        bad = [i for i in init if i not in INITIALIZERS]
        if bad:
            raise ValueError(f"optimizer preset: unknown init(s) {bad}; use {list(INITIALIZERS)}")
        out["init"] = Categorical(list(init), category="optimizer")
    return out


def augmentation(crop_scale: tuple[float, float] | None = (0.5, 1.0), crop_size: tuple[int, int] | None = None,
                 resize: tuple[int, int] | None = None, hflip: tuple[float, float] | None = (0.0, 0.5),
                 vflip: tuple[float, float] | None = None, rotation: tuple[float, float] | None = (0.0, 20.0),
                 noise_std: tuple[float, float] | None = None) -> dict[str, Param]:
    """Data-augmentation ranges (category ``data``). Pass a range to include it, None to leave it out.

    Example:
        >>> sorted(augmentation(crop_size=(24, 32), rotation=None))
        ['crop_scale', 'crop_size', 'hflip']
    """
    out: dict[str, Param] = {}
    if crop_scale is not None:
        out["crop_scale"] = Float(*crop_scale, category="data", default=1.0 if crop_scale[1] == 1.0 else None)
    if crop_size is not None:
        out["crop_size"] = Int(*crop_size, category="data", default=crop_size[1])
    if resize is not None:
        out["resize"] = Int(*resize, category="data", default=resize[1])
    if hflip is not None:
        out["hflip"] = Float(*hflip, category="data", default=hflip[0])
    if vflip is not None:
        out["vflip"] = Float(*vflip, category="data", default=vflip[0])
    if rotation is not None:
        out["rotation"] = Float(*rotation, category="data", default=rotation[0])
    if noise_std is not None:
        out["noise_std"] = Float(*noise_std, category="data", default=noise_std[0])
    return out


def conv_model(filter_size: tuple[int, ...] = (3, 5, 7), filters: tuple[int, int] = (8, 128),
               depth: tuple[int, int] = (1, 4), pooling: tuple[str, ...] = ("max", "avg"),
               stride: tuple[int, int] | None = (1, 2), padding: tuple[str, ...] | None = ("same", "valid"),
               dropout: tuple[float, float] | None = (0.0, 0.5)) -> dict[str, Param]:
    """Convolutional-network ranges (category ``model``).

    Example:
        >>> conv_model()["filters"].scale
        'log'
    """
    out: dict[str, Param] = {
        "filter_size": Categorical(list(filter_size), category="model"),
        "filters": Int(*filters, scale="log", category="model"),
        "depth": Int(*depth, category="model"),
        "pooling": Categorical(list(pooling), category="model"),
    }
    if stride is not None:
        out["stride"] = Int(*stride, category="model", default=stride[0])
    if padding is not None:
        out["padding"] = Categorical(list(padding), category="model")
    if dropout is not None:
        out["dropout"] = Float(*dropout, category="model", default=dropout[0])
    return out


def mlp_model(units: tuple[int, int] = (16, 512), depth: tuple[int, int] = (1, 4),
              dropout: tuple[float, float] | None = (0.0, 0.5)) -> dict[str, Param]:
    """Multilayer-perceptron ranges (category ``model``).

    Example:
        >>> sorted(mlp_model())
        ['depth', 'dropout', 'units']
    """
    out: dict[str, Param] = {"units": Int(*units, scale="log", category="model"),
                             "depth": Int(*depth, category="model")}
    if dropout is not None:
        out["dropout"] = Float(*dropout, category="model", default=dropout[0])
    return out
