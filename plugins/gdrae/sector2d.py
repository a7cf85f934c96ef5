"""``sector2d``: GDRAE's quarter-annulus manifold (``plugins/gdrae/README.md``), offline and instant; only GDRAE
uses it, so it lives in the plugin.

(u, v) ~ U[0, 1]^2; angle = v pi/2; radius = sqrt(1 + 3u) (``uniform: true``, the exact solution of the
``sector2dunif`` generator's constraints: constant area element, so the points are uniform in area) or
1 + u (``uniform: false``, the original ``sector2d``). The observation is x = (r cos angle, r sin angle) in R^2;
with ``dim`` > 2 it is embedded isometrically into R^dim by the first two columns of a seeded random
orthogonal matrix. The factors are continuous: angle (radians, 0..pi/2) and radius (1..2).
``seed`` fixes the ``num_samples`` draws (and the embedding).
"""
from __future__ import annotations

import math

import torch

from framework.data.base import InMemoryDataset
from framework.errors import DataError
from framework.registry import register


@register.dataset('sector2d')
class Sector2D(InMemoryDataset):
    """GDRAE's Sector2D manifold: 2-D points on a quarter annulus with continuous angle and radius factors."""
    name = 'sector2d'
    factor_names = ('angle', 'radius')
    factor_sizes = (None, None)

    def __init__(self, num_samples: int = 10_000, uniform: bool = True, dim: int = 2, seed: int = 0):
        if dim < 2:
            raise DataError(f'sector2d: dim must be at least 2 (got {dim}).')
        self.uniform, self.dim = uniform, dim
        self.embedding = None
        if dim > 2:                          # its own generator: the points do not depend on ``dim``
            embedding_generator = torch.Generator().manual_seed(seed + 7919)
            q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=embedding_generator))
            self.embedding = q[:, :2].contiguous()
        factors = self.sample_factors(num_samples, torch.Generator().manual_seed(seed))
        super().__init__(self.images_for(factors), factors)

    def sample_factors(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(angle, radius) pairs from the generative distribution: (n, 2)."""
        u, v = torch.rand(n, 2, generator=generator).T          # row i depends on i only: prefixes agree
        radius = torch.sqrt(1 + 3 * u) if self.uniform else 1 + u
        return torch.stack([v * math.pi / 2, radius], -1)

    def images_for(self, factors: torch.Tensor) -> torch.Tensor:
        """Points for (angle, radius) factors: (n, dim)."""
        factors = torch.as_tensor(factors, dtype=torch.float32)
        angle, radius = factors[:, 0], factors[:, 1]
        points = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], -1)
        return points if self.embedding is None else points @ self.embedding.T

    def factor_values(self, factors):
        return torch.as_tensor(factors, dtype=torch.float32)
