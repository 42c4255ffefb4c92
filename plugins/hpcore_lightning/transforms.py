"""Image augmentations as small torch modules (no torchvision): crop, flips, rotation, noise.

Each module takes a batch ``(N, C, H, W)`` or one image ``(C, H, W)`` and draws its randomness per
image. They are ``nn.Module`` objects so they can sit in a model: like Keras preprocessing layers,
they act in training mode and pass images through unchanged in ``eval()`` mode.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["GaussianNoise", "RandomFlip", "RandomResizedCrop", "RandomRotation", "Resize"]


def _batched(fn):  # type: ignore[no-untyped-def]
    """Lets a batch transform accept one image ``(C, H, W)`` as well."""

    def forward(self: nn.Module, x: Tensor) -> Tensor:
        if x.dim() == 3:
            return fn(self, x.unsqueeze(0)).squeeze(0)
        if x.dim() != 4:
            raise ValueError(f"{type(self).__name__} expects (N, C, H, W) or (C, H, W), got shape {tuple(x.shape)}")
        return fn(self, x)

    forward.__doc__ = fn.__doc__
    return forward


def _warp(x: Tensor, theta: Tensor, size: tuple[int, int]) -> Tensor:
    grid = F.affine_grid(theta, [x.shape[0], x.shape[1], *size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class RandomResizedCrop(nn.Module):
    """Crops a random square keeping ``scale`` of the area (or more) and resizes it to ``size``.

    Args:
        scale: Smallest fraction of the image's area a crop keeps (``crop_scale``), in (0, 1].
        size: Output side in pixels (``crop_size`` or ``resize``); None keeps the input size.

    Example:
        >>> import torch
        >>> RandomResizedCrop(scale=0.5, size=8)(torch.rand(2, 3, 16, 16)).shape
        torch.Size([2, 3, 8, 8])
    """

    def __init__(self, scale: float = 0.5, size: int | None = None) -> None:
        super().__init__()
        if not 0.0 < scale <= 1.0:
            raise ValueError(f"crop scale={scale} must be in (0, 1]")
        self.scale, self.size = float(scale), size

    @_batched
    def forward(self, x: Tensor) -> Tensor:
        """Crops each image of ``x`` at its own random place."""
        size = (self.size, self.size) if self.size else (x.shape[-2], x.shape[-1])
        if not self.training:
            return x if size == (x.shape[-2], x.shape[-1]) else F.interpolate(x, size=size, mode="bilinear")
        n = x.shape[0]
        area = torch.empty(n, device=x.device).uniform_(self.scale, 1.0)
        side = area.sqrt()  # fraction of each side kept
        shift = (torch.rand(n, 2, device=x.device) * 2 - 1) * (1 - side).unsqueeze(1)
        theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
        theta[:, 0, 0] = side
        theta[:, 1, 1] = side
        theta[:, :, 2] = shift
        return _warp(x, theta, size)


class Resize(nn.Module):
    """Resizes to ``size`` x ``size`` pixels (bilinear), in training and evaluation alike.

    Example:
        >>> import torch
        >>> Resize(4)(torch.rand(3, 8, 8)).shape
        torch.Size([3, 4, 4])
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = int(size)

    @_batched
    def forward(self, x: Tensor) -> Tensor:
        """Resizes ``x``."""
        return F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)


class RandomFlip(nn.Module):
    """Flips each image with probability ``p``, horizontally (``hflip``) or vertically (``vflip``).

    Example:
        >>> import torch
        >>> x = torch.arange(4.0).reshape(1, 1, 1, 4)
        >>> RandomFlip(p=1.0)(x).flatten().tolist()
        [3.0, 2.0, 1.0, 0.0]
    """

    def __init__(self, p: float = 0.5, direction: str = "horizontal") -> None:
        super().__init__()
        if direction not in ("horizontal", "vertical"):
            raise ValueError(f"direction={direction!r}: use 'horizontal' or 'vertical'")
        self.p, self.dim = float(p), -1 if direction == "horizontal" else -2

    @_batched
    def forward(self, x: Tensor) -> Tensor:
        """Flips a random subset of the images in ``x``."""
        if not self.training or self.p <= 0:
            return x
        flip = (torch.rand(x.shape[0], device=x.device) < self.p).view(-1, 1, 1, 1)
        return torch.where(flip, x.flip(self.dim), x)


class RandomRotation(nn.Module):
    """Rotates each image by a random angle in ``[-degrees, degrees]`` (zeros fill the corners).

    Example:
        >>> import torch
        >>> RandomRotation(15.0)(torch.rand(2, 1, 8, 8)).shape
        torch.Size([2, 1, 8, 8])
    """

    def __init__(self, degrees: float = 10.0) -> None:
        super().__init__()
        self.degrees = abs(float(degrees))

    @_batched
    def forward(self, x: Tensor) -> Tensor:
        """Rotates each image of ``x`` by its own angle."""
        if not self.training or self.degrees == 0:
            return x
        angle = (torch.rand(x.shape[0], device=x.device) * 2 - 1) * math.radians(self.degrees)
        cos, sin = angle.cos(), angle.sin()
        theta = torch.zeros(x.shape[0], 2, 3, device=x.device, dtype=x.dtype)
        theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, -sin, sin, cos
        return _warp(x, theta, (x.shape[-2], x.shape[-1]))


class GaussianNoise(nn.Module):
    """Adds Gaussian noise of standard deviation ``std`` (``noise_std``).

    Example:
        >>> import torch
        >>> x = torch.zeros(1000)
        >>> 0.05 < float(GaussianNoise(0.1)(x.view(1, 1, 1, -1)).std()) < 0.15
        True
    """

    def __init__(self, std: float = 0.1) -> None:
        super().__init__()
        self.std = float(std)

    def forward(self, x: Tensor) -> Tensor:
        """Returns ``x`` plus noise (any shape)."""
        if not self.training or self.std <= 0:
            return x
        return x + torch.randn_like(x) * self.std
