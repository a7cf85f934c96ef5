"""Index streams: which observations make each training batch, reproducibly and resumably.

One permutation of the dataset per epoch from a seeded generator; with several processes (DDP) each rank takes
its own slice of every global batch, so ranks see disjoint data and the union equals a single-process run's
batch. The stream's state (epoch, position) goes into checkpoints, which makes resume bit-exact.
"""
from __future__ import annotations

import torch

from ..errors import DataError


class BatchStream:
    """Yields index tensors of ``batch_size // world_size`` for this rank, epoch after epoch, forever."""

    def __init__(self, size: int, batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1,
                 shuffle: bool = True):
        if batch_size % world_size:
            raise DataError(f'batch_size {batch_size} is not divisible by the {world_size} processes; '
                            f'choose a multiple of {world_size}.')
        if size < batch_size:
            raise DataError(f'The training split has {size} observations, fewer than one batch of {batch_size}; '
                            f'lower `--batch_size`.')
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.rank, self.world_size, self.shuffle = rank, world_size, shuffle
        self.epoch, self.position = 0, 0
        self._order = self._permutation()

    def _permutation(self) -> torch.Tensor:
        if not self.shuffle:
            return torch.arange(self.size)
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return torch.randperm(self.size, generator=generator)

    def __iter__(self):
        return self

    def __next__(self) -> torch.Tensor:
        if self.position + self.batch_size > self.size:       # drop the last partial batch
            self.epoch, self.position = self.epoch + 1, 0
            self._order = self._permutation()
        batch = self._order[self.position:self.position + self.batch_size]
        self.position += self.batch_size
        per_rank = self.batch_size // self.world_size
        return batch[self.rank * per_rank:(self.rank + 1) * per_rank]

    def state_dict(self) -> dict:
        return {'epoch': self.epoch, 'position': self.position}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.position = int(state['epoch']), int(state['position'])
        self._order = self._permutation()
