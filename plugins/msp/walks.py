"""Constant-velocity factor walks for the MSP evaluation protocols, and a tiny offline sequence dataset.

The walk rule is the original 3DShapes/SmallNORB one (``shared/specs/msp.md`` §4.2): per active factor with n
values, a velocity v ∈ {−⌊n/T⌋..⌊n/T⌋} and a start that keeps the whole walk inside the grid (no
wrap-around). With ``shared`` every walk of the batch has the same velocities (one group element), as the
equivariance protocol needs (§5.2).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from framework import register
from framework.data.base import GroundTruthDataset, InMemoryDataset


def factor_walks(factor_sizes: Sequence[int], n: int, length: int, rng: np.random.RandomState,
                 active: Sequence[int] | None = None, shared: bool = False,
                 fixed: dict[int, int] | None = None, force_moving: bool = False,
                 max_speed: int = 0) -> np.ndarray:
    """Factor classes of n walks of ``length`` steps: (n, length, F) int64.

    Inactive factors stay at a random value; ``fixed`` pins factors to a value (e.g. the 3DShapes shape);
    ``force_moving`` draws |v| >= 1 for the active factors (when the grid allows it); ``max_speed`` > 0 caps |v|.
    """
    sizes = list(factor_sizes)
    active = list(range(len(sizes))) if active is None else list(active)
    steps = np.arange(length)
    out = np.zeros((n, length, len(sizes)), dtype=np.int64)
    for f, size in enumerate(sizes):
        if fixed and f in fixed:
            out[:, :, f] = fixed[f]
            continue
        if f not in active or size < 2:
            out[:, :, f] = rng.randint(0, size, size=n)[:, None]
            continue
        vmax = size // length if length > 1 else 0
        if max_speed:
            vmax = min(vmax, int(max_speed))
        count = 1 if shared else n
        v = rng.randint(1 if force_moving and vmax >= 1 else 0, vmax + 1, size=count) * np.where(rng.rand(count) < 0.5, -1, 1)
        v = np.broadcast_to(v, (n,)).copy()
        span = np.abs(v) * (length - 1)
        low = np.where(v < 0, span, 0)
        high = np.where(v < 0, size, size - span)
        start = low + (rng.rand(n) * (high - low)).astype(np.int64)
        out[:, :, f] = start[:, None] + v[:, None] * steps[None, :]
    return out


def grid_of(dataset: GroundTruthDataset) -> GroundTruthDataset | None:
    """The factor-grid dataset behind ``dataset`` (itself, or a sequence dataset's ``base``), if any."""
    for candidate in (dataset, getattr(dataset, 'base', None), getattr(getattr(dataset, 'parent', None), 'base', None)):
        if candidate is not None and not getattr(candidate, 'is_sequence', False) and candidate.is_grid:
            return candidate
    return None


def walk_images(grid: GroundTruthDataset, walks: np.ndarray) -> torch.Tensor:
    """Frames of walks (n, T, F): (n, T, C, H, W)."""
    n, T, F = walks.shape
    frames = grid.images_for(torch.as_tensor(walks.reshape(n * T, F)))
    return frames.reshape(n, T, *frames.shape[1:])


@register.dataset('msp-toy-shifts')
class ToyShiftSequences(GroundTruthDataset):
    """Tiny offline sequences (tests): a random pattern, cyclically shifted in x and y, channels cycled."""
    name = 'msp-toy-shifts'
    is_sequence = True
    factor_names = ('shift_x', 'shift_y', 'channel_cycle')

    def __init__(self, size: int = 16, num_sequences: int = 2000, seed: int = 0, sequence=None):
        length = int((sequence or {}).get('length', 3))     # the top-level ``sequence: {length: T}``
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
        for sx in range(steps):
            for sy in range(steps):
                for cc in range(3):
                    images.append(torch.roll(pattern, (cc, 2 * sy, 2 * sx), (0, 1, 2)))
                    factors.append((sx, sy, cc))
        self.base = InMemoryDataset((torch.stack(images) * 255).round().to(torch.uint8), torch.tensor(factors))
        self.base.factor_names, self.base.factor_sizes = self.factor_names, (steps, steps, 3)
        self.base.name = 'msp-toy-shifts-frames'
        self.factor_sizes = self.base.factor_sizes
        self.observation_shape = (3, size, size)
        self.length = length
        self.walks = factor_walks(self.factor_sizes, num_sequences, length, np.random.RandomState(seed))

    def __len__(self) -> int:
        return len(self.walks)

    def batch(self, indices):
        walks = self.walks[torch.as_tensor(indices, dtype=torch.long).numpy()]
        return {'x': walk_images(self.base, walks), 'y': torch.as_tensor(walks)}
