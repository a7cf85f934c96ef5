"""``msp-toy-shifts``: a tiny offline factor grid for tests and smoke runs of the sequence methods.

A random smooth pattern, cyclically shifted in x and y (by 2 pixels a step) and with its channels cycled: a
grid of size/2 x size/2 x 3 images. Sequence methods see it as the framework's constant-velocity factor walks
(``factor-walk``, from the top-level ``sequence:`` config), like any other grid dataset.
"""
from __future__ import annotations

import torch

from framework import register
from framework.data.base import InMemoryDataset


@register.dataset('msp-toy-shifts')
class ToyShifts(InMemoryDataset):
    """Tiny offline grid (tests): a random pattern, cyclically shifted in x and y, channels cycled."""
    name = 'msp-toy-shifts'
    factor_names = ('shift_x', 'shift_y', 'channel_cycle')

    def __init__(self, size: int = 16, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        steps = size // 2
        yy, xx = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(), indexing='ij')
        pattern = torch.zeros(3, size, size)
        for c in range(3):
            for _ in range(2):
                cy, cx = torch.randint(size, (2,), generator=g).tolist()
                dy = torch.minimum((yy - cy).abs(), size - (yy - cy).abs())
                dx = torch.minimum((xx - cx).abs(), size - (xx - cx).abs())
                pattern[c] += torch.exp(-(dy ** 2 + dx ** 2) / (2 * (size / 8) ** 2))
        pattern = pattern.clamp(0, 1)
        images, factors = [], []
        for sx in range(steps):                    # row-major over (shift_x, shift_y, channel_cycle)
            for sy in range(steps):
                for cc in range(3):
                    images.append(torch.roll(pattern, (cc, 2 * sy, 2 * sx), (0, 1, 2)))
                    factors.append((sx, sy, cc))
        super().__init__((torch.stack(images) * 255).round().to(torch.uint8), torch.tensor(factors))
        self.factor_sizes = (steps, steps, 3)
