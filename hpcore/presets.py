"""Ready-made ranges for the three categories of hyperparameters, framework-neutral.

Each function returns ``{name: range}`` to merge into a :class:`~hpcore.SearchSpace`; the trainer
adapters turn the values into real objects (``torch.optim.AdamW``, a Keras ``RandomFlip`` ...) through
the ``hpcore_make_*`` hooks. The presets say what goes together: a range that only one choice uses
is declared with ``when=`` and exists only in the configurations that make that choice. The names
below are the contract between presets and adapters:

* optimizer: ``optimizer`` (``adam`` | ``adamw`` | ``sgd`` | ``rmsprop``), ``lr``, ``beta1`` and
  ``beta2`` (Adam, AdamW), ``momentum`` (SGD, RMSprop), ``nesterov`` (SGD), ``rho`` (RMSprop's
  squared-gradient decay: torch's ``alpha``, Keras's ``rho``), ``weight_decay`` (all), ``init``
  (``xavier_uniform`` | ``xavier_normal`` | ``he_uniform`` | ``he_normal``);
* data: ``crop`` (switch), ``crop_scale`` (smallest area fraction a random crop keeps) and
  ``crop_size`` (side in pixels) when ``crop`` is on; ``resize`` (side in pixels); ``hflip`` /
  ``vflip`` (probability); ``rotate`` (switch) and ``rotation`` (degrees) when it is on;
  ``noise_std`` (Gaussian noise);
* model: ``filter_size``, ``filters`` (first block's width), ``depth`` (blocks), ``pooling``
  (``max`` | ``avg`` | ``none``), ``pool_size`` (when there is pooling), ``stride``, ``padding``
  (``same`` | ``valid``), ``dropout``, ``units``.

:data:`OPTIMIZER_PARAMS` lists the names each optimizer reads; the adapters read the same table. A
name absent from a configuration takes the framework's own default; a value the chosen optimizer
does not read (``momentum`` with Adam, from a hand-written flat space) is ignored.

Example:
    >>> from hpcore import SearchSpace, presets
    >>> space = SearchSpace({**presets.optimizer(), **presets.augmentation(), **presets.conv_model()})
    >>> sorted(space.categories())
    ['data', 'model', 'optimizer']
    >>> space.conditional
    ['beta1', 'beta2', 'momentum', 'nesterov', 'rho', 'crop_scale', 'rotation']
    >>> [n for n in space.conditional if n not in space.active({"optimizer": "sgd", "crop": False, "rotate": True})]
    ['beta1', 'beta2', 'rho', 'crop_scale']
"""

from __future__ import annotations

from typing import Any

from hpcore.space import Categorical, Float, Int, Param

__all__ = ["INITIALIZERS", "OPTIMIZERS", "OPTIMIZER_PARAMS", "POOLINGS", "augmentation", "conv_model", "mlp_model",
           "optimizer"]

OPTIMIZER_PARAMS: dict[str, tuple[str, ...]] = {
    "adam": ("lr", "beta1", "beta2", "weight_decay"),
    "adamw": ("lr", "beta1", "beta2", "weight_decay"),
    "sgd": ("lr", "momentum", "nesterov", "weight_decay"),
    "rmsprop": ("lr", "rho", "momentum", "weight_decay"),
}
"""The preset names each optimizer reads (the adapters build the optimizer from exactly these)."""

OPTIMIZERS = tuple(OPTIMIZER_PARAMS)
INITIALIZERS = ("xavier_uniform", "xavier_normal", "he_uniform", "he_normal")
POOLINGS = ("max", "avg", "none")
_DECAY_DEFAULTS = {"beta1": 0.9, "beta2": 0.999, "momentum": 0.9, "rho": 0.9}


def optimizer(optimizers: tuple[str, ...] = OPTIMIZERS, lr: tuple[float, float] = (1e-5, 1e-1),
              beta1: tuple[float, float] | None = (0.8, 0.999), beta2: tuple[float, float] | None = (0.9, 0.9999),
              momentum: tuple[float, float] | None = (0.0, 0.99), nesterov: bool = True,
              rho: tuple[float, float] | None = (0.8, 0.999),
              weight_decay: tuple[float, float] | None = (1e-7, 1e-2),
              init: tuple[str, ...] | None = INITIALIZERS) -> dict[str, Param]:
    """Optimizer ranges: algorithm, learning rate (log), the betas of Adam and AdamW (reverse log),
    the momentum of SGD and RMSprop (reverse log), SGD's Nesterov switch, RMSprop's ``rho`` (reverse
    log), weight decay (log, every optimizer) and weight initialisation.

    Each range is declared only for the optimizers that read it (``when={"optimizer": [...]}``,
    see :data:`OPTIMIZER_PARAMS`); a range no offered optimizer reads is left out, and one every
    offered optimizer reads has no condition. Pass None (``nesterov=False``) to leave a range out.

    Args:
        optimizers: The choices of ``optimizer``, among :data:`OPTIMIZERS`.
        lr: Learning-rate bounds.
        beta1: Bounds of Adam's first-moment decay.
        beta2: Bounds of Adam's second-moment decay.
        momentum: Bounds of the momentum of SGD and RMSprop.
        nesterov: Declare SGD's ``nesterov`` switch (``False`` or ``True``).
        rho: Bounds of RMSprop's decay of the squared-gradient average.
        weight_decay: Weight-decay bounds. torch's Adam, SGD and RMSprop add it to the gradient (L2
            regularisation), torch's AdamW shrinks the weights directly (decoupled); Keras 3 decouples
            it for every optimizer.
        init: The choices of ``init``, among :data:`INITIALIZERS`.

    Raises:
        ValueError: For an unknown optimizer or initializer.

    Example:
        >>> space = optimizer(optimizers=("adam", "sgd"), init=None)
        >>> sorted(space)
        ['beta1', 'beta2', 'lr', 'momentum', 'nesterov', 'optimizer', 'weight_decay']
        >>> space["momentum"].when
        {'optimizer': ('sgd',)}
        >>> sorted(optimizer(optimizers=("adam",), init=None))
        ['beta1', 'beta2', 'lr', 'optimizer', 'weight_decay']
    """
    unknown = [o for o in optimizers if o not in OPTIMIZERS]
    if unknown or not optimizers:
        raise ValueError(f"optimizer preset: unknown optimizer(s) {unknown}; use some of {list(OPTIMIZERS)}")
    optimizers = tuple(dict.fromkeys(optimizers))
    out: dict[str, Param] = {
        "optimizer": Categorical(list(optimizers), category="optimizer"),
        "lr": Float(*lr, scale="log", category="optimizer"),
    }
    wanted = {"beta1": beta1, "beta2": beta2, "momentum": momentum, "nesterov": (False, True) if nesterov else None,
              "rho": rho, "weight_decay": weight_decay}
    for name, bounds in wanted.items():
        readers = [o for o in optimizers if name in OPTIMIZER_PARAMS[o]]
        if bounds is None or not readers:  # a condition that could never hold is refused by the space
            continue
        kw: dict[str, Any] = {"category": "optimizer",
                              "when": None if len(readers) == len(optimizers) else {"optimizer": readers}}
        if name == "nesterov":
            out[name] = Categorical([False, True], **kw)
        elif name == "weight_decay":
            out[name] = Float(*bounds, scale="log", **kw)
        else:
            out[name] = Float(*bounds, scale="reverse_log", default=_DECAY_DEFAULTS[name], **kw)
    if init is not None:
        bad = [i for i in init if i not in INITIALIZERS]
        if bad:
            raise ValueError(f"optimizer preset: unknown init(s) {bad}; use {list(INITIALIZERS)}")
        out["init"] = Categorical(list(init), category="optimizer")
    return out


def augmentation(crop_scale: tuple[float, float] | None = (0.5, 1.0), crop_size: tuple[int, int] | None = None,
                 resize: tuple[int, int] | None = None, hflip: tuple[float, float] | None = (0.0, 0.5),
                 vflip: tuple[float, float] | None = None, rotation: tuple[float, float] | None = (0.0, 20.0),
                 noise_std: tuple[float, float] | None = None, switches: bool = True) -> dict[str, Param]:
    """Data-augmentation ranges (category ``data``). Pass a range to include it, None to leave it out.

    With ``switches`` (the default) cropping and rotation are each behind an on/off switch, so "no
    crop" and "no rotation" are choices the search makes as often as any other instead of a corner
    of a range: ``crop`` (``False`` | ``True``) with ``crop_scale`` and ``crop_size`` only when it is
    on, ``rotate`` with ``rotation`` only when it is on. ``switches=False`` declares the magnitudes
    alone, as plain ranges (a crop scale of 1 or 0 degrees then mean "off").

    Args:
        crop_scale: Bounds of the smallest area fraction a random crop keeps, in (0, 1].
        crop_size: Bounds of the cropped image's side in pixels.
        resize: Bounds of the resized image's side in pixels.
        hflip: Bounds of the probability of a horizontal flip.
        vflip: Bounds of the probability of a vertical flip.
        rotation: Bounds of the largest rotation in degrees.
        noise_std: Bounds of the Gaussian noise's standard deviation.
        switches: Put cropping and rotation behind the ``crop`` and ``rotate`` switches.

    Example:
        >>> sorted(augmentation(crop_size=(24, 32), rotation=None))
        ['crop', 'crop_scale', 'crop_size', 'hflip']
        >>> augmentation()["crop_scale"].when
        {'crop': (True,)}
        >>> sorted(augmentation(switches=False))
        ['crop_scale', 'hflip', 'rotation']
    """
    out: dict[str, Param] = {}
    crop_on = {"crop": True} if switches else None
    if switches and (crop_scale is not None or crop_size is not None):
        out["crop"] = Categorical([False, True], category="data")
    if crop_scale is not None:
        off = not switches and crop_scale[1] == 1.0  # without a switch, the default is "no crop"
        out["crop_scale"] = Float(*crop_scale, category="data", default=1.0 if off else None, when=crop_on)
    if crop_size is not None:
        out["crop_size"] = Int(*crop_size, category="data", default=crop_size[1], when=crop_on)
    if resize is not None:
        out["resize"] = Int(*resize, category="data", default=resize[1])
    if hflip is not None:
        out["hflip"] = Float(*hflip, category="data", default=hflip[0])
    if vflip is not None:
        out["vflip"] = Float(*vflip, category="data", default=vflip[0])
    if rotation is not None:
        if switches:
            out["rotate"] = Categorical([False, True], category="data")
            out["rotation"] = Float(*rotation, category="data", when={"rotate": True})
        else:
            out["rotation"] = Float(*rotation, category="data", default=rotation[0])
    if noise_std is not None:
        out["noise_std"] = Float(*noise_std, category="data", default=noise_std[0])
    return out


def conv_model(filter_size: tuple[int, ...] = (3, 5, 7), filters: tuple[int, int] = (8, 128),
               depth: tuple[int, int] = (1, 4), pooling: tuple[str, ...] = ("max", "avg"),
               pool_size: tuple[int, int] | None = None, stride: tuple[int, int] | None = (1, 2),
               padding: tuple[str, ...] | None = ("same", "valid"),
               dropout: tuple[float, float] | None = (0.0, 0.5)) -> dict[str, Param]:
    """Convolutional-network ranges (category ``model``).

    Args:
        filter_size: The choices of the kernel side.
        filters: Bounds of the first block's width (log scale).
        depth: Bounds of the number of blocks.
        pooling: The choices of each block's pooling, among ``max``, ``avg`` and ``none``.
        pool_size: Bounds of the pooling window's side; declared only when ``pooling`` is not
            ``none`` (a condition when ``none`` is one of the choices).
        stride: Bounds of the convolutions' stride.
        padding: The choices of the convolutions' padding, among ``same`` and ``valid``.
        dropout: Bounds of the dropout rate.

    Raises:
        ValueError: For an unknown pooling or padding, or ``none`` as the only pooling with a pool size.

    Example:
        >>> conv_model()["filters"].scale
        'log'
        >>> conv_model(pooling=("max", "none"), pool_size=(2, 3))["pool_size"].when
        {'pooling': ('max',)}
    """
    bad = [p for p in pooling if p not in POOLINGS] + [p for p in padding or () if p not in ("same", "valid")]
    if bad:
        raise ValueError(f"conv_model preset: unknown pooling/padding {bad}; pooling is one of {list(POOLINGS)}, "
                         "padding 'same' or 'valid'")
    out: dict[str, Param] = {
        "filter_size": Categorical(list(filter_size), category="model"),
        "filters": Int(*filters, scale="log", category="model"),
        "depth": Int(*depth, category="model"),
        "pooling": Categorical(list(pooling), category="model"),
    }
    if pool_size is not None:
        pools = [p for p in pooling if p != "none"]
        if not pools:
            raise ValueError("conv_model preset: pool_size needs a pooling other than 'none'; "
                             "add 'max' or 'avg' to pooling or pass pool_size=None")
        out["pool_size"] = Int(*pool_size, category="model", default=pool_size[0],
                               when={"pooling": pools} if len(pools) < len(pooling) else None)
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
