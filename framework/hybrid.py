"""Hybrid sampling (Leeb et al., "Structure by Architecture", Sec. 3): new codes whose coordinates come from different observations.

Each latent coordinate (or each block of coordinates, with ``groups``) of a new code is drawn independently
from a bank of encoded training codes, so samples follow the product of the aggregate posterior's marginals.
The bank is re-encoded on demand from the training data with a seeded generator, so it needs no checkpoint
state and works for every method with ``represent`` and ``decode``.
"""
from __future__ import annotations

from typing import Sequence

import torch


@torch.no_grad()
def encode_bank(method, dataset, size: int, device: torch.device, generator: torch.Generator,
                batch_size: int = 256) -> torch.Tensor:
    """Representations of ``size`` random training observations: (size, D)."""
    indices = torch.randperm(len(dataset), generator=generator)[:size]
    return torch.cat([method.represent(dataset.batch(chunk)['x'].to(device))
                      for chunk in indices.split(batch_size)])


def hybridize(bank: torch.Tensor, n: int, generator: torch.Generator,
              groups: Sequence[int] | None = None) -> torch.Tensor:
    """``n`` hybrid codes from a bank (B, D): each coordinate, or each block of ``groups`` sizes, from its own row."""
    rows, dim = bank.shape
    groups = list(groups) if groups else [1] * dim
    if sum(groups) != dim:
        raise ValueError(f'hybrid groups {groups} do not add up to the latent size {dim}')
    picks = torch.randint(rows, (n, len(groups)), generator=generator)
    block_of_coordinate = torch.repeat_interleave(torch.arange(len(groups)), torch.tensor(groups))
    row_of_coordinate = picks[:, block_of_coordinate].to(bank.device)
    return bank.gather(0, row_of_coordinate)


@torch.no_grad()
def hybrid_codes(method, dataset, n: int, device: torch.device, generator: torch.Generator,
                 bank_size: int = 1024, groups: Sequence[int] | None = None) -> torch.Tensor:
    bank = encode_bank(method, dataset, min(bank_size, len(dataset)), device, generator)
    return hybridize(bank, n, generator, groups)
