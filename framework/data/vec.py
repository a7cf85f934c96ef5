"""``vec``: the SAE paper's toy dataset (Leeb et al., "Structure by Architecture"), offline and instant.

A frozen, randomly initialised MLP (8 -> 128 -> 128 -> 128 -> 100, Mish between layers, PyTorch's default
initialisation) maps ``num_samples`` draws of N(0, I_8) to 100-D observations. ``seed`` fixes both the network
and the draws, so the same seed gives the same data on every machine. ``standardize`` rescales each coordinate
to zero mean and unit variance (not in the paper; the demo uses it so a β=1 VAE does not collapse).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..registry import register
from .base import InMemoryDataset


@register.dataset('vec')
class RandomNetDataset(InMemoryDataset):
    """Toy vectors: a fixed seeded random network applied to Gaussian factors (8 continuous factors)."""
    name = 'vec'

    def __init__(self, num_samples: int = 100_000, num_nodes: int = 8, out_dim: int = 100,
                 hidden: Sequence[int] = (128, 128, 128), seed: int = 0, standardize: bool = False):
        with torch.random.fork_rng(devices=[]):     # the run's own random state stays untouched
            torch.manual_seed(seed)                 # as the reference: the net's init comes from the seed
            self.net = make_random_net(num_nodes, out_dim, hidden)
        generator = torch.Generator().manual_seed(seed)
        factors = torch.randn(num_samples, num_nodes, generator=generator)
        with torch.no_grad():
            observations = self.net(factors)
        self.shift, self.scale = torch.zeros(out_dim), torch.ones(out_dim)
        if standardize:      # the raw outputs have std ~0.02 per coordinate; a unit-variance likelihood needs more
            self.shift, self.scale = observations.mean(0), observations.std(0)
            observations = (observations - self.shift) / self.scale
        super().__init__(observations, factors)
        self.factor_names = tuple(f'z{i}' for i in range(num_nodes))
        self.factor_sizes = tuple(None for _ in range(num_nodes))

    def sample_factors(self, n, generator=None):
        return torch.randn(n, self.num_factors, generator=generator)

    def images_for(self, factors):
        with torch.no_grad():
            return (self.net(torch.as_tensor(factors, dtype=torch.float32)) - self.shift) / self.scale


def make_random_net(in_dim: int, out_dim: int, hidden: Sequence[int]) -> nn.Module:
    sizes = [in_dim, *hidden, out_dim]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.Mish())
    net = nn.Sequential(*layers)
    for p in net.parameters():
        p.requires_grad_(False)
    return net
