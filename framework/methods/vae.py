"""``vae``: the VAE and β-VAE (``reg_wt`` is β, so β-VAE is ``m/vae --reg-wt 4``)."""
from __future__ import annotations

import torch

from ..config import Builder
from ..errors import ConfigError
from ..registry import register
from .base import AutoencoderMethod, GaussianPrior
from ..values import Count, Weight


def gaussian_kl(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)) per sample: ½ Σ_j (μ² + σ² − log σ² − 1)."""
    return 0.5 * (mean.pow(2) + log_var.exp() - log_var - 1).sum(-1)


def sae_code_kl(mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """The SAE code's "KL", ½ Σ_j (μ² + σ − log σ − 1) with σ the standard deviation (a quirk of the SAE paper's released code)."""
    std = log_std.exp()
    return 0.5 * (mean.pow(2) + std - log_std - 1).sum(-1)


@register.method('vae')
class VAE(GaussianPrior, AutoencoderMethod):
    """Gaussian VAE: reconstruction + reg_wt * KL; reg_wt > 1 is the β-VAE."""

    def __init__(self, encoder: Builder, decoder: Builder, observation_shape, latent_dim: Count = 12,
                 reg_wt: Weight = 1.0, criterion: str = 'auto', kl_form: str = 'standard'):
        super().__init__(observation_shape, latent_dim, criterion)
        if kl_form not in ('standard', 'sae-code'):
            raise ConfigError(f"kl_form must be 'standard' or 'sae-code', got {kl_form!r}")
        self.build_autoencoder(encoder, decoder, outputs_per_latent=2)
        self.reg_wt, self.kl_form = reg_wt, kl_form

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log-scale): log-variance for ``kl_form='standard'``, log-std for ``'sae-code'``."""
        mean, log_scale = self.encoder(x).chunk(2, dim=1)
        return mean, log_scale

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def training_step(self, batch):
        x = batch['x']
        mean, log_scale = self.posterior(x)
        std = (0.5 * log_scale).exp() if self.kl_form == 'standard' else log_scale.exp()
        z = mean + std * torch.randn_like(std) if self.training else mean
        rec_loss = self.reconstruction_loss(self.decoder(z), x)
        kl = (gaussian_kl(mean, log_scale) if self.kl_form == 'standard' else sae_code_kl(mean, log_scale)).mean()
        return {'loss': rec_loss + self.reg_wt * kl, 'rec_loss': rec_loss, 'kl': kl}
