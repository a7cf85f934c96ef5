"""``ae``: the plain autoencoder (the SAE paper's baseline)."""
from __future__ import annotations

import torch

from ..config import Builder
from ..registry import register
from .base import AutoencoderMethod
from ..values import Count, Weight


@register.method('ae')
class Autoencoder(AutoencoderMethod):
    """Deterministic autoencoder: reconstruction loss, optionally plus reg_wt * mean code norm."""

    def __init__(self, encoder: Builder, decoder: Builder, observation_shape, latent_dim: Count = 12,
                 reg_wt: Weight = 0.0, criterion: str = 'auto'):
        super().__init__(observation_shape, latent_dim, criterion)
        self.build_autoencoder(encoder, decoder)
        self.reg_wt = reg_wt

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def training_step(self, batch):
        x = batch['x']
        codes = self.encoder(x)
        rec_loss = self.reconstruction_term(codes, x)
        out = {'loss': rec_loss, 'rec_loss': rec_loss}
        if self.reg_wt > 0:
            code_norm = codes.norm(dim=1).mean()
            out.update(loss=rec_loss + self.reg_wt * code_norm, code_norm=code_norm)
        return out
