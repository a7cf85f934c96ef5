"""The structural decoder of "Structure by Architecture: Structured Representations without Regularization"
(Leeb et al., ICLR 2023): SAE, and the AdaAE baseline without the latent split.

The decoder starts from a learned constant ρ (no MLP from z) and runs the conv12/conv16 skeleton, with
*structural transforms* S_k inserted between its layers. The latent z is split into N contiguous blocks
u_1..u_N (``split_latent``); S_k modulates every channel of the feature map h with its own block:

    [m_k ; ℓ_k] = MLP_k(u_k),    h <- exp(ℓ_k) ⊙ h + m_k     (one scale and one shift per channel)

u_1 (the first coordinates) enters at the lowest resolution. Without the split (AdaAE, ``nosplit``) every
S_k reads the whole z. Layout strings name the layers in forward order: ``S`` a structural transform,
``.`` a conv at the same resolution, ``U`` a bilinear ×2 upsample then a conv; the output layer (``U``
conv to the image, no norm, sigmoid) follows the layout. For vectors every conv is Linear(width, width) +
activation and the output layer is a plain Linear (the authors' a/size/vec.yaml).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from framework import register
from framework.errors import ConfigError
from framework.nn.blocks import ConvLayer, Reshape, activation, check_image_shape, is_image, mlp, numel

# forward layouts for N blocks, the layer lists of the authors' config/a/d/strc/<N>.yaml (learn_rep commit
# 3eb037d); every layout has 11 convs (15 for 16) before the output conv
STRUCTURAL_LAYOUTS = {
    12: 'S.SUS.SUS.S.SUS.S.SUS.S',
    6: 'S.US.US..SU.S.US.',
    4: 'S.U.SU..SU..SU.',
    3: 'S.U.US..U.S.U.',
    2: 'S.U.U..SU..U.',
    16: 'SUS.S.SUS.S.SUS.S.SUS.S.SUS.S.S',
}


def block_sizes(latent_dim: int, blocks: int) -> list[int]:
    """Sizes of the N contiguous latent blocks: latent_dim // N each (the first latent_dim % N get one more)."""
    if not 1 <= blocks <= latent_dim:
        raise ConfigError(f'The latent ({latent_dim} dimensions) cannot be split into {blocks} blocks: choose '
                          f'1 <= blocks <= latent_dim (e.g. `--latent-dim {max(blocks, 1)}`).')
    base, extra = divmod(latent_dim, blocks)
    return [base + (1 if k < extra else 0) for k in range(blocks)]


def layout_for(blocks: int, layout: str | None, letter: str = 'S') -> str:
    """The layout string for ``blocks`` transforms (given, or the paper's), checked to hold that many."""
    if layout is None:
        if blocks not in STRUCTURAL_LAYOUTS:
            raise ConfigError(f'No built-in layout for {blocks} structural blocks (known: '
                              f'{sorted(STRUCTURAL_LAYOUTS)}); give one with `--decoder.layout S.SU...`.')
        layout = STRUCTURAL_LAYOUTS[blocks]
    layout = layout.replace('S', letter)
    if set(layout) - {letter, '.', 'U'}:
        raise ConfigError(f"decoder layout {layout!r} may only use '{letter}', '.' and 'U'.")
    if layout.count(letter) != blocks:
        raise ConfigError(f'decoder layout {layout!r} has {layout.count(letter)} transforms but blocks={blocks}.')
    return layout


class StructuralTransform(nn.Module):
    """S_k: per-channel affine modulation h -> exp(ℓ) ⊙ h + m with [m ; ℓ] = MLP(u) (no normalisation of h).

    ``h`` is (B, C, H, W) or (B, C); ``u`` is (B, style_dim). Scale and shift broadcast over H×W.
    """

    def __init__(self, style_dim: int, channels: int, hidden: Sequence[int] = (64, 128), act: str = 'elu'):
        super().__init__()
        self.channels = int(channels)
        self.net = mlp(style_dim, 2 * self.channels, hidden, act=act)

    def modulation(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(scale exp(ℓ), shift m), each (B, C)."""
        shift, log_scale = self.net(u).split(self.channels, dim=1)
        return log_scale.exp(), shift

    def forward(self, h: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        scale, shift = self.modulation(u)
        view = (h.shape[0], self.channels) + (1,) * (h.dim() - 2)
        return h * scale.view(view) + shift.view(view)


class LatentInjectionDecoder(nn.Module):
    """Shared skeleton of the structural and ladder decoders: ρ, then layers with latent blocks injected.

    Subclasses provide ``make_injection(style_dim, channels)`` (a module called as ``module(h, u)``) and
    ``injection_width`` (channels the injection adds to h: 0 for a transform, F for a ladder rung).
    """
    letter = 'S'
    injection_width = 0

    def __init__(self, latent_dim: int, out_shape: Sequence[int], blocks: int, layout: str | None,
                 split_latent: bool, channels: int, width: int, kernel: int, act: str,
                 style_hidden: Sequence[int] | None):
        super().__init__()
        self.latent_dim, self.out_shape = int(latent_dim), tuple(out_shape)
        self.blocks, self.split_latent = int(blocks), bool(split_latent)
        self.layout = layout_for(self.blocks, layout, self.letter)
        sizes = block_sizes(self.latent_dim, self.blocks)
        self.block_sizes = sizes if self.split_latent else [self.latent_dim] * self.blocks
        image = is_image(out_shape)
        if style_hidden is None:
            style_hidden = (64, 128) if image else (64,)
        self.style_hidden = tuple(style_hidden)
        c = channels if image else width
        keep = c - self.injection_width           # what a layer feeding an injection outputs (VLAE: C - F)
        if keep <= 0:
            raise ConfigError(f'feature_dim {self.injection_width} must be smaller than the {c} channels.')
        ups = self.layout.count('U') + 1
        if image:
            check_image_shape(f'The {self.blocks}-block structural decoder', out_shape, 2 ** ups)
            side = (out_shape[1] // 2 ** ups, out_shape[2] // 2 ** ups)
        else:
            side = ()
        first_out = keep if self.layout[0] == self.letter else c
        self.root = nn.Parameter(torch.randn(first_out, *side))         # ρ, initialised N(0, 1)
        layers, kinds, current = [], [], first_out
        for i, step in enumerate(self.layout):
            if step == self.letter:
                layers.append(self.make_injection(self.block_sizes[kinds.count('inject')], current, act))
                kinds.append('inject')
                current += self.injection_width
            else:
                out = keep if i + 1 < len(self.layout) and self.layout[i + 1] == self.letter else c
                if image:
                    layers.append(ConvLayer(current, out, kernel, up=step == 'U', act=act))
                else:
                    layers.append(nn.Sequential(nn.Linear(current, out), activation(act)))
                kinds.append('layer')
                current = out
        self.layers = nn.ModuleList(layers)
        self.kinds = kinds
        if image:
            self.output = ConvLayer(current, out_shape[0], kernel, up=True, norm=False, act='sigmoid')
        else:
            self.output = nn.Sequential(nn.Linear(current, numel(out_shape)), Reshape(out_shape))

    @property
    def latent_groups(self) -> list[int] | None:
        """Block sizes for block ("group") hybrid sampling; None when every block reads the whole latent."""
        return list(self.block_sizes) if self.split_latent else None

    def latent_blocks(self, z: torch.Tensor) -> list[torch.Tensor]:
        """u_1..u_N: contiguous blocks of z (lowest resolution first), or z itself N times without the split."""
        if not self.split_latent:
            return [z] * self.blocks
        return list(z.split(self.block_sizes, dim=1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> (B, *out_shape)"""
        blocks = iter(self.latent_blocks(z))
        h = self.root.unsqueeze(0).expand(z.shape[0], *self.root.shape)
        for kind, layer in zip(self.kinds, self.layers):
            h = layer(h, next(blocks)) if kind == 'inject' else layer(h)
        return self.output(h)

    def make_injection(self, style_dim: int, channels: int, act: str) -> nn.Module:
        raise NotImplementedError


@register.decoder('strc')
class StructuralDecoder(LatentInjectionDecoder):
    """SAE structural decoder: learned constant input, N per-channel modulations each driven by one latent block."""

    def __init__(self, latent_dim: int, out_shape: Sequence[int], blocks: int = 12, layout: str | None = None,
                 split_latent: bool = True, channels: int = 64, width: int = 64, kernel: int = 3,
                 act: str = 'elu', style_hidden: Sequence[int] | None = None):
        super().__init__(latent_dim, out_shape, blocks, layout, split_latent, channels, width, kernel, act,
                         style_hidden)

    def make_injection(self, style_dim: int, channels: int, act: str) -> nn.Module:
        return StructuralTransform(style_dim, channels, self.style_hidden, act)

    @property
    def transforms(self) -> list[StructuralTransform]:
        """S_1..S_N in forward order."""
        return [layer for kind, layer in zip(self.kinds, self.layers) if kind == 'inject']

    def modulations(self, z: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(scale, shift) that each S_k applies for codes z: N pairs of (B, C) tensors."""
        return [s.modulation(u) for s, u in zip(self.transforms, self.latent_blocks(z))]
