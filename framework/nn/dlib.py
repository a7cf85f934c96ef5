"""The disentanglement_lib "conv" architecture (``a/e/dlib``, ``a/d/dlib``), the field's common baseline.

Encoder: 4 convs (32, 32, 64, 64 channels, kernel 4, stride 2, ReLU), a 256-unit dense layer, then the output.
Decoder: dense 256, dense 64·(H/16)·(W/16), then 4 transposed convs (64, 32, 32, C; kernel 4, stride 2); for grey
images the last one takes the faster CPU forward of ``framework/nn/deconv.py`` (same parameters, same values).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..errors import ConfigError
from ..registry import register
from .blocks import Reshape, check_image_shape, is_image, without_final_sigmoid
from .deconv import ConvTranspose2d


def _require_image(name: str, shape: Sequence[int]) -> None:
    if not is_image(shape):
        raise ConfigError(f'{name} is for images (C, H, W); got observations of shape {tuple(shape)}. '
                          f'Use a/mlp or a/conv12 for vector data.')
    check_image_shape(name, shape, 16)


@register.encoder('dlib')
class DlibEncoder(nn.Module):
    """disentanglement_lib conv encoder: 4 stride-2 convs (32-32-64-64, k4), dense 256."""

    def __init__(self, in_shape: Sequence[int], out_dim: int, hidden: int = 256):
        super().__init__()
        _require_image('The dlib encoder', in_shape)
        self.in_shape, self.out_dim = tuple(in_shape), int(out_dim)
        c, h, w = in_shape
        convs, prev = [], c
        for ch in (32, 32, 64, 64):
            convs += [nn.Conv2d(prev, ch, 4, stride=2, padding=1), nn.ReLU()]
            prev = ch
        self.net = nn.Sequential(*convs, nn.Flatten(), nn.Linear(64 * (h // 16) * (w // 16), hidden), nn.ReLU(),
                                 nn.Linear(hidden, out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, out_dim)"""
        return self.net(x)


@register.decoder('dlib')
class DlibDecoder(nn.Module):
    """disentanglement_lib deconv decoder: dense 256, dense to 64x(H/16)x(W/16), 4 transposed convs, sigmoid."""

    def __init__(self, latent_dim: int, out_shape: Sequence[int], hidden: int = 256):
        super().__init__()
        _require_image('The dlib decoder', out_shape)
        self.latent_dim, self.out_shape = int(latent_dim), tuple(out_shape)
        self.net = nn.Sequential(*deconv_layers(latent_dim, out_shape, hidden), nn.Sigmoid())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> (B, C, H, W) in [0, 1]"""
        return self.net(z)

    outputs_probabilities = True

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        """The output before the sigmoid (images), so the reconstruction loss can be computed from logits."""
        return without_final_sigmoid(self.net, z)


def deconv_layers(in_features: int, out_shape: Sequence[int], hidden: int = 256) -> list[nn.Module]:
    """The dlib decoder's layers up to the image logits (no output activation), for decoders that reuse it."""
    c, h, w = out_shape
    layers: list[nn.Module] = [nn.Linear(in_features, hidden), nn.ReLU(),
                               nn.Linear(hidden, 64 * (h // 16) * (w // 16)), nn.ReLU(),
                               Reshape((64, h // 16, w // 16))]
    chans = (64, 64, 32, 32, c)
    for i, (a, b) in enumerate(zip(chans[:-1], chans[1:])):
        layers.append(ConvTranspose2d(a, b, 4, stride=2, padding=1))
        if i < 3:
            layers.append(nn.ReLU())
    return layers
