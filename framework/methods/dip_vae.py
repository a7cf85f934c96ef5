"""``dipvae``: DIP-VAE I and II (Kumar et al. 2018, "Variational Inference of Disentangled Latent Concepts
from Unlabeled Observations").

Disentangled inferred prior: besides the ELBO, the covariance of the inferred codes is pushed towards the
prior's identity covariance with

    λ_od Σ_{i≠j} C_ij² + λ_d Σ_i (C_ii − 1)²

where C is, over the minibatch, the covariance of the posterior means Cov[μ(x)] (DIP-VAE-I), or the
covariance of the whole aggregate posterior, Cov[μ(x)] + E[diag σ²(x)] (DIP-VAE-II). The paper uses
λ_d = 10·λ_od for DIP-VAE-I and λ_d = λ_od for DIP-VAE-II; that is the default when ``lambda_d`` is unset.
"""
from __future__ import annotations

import torch

from ..config import Builder
from ..errors import ConfigError
from ..registry import register
from .vae import VAE, gaussian_kl
from ..values import Count, Weight

VARIANTS = {'i': 10.0, 'ii': 1.0}       # variant -> the paper's lambda_d / lambda_od


@register.method('dipvae')
class DIPVAE(VAE):
    """DIP-VAE (Kumar et al. 2018): ELBO + a penalty pushing the codes' covariance to I; variant i or ii."""

    def __init__(self, encoder: Builder, decoder: Builder, observation_shape, latent_dim: Count = 12,
                 variant: str = 'i', lambda_od: Weight = 10.0, lambda_d: Weight | None = None,
                 criterion: str = 'auto'):
        variant = str(variant).lower()
        if variant not in VARIANTS:
            raise ConfigError(f"variant must be 'i' (covariance of the posterior means) or 'ii' (covariance "
                              f"of the aggregate posterior), got {variant!r}")
        super().__init__(encoder, decoder, observation_shape, latent_dim, reg_wt=1.0, criterion=criterion)
        self.variant, self.lambda_od = variant, float(lambda_od)
        if lambda_d is None:
            lambda_d = VARIANTS[variant] * self.lambda_od
        elif isinstance(lambda_d, bool) or not isinstance(lambda_d, (int, float)):
            raise ConfigError(f'lambda_d must be a number (or unset for the paper\'s choice), got {lambda_d!r}')
        self.lambda_d = float(lambda_d)

    def training_step(self, batch):
        x = batch['x']
        mean, log_var = self.posterior(x)
        z = mean + (0.5 * log_var).exp() * torch.randn_like(mean) if self.training else mean
        rec_loss = self.reconstruction_term(z, x)
        kl = gaussian_kl(mean, log_var).mean()
        off_diagonal, diagonal = dip_penalties(code_covariance(mean, log_var, self.variant))
        dip = self.lambda_od * off_diagonal + self.lambda_d * diagonal
        return {'loss': rec_loss + kl + dip, 'rec_loss': rec_loss, 'kl': kl,
                'dip_off_diagonal': off_diagonal, 'dip_diagonal': diagonal}


def code_covariance(mean: torch.Tensor, log_var: torch.Tensor, variant: str = 'i') -> torch.Tensor:
    """The (D, D) covariance that DIP-VAE regularises, over a batch of posteriors N(mean, exp(log_var)).

    ``'i'``: Cov[μ] = E[μ μᵀ] − E[μ] E[μ]ᵀ (the batch covariance, divided by B). ``'ii'``: the covariance of
    z under the aggregate posterior, by the law of total covariance Cov[μ] + E[diag σ²].
    """
    centred = mean - mean.mean(0, keepdim=True)
    covariance = centred.T @ centred / mean.shape[0]
    if variant == 'ii':
        covariance = covariance + torch.diag(log_var.exp().mean(0))
    return covariance


def dip_penalties(covariance: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(Σ_{i≠j} C_ij², Σ_i (C_ii − 1)²): the off-diagonal and diagonal parts of the DIP regulariser."""
    diagonal = torch.diagonal(covariance)
    off_diagonal = covariance.pow(2).sum() - diagonal.pow(2).sum()
    return off_diagonal, (diagonal - 1).pow(2).sum()
