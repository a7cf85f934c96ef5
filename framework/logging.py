"""TensorBoard scalars and image grids (reconstructions, latent traversals, samples), and their PNGs.

Only rank 0 writes. Vector data gets no image grids (there is nothing to look at), only scalars.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .hybrid import hybrid_codes


class RunLogger:
    """A TensorBoard writer in the run directory; a no-op on ranks other than 0."""

    def __init__(self, run_dir: Path | None, enabled: bool = True):
        self.writer = None
        if enabled and run_dir is not None:
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(log_dir=str(run_dir))

    def scalars(self, values: dict[str, float], step: int, prefix: str = '') -> None:
        if self.writer is None:
            return
        for key, value in values.items():
            self.writer.add_scalar(f'{prefix}{key}', float(value), step)

    def images(self, grids: dict[str, torch.Tensor], step: int) -> None:
        if self.writer is None:
            return
        for key, grid in grids.items():
            self.writer.add_image(key, grid.clamp(0, 1), step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()


def make_grid(images: torch.Tensor, nrow: int, padding: int = 2) -> torch.Tensor:
    """(N, C, H, W) -> (C', H', W') grid with ``nrow`` images per row; grey images become RGB."""
    images = images.detach().float().cpu().clamp(0, 1)
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    n, c, h, w = images.shape
    rows = (n + nrow - 1) // nrow
    grid = torch.ones(c, rows * (h + padding) + padding, nrow * (w + padding) + padding)
    for i in range(n):
        r, col = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, top:top + h, left:left + w] = images[i]
    return grid


def save_png(grid: torch.Tensor, path: Path) -> None:
    from PIL import Image
    array = (grid.clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(array).save(path)


@torch.no_grad()
def image_grids(method, dataset, device: torch.device, num: int = 8, steps: int = 9,
                generator: torch.Generator | None = None, hybrid: bool = False) -> dict[str, torch.Tensor]:
    """Grids of what a method does: originals over reconstructions, traversals, prior and hybrid samples."""
    if len(dataset.observation_shape) != 3 or getattr(dataset, 'is_sequence', False):
        return {}
    generator = generator or torch.Generator().manual_seed(0)
    was_training = method.training
    method.eval()
    try:
        indices = torch.randperm(len(dataset), generator=generator)[:num]
        x = dataset.batch(indices)['x'].to(device)
        grids = {}
        if hasattr(method, 'reconstruct'):
            grids['reconstructions'] = make_grid(torch.cat([x, method.reconstruct(x)]), nrow=num)
        if hasattr(method, 'decode'):
            grids['traversals'] = make_grid(latent_traversals(method, x[:1], steps), nrow=steps)
        if hasattr(method, 'sample'):
            grids['prior_samples'] = make_grid(method.sample(num * 2, generator=generator), nrow=num)
        if hybrid and hasattr(method, 'decode'):
            codes = hybrid_codes(method, dataset, num * 2, device, generator=generator)
            grids['hybrid_samples'] = make_grid(method.decode(codes), nrow=num)
        return grids
    finally:
        method.train(was_training)


def latent_traversals(method, x: torch.Tensor, steps: int = 9, span: float = 2.0) -> torch.Tensor:
    """Decode the code of ``x`` with one latent at a time moved over [-span, span]: (D * steps, C, H, W)."""
    code = method.represent(x)[0]
    values = torch.linspace(-span, span, steps, device=code.device)
    codes = code.repeat(code.numel() * steps, 1)
    for d in range(code.numel()):
        codes[d * steps:(d + 1) * steps, d] = values
    return method.decode(codes)
