"""Sequence datasets: constant-velocity walks over a ground-truth grid, and transformed image sequences.

Both follow the datasets of the MSP paper (Miyato et al., "Unsupervised Learning of Equivariant Structure from
Sequences", NeurIPS 2022) and its released code, and yield ``{'x': (B, T, C, H, W), ...}``.
``observation_shape`` is the per-frame shape; grid queries (``sample_factors``, ``images_for``,
``factor_values``) answer per frame, through the base dataset (``.base``), so metrics read a sequence-trained
model on single frames.

Where the randomness comes from (every draw is counter-based, ``framework/data/seeding.py``):
- training (``fresh: true``, the default for a training split): each ``batch()`` call takes one 62-bit key
  from torch's default generator, which the trainer seeds and saves in every checkpoint
  (``framework/random_state.py``), so every batch sees new transformations, as the original datasets draw
  on every access, and a resumed run draws exactly what the uninterrupted one would have drawn;
- ``fresh: false`` (validation and test splits): the sequence is a pure function of (``seed``, index);
- ``sample_sequences(n, length, generator, ...)``: the evaluation protocols' walks, from an explicit
  ``torch.Generator``, at any length, optionally sharing one velocity per batch (one group element), moving
  only some factors, or forcing every moving factor to move. This is the one implementation of MSP's walks:
  the plugin's evaluation scripts use it instead of a copy.

- ``factor-walk`` (``FactorWalk``): every moving factor advances by a constant integer velocity per frame.
  ``boundary: bounded`` is MSP's 3DShapes/SmallNORB rule: |v| uniform in 0..n//T with a random sign, the start
  drawn so that the whole walk stays inside 0..n-1, no wrap-around; ``reflect`` bounces off the ends; factors
  named in ``cyclic`` wrap around instead. The other factors are uniform and fixed per sequence (``fixed``
  pins some, e.g. ``{shape: 0}``). A base with a nuisance variable (SmallNORB's instance) keeps ONE value per
  sequence, drawn with the rest of the sequence.
- ``transform-seq`` (``TransformSequences``): a base image under rotation, hue change and translation with
  constant per-sequence velocities (and accelerations for the second-order variant), optionally over a
  static background (MSP's sequential MNIST). Rotation is counter-clockwise on screen; the warp is a pure
  similarity (the original's angle-dependent +-4 % zoom, an artefact of its cv2 perspective matrix, is left
  out).
- ``mnist-seq``: ``transform-seq`` over MNIST with MSP's preprocessing and ranges (digit 4, 28 -> 24 px,
  padded to 32, colourised).

``as_sequences(dataset, **settings)`` turns the configured dataset (or one split of it) into sequences for
methods that declare ``batch_form = 'sequences'``; the settings are the top-level ``sequence:`` config.
"""
from __future__ import annotations

import inspect
import math

import torch
import torch.nn.functional as F

from ..errors import ConfigError, DataError
from ..registry import register
from . import seeding
from .base import GroundTruthDataset, Subset
from .mnist import MNIST
from .transforms import colourise, load_background, over_background, prepare, warp

BOUNDARIES = ('bounded', 'reflect')
ACTIONS = ('rotation', 'hue', 'translation')


def as_sequences(dataset: GroundTruthDataset, kind: str = 'auto', **settings) -> GroundTruthDataset:
    """``dataset`` as a sequence dataset: a factor walk over a grid dataset, else transformation sequences.

    ``kind`` is ``auto``, ``walk`` or ``transform``; ``settings`` are the chosen class's constructor arguments
    (e.g. ``length: 3``). A split (``Subset``) stays a split: sequence ``i`` of the full dataset's sequences is
    used wherever image ``i`` was, so train and val sequences start from disjoint images (transformation
    sequences) or indices. A training split draws fresh sequences every batch; any other split's sequences are
    fixed (``fresh: false``), so validation losses compare across steps and runs.
    """
    if dataset.is_sequence:
        return dataset
    if isinstance(dataset, Subset):
        if settings.get('num_sequences'):
            raise ConfigError('sequence.num_sequences applies to a whole dataset; with a split the split decides '
                              'which sequences are used. Remove `sequence.num_sequences`.')
        if dataset.split != 'train':
            settings = {**settings, 'fresh': False}
        return Subset(as_sequences(dataset.parent, kind, **settings), dataset.indices, dataset.split)
    if kind == 'auto':
        kind = 'walk' if dataset.is_grid and getattr(dataset, 'has_factors', True) else 'transform'
    classes = {'walk': FactorWalk, 'transform': TransformSequences}
    if kind not in classes:
        raise ConfigError(f"sequence.kind must be 'auto', 'walk' or 'transform', not {kind!r}.")
    cls = classes[kind]
    known = [p for p in inspect.signature(cls).parameters if p != 'base']
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise ConfigError(f'Unknown sequence setting(s) {", ".join(unknown)} for {kind} sequences; '
                          f'known: {", ".join(known)}.')
    settings = {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()}
    return cls(dataset, **settings)


class SequenceDataset(GroundTruthDataset):
    """Sequences of frames of a base dataset; per-frame grid queries go to the base.

    The interface that evaluation protocols read (the MSP plugin's ``eval-msp``, ``gen`` and ``sbd``):
    ``moving_factors`` names what a sequence can move (factors of a walk, actions of a transformation), and
    ``sample_sequences`` draws new sequences from an explicit generator. A ``Subset`` of a sequence dataset
    forwards both to it.
    """
    is_sequence = True
    moving_factors: tuple[str, ...] = ()

    def __init__(self, base: GroundTruthDataset, length: int, fresh: bool = True, seed: int = 0):
        if base is None:
            raise ConfigError(f'{type(self).__name__} needs a base dataset: `base: {{_type: dataset/...}}`.')
        if length < 1:
            raise ConfigError(f'sequence length must be at least 1, got {length}.')
        self.base, self.length, self.fresh, self.seed = base, int(length), bool(fresh), int(seed)
        for attr in ('factor_names', 'factor_sizes', 'factor_values_grid', 'has_factors'):
            setattr(self, attr, getattr(base, attr))

    @property
    def is_grid(self) -> bool:
        return False

    def batch_key(self) -> int:
        """The key of this batch's draws: a fresh one from torch's default generator, or the fixed ``seed``."""
        if not self.fresh:
            return self.seed
        return int(torch.randint(0, 2 ** 62, (), dtype=torch.long))

    def sample_sequences(self, n: int, length: int, generator: torch.Generator, shared: bool = False,
                         moving=None, force_moving: bool = False) -> dict[str, torch.Tensor]:
        """``n`` new sequences of ``length`` frames, every draw from ``generator``: ``{'x': (n, T, C, H, W), ...}``.

        ``shared``: one velocity for the whole batch (one group element), other draws per sequence;
        ``moving``: names of the factors (actions) that move, default ``moving_factors``; ``force_moving``:
        every moving factor has |v| >= 1 where its grid allows.
        """
        raise NotImplementedError

    def _moving_names(self, moving) -> tuple[str, ...]:
        names = self.moving_factors if moving is None else tuple(moving)
        unknown = [m for m in names if m not in self.moving_factors and m not in self.factor_names]
        if unknown:
            raise ConfigError(f'{self.name}: cannot move {", ".join(map(str, unknown))}; it moves '
                              f'{", ".join(self.moving_factors)}.')
        return names

    def sample_factors(self, n, generator=None):
        return self.base.sample_factors(n, generator)

    def images_for(self, factors):
        return self.base.images_for(factors)

    def factor_values(self, factors):
        return self.base.factor_values(factors)


def _generator_key(generator: torch.Generator) -> int:
    return int(torch.randint(0, 2 ** 62, (), dtype=torch.long, generator=generator))


@register.dataset('factor-walk')
class FactorWalk(SequenceDataset):
    """Constant-velocity walks over a grid dataset's factors (MSP's 3DShapes/SmallNORB sequences).

    ``moving``: the factors that walk (default: the base's ``walk_factors``, else every factor with more
    than one value); ``cyclic``: factors that wrap around; ``boundary``: ``bounded`` (MSP) or ``reflect``;
    ``max_speed``: the largest |v| (default n // T per factor, MSP's rule); ``force_moving``: |v| >= 1;
    ``fixed``: ``{factor: class}`` held for every sequence; ``num_sequences``: default one per base index;
    ``fresh``: new walks every batch (training) or fixed per index.
    """

    def __init__(self, base: GroundTruthDataset | None = None, length: int = 3, num_sequences: int = 0,
                 moving: tuple = (), cyclic: tuple = (), boundary: str = 'bounded', max_speed: int = 0,
                 force_moving: bool = False, fixed: dict | None = None, fresh: bool = True, seed: int = 0):
        super().__init__(base, length, fresh, seed)
        self.grid = _grid_root(base)
        self.name = f'{self.grid.name}-walk'
        self.observation_shape = tuple(self.grid.observation_shape)
        names = list(self.grid.factor_names)
        moving = tuple(moving) or tuple(getattr(self.grid, 'walk_factors', ())) or \
            tuple(n for n, s in zip(names, self.grid.factor_sizes) if s > 1)
        fixed = dict(fixed or {})
        for factor in (*moving, *cyclic, *fixed):
            if factor not in names:
                raise ConfigError(f'{self.name}: unknown factor {factor!r}; factors are {", ".join(names)}.')
        if boundary not in BOUNDARIES:
            raise ConfigError(f'{self.name}: boundary must be one of {", ".join(BOUNDARIES)}, not {boundary!r}.')
        self.moving = torch.tensor([n in moving and n not in fixed for n in names])
        self.moving_factors = tuple(n for n, m in zip(names, self.moving.tolist()) if m)
        self.cyclic = torch.tensor([n in cyclic for n in names])
        self.fixed = {names.index(n): int(v) for n, v in fixed.items()}
        self.boundary, self.max_speed, self.force_moving = boundary, max_speed, force_moving
        self.num_sequences = int(num_sequences) or len(self.grid)

    def __len__(self) -> int:
        return self.num_sequences

    def batch(self, indices: torch.Tensor) -> dict[str, torch.Tensor]:
        indices = torch.as_tensor(indices, dtype=torch.long).reshape(-1)
        start, velocity, nuisance = self.draw(indices, self.batch_key())
        out = self.sequences_for(start, velocity, nuisance)
        out['velocity'] = velocity
        return out

    def sample_sequences(self, n, length, generator, shared=False, moving=None, force_moving=False):
        names = list(self.grid.factor_names)
        mask = torch.tensor([f in self._moving_names(moving) and i not in self.fixed for i, f in enumerate(names)])
        start, velocity, nuisance = self.draw(torch.arange(n), _generator_key(generator), length, shared, mask,
                                              force_moving)
        out = self.sequences_for(start, velocity, nuisance, length)
        out['velocity'] = velocity
        return out

    def draw(self, indices: torch.Tensor, key: int | None = None, length: int | None = None, shared: bool = False,
             moving: torch.Tensor | None = None, force_moving: bool | None = None):
        """Start classes (B, F), velocities (B, F) and nuisance (B,) or None of the sequences ``indices``.

        Every value is a function of (``key``, index): ``key`` defaults to ``seed``. ``shared`` gives every
        sequence the first one's velocity (its start is then drawn to fit that velocity).
        """
        key = self.seed if key is None else key
        T = self.length if length is None else int(length)
        moving = self.moving if moving is None else moving
        force_moving = self.force_moving if force_moving is None else force_moving
        sizes = torch.tensor(self.grid.factor_sizes, dtype=torch.long)
        u = seeding.uniform(key, indices, 3 * len(sizes) + 1)
        speed_draw, sign_draw, start_draw = (u[:, k:3 * len(sizes):3] for k in range(3))
        top = sizes // T                                       # MSP: |v| <= n // T
        if self.max_speed:
            top = torch.full_like(sizes, self.max_speed)
            if self.boundary == 'bounded' and T > 1:             # a bounded walk must fit inside 0..n-1
                top = torch.where(self.cyclic, top, top.minimum((sizes - 1) // (T - 1)))
        low = torch.full_like(top, 1 if force_moving else 0).minimum(top)
        speed = seeding.randint(low, top + 1, speed_draw)
        velocity = torch.where(sign_draw < 0.5, -speed, speed) * moving
        if shared:
            velocity = velocity[:1].expand_as(velocity).clone()
        free = ~moving | self.cyclic | (self.boundary == 'reflect')
        travel = velocity.abs() * (T - 1)                    # MSP: the walk must stay inside 0..n-1
        bounded = seeding.randint(0, (sizes - travel).clamp_min(1), start_draw) + (velocity < 0) * travel
        start = torch.where(free, seeding.randint(0, sizes, start_draw), bounded)
        for i, value in self.fixed.items():
            start[:, i] = value
        nuisance = None
        if getattr(self.grid, 'nuisance_size', 1) > 1:
            nuisance = seeding.randint(0, self.grid.nuisance_size, u[:, -1])
        return start, velocity, nuisance

    def walk(self, start: torch.Tensor, velocity: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """Factor classes (B, T, F) of walks from ``start`` with ``velocity`` (both (B, F))."""
        sizes = torch.tensor(self.grid.factor_sizes, dtype=torch.long)
        steps = torch.arange(self.length if length is None else int(length), dtype=torch.long)[None, :, None]
        position = start[:, None, :] + velocity[:, None, :] * steps
        wrapped = position.remainder(sizes)
        if self.boundary == 'reflect':
            period = (2 * (sizes - 1)).clamp_min(1)
            folded = position.remainder(period)
            bounced = torch.where(folded > sizes - 1, period - folded, folded)
        else:
            bounced = position.clamp(torch.zeros_like(sizes), sizes - 1)
        return torch.where(self.cyclic, wrapped, bounced)

    def sequences_for(self, start: torch.Tensor, velocity: torch.Tensor, nuisance: torch.Tensor | None = None,
                      length: int | None = None) -> dict[str, torch.Tensor]:
        """``{'x': (B, T, C, H, W), 'y': (B, T, F)}`` for given starts, velocities and per-sequence nuisance."""
        factors = self.walk(torch.as_tensor(start, dtype=torch.long), torch.as_tensor(velocity, dtype=torch.long),
                            length)
        B, T, n_factors = factors.shape
        flat_factors = factors.reshape(B * T, n_factors)
        if nuisance is not None:
            flat = self.grid.factors_to_indices(flat_factors, nuisance=nuisance.repeat_interleave(T))
        else:
            flat = self.grid.factors_to_indices(flat_factors)
        x = self.grid.batch(flat)['x']
        return {'x': x.reshape(B, T, *x.shape[1:]), 'y': factors}


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


def _grid_root(dataset: GroundTruthDataset) -> GroundTruthDataset:
    while isinstance(dataset, Subset):
        dataset = dataset.parent
    if not dataset.is_grid:
        raise DataError(f'factor-walk needs a dataset with a grid of discrete factors; {dataset.name} has '
                        f'factor_sizes={dataset.factor_sizes}. Use transform-seq for plain images.')
    return dataset
