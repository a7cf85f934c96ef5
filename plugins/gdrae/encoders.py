"""GDRAE's image encoder: strided convs down to 4×4, a 4×4 conv, a 1×1 conv.

The reference has three variants that differ only in the width of the 4×4 conv (``fc_width``): 128 for dSprites
("Simple"), 256 for 3DFaces/SmallNORB ("Complex") and RGB data. No BatchNorm. The noise z = μ + σ·ε of the
reference's encoder is applied by the method (``sigma``), so this module returns μ only.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from framework import register
from framework.errors import ConfigError


@register.encoder('gdrae-conv')
class ConvEncoder(nn.Module):
    """Conv k4 s2 (32-32-64-64) with ReLU to 4×4, Conv k4 to fc_width, ReLU, Conv 1×1 to out_dim."""

    def __init__(self, in_shape: Sequence[int], out_dim: int, channels: Sequence[int] = (32, 32, 64, 64),
                 fc_width: int = 256):
        super().__init__()
        self.in_shape, self.out_dim = tuple(in_shape), int(out_dim)
        if len(self.in_shape) != 3:
            raise ConfigError(f'encoder gdrae-conv is for images; got observations of shape {self.in_shape}.')
        c, h, w = self.in_shape
        size = 4 * 2 ** len(channels)
        if h != size or w != size:
            raise ConfigError(f'gdrae-conv with {len(channels)} stride-2 convs needs {size}x{size} images, got '
                              f'{h}x{w}; set --encoder.channels with log2({h}/4) entries.')
        layers, previous = [], c
        for width in channels:
            layers += [nn.Conv2d(previous, int(width), 4, 2, 1), nn.ReLU()]
            previous = int(width)
        layers += [nn.Conv2d(previous, fc_width, 4, 1, 0), nn.ReLU(), nn.Conv2d(fc_width, self.out_dim, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, out_dim)"""
        return self.net(x).flatten(1)
