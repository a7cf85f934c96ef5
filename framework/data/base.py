"""The ground-truth dataset contract that every method, metric and sequence dataset reads through.

Factors are integer *classes* (the index of each factor's value in its grid) for discrete factors, and real
values for continuous ones (``factor_sizes[i] is None``). The flat index of a factor combination is its
row-major position in the factor grid, which is also the image order of the published files.

Batches are gathered by index (``dataset.batch(indices)``) from one tensor or one renderer call: no
per-item Python work, no DataLoader for data that fits in memory.
"""
from __future__ import annotations

from typing import Sequence

import torch

from ..errors import DataError


class GroundTruthDataset:
    """Base class: ``observation_shape``, ``factor_names``, ``factor_sizes`` and batched access.

    Subclasses implement ``__len__`` and ``batch(indices)``; grid datasets get the factor/index conversions
    from ``factor_sizes``. ``__getitem__`` is ``batch`` of one index, for inspection and tests.
    """
    name: str = 'dataset'
    observation_shape: tuple[int, ...] = ()
    factor_names: tuple[str, ...] = ()
    factor_sizes: tuple[int | None, ...] | None = ()
    factor_values_grid: tuple[Sequence[float], ...] | None = None   # physical values of each class, if known
    has_factors: bool = True
    is_sequence: bool = False
    metric_suite: str | None = None      # the suite (eval/<name>) of the published dataset this one imitates
    deterministic_images: bool = True    # images_for gives one observation per combination (metrics keep its code)

    # -- size and access
    def __len__(self) -> int:
        raise NotImplementedError

    def batch(self, indices: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{'x': float (B, *observation_shape) in [0, 1] for images, 'y': factors (B, F)}``."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not -len(self) <= index < len(self):
            raise IndexError(f'index {index} out of range for {self.name} of size {len(self)}')
        item = self.batch(torch.tensor([index % len(self)]))
        return {key: value[0] for key, value in item.items()}

    # -- factor grid
    @property
    def num_factors(self) -> int:
        return len(self.factor_names)

    @property
    def is_grid(self) -> bool:
        """True when every factor is discrete and the images enumerate the full grid in row-major order."""
        return bool(self.factor_sizes) and all(size is not None for size in self.factor_sizes)

    def _require_grid(self, what: str) -> None:
        if not self.is_grid:
            raise DataError(f'{self.name}: {what} needs a full grid of discrete factors '
                            f'(factor_sizes={self.factor_sizes}).')

    def factors_to_indices(self, factors: torch.Tensor) -> torch.Tensor:
        """Factor classes (N, F) -> flat row-major indices (N,)."""
        self._require_grid('factors_to_indices')
        factors = torch.as_tensor(factors, dtype=torch.long)
        sizes = torch.tensor(self.factor_sizes, dtype=torch.long)
        if (factors < 0).any() or (factors >= sizes).any():
            raise ValueError(f'{self.name}: factor classes out of range for sizes {self.factor_sizes}')
        strides = torch.ones(len(sizes), dtype=torch.long)
        for i in range(len(sizes) - 2, -1, -1):
            strides[i] = strides[i + 1] * sizes[i + 1]
        return (factors * strides).sum(-1)

    def indices_to_factors(self, indices: torch.Tensor) -> torch.Tensor:
        """Flat row-major indices (N,) -> factor classes (N, F)."""
        self._require_grid('indices_to_factors')
        rest = torch.as_tensor(indices, dtype=torch.long).clone()
        columns = []
        for size in reversed(self.factor_sizes):
            columns.append(rest % size)
            rest = rest // size
        return torch.stack(columns[::-1], dim=-1)

    def sample_factors(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` factor combinations drawn uniformly from the grid: (n, F) classes."""
        self._require_grid('sample_factors')
        return torch.stack([torch.randint(size, (n,), generator=generator) for size in self.factor_sizes], dim=-1)

    def images_for(self, factors: torch.Tensor) -> torch.Tensor:
        """Observations for factor classes (N, F): float (N, *observation_shape)."""
        return self.batch(self.factors_to_indices(factors))['x']

    def factor_values(self, factors: torch.Tensor) -> torch.Tensor:
        """Physical values of factor classes (e.g. scale 0.5..1); the classes themselves if unknown."""
        factors = torch.as_tensor(factors, dtype=torch.long)
        if self.factor_values_grid is None:
            return factors.float()
        return torch.stack([torch.as_tensor(grid, dtype=torch.float32)[factors[:, i]]
                            for i, grid in enumerate(self.factor_values_grid)], dim=-1)


class InMemoryDataset(GroundTruthDataset):
    """Observations in one tensor (uint8 images or float vectors), factors in another; batches by gather."""

    def __init__(self, observations: torch.Tensor, factors: torch.Tensor | None = None):
        self.observations = observations
        self.factors = factors
        self.observation_shape = tuple(observations.shape[1:])

    def __len__(self) -> int:
        return self.observations.shape[0]

    def batch(self, indices: torch.Tensor) -> dict[str, torch.Tensor]:
        indices = torch.as_tensor(indices, dtype=torch.long)
        x = self.observations.index_select(0, indices)
        x = x.float().div_(255) if x.dtype == torch.uint8 else x.float()
        out = {'x': x}
        if self.factors is not None:
            out['y'] = self.factors.index_select(0, indices)
        return out


class Subset(GroundTruthDataset):
    """A split of a dataset: a fixed list of indices into it; factors and grid queries use the parent."""

    def __init__(self, parent: GroundTruthDataset, indices: torch.Tensor, split: str):
        self.parent, self.indices, self.split = parent, torch.as_tensor(indices, dtype=torch.long), split
        for attr in ('name', 'observation_shape', 'factor_names', 'factor_sizes', 'factor_values_grid',
                     'has_factors', 'is_sequence', 'metric_suite', 'deterministic_images'):
            setattr(self, attr, getattr(parent, attr))

    def __len__(self) -> int:
        return len(self.indices)

    def batch(self, indices: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.parent.batch(self.indices[torch.as_tensor(indices, dtype=torch.long)])

    # grid queries (metrics sample the whole grid, as the reference protocols do)
    def factors_to_indices(self, factors):
        return self.parent.factors_to_indices(factors)

    def indices_to_factors(self, indices):
        return self.parent.indices_to_factors(indices)

    def sample_factors(self, n, generator=None):
        return self.parent.sample_factors(n, generator)

    def images_for(self, factors):
        return self.parent.images_for(factors)

    def factor_values(self, factors):
        return self.parent.factor_values(factors)

    def __getattr__(self, name):          # dataset-specific extras (e.g. a sequence dataset's base)
        if name == 'parent':
            raise AttributeError(name)
        return getattr(self.parent, name)


SPLITS = ('train', 'val', 'test', 'full')


def split_dataset(dataset: GroundTruthDataset, split: str, val: float = 0.1, test: float = 0.0,
                  seed: int = 0) -> GroundTruthDataset:
    """A seeded split: one permutation of all indices, the first ``test`` fraction is test, then val, then train.

    The permutation depends only on the dataset size and ``seed``, so every run of the same dataset sees the
    same splits. ``full`` is the whole dataset.
    """
    if split not in SPLITS:
        raise DataError(f'Unknown split {split!r}; choose one of {", ".join(SPLITS)}.')
    if split == 'full':
        return dataset
    n = len(dataset)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed)))
    n_test, n_val = int(round(n * test)), int(round(n * val))
    parts = {'test': order[:n_test], 'val': order[n_test:n_test + n_val], 'train': order[n_test + n_val:]}
    if len(parts[split]) == 0:
        raise DataError(f'{dataset.name}: the {split!r} split is empty (val={val}, test={test}, size {n}); '
                        f'set `--split.val` / `--split.test` above 0 or evaluate another split.')
    return Subset(dataset, parts[split], split)
