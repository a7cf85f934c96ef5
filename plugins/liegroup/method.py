"""``liegroup``: the Commutative Lie Group VAE (Zhu, Xu, Tao, ICML 2021; ``shared/specs/liegroup.md`` §1).

Loss (spec §1.5):  L_rec + β·KL + hy_rec·L_gf + hy_hes·L_hes + hy_commute·L_com, with
- L_rec: summed over the observation, averaged over the batch; BCE on the decoder's logits (``bce``) or the
  squared error of the sigmoid output (``l2``). In training, one coin per batch with probability
  ``forward_eg_prob`` reconstructs from the encoder's group feature t_E instead of t_G (spec §1.4);
- KL: the Gaussian KL summed over latents, averaged over the batch (β is ``reg_wt``);
- L_gf = mean_b Σ_i (t_E − t_G)²: the encoder's group feature must match the group element of its code;
- L_hes = Σ_k (1/L_k²) Σ_{a≠b} ‖A_b A_a‖²: the Hessian penalty on the Lie algebra basis (paper Prop. 2);
- L_com = Σ_k (1/L_k²) Σ_{a≠b} ‖[A_a, A_b]‖² (``commutator: bracket``, paper Prop. 1), or the released code's
  ‖A_bA_a − (A_bA_a)ᵀ‖² (``commutator: parity``).
Logged terms are unweighted (the released code logs some of them after weighting, spec §1.5).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from framework import Builder, register
from framework.errors import ConfigError
from framework.methods import Method
from framework.methods.vae import gaussian_kl

from . import ops
from .modules import LieGroupDecoder, LieGroupEncoder, check_subgroups

RECONSTRUCTION_LOSSES = ('auto', 'bce', 'l2')


@register.method('liegroup')
class LieGroupVAE(Method):
    """Commutative Lie Group VAE: codes decoded through expm(Σ z_i A_i) with Hessian/commutator penalties."""

    def __init__(self, encoder: Builder, decoder: Builder, observation_shape,
                 subgroup_sizes_ls: tuple = (100,), subspace_sizes_ls: tuple = (10,), latent_dim: int = 10,
                 reg_wt: float = 1.0, hy_rec: float = 0.1, hy_hes: float = 40.0, hy_commute: float = 0.0,
                 commutator: str = 'bracket', forward_eg_prob: float = 0.2, recons_loss_type: str = 'auto'):
        super().__init__()
        groups, spaces = check_subgroups(subgroup_sizes_ls, subspace_sizes_ls)
        if int(latent_dim) != sum(spaces):
            raise ConfigError(f'latent_dim {latent_dim} differs from the sum of subspace_sizes_ls {spaces}: '
                              f'pass both, e.g. --latent_dim {sum(spaces)}.')
        if commutator not in ops.COMMUTATORS:
            raise ConfigError(f"commutator must be 'bracket' (the commutator [A_i, A_j]) or 'parity' (the released "
                              f"code's A_jA_i - (A_jA_i)^T), got {commutator!r}")
        if recons_loss_type not in RECONSTRUCTION_LOSSES:
            raise ConfigError(f'recons_loss_type must be one of {RECONSTRUCTION_LOSSES}, got {recons_loss_type!r}')
        if not 0.0 <= forward_eg_prob <= 1.0:
            raise ConfigError(f'forward_eg_prob is a probability, got {forward_eg_prob}')
        self.observation_shape, self.latent_dim = tuple(observation_shape), int(latent_dim)
        self.encoder = encoder(in_shape=self.observation_shape, out_dim=2 * self.latent_dim)
        self.decoder = decoder(latent_dim=self.latent_dim, out_shape=self.observation_shape)
        if not isinstance(self.encoder, LieGroupEncoder) or not isinstance(self.decoder, LieGroupDecoder):
            raise ConfigError('m/liegroup needs its own encoder and decoder: add a/liegroup to the command '
                              '(fig train a/liegroup m/liegroup d/...).')
        if self.encoder.subgroup_sizes != groups or self.decoder.subgroup_sizes != groups or \
                self.encoder.subspace_sizes != spaces or self.decoder.subspace_sizes != spaces:
            raise ConfigError('the encoder, decoder and method disagree on subgroup_sizes_ls/subspace_sizes_ls; '
                              'set them at the top level of the config so all three read the same values.')
        if recons_loss_type == 'auto':
            recons_loss_type = 'bce' if self.decoder.is_image else 'l2'
        if recons_loss_type == 'bce' and not self.decoder.is_image:
            raise ConfigError('recons_loss_type bce needs images in [0, 1]; use --recons_loss_type l2 for vectors.')
        self.reg_wt, self.hy_rec, self.hy_hes, self.hy_commute = reg_wt, hy_rec, hy_hes, hy_commute
        self.commutator, self.forward_eg_prob, self.recons_loss_type = commutator, forward_eg_prob, recons_loss_type

    # ------------------------------------------------------------------ the objective
    def training_step(self, batch):
        x = batch['x']
        encoder_features = self.encoder.group_features(x)
        mean, log_var = self.encoder.posterior(encoder_features)
        z = mean + (0.5 * log_var).exp() * torch.randn_like(mean) if self.training else mean
        group_features = self.decoder.group_features(z)
        from_encoder = self.training and self.decode_encoder_feature_now()
        logits = self.decoder.logits(encoder_features if from_encoder else group_features)
        rec_loss = self.reconstruction_loss(logits, x)
        kl = gaussian_kl(mean, log_var).mean()
        group_loss = (encoder_features - group_features).pow(2).sum(1).mean()
        hessian = self.hessian_loss()
        commute = self.commute_loss()
        loss = rec_loss + self.reg_wt * kl + self.hy_rec * group_loss + self.hy_hes * hessian + \
            self.hy_commute * commute
        return {'loss': loss, 'rec_loss': rec_loss, 'kl': kl, 'group_loss': group_loss, 'hessian_loss': hessian,
                'commute_loss': commute, 'from_encoder': torch.tensor(float(from_encoder))}

    def decode_encoder_feature_now(self) -> bool:
        """One coin per training batch: reconstruct from t_E with probability ``forward_eg_prob`` (spec §1.4)."""
        return bool(torch.rand(()) < self.forward_eg_prob)

    def reconstruction_loss(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Summed over the observation, averaged over the batch (spec §1.5 'Reconstruction')."""
        if self.recons_loss_type == 'bce':
            per_element = F.binary_cross_entropy_with_logits(logits.float(), x.float(), reduction='none')
        else:
            per_element = (self.decoder.to_observation(logits.float()) - x.float()).pow(2)
        return per_element.flatten(1).sum(1).mean()

    def hessian_loss(self) -> torch.Tensor:
        return sum(ops.hessian_penalty(a) for a in self.decoder.basis)

    def commute_loss(self) -> torch.Tensor:
        return sum(ops.commutator_penalty(a, self.commutator) for a in self.decoder.basis)

    # ------------------------------------------------------------------ what the framework reads
    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encoder.posterior(self.encoder.group_features(x))

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean μ (what every metric of the paper reads, spec §1.1)."""
        return self.posterior(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.represent(x))

    def reconstruct_from_encoder(self, x: torch.Tensor) -> torch.Tensor:
        """The decoder applied to t_E directly (the 'x_eg_rec' images of the released code, spec §5)."""
        return self.decoder.to_observation(self.decoder.logits(self.encoder.group_features(x)))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        device = next(self.parameters()).device
        return self.decode(torch.randn(n, self.latent_dim, generator=generator).to(device))
