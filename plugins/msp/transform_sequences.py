"""Transformed image sequences: ``transform-seq`` and MSP's sequential MNIST (``mnist-seq``).

They follow the datasets of the MSP paper (Miyato et al., "Unsupervised Learning of Equivariant Structure from
Sequences", NeurIPS 2022) and its released code; the base class, the sources of randomness and
``as_sequences`` are in ``sequences.py``.

- ``transform-seq`` (``TransformSequences``): a base image under rotation, hue change and translation with
  constant per-sequence velocities (and accelerations for the second-order variant), optionally over a
  static background (MSP's sequential MNIST). Rotation is counter-clockwise on screen; the warp is a pure
  similarity (the original's angle-dependent +-4 % zoom, an artefact of its cv2 perspective matrix, is left
  out).
- ``mnist-seq``: ``transform-seq`` over MNIST with MSP's preprocessing and ranges (digit 4, 28 -> 24 px,
  padded to 32, colourised).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from framework.data import seeding
from framework.data.base import GroundTruthDataset
from framework.data.mnist import MNIST
from framework.errors import ConfigError, DataError
from framework.registry import register

from .image_transforms import colourise, load_background, over_background, prepare, warp
from .sequences import SequenceDataset, _generator_key

ACTIONS = ('rotation', 'hue', 'translation')


@register.dataset('transform-seq')
class TransformSequences(SequenceDataset):
    """Base images under constant-velocity rotation, hue change and translation (MSP's sequential MNIST).

    Per sequence (as the original's sequential MNIST): angle0 ~ U(0, 2 pi), hue0 ~ U(0, 1), positions
    p0, p1 ~ U(translation_range)^2; angular velocity pi U(angle_ratio) rad/frame, hue velocity
    0.5 U(hue_ratio) cycles/frame, translation velocity (p1 - p0) / (max_length - 1) px/frame; the
    accelerations (second-order variant) are pi U(angle_accel_ratio), 0.5 U(hue_accel_ratio) and
    U(translation_accel). ``actions`` not listed are frozen. ``resize``/``pad`` prepare the base image (MNIST:
    24 and 4); ``colour`` colourises grey images (RGB ones get their hue rotated); ``background``: '',
    ``procedural`` or a file of images; ``fresh``: new transformations every batch (training) or fixed per index.
    """

    def __init__(self, base: GroundTruthDataset | None = None, length: int = 3, max_length: int = 0,
                 actions: tuple = ACTIONS, angle_ratio: tuple = (-0.5, 0.5), hue_ratio: tuple = (-0.5, 0.5),
                 translation_range: tuple = (-10.0, 10.0), angle_accel_ratio: tuple = (0.0, 0.0),
                 hue_accel_ratio: tuple = (0.0, 0.0), translation_accel: tuple = (0.0, 0.0),
                 background: str = '', resize: int = 0, pad: int = 0, colour: bool = True, fresh: bool = True,
                 seed: int = 0):
        super().__init__(base, length, fresh, seed)
        unknown = [a for a in actions if a not in ACTIONS]
        if unknown:
            raise ConfigError(f'transform-seq: unknown action(s) {", ".join(unknown)}; actions are '
                              f'{", ".join(ACTIONS)}.')
        self.name = f'{base.name}-seq'
        self.actions = self.moving_factors = tuple(actions)
        self.max_length = int(max_length) or self.length
        self.angle_ratio, self.hue_ratio = _pair(angle_ratio), _pair(hue_ratio)
        self.translation_range = _pair(translation_range)
        self.angle_accel_ratio, self.hue_accel_ratio = _pair(angle_accel_ratio), _pair(hue_accel_ratio)
        self.translation_accel = _pair(translation_accel)
        self.resize, self.pad, self.colour = resize, pad, colour
        channels, height, width = base.observation_shape
        if channels not in (1, 3):
            raise DataError(f'transform-seq: the base images need 1 or 3 channels, not {channels}.')
        side = (resize or height) + 2 * pad, (resize or width) + 2 * pad
        self.observation_shape = (3 if colour else channels, *side)
        self.background = load_background(background, self.observation_shape)

    def __len__(self) -> int:
        return len(self.base)

    def batch(self, indices: torch.Tensor) -> dict[str, torch.Tensor]:
        indices = torch.as_tensor(indices, dtype=torch.long).reshape(-1)
        return self._sequences(indices, self.draw(indices, self.batch_key()))

    def sample_sequences(self, n, length, generator, shared=False, moving=None, force_moving=False):
        """As ``SequenceDataset.sample_sequences``, with the base images drawn uniformly and
        ``max_length = length`` (MSP's evaluation sets max_T = T); velocities are continuous, so every
        moving action moves and ``force_moving`` changes nothing."""
        images = torch.randint(0, len(self.base), (n,), generator=generator)
        state = self.draw(torch.arange(n), _generator_key(generator), length, length, shared,
                          self._moving_names(moving))
        return self._sequences(images, state)

    def draw(self, indices: torch.Tensor, key: int | None = None, length: int | None = None,
             max_length: int | None = None, shared: bool = False, actions=None) -> dict[str, torch.Tensor]:
        """Per-frame angle (B, T), hue (B, T), translation (B, T, 2) and the per-sequence velocity (B, 4)
        [angular, hue, x, y] and acceleration (B, 4): a function of (``key``, index), ``key`` defaulting to
        ``seed``. ``shared`` gives every sequence the first one's velocity and acceleration."""
        key = self.seed if key is None else key
        T = self.length if length is None else int(length)
        max_length = self.max_length if max_length is None else int(max_length)
        actions = self.actions if actions is None else tuple(actions)
        u = seeding.uniform(key, indices, 12).float()
        active = [a in actions for a in ACTIONS]
        angle0, hue0 = 2 * math.pi * u[:, 0], u[:, 1]
        p0 = seeding.between(*self.translation_range, u[:, 2:4])
        p1 = seeding.between(*self.translation_range, u[:, 4:6])
        velocity = torch.cat([math.pi * seeding.between(*self.angle_ratio, u[:, 6:7]),
                              0.5 * seeding.between(*self.hue_ratio, u[:, 7:8]),
                              (p1 - p0) / max(max_length - 1, 1)], 1)
        acceleration = torch.cat([math.pi * seeding.between(*self.angle_accel_ratio, u[:, 8:9]),
                                  0.5 * seeding.between(*self.hue_accel_ratio, u[:, 9:10]),
                                  seeding.between(*self.translation_accel, u[:, 10:12])], 1)
        mask = torch.tensor([active[0], active[1], active[2], active[2]], dtype=torch.float32)
        velocity, acceleration = velocity * mask, acceleration * mask
        if shared:
            velocity, acceleration = velocity[:1].expand_as(velocity), acceleration[:1].expand_as(acceleration)
        if not active[2]:
            p0 = torch.zeros_like(p0)
        t = torch.arange(T, dtype=torch.float32)[None, :]
        angle = angle0[:, None] + velocity[:, :1] * t + 0.5 * acceleration[:, :1] * t ** 2
        hue = (hue0[:, None] + velocity[:, 1:2] * t + 0.5 * acceleration[:, 1:2] * t ** 2).remainder(1.0)
        translation = p0[:, None, :] + velocity[:, None, 2:] * t[..., None] + \
            0.5 * acceleration[:, None, 2:] * t[..., None] ** 2
        return {'angle': angle, 'hue': hue, 'translation': translation,
                'velocity': velocity.contiguous(), 'acceleration': acceleration.contiguous()}

    def _sequences(self, images: torch.Tensor, state: dict) -> dict[str, torch.Tensor]:
        """The batch of the base images ``images`` (B,) under the drawn transformations ``state``."""
        item = self.base.batch(images)
        frames = self.render(item['x'], state['angle'], state['hue'], state['translation'])
        if self.background is not None:
            frames = over_background(frames, self.background_for(images))
        out = {'x': frames, **state}
        if 'y' in item:
            T = state['angle'].shape[1]
            out['y'] = item['y'][:, None].expand(-1, T, *item['y'].shape[1:])
        return out

    def render(self, images: torch.Tensor, angle: torch.Tensor, hue: torch.Tensor,
               translation: torch.Tensor) -> torch.Tensor:
        """Frames (B, T, C', H', W') of base images (B, C, H, W) under per-frame transformations."""
        images = prepare(images, self.resize, self.pad)
        B, T = angle.shape
        frames = warp(images.repeat_interleave(T, 0), angle.reshape(-1), translation.reshape(-1, 2))
        if self.colour:
            frames = colourise(frames, hue.reshape(-1))
        return frames.reshape(B, T, *frames.shape[1:])

    def background_for(self, indices: torch.Tensor) -> torch.Tensor:
        """Static backgrounds (B, C, H, W): the file's images by index, or seeded smooth colour fields."""
        if isinstance(self.background, torch.Tensor):
            return self.background.index_select(0, indices % self.background.shape[0])
        channels, height, width = self.observation_shape
        coarse = seeding.uniform(self.seed + 1, indices, channels * 16).float().reshape(-1, channels, 4, 4)
        return F.interpolate(coarse, size=(height, width), mode='bicubic', align_corners=False).clamp(0, 1)


@register.dataset('mnist-seq')
class MNISTSequences(TransformSequences):
    """MSP's sequential MNIST: rotating, colour-changing, moving digits (32x32 RGB; background optional)."""

    def __init__(self, root: str = 'local_data/mnist', part: str = 'train', digits: tuple = (4,),
                 length: int = 3, max_length: int = 9, actions: tuple = ACTIONS,
                 angle_ratio: tuple = (-0.5, 0.5), hue_ratio: tuple = (-0.5, 0.5),
                 translation_range: tuple = (-10.0, 10.0), angle_accel_ratio: tuple = (0.0, 0.0),
                 hue_accel_ratio: tuple = (0.0, 0.0), translation_accel: tuple = (0.0, 0.0),
                 background: str = '', fresh: bool = True, seed: int = 0, download: bool = False):
        super().__init__(MNIST(root, part, digits, download), length, max_length, actions, angle_ratio, hue_ratio,
                         translation_range, angle_accel_ratio, hue_accel_ratio, translation_accel, background,
                         resize=24, pad=4, colour=True, fresh=fresh, seed=seed)


def _pair(value) -> tuple[float, float]:
    low, high = (float(v) for v in value)
    return low, high
