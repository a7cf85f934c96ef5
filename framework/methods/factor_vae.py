"""``factorvae``: FactorVAE (Kim & Mnih 2018, "Disentangling by Factorising").

The VAE objective plus ``reg_wt`` (the paper's γ) times an estimate of the total correlation of q(z),
TC(z) = KL(q(z) || Π_j q(z_j)). A discriminator D tells samples of q(z) (label 0) from samples whose
dimensions were shuffled independently across the batch, which follow Π_j q(z_j) (label 1). With two logits,
the density-ratio trick (Eq. 3 of the paper) gives TC ≈ E_q(z)[log D(z)/(1 − D(z))] = E[logit_0 − logit_1].

Each batch is split in two halves, as the paper's Algorithm 2 draws two batches: the first half gives the VAE
loss and D's q(z) samples, the second half (its codes detached and permuted) D's Π_j q(z_j) samples; so
``--batch_size 128`` is the paper's 64 + 64. The discriminator trains on its own cross-entropy with its own
Adam (lr 1e-4, betas (0.5, 0.9) in the paper) through ``optimizers``; the VAE's Adam never touches it and its
loss never reaches the encoder. Defaults follow the paper: a 6-layer MLP of 1000 units with leaky ReLU (0.2),
a 10-D code. The paper sweeps γ over {10, 20, 30, 40, 50, 100}; ``reg_wt: 40`` in ``config/m/factorvae.yaml``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import Builder
from ..registry import register
from .base import OptimizerSpec
from .vae import VAE, gaussian_kl
from ..values import Count, Weight


def permute_dims(z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shuffle each column of ``z`` (B, D) by its own random permutation of the batch: samples of Π_j q(z_j)."""
    order = torch.rand(z.shape, generator=generator, device='cpu' if generator is not None else z.device)
    return z.gather(0, order.to(z.device).argsort(dim=0))


def total_correlation_estimate(logits: torch.Tensor) -> torch.Tensor:
    """E[log D(z) / (1 − D(z))] with D(z) = softmax(logits)[:, 0]: the mean of logit_0 − logit_1 (Eq. 3)."""
    return (logits[:, 0] - logits[:, 1]).mean()


def discriminator_loss(logits_q: torch.Tensor, logits_permuted: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of D: q(z) samples are class 0, permuted ones class 1, each half weighted ½."""
    zeros = torch.zeros(logits_q.shape[0], dtype=torch.long, device=logits_q.device)
    ones = torch.ones(logits_permuted.shape[0], dtype=torch.long, device=logits_permuted.device)
    return 0.5 * (F.cross_entropy(logits_q, zeros) + F.cross_entropy(logits_permuted, ones))


class Discriminator(nn.Module):
    """MLP from codes to two logits (q(z), permuted): ``depth`` hidden layers of ``width`` units, leaky ReLU."""

    def __init__(self, latent_dim: int, width: int = 1000, depth: int = 6, slope: float = 0.2):
        super().__init__()
        layers, previous = [], latent_dim
        for _ in range(depth):
            layers += [nn.Linear(previous, width), nn.LeakyReLU(slope)]
            previous = width
        self.net = nn.Sequential(*layers, nn.Linear(previous, 2))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> (B, 2)"""
        return self.net(z)


@register.method('factorvae')
class FactorVAE(VAE):
    """FactorVAE: VAE + reg_wt (γ) * total correlation estimated by a discriminator with its own Adam."""

    def __init__(self, encoder: Builder, decoder: Builder, observation_shape, latent_dim: Count = 10,
                 reg_wt: Weight = 40.0, criterion: str = 'auto', disc_width: int = 1000, disc_depth: int = 6,
                 disc_lr: float = 1.0e-4, disc_betas: tuple[float, float] = (0.5, 0.9)):
        super().__init__(encoder, decoder, observation_shape, latent_dim, float(reg_wt), criterion)
        self.discriminator = Discriminator(self.latent_dim, disc_width, disc_depth)
        self.disc_lr, self.disc_betas = float(disc_lr), tuple(disc_betas)

    def optimizers(self, settings) -> list[OptimizerSpec]:
        """The VAE's Adam (the run's ``--lr``, ``--beta1/2``) on ``loss``; the discriminator's on ``disc_loss``."""
        disc = list(self.discriminator.parameters())
        own = {id(p) for p in disc}
        vae = [p for p in self.parameters() if id(p) not in own]
        return [OptimizerSpec('vae', vae),
                OptimizerSpec('discriminator', disc, lr=self.disc_lr, betas=self.disc_betas, weight_decay=0.0,
                              loss_key='disc_loss')]

    def training_step(self, batch):
        """``loss`` = rec + KL + γ TC on the first half-batch; ``disc_loss`` = D's cross-entropy on the first
        half's codes (detached) against the second half's permuted codes. In eval mode z is the mean."""
        x = batch['x']
        first = (x.shape[0] + 1) // 2
        x_vae, x_other = x[:first], (x[first:] if x.shape[0] > 1 else x)
        mean, log_var = self.posterior(x_vae)
        z = mean + (0.5 * log_var).exp() * torch.randn_like(mean) if self.training else mean
        rec_loss = self.reconstruction_term(z, x_vae)
        kl = gaussian_kl(mean, log_var).mean()
        tc = total_correlation_estimate(self.discriminator(z))
        with torch.no_grad():
            mean_other, log_var_other = self.posterior(x_other)
            z_other = (mean_other + (0.5 * log_var_other).exp() * torch.randn_like(mean_other)
                       if self.training else mean_other)
        disc_loss = discriminator_loss(self.discriminator(z.detach()), self.discriminator(permute_dims(z_other)))
        return {'loss': rec_loss + kl + self.reg_wt * tc, 'rec_loss': rec_loss, 'kl': kl, 'tc': tc,
                'disc_loss': disc_loss}
