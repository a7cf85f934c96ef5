"""GDRAE's injective flow decoders (the reference's vector and image decoders).

Both decoders map a scaled latent ``u = C·z`` through a fixed isometric embedding into a wide space, then through
fixed random orthogonal mixings and additive couplings, so the map ``u -> full output`` is injective by
construction and has an exact left inverse (``invert``). The observation is the first coordinates (vectors) or
the first channels (images) of the full output; the regularisers of the method act on the full output.

Interface shared by both decoders (what ``method.GDRAE`` relies on):

- ``forward(u, full=False)``: ``full=True`` gives the full pre-activation output (B, *full_shape); otherwise the
  observation, with the sigmoid applied for images.
- ``observed(full)``: the observed part of a full pre-activation output (no activation).
- ``output_slope(full)``: the derivative of the output activation at ``full``, detached (None for the identity);
  the reference's linearised transpose freezes it.
- ``invert(full)``: the exact left inverse, full output -> u.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from framework import register
from framework.errors import ConfigError

from .piecewise import MaskableReLU, relu


def fixed_orthogonal(out_features: int, in_features: int, generator: torch.Generator) -> torch.Tensor:
    """Rows/columns of a random orthogonal n×n matrix, n = max(out, in): (out, in).

    out > in gives an isometric embedding (orthonormal columns), out < in a co-isometry (orthonormal rows),
    out == in an orthogonal matrix (the reference's fixed invertible 1×1 convolution).
    """
    n = max(out_features, in_features)
    q, r = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)
    return q[:out_features, :in_features].float().contiguous()


class FixedLinear(nn.Module):
    """A fixed (never trained) orthogonal map on the last dimension, or on channels with ``conv=True``."""

    def __init__(self, in_features: int, out_features: int, generator: torch.Generator, conv: bool = False):
        super().__init__()
        self.conv = conv
        self.register_buffer('weight', fixed_orthogonal(out_features, in_features, generator))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv:
            return F.conv2d(x, self.weight[:, :, None, None])
        return x @ self.weight.t()

    def transpose(self, y: torch.Tensor) -> torch.Tensor:
        """W^T y: the exact inverse of ``forward`` when W has orthonormal columns (out >= in)."""
        if self.conv:
            return F.conv_transpose2d(y, self.weight[:, :, None, None])
        return y @ self.weight


# --------------------------------------------------------------------------- vectors (Sector2D)

class _VectorCoupling(nn.Module):
    """Fixed orthogonal mixing, then h_b <- h_b + W2·ReLU(W1·h_a + b1) + b2 (an additive coupling)."""

    def __init__(self, width: int, hidden: int, generator: torch.Generator):
        super().__init__()
        self.half = width // 2
        self.mix = FixedLinear(width, width, generator)
        self.net = nn.Sequential(nn.Linear(self.half, hidden), MaskableReLU(), nn.Linear(hidden, width - self.half))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = self.mix(h)
        a, b = h[:, :self.half], h[:, self.half:]
        return torch.cat([a, b + self.net(a)], dim=1)

    def inverse(self, h: torch.Tensor) -> torch.Tensor:
        a, b = h[:, :self.half], h[:, self.half:]
        return self.mix.transpose(torch.cat([a, b - self.net(a)], dim=1))


@register.decoder('gdrae-flow')
class VectorFlowDecoder(nn.Module):
    """GDRAE's injective flow for vectors: isometric embedding into ``width`` dims, ``n_flows`` couplings."""
    example_config = {'width': 32, 'coupling_hidden': 32}     # the registry tests, for speed only

    piecewise_linear = True     # linear maps, biases and piecewise.relu only (see piecewise.py)

    def __init__(self, latent_dim: int, out_shape: Sequence[int], width: int = 1024, coupling_hidden: int = 1024,
                 n_flows: int = 3, orth_seed: int | None = None, init_std: float = 0.02):
        super().__init__()
        self.latent_dim, self.out_shape = int(latent_dim), tuple(out_shape)
        if len(self.out_shape) != 1:
            raise ConfigError(f'decoder gdrae-flow is for vector data; got observations of shape {self.out_shape}. '
                              f'For images use `a/gdrae` (decoder gdrae-flow64).')
        if latent_dim > width or self.out_shape[0] > width:
            raise ConfigError(f'gdrae-flow needs width >= latent_dim and the observation size; got width={width}.')
        generator = orthogonal_generator(orth_seed)
        self.embed = FixedLinear(self.latent_dim, width, generator)
        self.flows = nn.ModuleList(_VectorCoupling(width, coupling_hidden, generator) for _ in range(n_flows))
        self.final = FixedLinear(width, width, generator)
        init_normal(self, init_std)

    def forward(self, u: torch.Tensor, full: bool = False) -> torch.Tensor:
        """(B, latent_dim) -> (B, width) with ``full``, else the observation (B, *out_shape)."""
        h = self.embed(u)
        for flow in self.flows:
            h = flow(h)
        h = self.final(h)
        return h if full else self.observed(h)

    def observed(self, full: torch.Tensor) -> torch.Tensor:
        return full[:, :self.out_shape[0]]

    def output_slope(self, full: torch.Tensor):
        return None

    def invert(self, full: torch.Tensor) -> torch.Tensor:
        h = self.final.transpose(full)
        for flow in reversed(self.flows):
            h = flow.inverse(h)
        return self.embed.transpose(h)


# --------------------------------------------------------------------------- images (64×64)

class _InitBlock(nn.Module):
    """u -> [x_a, g0(x_a)] at ``init_size``², x_a the depth-to-space of an isometric embedding of u."""

    def __init__(self, latent_dim: int, half: int, hidden: int, init_size: int, generator: torch.Generator):
        super().__init__()
        self.half, self.init_size = half, init_size
        self.embed = FixedLinear(latent_dim, half * init_size ** 2, generator)
        self.deconv = nn.ConvTranspose2d(latent_dim, hidden, init_size, stride=1, padding=0)
        self.project = FixedLinear(hidden, half, generator, conv=True)

    def coupling(self, x_a: torch.Tensor) -> torch.Tensor:
        u = self.embed.transpose(F.pixel_unshuffle(x_a, self.init_size).flatten(1))
        return self.project(relu(self.deconv(u[:, :, None, None])))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        x_a = F.pixel_shuffle(self.embed(u)[:, :, None, None], self.init_size)
        return torch.cat([x_a, self.coupling(x_a)], dim=1)

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed.transpose(F.pixel_unshuffle(x[:, :self.half], self.init_size).flatten(1))


class _ImageStage(nn.Module):
    """Fixed 1×1 embedding + depth-to-space ×2, then mixing and an additive coupling."""

    def __init__(self, in_ch: int, out_ch: int, hidden_in: int, hidden_out: int, generator: torch.Generator):
        super().__init__()
        self.half = out_ch // 2
        self.widen = FixedLinear(in_ch, 4 * out_ch, generator, conv=True)
        self.mix = FixedLinear(out_ch, out_ch, generator, conv=True)
        self.embed = FixedLinear(4 * self.half, hidden_in, generator, conv=True)
        self.deconv = nn.ConvTranspose2d(hidden_in, hidden_out, 4, stride=2, padding=1)
        self.project = FixedLinear(hidden_out, out_ch - self.half, generator, conv=True)

    def coupling(self, a: torch.Tensor) -> torch.Tensor:
        return self.project(relu(self.deconv(self.embed(F.pixel_unshuffle(a, 2)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.mix(F.pixel_shuffle(self.widen(x), 2))
        a, b = h[:, :self.half], h[:, self.half:]
        return torch.cat([a, b + self.coupling(a)], dim=1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        a, b = y[:, :self.half], y[:, self.half:]
        h = self.mix.transpose(torch.cat([a, b - self.coupling(a)], dim=1))
        return self.widen.transpose(F.pixel_unshuffle(h, 2))


@register.decoder('gdrae-flow64')
class ImageFlowDecoder(nn.Module):
    """GDRAE's injective flow for images: embedding, depth-to-space stages with couplings, sigmoid output."""

    piecewise_linear = True     # up to the output sigmoid, which output_slope handles

    def __init__(self, latent_dim: int, out_shape: Sequence[int], ncs: Sequence[int] = (128, 64, 32, 16, 4),
                 hidden_ncs: Sequence[int] = (256, 128, 64, 32, 16), init_size: int = 4,
                 orth_seed: int | None = None):
        super().__init__()
        self.latent_dim, self.out_shape = int(latent_dim), tuple(out_shape)
        ncs, hidden_ncs = [int(c) for c in ncs], [int(c) for c in hidden_ncs]
        _check_image_flow(self.out_shape, self.latent_dim, ncs, hidden_ncs, init_size)
        generator = orthogonal_generator(orth_seed)
        self.init = _InitBlock(self.latent_dim, ncs[0] // 2, hidden_ncs[0], init_size, generator)
        self.stages = nn.ModuleList(_ImageStage(ncs[i], ncs[i + 1], hidden_ncs[i], hidden_ncs[i + 1], generator)
                                    for i in range(len(ncs) - 1))
        self.final = FixedLinear(ncs[-1], ncs[-1], generator, conv=True)
        # ConvTranspose2d keeps PyTorch's default init, as in the reference.

    def forward(self, u: torch.Tensor, full: bool = False) -> torch.Tensor:
        """(B, latent_dim) -> logits (B, ncs[-1], H, W) with ``full``, else the image (B, C, H, W) in [0, 1]."""
        h = self.init(u)
        for stage in self.stages:
            h = stage(h)
        h = self.final(h)
        return h if full else torch.sigmoid(self.observed(h))

    def observed(self, full: torch.Tensor) -> torch.Tensor:
        return full[:, :self.out_shape[0]]

    def output_slope(self, full: torch.Tensor) -> torch.Tensor:
        s = torch.sigmoid(full.detach())
        return s * (1 - s)

    def invert(self, full: torch.Tensor) -> torch.Tensor:
        h = self.final.transpose(full)
        for stage in reversed(self.stages):
            h = stage.inverse(h)
        return self.init.inverse(h)


def _check_image_flow(out_shape, latent_dim, ncs, hidden_ncs, init_size) -> None:
    if len(out_shape) != 3:
        raise ConfigError(f'decoder gdrae-flow64 is for images; got observations of shape {out_shape}. '
                          f'For vectors use decoder gdrae-flow (the default of m/gdrae).')
    channels, height, width = out_shape
    size = init_size * 2 ** (len(ncs) - 1)
    if height != size or width != size:
        raise ConfigError(f'gdrae-flow64 with init_size={init_size} and {len(ncs) - 1} stages (ncs={ncs}) makes '
                          f'{size}x{size} images; the data are {height}x{width}. Resize the dataset or set '
                          f'--decoder.ncs with log2({height}/{init_size}) + 1 entries.')
    if len(hidden_ncs) != len(ncs):
        raise ConfigError(f'gdrae-flow64 needs as many hidden_ncs as ncs; got {hidden_ncs} and {ncs}.')
    if ncs[-1] < channels:
        raise ConfigError(f'gdrae-flow64: the last of ncs ({ncs[-1]}) must be at least the image channels ({channels}).')
    if (ncs[0] // 2) * init_size ** 2 < latent_dim or any(4 * b < a for a, b in zip(ncs[:-1], ncs[1:])):
        raise ConfigError(f'gdrae-flow64: ncs={ncs} cannot embed latent_dim={latent_dim} injectively '
                          f'(need ncs[0]/2·init_size² >= latent_dim and 4·ncs[i+1] >= ncs[i]).')
    if any(c % 2 for c in ncs):
        raise ConfigError(f'gdrae-flow64: every entry of ncs must be even (couplings split channels); got {ncs}.')


def orthogonal_generator(orth_seed: int | None) -> torch.Generator:
    """The generator of the fixed orthogonal maps: ``orth_seed``, or the run's seed when it is None.

    The run's seed is torch's initial seed, which ``fig train`` sets from ``--seed`` before it builds the model,
    so a seed sweep also resamples the fixed matrices, as the reference does with ``np.random.seed(rand_seed)``.
    Reading it draws nothing, so the rest of the initialisation is unchanged.
    """
    return torch.Generator().manual_seed(int(torch.initial_seed() if orth_seed is None else orth_seed))


def init_normal(module: nn.Module, std: float) -> None:
    """N(0, std²) weights and zero biases for Linear and Conv2d layers (the reference's ``init_weights``)."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def num_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


__all__ = ['VectorFlowDecoder', 'ImageFlowDecoder', 'FixedLinear', 'fixed_orthogonal', 'init_normal',
           'orthogonal_generator', 'num_parameters']
