"""Keras preprocessing layers for the data presets that Keras lacks or that misbehave on torch.

``RandomResizedCrop`` replaces ``keras.layers.RandomCrop`` (one crop size, no area range, and it
fails inside ``fit`` on the torch backend here); ``RandomFlipProbability`` adds the flip probability
``keras.layers.RandomFlip`` has no argument for. Both are written with ``keras.ops`` only, so they run
on every backend, act in training and pass images through (resized when asked) at inference.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

__all__ = ["RandomFlipProbability", "RandomResizedCrop"]


@keras.saving.register_keras_serializable(package="hpcore")
class RandomResizedCrop(keras.layers.Layer):
    """Crops a random square keeping at least ``scale`` of the area, then resizes to ``size``.

    Images are ``(N, H, W, C)`` (channels last). Each image gets its own crop.

    Args:
        scale: Smallest fraction of the area kept (``crop_scale``), in (0, 1].
        size: Output side in pixels (``crop_size``); None keeps the input size.
        seed: Seed of the layer's random generator.

    Example:
        >>> import os; os.environ.setdefault("KERAS_BACKEND", "torch")
        'torch'
        >>> import numpy as np
        >>> layer = RandomResizedCrop(scale=0.5, size=8)
        >>> tuple(layer(np.random.rand(2, 16, 16, 3).astype("float32"), training=True).shape)
        (2, 8, 8, 3)
    """

    def __init__(self, scale: float = 0.5, size: int | None = None, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 < scale <= 1.0:
            raise ValueError(f"crop scale={scale} must be in (0, 1]")
        self.scale, self.size, self.seed = float(scale), size, seed
        self._rng = keras.random.SeedGenerator(seed)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        x = ops.convert_to_tensor(inputs)
        h, w = x.shape[1], x.shape[2]
        if training:
            n = ops.shape(x)[0]
            area = keras.random.uniform((n,), self.scale, 1.0, seed=self._rng)
            side = ops.sqrt(area)
            ox = keras.random.uniform((n,), 0.0, 1.0, seed=self._rng) * (1.0 - side) * (w - 1)
            oy = keras.random.uniform((n,), 0.0, 1.0, seed=self._rng) * (1.0 - side) * (h - 1)
            zero = ops.zeros_like(side)
            # Maps each output pixel (x, y) to the input pixel (side*x + ox, side*y + oy): a zoom-in.
            transform = ops.stack([side, zero, ox, zero, side, oy, zero, zero], axis=1)
            x = ops.image.affine_transform(x, transform, interpolation="bilinear", fill_mode="reflect",
                                           data_format="channels_last")
        if self.size and (h, w) != (self.size, self.size):
            x = ops.image.resize(x, (self.size, self.size), interpolation="bilinear", data_format="channels_last")
        return x

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        if self.size:
            return (input_shape[0], self.size, self.size, input_shape[3])
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "size": self.size, "seed": self.seed}


@keras.saving.register_keras_serializable(package="hpcore")
class RandomFlipProbability(keras.layers.Layer):
    """Flips each image with probability ``p``, horizontally or vertically (``(N, H, W, C)`` images).

    Example:
        >>> import os; os.environ.setdefault("KERAS_BACKEND", "torch")
        'torch'
        >>> import numpy as np
        >>> x = np.arange(4, dtype="float32").reshape(1, 1, 4, 1)
        >>> np.asarray(RandomFlipProbability(p=1.0)(x, training=True)).ravel().tolist()
        [3.0, 2.0, 1.0, 0.0]
    """

    def __init__(self, p: float = 0.5, direction: str = "horizontal", seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if direction not in ("horizontal", "vertical"):
            raise ValueError(f"direction={direction!r}: use 'horizontal' or 'vertical'")
        self.p, self.direction, self.seed = float(p), direction, seed
        self._rng = keras.random.SeedGenerator(seed)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        x = ops.convert_to_tensor(inputs)
        if not training or self.p <= 0:
            return x
        flipped = ops.flip(x, axis=2 if self.direction == "horizontal" else 1)
        mask = keras.random.uniform((ops.shape(x)[0], 1, 1, 1), seed=self._rng) < self.p
        return ops.where(mask, flipped, x)

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "p": self.p, "direction": self.direction, "seed": self.seed}
