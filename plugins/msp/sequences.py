"""Sequence datasets: the shared base class, constant-velocity walks over a ground-truth grid, ``as_sequences``.

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
- ``transform-seq`` and ``mnist-seq``: transformed image sequences, in ``transform_sequences.py``.

``as_sequences(dataset, **settings)`` turns the configured dataset (or one split of it) into sequences for
methods that declare ``batch_form = 'sequences'``; the settings are the top-level ``sequence:`` config. Only the
MSP methods train on sequences, so the form is this plugin's: it registers it (``framework/data/forms.py``).
"""
from __future__ import annotations

import inspect

import torch

from framework.data import seeding
from framework.data.base import GroundTruthDataset, Subset
from framework.data.forms import BatchForm, register_batch_form
from framework.errors import ConfigError, DataError
from framework.registry import register

BOUNDARIES = ('bounded', 'reflect')


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
    from .transform_sequences import TransformSequences
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
        for attr in ('factor_names', 'factor_sizes', 'factor_values_grid', 'has_factors', 'deterministic_images'):
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


def _grid_root(dataset: GroundTruthDataset) -> GroundTruthDataset:
    while isinstance(dataset, Subset):
        dataset = dataset.parent
    if not dataset.is_grid:
        raise DataError(f'factor-walk needs a dataset with a grid of discrete factors; {dataset.name} has '
                        f'factor_sizes={dataset.factor_sizes}. Use transform-seq for plain images.')
    return dataset


def sequence_options() -> set[str]:
    """The keys of the ``sequence:`` node: ``kind`` and the sequence classes' constructor arguments."""
    from .transform_sequences import TransformSequences
    keys = {'kind'}
    for cls in (FactorWalk, TransformSequences):
        keys |= set(inspect.signature(cls).parameters) - {'base'}
    return keys


register_batch_form(BatchForm(
    'sequences', config_key='sequence', wrap=as_sequences, options=sequence_options,
    help='how a sequence method sees an image dataset: sequence.kind (auto, walk, transform), sequence.length, ...'))
