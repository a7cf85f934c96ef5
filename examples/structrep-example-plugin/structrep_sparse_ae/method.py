"""``sparse-ae``: reconstruction + l1_wt · mean over the batch of Σ_j |z_j|.

An L1 penalty on the codes drives most code dimensions to zero for each observation, the classic route to
sparse representations (Tibshirani 1996's lasso applied to an autoencoder's codes).
"""
from __future__ import annotations

import torch

from framework import Builder, register
from framework.methods import AutoencoderMethod


@register.method('sparse-ae')
class SparseAutoencoder(AutoencoderMethod):
    """Autoencoder with an L1 penalty on its codes: reconstruction + l1_wt * mean Σ_j |z_j|."""

    def __init__(self, encoder: Builder, decoder: Builder, observation_shape, latent_dim: int = 12,
                 l1_wt: float = 0.1, criterion: str = 'auto'):
        super().__init__(observation_shape, latent_dim, criterion)
        self.build_autoencoder(encoder, decoder)           # encoder -> latent_dim numbers, decoder back
        self.l1_wt = l1_wt

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        """The codes themselves: (B, ...) -> (B, latent_dim)."""
        return self.encoder(x)

    def training_step(self, batch):
        x = batch['x']
        codes = self.encoder(x)
        rec_loss = self.reconstruction_term(codes, x)
        l1 = codes.abs().sum(1).mean()
        return {'loss': rec_loss + self.l1_wt * l1, 'rec_loss': rec_loss, 'l1': l1}
