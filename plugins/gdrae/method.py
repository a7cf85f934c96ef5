"""``gdrae``: the geometric disentangling regularised autoencoder (Pan, Niu & Zhang, "Geometric Inductive Biases
for Identifiable Unsupervised Learning of Disentangled Representations", AAAI 2023).

A deterministic autoencoder with latent box [-r, r]^d and an injective flow decoder ``D(z) = F(C·z)``, with a
learned capacity C = e^c. At prior points z ~ U[-r, r]^d an MLP predicts log singular values ℓ(C·z) with
Σ_j ℓ_j = 0, and the loss pushes σ_max(J_F·diag(e^{-ℓ})) to 1 while minimising log C:

    L = λ_recon·recon + λ_kld·Σ_j relu(|μ_j| - r) + λ_jacob_sn·(log sn)² + λ_jacob_sv·H(softmax ℓ)
        + λ_capacity·log C + λ_norm_sv·mean(e^{2ℓ})

A term whose λ is 0 is not computed; a negative λ logs the term without training on it. Logged terms are
unweighted, as in the reference. "Capacity" is C everywhere a value is reported; the trained term is logged as
``log_capacity`` (log C), the quantity the loss minimises.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from framework import Builder, register
from framework.errors import ConfigError
from framework.methods import AutoencoderMethod

from .flows import init_normal
from .jacobian import SN_ROUNDS, spectral_norm_sq

ENCODER_NOISE = ('independent', 'shared')


@register.method('gdrae')
class GDRAE(AutoencoderMethod):
    """GDRAE: injective flow decoder, learned capacity, orthogonal-Jacobian regularisers at prior points."""
    # the registry tests: Sector2D at a small width
    example_config = {'_base': ['m/gdrae', 'd/sector2d'], 'dataset': {'num_samples': 64},
                      'encoder': {'hidden': [32]}, 'decoder': {'width': 32, 'coupling_hidden': 32}}


    def __init__(self, encoder: Builder, decoder: Builder, observation_shape, latent_dim: int = 10,
                 sigma: float = 0.0, lambda_recon: float = 1.0, lambda_kld: float = 1000.0,
                 lambda_jacob_sn: float = 1000.0, lambda_jacob_sv: float = 0.01, lambda_capacity: float = 10.0,
                 lambda_norm_sv: float = 0.0, sn_power: int = 5, sn_rounds: str = 'auto', jacob_batch: int = 64,
                 prior_radius: float = 1.0, sv_hidden: int = 1024, init_std: float = 0.02, criterion: str = 'auto',
                 encoder_noise: str = 'independent'):
        super().__init__(observation_shape, latent_dim, criterion)
        if self.latent_dim < 2:
            raise ConfigError('gdrae needs latent_dim >= 2 (the predicted log singular values sum to zero).')
        if encoder_noise not in ENCODER_NOISE:
            raise ConfigError(f"encoder_noise must be 'independent' (one N(0, 1) draw per latent) or 'shared' (the "
                              f"released image encoder's one draw per sample for all latents), got {encoder_noise!r}")
        self.build_autoencoder(encoder, decoder)
        for needed in ('observed', 'output_slope', 'invert'):
            if not hasattr(self.decoder, needed):
                raise ConfigError(f'gdrae needs one of its flow decoders (decoder/gdrae-flow, decoder/gdrae-flow64); '
                                  f'{type(self.decoder).__name__} has no {needed}().')
        self.sv_predictor = nn.Sequential(nn.Linear(self.latent_dim, sv_hidden), nn.ReLU(),
                                          nn.Linear(sv_hidden, sv_hidden), nn.ReLU(),
                                          nn.Linear(sv_hidden, self.latent_dim - 1))
        self.log_capacity = nn.Parameter(torch.zeros(()))
        for module in (self.encoder, self.sv_predictor):
            init_normal(module, init_std)
        if sn_rounds not in SN_ROUNDS:
            raise ConfigError(f'sn_rounds must be one of {", ".join(SN_ROUNDS)}; got {sn_rounds!r}')
        self.sigma, self.sn_power, self.sn_rounds, self.jacob_batch = sigma, sn_power, sn_rounds, jacob_batch
        self.prior_radius, self.encoder_noise = prior_radius, encoder_noise
        self.weights = {'recon': lambda_recon, 'kld': lambda_kld, 'jacob_sn': lambda_jacob_sn,
                        'jacob_sv': lambda_jacob_sv, 'log_capacity': lambda_capacity, 'norm_sv': lambda_norm_sv}

    # ------------------------------------------------------------------ the model
    @property
    def capacity(self) -> torch.Tensor:
        return self.log_capacity.exp()

    def log_singular_values(self, u: torch.Tensor) -> torch.Tensor:
        """ℓ(u) = [a, -Σa]: predicted log singular values of J_F at u = C·z, summing to zero: (B, d)."""
        a = self.sv_predictor(u)
        return torch.cat([a, -a.sum(1, keepdim=True)], dim=1)

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's code μ (evaluation never adds the noise σ)."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.capacity * z)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.decode(self.sample_prior(n, generator))

    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ U[-r, r]^d: (n, d)."""
        device = self.log_capacity.device
        z = torch.rand(n, self.latent_dim, generator=generator).to(device)
        return (2 * z - 1) * self.prior_radius

    # ------------------------------------------------------------------ the losses
    def reconstruction_loss(self, full: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """BCE with logits on the observed channels, or squared error; summed per sample, mean over the batch."""
        observed = self.decoder.observed(full)
        if self.criterion == 'bce':
            per_element = F.binary_cross_entropy_with_logits(observed, x, reduction='none')
        else:
            if self.decoder.output_slope(full) is not None:
                observed = torch.sigmoid(observed)
            per_element = (observed - x).pow(2)
        return per_element.flatten(1).sum(1).mean()

    def jacobian_terms(self, n: int) -> dict[str, torch.Tensor]:
        """The Jacobian regularisers at n fresh prior points."""
        w = self.weights
        u = self.capacity * self.sample_prior(n)
        log_sv = self.log_singular_values(u)
        out = {}
        if w['jacob_sn']:
            sn = spectral_norm_sq(self.decoder, u, torch.exp(-log_sv), power=self.sn_power, rounds=self.sn_rounds)
            out['jacob_sn'] = log_sn_penalty(sn)
            out['sn'] = sn.detach().mean()
        if w['jacob_sv']:
            out['jacob_sv'] = softmax_entropy(log_sv).mean()
        if w['norm_sv']:
            out['norm_sv'] = torch.exp(2 * log_sv).mean()
        return out

    def encoder_noise_draw(self, mu: torch.Tensor) -> torch.Tensor:
        """ε for z = μ + σ·ε: one N(0, 1) draw per latent, or one per sample shared by all its latents."""
        if self.encoder_noise == 'shared':
            return torch.randn_like(mu[:, :1]).expand_as(mu)
        return torch.randn_like(mu)

    def training_step(self, batch):
        x = batch['x']
        mu = self.encoder(x)
        z = mu + self.sigma * self.encoder_noise_draw(mu) if self.training and self.sigma > 0 else mu
        full = self.decoder(self.capacity * z, full=True)
        terms = {'recon': self.reconstruction_loss(full, x), 'kld': box_hinge(mu, self.prior_radius)}
        if any(self.weights[k] for k in ('jacob_sn', 'jacob_sv', 'norm_sv')):
            terms.update(self.jacobian_terms(self.jacob_batch))
        terms['log_capacity'] = self.log_capacity
        loss = sum(self.weights[k] * v for k, v in terms.items() if self.weights.get(k, 0) > 0)
        return {'loss': loss, **{k: v.detach() for k, v in terms.items()}, 'mu_abs': mu.detach().abs().mean()}

    @torch.no_grad()
    def evaluation_step(self, batch):
        """Reconstruction and box hinge on held-out data (the Jacobian terms are for ``fig gdrae-eval``)."""
        x = batch['x']
        mu = self.encoder(x)
        full = self.decoder(self.capacity * mu, full=True)
        return {'recon': self.reconstruction_loss(full, x), 'kld': box_hinge(mu, self.prior_radius),
                'log_capacity': self.log_capacity.detach()}


def box_hinge(mu: torch.Tensor, radius: float = 1.0) -> torch.Tensor:
    """The reference's "KLD": E_b Σ_j relu(|μ_j| - r), keeping codes inside the prior's box."""
    return F.relu(mu.abs() - radius).sum(1).mean()


def softmax_entropy(log_sv: torch.Tensor) -> torch.Tensor:
    """H(softmax(ℓ)) = -Σ_j p_j log(p_j + 1e-8) per sample; minimising it makes the singular values distinct."""
    p = torch.softmax(log_sv, dim=1)
    return -(p * torch.log(p + 1e-8)).sum(1)


def log_sn_penalty(sn: torch.Tensor) -> torch.Tensor:
    """Mean of (log sn)² over the samples where it is finite (the reference's nan-safe mean; sn <= 0 is dropped)."""
    valid = torch.isfinite(sn) & (sn > 0)
    log_sn = torch.log(torch.where(valid, sn, torch.ones_like(sn)))
    return (log_sn.pow(2) * valid).sum() / valid.sum().clamp_min(1)
