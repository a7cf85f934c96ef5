"""The paper's encoder and decoder (``a/liegroup``): image encoder -> group feature t_E -> posterior heads, and
codes z -> exponential mapping layer t_G = vec(expm(Σ z_i A_i)) -> image decoder (Sec. 4 of the paper).

Both are registered (``encoder/liegroup``, ``decoder/liegroup``) so that ``a/liegroup`` selects them; the
``liegroup`` method calls their extra entry points (``group_features``, ``posterior``, ``logits``) to reach
t_E and t_G. Images use the disentanglement_lib conv trunk with an S-dimensional interface (S = Σ subgroup
sizes); vector observations (``d/vec``, for quick tests) get a two-layer MLP trunk instead.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from framework import register
from framework.errors import ConfigError
from framework.nn.blocks import Reshape, check_image_shape, is_image, numel
from framework.nn.dlib import deconv_layers

from . import ops


def check_subgroups(subgroup_sizes_ls: Sequence[int], subspace_sizes_ls: Sequence[int]) -> tuple[list[int], list[int]]:
    """Validated (subgroup sizes s_k, subspace sizes L_k): each s_k a square m_k², one L_k per subgroup."""
    groups, spaces = [int(s) for s in subgroup_sizes_ls], [int(s) for s in subspace_sizes_ls]
    if len(groups) != len(spaces) or not groups:
        raise ConfigError(f'subgroup_sizes_ls {groups} and subspace_sizes_ls {spaces} need one entry per subgroup '
                          f'(e.g. --subgroup_sizes_ls [100] --subspace_sizes_ls [10]).')
    for size in groups:
        side = math.isqrt(size)
        if side * side != size or size <= 0:
            raise ConfigError(f'subgroup size {size} is not a square m*m (the group element is an m x m matrix); '
                              f'use 100 (10x10) or 400 (20x20).')
    if any(s <= 0 for s in spaces):
        raise ConfigError(f'subspace_sizes_ls must be positive, got {spaces}')
    return groups, spaces


def xavier_init(module: nn.Module) -> None:
    """Xavier-uniform weights for every conv/linear layer, default biases (as the released code initialises)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(layer.weight)


@register.encoder('liegroup')
class LieGroupEncoder(nn.Module):
    """Lie group VAE encoder: conv trunk to the group feature t_E, per-subgroup MLP heads for mean/log-variance.

    S = Σ subgroup sizes; subgroup k's slice of t_E feeds two heads s_k -> 4 s_k -> L_k."""
    example_config = {'out_dim': 20}     # the registry tests: 2 x the 10 latents of the default subgroup


    def __init__(self, in_shape: Sequence[int], out_dim: int, subgroup_sizes_ls: Sequence[int] = (100,),
                 subspace_sizes_ls: Sequence[int] = (10,), trunk_hidden: int = 256):
        super().__init__()
        self.subgroup_sizes, self.subspace_sizes = check_subgroups(subgroup_sizes_ls, subspace_sizes_ls)
        latent = sum(self.subspace_sizes)
        if int(out_dim) != 2 * latent:
            raise ConfigError(f'the liegroup encoder gives a mean and a log-variance for each of the '
                              f'{latent} latents (sum of subspace_sizes_ls), so out_dim must be {2 * latent}, got '
                              f'{out_dim}.')
        self.in_shape, self.out_dim = tuple(in_shape), int(out_dim)
        feature_dim = sum(self.subgroup_sizes)
        if is_image(self.in_shape):
            check_image_shape('The liegroup encoder', self.in_shape, 16)
            c, h, w = self.in_shape
            layers, prev = [], c
            for ch in (32, 32, 64, 64):
                layers += [nn.Conv2d(prev, ch, 4, stride=2, padding=1), nn.ReLU()]
                prev = ch
            self.trunk = nn.Sequential(*layers, nn.Flatten(), nn.Linear(64 * (h // 16) * (w // 16), trunk_hidden),
                                       nn.ReLU(), nn.Linear(trunk_hidden, feature_dim))
        else:
            self.trunk = nn.Sequential(nn.Flatten(), nn.Linear(numel(self.in_shape), trunk_hidden), nn.ReLU(),
                                       nn.Linear(trunk_hidden, feature_dim))
        self.to_means = nn.ModuleList(_head(s, l) for s, l in zip(self.subgroup_sizes, self.subspace_sizes))
        self.to_logvar = nn.ModuleList(_head(s, l) for s, l in zip(self.subgroup_sizes, self.subspace_sizes))
        xavier_init(self)

    def group_features(self, x: torch.Tensor) -> torch.Tensor:
        """t_E: (B, *in_shape) -> (B, S)."""
        return self.trunk(x)

    def posterior(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log-variance), each (B, L), from t_E (B, S); subgroup k's slice feeds its own heads."""
        chunks = features.split(self.subgroup_sizes, dim=1)
        means = torch.cat([head(c) for head, c in zip(self.to_means, chunks)], dim=1)
        log_vars = torch.cat([head(c) for head, c in zip(self.to_logvar, chunks)], dim=1)
        return means, log_vars

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, *in_shape) -> (B, 2L): all means, then all log-variances."""
        return torch.cat(self.posterior(self.group_features(x)), dim=1)


@register.decoder('liegroup')
class LieGroupDecoder(nn.Module):
    """Lie group VAE decoder: t_G = vec(expm(Σ z_i A_i)) with a learnable Lie algebra basis, then deconvs.

    One block of generators per subgroup; the dlib deconv decoder reads the S-dimensional t_G; sigmoid output for
    images. ``no_exp`` is the paper's ablation without the exponential mapping (the "VAE" and "bottleneck-VAE" rows
    of its ablation table): t_G = Linear(4L→S)(ReLU(Linear(L→4L)(z))), Xavier-initialised, as the released code's
    ``--no_exp``; the basis is still created, so the Hessian and commutator penalties act on unused matrices."""
    example_config = {'latent_dim': 10}  # the registry tests: the default subspace_sizes_ls sums to 10


    def __init__(self, latent_dim: int, out_shape: Sequence[int], subgroup_sizes_ls: Sequence[int] = (100,),
                 subspace_sizes_ls: Sequence[int] = (10,), lie_alg_init_scale: float = 1.0e-3,
                 expm_method: str = 'taylor', trunk_hidden: int = 256, no_exp: bool = False):
        super().__init__()
        self.subgroup_sizes, self.subspace_sizes = check_subgroups(subgroup_sizes_ls, subspace_sizes_ls)
        if int(latent_dim) != sum(self.subspace_sizes):
            raise ConfigError(f'latent_dim {latent_dim} differs from the sum of subspace_sizes_ls '
                              f'{self.subspace_sizes}; set both (e.g. --latent_dim 10 --subspace_sizes_ls [10]).')
        if expm_method not in ops.EXPM_METHODS:
            raise ConfigError(f'expm_method must be one of {ops.EXPM_METHODS}, got {expm_method!r}')
        self.latent_dim, self.out_shape, self.expm_method = int(latent_dim), tuple(out_shape), expm_method
        self.sides = [math.isqrt(s) for s in self.subgroup_sizes]
        # one (L_k, m_k, m_k) block per subgroup, entries N(0, init_scale²): every G starts near I
        self.basis = nn.ParameterList(nn.Parameter(torch.randn(l, m, m) * lie_alg_init_scale)
                                      for l, m in zip(self.subspace_sizes, self.sides))
        feature_dim = sum(self.subgroup_sizes)
        if is_image(self.out_shape):
            check_image_shape('The liegroup decoder', self.out_shape, 16)
            self.post_exp = nn.Sequential(*deconv_layers(feature_dim, self.out_shape, trunk_hidden))
        else:
            self.post_exp = nn.Sequential(nn.Linear(feature_dim, trunk_hidden), nn.ReLU(),
                                          nn.Linear(trunk_hidden, trunk_hidden), nn.ReLU(),
                                          nn.Linear(trunk_hidden, numel(self.out_shape)), Reshape(self.out_shape))
        xavier_init(self.post_exp)
        self.no_exp = bool(no_exp)
        if self.no_exp:
            self.bottleneck = nn.Sequential(nn.Linear(self.latent_dim, 4 * self.latent_dim), nn.ReLU(),
                                            nn.Linear(4 * self.latent_dim, feature_dim))
            xavier_init(self.bottleneck)

    @property
    def is_image(self) -> bool:
        return is_image(self.out_shape)

    def group_elements(self, z: torch.Tensor) -> list[torch.Tensor]:
        """One (B, m_k, m_k) group element per subgroup."""
        codes = z.split(self.subspace_sizes, dim=1)
        with torch.autocast(z.device.type, enabled=False):        # the exponential stays in float32 under --amp
            return [ops.group_element(c.float(), a.float(), self.expm_method) for c, a in zip(codes, self.basis)]

    def group_features(self, z: torch.Tensor) -> torch.Tensor:
        """t_G: (B, L) -> (B, S), each group element flattened row-major (the MLP instead with ``no_exp``)."""
        if self.no_exp:
            return self.bottleneck(z)
        return torch.cat([g.flatten(1) for g in self.group_elements(z)], dim=1)

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """The image decoder on a group feature (t_G or t_E): (B, S) -> (B, *out_shape), before the sigmoid."""
        return self.post_exp(features)

    def to_observation(self, logits: torch.Tensor) -> torch.Tensor:
        """Sigmoid for images in [0, 1]; vectors are decoded as they are."""
        return torch.sigmoid(logits) if self.is_image else logits

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, L) -> (B, *out_shape)."""
        return self.to_observation(self.logits(self.group_features(z)))


def _head(in_features: int, out_features: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_features, 4 * in_features), nn.ReLU(), nn.Linear(4 * in_features, out_features))
