"""Fully connected encoder and decoder (``a/e/mlp``, ``a/d/mlp``) for vectors or small images."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..registry import register
from .blocks import Reshape, ends_in_sigmoid, is_image, mlp, numel, without_final_sigmoid


@register.encoder('mlp')
class MLPEncoder(nn.Module):
    """Flatten, then Linear layers with ``act`` between them."""

    def __init__(self, in_shape: Sequence[int], out_dim: int, hidden: Sequence[int] = (256, 256), act: str = 'elu'):
        super().__init__()
        self.in_shape, self.out_dim = tuple(in_shape), int(out_dim)
        self.net = mlp(numel(in_shape), out_dim, hidden, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, *in_shape) -> (B, out_dim)"""
        return self.net(x.flatten(1))


@register.decoder('mlp')
class MLPDecoder(nn.Module):
    """Linear layers to the observation; a sigmoid output for images, linear for vectors."""

    def __init__(self, latent_dim: int, out_shape: Sequence[int], hidden: Sequence[int] = (256, 256),
                 act: str = 'elu'):
        super().__init__()
        self.latent_dim, self.out_shape = int(latent_dim), tuple(out_shape)
        out_act = 'sigmoid' if is_image(out_shape) else None
        self.net = nn.Sequential(mlp(latent_dim, numel(out_shape), hidden, act=act, out_act=out_act),
                                 Reshape(out_shape))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> (B, *out_shape)"""
        return self.net(z)

    @property
    def outputs_probabilities(self) -> bool:
        return ends_in_sigmoid(self.net)

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        """The output before the sigmoid (images), so the reconstruction loss can be computed from logits."""
        return without_final_sigmoid(self.net, z)
