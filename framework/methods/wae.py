"""``wae``: the Wasserstein autoencoder with an MMD penalty (inverse multiquadratic kernel)."""
from __future__ import annotations

import torch

from ..config import Builder
from ..registry import register
from .ae import Autoencoder
from .base import GaussianPrior
from ..values import Count, Weight


def imq_kernel(a: torch.Tensor, b: torch.Tensor, scale: float) -> torch.Tensor:
    """k(a, b) = C / (C + ‖a − b‖²), the inverse multiquadratic kernel, for all pairs: (N, M)."""
    return scale / (scale + torch.cdist(a, b).pow(2))


def mmd_imq(prior: torch.Tensor, codes: torch.Tensor, scale: float) -> torch.Tensor:
    """Unbiased MMD² (U-statistic): mean_{i≠j} k(p_i, p_j) + mean_{i≠j} k(q_i, q_j) − 2 mean_{i,j} k(p_i, q_j)."""
    n = prior.shape[0]
    off_diagonal = ~torch.eye(n, dtype=torch.bool, device=prior.device)
    k_pp = imq_kernel(prior, prior, scale)[off_diagonal].mean()
    k_qq = imq_kernel(codes, codes, scale)[off_diagonal].mean()
    k_pq = imq_kernel(prior, codes, scale).mean()
    return k_pp + k_qq - 2 * k_pq


@register.method('wae')
class WAE(GaussianPrior, Autoencoder):
    """WAE-MMD: reconstruction + reg_wt * MMD(prior samples, codes), IMQ kernel with C = latent_dim.

    ``batch_scaled_mmd`` divides the MMD by the batch size once more, as the SAE paper's released code does; set
    it false for the textbook WAE.
    """

    def __init__(self, encoder: Builder, decoder: Builder, observation_shape, latent_dim: Count = 12,
                 reg_wt: Weight = 10.0, criterion: str = 'auto', kernel_scale: float | None = None,
                 batch_scaled_mmd: bool = True):
        super().__init__(encoder, decoder, observation_shape, latent_dim, reg_wt, criterion)
        self.kernel_scale = float(kernel_scale) if kernel_scale else float(self.latent_dim)
        self.batch_scaled_mmd = batch_scaled_mmd

    def training_step(self, batch):
        x = batch['x']
        codes = self.encoder(x)
        rec_loss = self.reconstruction_term(codes, x)
        mmd = mmd_imq(torch.randn_like(codes), codes, self.kernel_scale)
        if self.batch_scaled_mmd:
            mmd = mmd / x.shape[0]
        return {'loss': rec_loss + self.reg_wt * mmd, 'rec_loss': rec_loss, 'mmd': mmd}
