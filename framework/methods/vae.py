"""``vae``: the VAE and β-VAE (``reg_wt`` is β, so β-VAE is ``m/vae --reg-wt 4``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from ..config import Builder
from ..errors import ConfigError
from ..registry import register
from .base import AutoencoderMethod, GaussianPrior
from ..values import Count, Weight


def gaussian_kl(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)) per sample: ½ Σ_j (μ² + σ² − log σ² − 1)."""
    return 0.5 * (mean.pow(2) + log_var.exp() - log_var - 1).sum(-1)


@dataclass(frozen=True)
class KLForm:
    """How a VAE reads its encoder's scale output and computes the KL term (``kl_form`` selects one).

    ``std(log_scale)`` is the posterior's standard deviation; ``kl(mean, log_scale)`` the per-sample KL term. The
    core has the textbook ``standard`` form (log-variance); a plugin adds the form its paper's code used with
    ``register_kl_form``.
    """
    std: Callable[[torch.Tensor], torch.Tensor]
    kl: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


KL_FORMS: dict[str, KLForm] = {'standard': KLForm(lambda log_var: (0.5 * log_var).exp(), gaussian_kl)}


def register_kl_form(name: str, form: KLForm) -> None:
    """Make ``kl_form: name`` available to every VAE (a plugin calls this when it is imported)."""
    if name in KL_FORMS and KL_FORMS[name] != form:
        raise ConfigError(f'kl_form {name!r} is registered twice; rename one of them.')
    KL_FORMS[name] = form


@register.method('vae')
class VAE(GaussianPrior, AutoencoderMethod):
    """Gaussian VAE: reconstruction + reg_wt * KL; reg_wt > 1 is the β-VAE."""

    def __init__(self, encoder: Builder, decoder: Builder, observation_shape, latent_dim: Count = 12,
                 reg_wt: Weight = 1.0, criterion: str = 'auto', kl_form: str = 'standard'):
        super().__init__(observation_shape, latent_dim, criterion)
        if kl_form not in KL_FORMS:
            raise ConfigError(f"kl_form must be one of {', '.join(map(repr, KL_FORMS))}, got {kl_form!r}")
        self.build_autoencoder(encoder, decoder, outputs_per_latent=2)
        self.reg_wt, self.kl_form = reg_wt, kl_form

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log-scale): the log-scale is what the ``kl_form`` reads (log-variance for ``'standard'``)."""
        mean, log_scale = self.encoder(x).chunk(2, dim=1)
        return mean, log_scale

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def training_step(self, batch):
        x = batch['x']
        mean, log_scale = self.posterior(x)
        form = KL_FORMS[self.kl_form]
        std = form.std(log_scale)
        z = mean + std * torch.randn_like(std) if self.training else mean
        rec_loss = self.reconstruction_term(z, x)
        kl = form.kl(mean, log_scale).mean()
        return {'loss': rec_loss + self.reg_wt * kl, 'rec_loss': rec_loss, 'kl': kl}
