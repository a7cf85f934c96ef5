"""``liegroup``: the Commutative Lie Group VAE (Zhu, Xu & Tao, "Commutative Lie Group VAE for Disentanglement
Learning", ICML 2021).

Loss:  L_rec + β·KL + hy_rec·L_gf + hy_hes·L_hes + hy_commute·L_com, with
- L_rec: summed over the observation, averaged over the batch; BCE on the decoder's logits (``bce``) or the
  squared error of the sigmoid output (``l2``). In training, one coin per global batch with probability
  ``forward_eg_prob`` reconstructs from the encoder's group feature t_E instead of t_G;
- KL: the Gaussian KL summed over latents, averaged over the batch (β is ``reg_wt``); with ``capacity`` C > 0,
  β·|KL − min(C·step/capacity_leadin, C)| (the released code's capacity control, off in its README runs);
- L_gf = mean_b Σ_i (t_E − t_G)²: the encoder's group feature must match the group element of its code;
- L_hes = Σ_k (1/L_k²) Σ_{a≠b} ‖A_b A_a‖²: the Hessian penalty on the Lie algebra basis (paper Prop. 2);
- L_com = Σ_k (1/L_k²) Σ_{a≠b} ‖[A_a, A_b]‖² (``commutator: bracket``, paper Prop. 1), or the released code's
  ‖A_bA_a − (A_bA_a)ᵀ‖² (``commutator: parity``).
Logged terms are unweighted (the released code logs some of them after weighting).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from framework import Builder, register
from framework.errors import ConfigError
from framework.methods import AutoencoderMethod, GaussianPrior
from framework.methods.vae import gaussian_kl

from . import ops
from .modules import LieGroupDecoder, LieGroupEncoder, check_subgroups

RECONSTRUCTION_LOSSES = ('auto', 'bce', 'l2')
CRITERION_OF = {'auto': 'auto', 'bce': 'bce', 'l2': 'mse'}     # the paper's names -> the framework's criterion


@register.method('liegroup')
class LieGroupVAE(GaussianPrior, AutoencoderMethod):
    """Commutative Lie Group VAE: codes decoded through expm(Σ z_i A_i) with Hessian/commutator penalties."""
    # the registry tests: the paper's architecture on 16x16 sprites
    example_config = {'_base': ['m/liegroup', 'a/liegroup', 'd/sprites'], 'dataset': {'size': 16}}


    def __init__(self, encoder: Builder, decoder: Builder, observation_shape,
                 subgroup_sizes_ls: tuple = (100,), subspace_sizes_ls: tuple = (10,), latent_dim: int = 10,
                 reg_wt: float = 1.0, hy_rec: float = 0.1, hy_hes: float = 40.0, hy_commute: float = 0.0,
                 commutator: str = 'bracket', forward_eg_prob: float = 0.2, recons_loss_type: str = 'auto',
                 capacity: float = 0.0, capacity_leadin: int = 100_000):
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
        if capacity < 0 or capacity_leadin <= 0:
            raise ConfigError(f'capacity must be >= 0 (0 turns the KL capacity control off) and capacity_leadin > 0 '
                              f'steps; got {capacity} and {capacity_leadin}.')
        super().__init__(observation_shape, latent_dim, CRITERION_OF[recons_loss_type])
        self.build_autoencoder(encoder, decoder, outputs_per_latent=2)
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
        self.capacity, self.capacity_leadin = float(capacity), int(capacity_leadin)
        # the run's seed (set before the model is built, identically on every DDP rank): the forward switch's coin
        # depends on it and the step only, so all ranks take the same path for one global batch
        self.coin_seed = torch.initial_seed()
        self.steps_taken = 0            # training steps so far (the capacity schedule and the coin read it)

    # ------------------------------------------------------------------ the objective
    def training_step(self, batch):
        x = batch['x']
        step = self.steps_taken
        if self.training:
            self.steps_taken += 1
        encoder_features = self.encoder.group_features(x)
        mean, log_var = self.encoder.posterior(encoder_features)
        z = mean + (0.5 * log_var).exp() * torch.randn_like(mean) if self.training else mean
        group_features = self.decoder.group_features(z)
        from_encoder = self.training and self.decode_encoder_feature_now(step)
        logits = self.decoder.logits(encoder_features if from_encoder else group_features)
        rec_loss = self.reconstruction_loss(logits, x)
        kl = gaussian_kl(mean, log_var).mean()
        kl_term = kl if self.capacity == 0 else (kl - self.capacity_target(step)).abs()
        group_loss = (encoder_features - group_features).pow(2).sum(1).mean()
        hessian = self.hessian_loss()
        commute = self.commute_loss()
        loss = rec_loss + self.reg_wt * kl_term + self.hy_rec * group_loss + self.hy_hes * hessian + \
            self.hy_commute * commute
        return {'loss': loss, 'rec_loss': rec_loss, 'kl': kl, 'group_loss': group_loss, 'hessian_loss': hessian,
                'commute_loss': commute, 'from_encoder': torch.tensor(float(from_encoder))}

    def decode_encoder_feature_now(self, step: int) -> bool:
        """One coin per training step: reconstruct from t_E with probability ``forward_eg_prob``.

        The coin is drawn from its own generator seeded by (run seed, step), not from the global stream that each
        DDP rank reseeds differently, so every rank makes the same choice for its slice of the global batch.
        """
        generator = torch.Generator().manual_seed((self.coin_seed * 1_000_003 + step) % 2 ** 63)
        return bool(torch.rand((), generator=generator) < self.forward_eg_prob)

    def get_extra_state(self) -> dict:
        """The step count travels in checkpoints, so a resumed run continues the schedule and the coins."""
        return {'steps_taken': self.steps_taken}

    def set_extra_state(self, state: dict) -> None:
        self.steps_taken = int(state['steps_taken'])

    def capacity_target(self, step: int) -> float:
        """The KL target min(C·step/leadin, C) of the released code's capacity control."""
        return min(self.capacity * step / self.capacity_leadin, self.capacity)

    def reconstruction_loss(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Summed over the observation, averaged over the batch; BCE on logits, or l2 on the sigmoid output."""
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
        """The posterior mean μ (what every metric of the paper reads)."""
        return self.posterior(x)[0]
