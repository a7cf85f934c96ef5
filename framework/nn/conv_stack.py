"""The SAE paper's 12- and 16-layer conv encoders and decoders (``a/e/conv12``, ``a/d/conv16``, ...).

Layouts follow the SAE paper's appendix architectures: one character per conv layer, ``D`` a conv followed by a 2×2
max-pool, ``U`` a bilinear ×2 upsample followed by a conv, ``.`` a conv at the same resolution. For vector
data (``in_shape`` of length 1) every layer becomes ``Linear(width, width)`` + activation (the SAE paper's vector variant).
With 64 channels on 64×64×3 images the conv12 AE has 1,022,671 parameters, as the paper's runs print.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..registry import register
from .blocks import (ConvLayer, Reshape, activation, check_image_shape, ends_in_sigmoid, is_image, mlp, numel,
                     without_final_sigmoid)

CONV12_ENCODER = 'D..D..D..D.D'
CONV12_DECODER = '.U.U..U..U.U'
CONV16_ENCODER = 'D' + '..D' * 5
CONV16_DECODER = 'U..' * 5 + 'U'


class ConvStackEncoder(nn.Module):
    """Conv stack then an MLP head: image (B, C, H, W) or vector (B, N) -> features (B, out_dim)."""

    def __init__(self, in_shape: Sequence[int], out_dim: int, layout: str = CONV12_ENCODER, channels: int = 64,
                 hidden: Sequence[int] = (256, 128), first_kernel: int = 5, kernel: int = 3, act: str = 'elu',
                 width: int = 64):
        super().__init__()
        self.in_shape, self.out_dim = tuple(in_shape), int(out_dim)
        if is_image(in_shape):
            check_image_shape(f'The {len(layout)}-layer conv encoder', in_shape, 2 ** layout.count('D'))
            layers, c = [], in_shape[0]
            for i, step in enumerate(layout):
                layers.append(ConvLayer(c, channels, first_kernel if i == 0 else kernel, down=step == 'D', act=act))
                c = channels
            self.body = nn.Sequential(*layers)
            side = in_shape[1] // 2 ** layout.count('D'), in_shape[2] // 2 ** layout.count('D')
            features = channels * side[0] * side[1]
        else:
            dims = [numel(in_shape)] + [width] * len(layout)
            self.body = nn.Sequential(*[nn.Sequential(nn.Linear(a, b), activation(act))
                                        for a, b in zip(dims[:-1], dims[1:])])
            features = width
        self.head = mlp(features, out_dim, hidden, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, *in_shape) -> (B, out_dim)"""
        return self.head(self.body(x).flatten(1))


class ConvStackDecoder(nn.Module):
    """An MLP to a (C, h, w) seed, then a conv stack up to the image; sigmoid output for images."""

    def __init__(self, latent_dim: int, out_shape: Sequence[int], layout: str = CONV12_DECODER, channels: int = 64,
                 hidden: Sequence[int] = (128, 256), kernel: int = 3, act: str = 'elu', width: int = 64,
                 out_act: str | None = 'sigmoid'):
        super().__init__()
        self.latent_dim, self.out_shape = int(latent_dim), tuple(out_shape)
        if is_image(out_shape):
            ups = layout.count('U')
            check_image_shape(f'The {len(layout)}-layer conv decoder', out_shape, 2 ** ups)
            side = out_shape[1] // 2 ** ups, out_shape[2] // 2 ** ups
            self.seed = nn.Sequential(mlp(latent_dim, channels * side[0] * side[1], hidden, act=act),
                                      Reshape((channels, *side)))
            layers = [ConvLayer(channels, channels, kernel, up=step == 'U', act=act) for step in layout[:-1]]
            layers.append(ConvLayer(channels, out_shape[0], kernel, up=layout[-1] == 'U', norm=False, act=out_act))
            self.body = nn.Sequential(*layers)
        else:
            self.seed = mlp(latent_dim, width, hidden, act=act)
            dims = [width] * len(layout) + [numel(out_shape)]
            layers = [nn.Sequential(nn.Linear(a, b), activation(act)) for a, b in zip(dims[:-2], dims[1:-1])]
            layers += [nn.Linear(dims[-2], dims[-1]), Reshape(out_shape)]
            self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> (B, *out_shape)"""
        return self.body(self.seed(z))

    @property
    def outputs_probabilities(self) -> bool:
        return ends_in_sigmoid(self.body)

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        """The output before the sigmoid (images), so the reconstruction loss can be computed from logits."""
        return without_final_sigmoid(self.body, self.seed(z))


@register.encoder('conv12')
class Conv12Encoder(ConvStackEncoder):
    """12-layer conv encoder of the SAE paper (64x64 images, 64 channels; 12 dense layers for vectors)."""

    def __init__(self, in_shape: Sequence[int], out_dim: int, channels: int = 64, hidden: Sequence[int] = (256, 128),
                 act: str = 'elu', width: int = 64):
        super().__init__(in_shape, out_dim, CONV12_ENCODER, channels, hidden, act=act, width=width)


@register.decoder('conv12')
class Conv12Decoder(ConvStackDecoder):
    """12-layer conv decoder of the SAE paper (bilinear upsampling, sigmoid output)."""

    def __init__(self, latent_dim: int, out_shape: Sequence[int], channels: int = 64,
                 hidden: Sequence[int] = (128, 256), act: str = 'elu', width: int = 64):
        super().__init__(latent_dim, out_shape, CONV12_DECODER, channels, hidden, act=act, width=width)


@register.encoder('conv16')
class Conv16Encoder(ConvStackEncoder):
    """16-layer conv encoder of the SAE paper (for 128x128 CelebA: 128 channels, head 512-256-128)."""

    def __init__(self, in_shape: Sequence[int], out_dim: int, channels: int = 128,
                 hidden: Sequence[int] = (512, 256, 128), act: str = 'elu', width: int = 64):
        super().__init__(in_shape, out_dim, CONV16_ENCODER, channels, hidden, act=act, width=width)


@register.decoder('conv16')
class Conv16Decoder(ConvStackDecoder):
    """16-layer conv decoder of the SAE paper (MLP 128-256-512 to a 2x2 seed, then 5 upsampling stages)."""

    def __init__(self, latent_dim: int, out_shape: Sequence[int], channels: int = 128,
                 hidden: Sequence[int] = (128, 256, 512), act: str = 'elu', width: int = 64):
        super().__init__(latent_dim, out_shape, CONV16_DECODER, channels, hidden, act=act, width=width)
