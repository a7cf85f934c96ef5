"""MSP's ResNet encoder and decoder (as in the authors' code), registered as ``msp-resnet``.

Residual blocks with weight-standardised 3×3 convs and GroupNorm(min(32, C)); the decoder tiles one vector to
a constant map and gets all spatial variation from a learnable 2D sinusoidal positional embedding
concatenated in every up block. Base width C = int(32·k); the decoder's bottom width is H / 2^n_blocks.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from framework import register
from framework.errors import ConfigError

POS_DIM = 64


class WeightStandardization(nn.Module):
    """w ← (w − mean(w)) / (std(w) + 1e-5) per output filter, over all other axes (unbiased std)."""

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        flat = w.flatten(1)
        mean = flat.mean(1).view(-1, *[1] * (w.dim() - 1))
        std = flat.std(1).view(-1, *[1] * (w.dim() - 1))
        return (w - mean) / (std + 1.0e-5)


def ws_conv(cin: int, cout: int, kernel: int = 3) -> nn.Conv2d:
    """A weight-standardised conv, Xavier-uniform with gain √2."""
    conv = nn.Conv2d(cin, cout, kernel, padding=(kernel - 1) // 2)
    nn.init.xavier_uniform_(conv.weight, gain=math.sqrt(2))
    parametrize.register_parametrization(conv, 'weight', WeightStandardization())
    return conv


def shortcut_conv(cin: int, cout: int) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, 1)
    nn.init.xavier_uniform_(conv.weight, gain=1.0)
    return conv


def group_norm(channels: int, groups: int = 32) -> nn.GroupNorm:
    """GroupNorm(min(groups, C)); the authors' 32 groups. With few channels (tiny test models) one channel per
    group would erase a spatially constant map, so small configs lower ``groups``."""
    return nn.GroupNorm(math.gcd(min(groups, channels), channels), channels)


def sinusoidal_embedding_2d(height: int, width: int, dim: int = POS_DIM) -> torch.Tensor:
    """(dim, height, width): the first half holds sin/cos of the column index, the second of the row index,
    at frequencies exp(−2j·ln(10⁴)/(dim/2)), sin on even channels and cos on odd ones."""
    half = dim // 2
    freqs = torch.exp(torch.arange(0, half, 2, dtype=torch.float32) * (-math.log(1.0e4) / half))
    emb = torch.zeros(dim, height, width)
    cols = torch.arange(width, dtype=torch.float32)[None, :] * freqs[:, None]      # (half/2, W)
    rows = torch.arange(height, dtype=torch.float32)[None, :] * freqs[:, None]     # (half/2, H)
    emb[0:half:2] = torch.sin(cols)[:, None, :].expand(-1, height, -1)
    emb[1:half:2] = torch.cos(cols)[:, None, :].expand(-1, height, -1)
    emb[half::2] = torch.sin(rows)[:, :, None].expand(-1, -1, width)
    emb[half + 1::2] = torch.cos(rows)[:, :, None].expand(-1, -1, width)
    return emb


class DownBlock(nn.Module):
    """GN → ReLU → conv3 → GN → ReLU → conv3 → avgpool2, plus a conv1×1 → avgpool2 shortcut."""

    def __init__(self, cin: int, cout: int, groups: int = 32):
        super().__init__()
        self.residual = nn.Sequential(group_norm(cin, groups), nn.ReLU(), ws_conv(cin, cout), group_norm(cout, groups),
                                      nn.ReLU(),
                                      ws_conv(cout, cout), nn.AvgPool2d(2))
        self.shortcut = nn.Sequential(shortcut_conv(cin, cout), nn.AvgPool2d(2))

    def forward(self, x):
        return self.residual(x) + self.shortcut(x)


class UpBlock(nn.Module):
    """GN → ReLU → upsample×2 → [·, pos] → conv3 → GN → ReLU → conv3, plus upsample → [·, pos] → conv1×1;
    ``pos`` is this block's learnable positional embedding at the output resolution."""

    def __init__(self, cin: int, cout: int, side: tuple[int, int], groups: int = 32):
        super().__init__()
        self.pos = nn.Parameter(sinusoidal_embedding_2d(*side))
        self.pre = nn.Sequential(group_norm(cin, groups), nn.ReLU())
        self.residual = nn.Sequential(ws_conv(cin + POS_DIM, cout), group_norm(cout, groups), nn.ReLU(),
                                      ws_conv(cout, cout))
        self.shortcut = shortcut_conv(cin + POS_DIM, cout)

    def forward(self, x):
        pos = self.pos.unsqueeze(0).expand(x.shape[0], -1, -1, -1)
        h = F.interpolate(self.pre(x), scale_factor=2, mode='nearest')
        s = F.interpolate(x, scale_factor=2, mode='nearest')
        return self.residual(torch.cat([h, pos], 1)) + self.shortcut(torch.cat([s, pos], 1))


def _check(name: str, shape: Sequence[int], n_blocks: int) -> None:
    if len(shape) != 3:
        raise ConfigError(f'{name} is for images (C, H, W), got shape {tuple(shape)}; use a/mlp for vectors.')
    if shape[1] % 2 ** n_blocks or shape[2] % 2 ** n_blocks:
        raise ConfigError(f'{name} halves the resolution {n_blocks} times: {shape[1]}x{shape[2]} is not divisible '
                          f'by {2 ** n_blocks}. Set `--encoder.n_blocks` / `--decoder.n_blocks` accordingly.')


@register.encoder('msp-resnet')
class MSPResNetEncoder(nn.Module):
    """MSP's ResNet encoder: conv3, n weight-standardised down blocks (C·2^i channels), GN, ReLU, Linear."""

    def __init__(self, in_shape: Sequence[int], out_dim: int, k: float = 1.0, n_blocks: int = 3, groups: int = 32):
        super().__init__()
        _check('The msp-resnet encoder', in_shape, n_blocks)
        self.in_shape, self.out_dim = tuple(in_shape), int(out_dim)
        c = max(1, int(32 * k))
        layers: list[nn.Module] = [nn.Conv2d(in_shape[0], c, 3, padding=1)]
        for i in range(n_blocks):
            layers.append(DownBlock(c * 2 ** i, c * 2 ** (i + 1), groups))
        top = c * 2 ** n_blocks
        layers += [group_norm(top, groups), nn.ReLU(), nn.Flatten()]
        side = (in_shape[1] // 2 ** n_blocks) * (in_shape[2] // 2 ** n_blocks)
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(top * side, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, out_dim)"""
        return self.head(self.body(x))


@register.decoder('msp-resnet')
class MSPResNetDecoder(nn.Module):
    """MSP's ResNet decoder: Linear, tiled to a constant map, up blocks with learnable 2D positional embeddings."""

    def __init__(self, latent_dim: int, out_shape: Sequence[int], k: float = 1.0, n_blocks: int = 3,
                 groups: int = 32):
        super().__init__()
        _check('The msp-resnet decoder', out_shape, n_blocks)
        self.latent_dim, self.out_shape = int(latent_dim), tuple(out_shape)
        c = max(1, int(32 * k))
        self.bottom = (out_shape[1] // 2 ** n_blocks, out_shape[2] // 2 ** n_blocks)
        self.linear = nn.Linear(latent_dim, c * 2 ** n_blocks)
        blocks = []
        for i in reversed(range(n_blocks)):
            side = (self.bottom[0] * 2 ** (n_blocks - i), self.bottom[1] * 2 ** (n_blocks - i))
            blocks.append(UpBlock(c * 2 ** (i + 1), c * 2 ** i, side, groups))
        self.blocks = nn.Sequential(*blocks)
        self.out = nn.Sequential(group_norm(c, groups), nn.ReLU(), nn.Conv2d(c, out_shape[0], 3, padding=1), nn.Sigmoid())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> (B, C, H, W) in [0, 1]"""
        h = self.linear(z)[:, :, None, None].expand(-1, -1, *self.bottom)
        return self.out(self.blocks(h))
