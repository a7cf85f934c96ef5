"""What the published-format loaders share: a uint8 image grid gathered by index, and format checks.

``ImageGridDataset`` holds the images as one uint8 tensor ``(N, C, H, W)`` (possibly a channels-last view of
the file's own array, so nothing is copied) or reads them from disk through ``read_rows``; the factors of a
grid dataset come from the flat index, so they cost no memory.

The factor grid of a file is **read from the file's own labels** where the file has labels (dSprites,
3DShapes, SmallNORB) and checked to be complete and in row-major order (``grid_from_labels``). A published
file gives the published grid; a smaller file in the same format (a test fixture) gives its own smaller
grid, and a file whose labels do not form a complete grid is refused. MPI3D has no labels, so its grid is
a constructor argument checked against the number of images.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .base import GroundTruthDataset
from .paths import corrupt_file_error


class ImageGridDataset(GroundTruthDataset):
    """Images gathered by index from one uint8 tensor (``N, C, H, W``); factors from the flat index."""
    white_value: float = 255.0          # the uint8 value of a white pixel (1 for dSprites' 0/1 images)

    def __init__(self, images: torch.Tensor | None, num_images: int | None = None):
        self.images = images
        self.num_images = int(images.shape[0] if num_images is None else num_images)
        if images is not None:
            self.observation_shape = tuple(images.shape[1:])

    def __len__(self) -> int:
        return self.num_images

    def read_rows(self, indices: torch.Tensor) -> torch.Tensor:
        """uint8 images ``(B, C, H, W)`` for flat indices; on-disk datasets override this."""
        return self.images.index_select(0, indices).contiguous()

    def factors_of(self, indices: torch.Tensor) -> torch.Tensor:
        """Factor classes of flat indices (grid datasets); datasets with stored labels override this."""
        return self.indices_to_factors(indices)

    def batch(self, indices: torch.Tensor) -> dict[str, torch.Tensor]:
        indices = torch.as_tensor(indices, dtype=torch.long).reshape(-1)
        if len(indices) and (indices.min() < 0 or indices.max() >= len(self)):
            raise IndexError(f'{self.name}: indices out of range for {len(self)} observations')
        x = self.read_rows(indices).float().div_(self.white_value)
        out = {'x': x}
        if self.has_factors and self.factor_sizes:
            out['y'] = self.factors_of(indices)
        return out


def grid_from_labels(name: str, path: Path, values: np.ndarray, decimals: int = 6
                     ) -> tuple[tuple[int, ...], tuple[tuple[float, ...], ...]]:
    """Factor sizes and value grids from per-image factor values ``(N, F)``; the rows must be the full grid
    in row-major order (as the publishers store them), else the file is refused."""
    values = np.round(np.asarray(values, dtype=np.float64), decimals)
    grids = [np.unique(values[:, i]) for i in range(values.shape[1])]
    classes = np.stack([np.searchsorted(grid, values[:, i]) for i, grid in enumerate(grids)], axis=1)
    check_row_major(name, path, classes, tuple(len(g) for g in grids))
    return tuple(len(g) for g in grids), tuple(tuple(float(v) for v in g) for g in grids)


def check_row_major(name: str, path: Path, classes: np.ndarray, sizes: Sequence[int]) -> None:
    """``classes`` (N, F) must enumerate the grid ``sizes`` in row-major order."""
    total = int(np.prod(sizes))
    if classes.shape[0] != total:
        raise corrupt_file_error(name, path, f'its {classes.shape[0]} labelled images do not fill the factor '
                                 f'grid {tuple(int(s) for s in sizes)} ({total} combinations)')
    strides = np.cumprod((list(sizes[1:]) + [1])[::-1])[::-1]
    flat = classes.astype(np.int64) @ strides.astype(np.int64)
    if not np.array_equal(flat, np.arange(total)):
        raise corrupt_file_error(name, path, 'its labels are not the factor grid in row-major order')


def channels_first(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 ``(N, H, W, C)`` or ``(N, H, W)`` -> a ``(N, C, H, W)`` view of the same memory."""
    tensor = torch.as_tensor(images)
    if tensor.dim() == 3:
        return tensor.unsqueeze(1)
    return tensor.permute(0, 3, 1, 2)


def resize_uint8(images: torch.Tensor, size: int, chunk: int = 2048) -> torch.Tensor:
    """uint8 ``(N, C, H, W)`` -> uint8 ``(N, C, size, size)`` by antialiased bilinear resampling, in chunks."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images.contiguous()
    out = torch.empty(images.shape[0], images.shape[1], size, size, dtype=torch.uint8)
    for start in range(0, images.shape[0], chunk):
        part = images[start:start + chunk].float()
        resized = F.interpolate(part, size=(size, size), mode='bilinear', antialias=True, align_corners=False)
        out[start:start + chunk] = resized.round_().clamp_(0, 255).to(torch.uint8)
    return out


def read_h5_rows(dataset, indices: torch.Tensor) -> np.ndarray:
    """Rows of an h5py dataset for any index order: reads the sorted unique indices, then reorders."""
    indices = np.asarray(indices, dtype=np.int64)
    unique, inverse = np.unique(indices, return_inverse=True)
    rows = dataset[unique] if len(unique) > 1 else dataset[int(unique[0]):int(unique[0]) + 1]
    return rows[inverse]
