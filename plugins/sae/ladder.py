"""The VLAE baseline's ladder encoder and decoder of the SAE paper (Leeb et al., ICLR 2023), used with ``vae``.

Encoder: the conv12/conv16 stack (first conv k5 then max-pool) with *inference rungs* R_k between its
layers. A rung global-max-pools the feature map to (B, C) and maps it with an MLP to its latent block's
parameters. There is no head: the final conv output is discarded. Rung outputs are concatenated deepest
rung first, so the 2x2 rung gives the first block u_1, the block the decoder injects at its lowest
resolution. Each rung emits p numbers per latent in consecutive p-tuples (μ_i, log σ_i) which are
de-interleaved into ``[μ_1..μ_d, logσ_1..logσ_d]``: with ``out_dim = 2 * latent_dim`` (what ``m/vae`` asks
for) the core ``vae`` method reads that vector as it reads any encoder's.

Decoder: the structural decoder's skeleton with each S_k replaced by a *generative rung* G_k, which maps
u_k by an MLP to F features, broadcasts them over H×W and concatenates them to h. Every layer feeding a
rung outputs C - F channels, and so does ρ.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from framework import register
from framework.errors import ConfigError
from framework.nn.blocks import ConvLayer, activation, check_image_shape, is_image, mlp, numel

from .structural import LatentInjectionDecoder, block_sizes

# forward layouts after the first conv (k5, max-pool): 'R' rung, '.' conv, 'D' conv then max-pool. They are
# the rung placements of the authors' configuration files (learn_rep, config/a/e/ladder/<N>.yaml at the
# "ready for submission" commit 3eb037d); rungs sit at 32/16/8/4/2 px as the conv stack shrinks.
LADDER_ENCODER_LAYOUTS = {
    12: 'R.R.RDR.R.RDR.R.RDR.RDR',
    6: '.R.DR..RD.R.DR.DR',
    4: '..DR..RD..RD.DR',
    3: '..DR..D.R.D.DR',
    2: '..D..RD..D.DR',
    16: 'R.R.RD' * 5 + 'R',
}


@register.encoder('ladder')
class LadderEncoder(nn.Module):
    """VLAE inference ladder: conv stack with N rungs (max-pool + MLP), one latent block each, deepest first."""

    def __init__(self, in_shape: Sequence[int], out_dim: int, blocks: int = 12, latent_dim: int = 12,
                 layout: str | None = None, channels: int = 64, width: int = 64, first_kernel: int = 5,
                 kernel: int = 3, act: str = 'elu', rung_hidden: Sequence[int] | None = None):
        super().__init__()
        self.in_shape, self.out_dim, self.blocks = tuple(in_shape), int(out_dim), int(blocks)
        if self.out_dim % latent_dim:
            raise ConfigError(f'The ladder encoder emits a whole number of values per latent: out_dim {out_dim} '
                              f'is not a multiple of latent_dim {latent_dim}.')
        self.per_latent = self.out_dim // latent_dim          # 1 for an AE, 2 (μ, log σ) for a VAE
        # z_1 (first block) comes from the deepest rung, which is the last one in forward order
        self.block_sizes = block_sizes(latent_dim, self.blocks)
        if layout is None:
            if self.blocks not in LADDER_ENCODER_LAYOUTS:
                raise ConfigError(f'No built-in ladder layout for {blocks} rungs (known: '
                                  f'{sorted(LADDER_ENCODER_LAYOUTS)}); give one with `--encoder.layout R..D...`.')
            layout = LADDER_ENCODER_LAYOUTS[self.blocks]
        if set(layout) - set('R.D') or layout.count('R') != self.blocks:
            raise ConfigError(f"ladder layout {layout!r} must use only 'R', '.', 'D' and hold {blocks} rungs.")
        self.layout = layout
        image = is_image(in_shape)
        if rung_hidden is None:
            rung_hidden = (128, 64) if image else (64,)
        c = channels if image else width
        if image:
            check_image_shape(f'The {blocks}-rung ladder encoder', in_shape, 2 ** (layout.count('D') + 1))
            self.first = ConvLayer(in_shape[0], c, first_kernel, down=True, act=act)
        else:
            self.first = nn.Sequential(nn.Linear(numel(in_shape), c), activation(act))
        rung_sizes = list(reversed(self.block_sizes))          # forward order: the deepest rung is last
        layers, self.kinds = [], []
        for step in layout:
            if step == 'R':
                size = rung_sizes[self.kinds.count('rung')]
                layers.append(mlp(c, self.per_latent * size, rung_hidden, act=act))
                self.kinds.append('rung')
            else:
                layers.append(ConvLayer(c, c, kernel, down=step == 'D', act=act) if image
                              else nn.Sequential(nn.Linear(c, c), activation(act)))
                self.kinds.append('layer')
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, *in_shape) -> (B, out_dim) = [param 1 of every latent, ..., param p of every latent]."""
        h = self.first(x if x.dim() > 2 else x.flatten(1))
        outputs = []
        for kind, layer in zip(self.kinds, self.layers):
            if kind == 'rung':
                pooled = h.amax(dim=(2, 3)) if h.dim() == 4 else h
                outputs.append(layer(pooled).view(x.shape[0], -1, self.per_latent))
            else:
                h = layer(h)
        tuples = torch.cat(outputs[::-1], dim=1)               # (B, d, p), deepest rung first
        return tuples.transpose(1, 2).reshape(x.shape[0], -1)


class GenerativeRung(nn.Module):
    """G_k: v = MLP(u) (no output nonlinearity), broadcast over H×W and concatenated to h along channels."""

    def __init__(self, style_dim: int, features: int, hidden: Sequence[int], act: str):
        super().__init__()
        self.net = mlp(style_dim, features, hidden, act=act)

    def forward(self, h: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        v = self.net(u)
        if h.dim() == 4:
            v = v[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        return torch.cat([h, v], dim=1)


@register.decoder('ladder')
class LadderDecoder(LatentInjectionDecoder):
    """VLAE generative ladder: the structural skeleton with each block concatenated as F feature maps."""
    letter = 'G'

    def __init__(self, latent_dim: int, out_shape: Sequence[int], blocks: int = 12, layout: str | None = None,
                 feature_dim: int = 16, channels: int = 64, width: int = 64, kernel: int = 3, act: str = 'elu',
                 style_hidden: Sequence[int] | None = None):
        self.injection_width = int(feature_dim)
        super().__init__(latent_dim, out_shape, blocks, layout, True, channels, width, kernel, act, style_hidden)

    def make_injection(self, style_dim: int, channels: int, act: str) -> nn.Module:
        return GenerativeRung(style_dim, self.injection_width, self.style_hidden, act)
