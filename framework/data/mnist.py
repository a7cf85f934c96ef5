"""``mnist``: LeCun's MNIST, read unchanged from its IDX files (optionally gzipped).

IDX is big-endian: images have magic 2051, count, rows, cols, then uint8 pixels; labels magic 2049, count,
then uint8 labels. ``part`` picks the 60,000 training images, the 10,000 test images or both (``all``,
training first); ``digits`` keeps only some digits (MSP trains on the 4s). The digit is a label, not a
generative factor: it is returned as ``y`` (B, 1), and grid queries are refused (``is_grid`` is false).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from ..registry import register
from .images import ImageGridDataset
from .paths import corrupt_file_error, read_possibly_gzipped, require_files, resolve_root

PART_FILES = {'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
              'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')}


@register.dataset('mnist')
class MNIST(ImageGridDataset):
    """MNIST digits (LeCun et al.): 70,000 28x28 grey images with their digit labels."""
    name = 'mnist'
    factor_names = ('digit',)
    factor_sizes = (10,)

    def __init__(self, root: str = 'local_data/mnist', part: str = 'all', digits: tuple = (),
                 download: bool = False):
        if part not in ('train', 'test', 'all'):
            raise DataError(f"mnist: unknown part {part!r}; choose 'train', 'test' or 'all'.")
        self.root = resolve_root(root, 'mnist')
        parts = ('train', 'test') if part == 'all' else (part,)
        names = [f for p in parts for f in PART_FILES[p]]
        paths = require_files('mnist', self.root, names, download, alternatives={f: [f + '.gz'] for f in names})
        images, labels = [], []
        for p in parts:
            image_path, label_path = (paths[f] for f in PART_FILES[p])
            pixels, digits_of = read_idx(image_path, 2051), read_idx(label_path, 2049)
            if pixels.ndim != 3 or digits_of.shape != (pixels.shape[0],):
                raise corrupt_file_error('mnist', label_path, f'{digits_of.shape[0]} labels for images of shape '
                                         f'{pixels.shape}')
            images.append(pixels)
            labels.append(digits_of)
        images, labels = np.concatenate(images), np.concatenate(labels).astype(np.int64)
        if digits:
            keep = np.isin(labels, np.asarray(digits, dtype=np.int64))
            if not keep.any():
                raise DataError(f'mnist: no images of digits {tuple(digits)}; digits are 0..9.')
            images, labels = images[keep], labels[keep]
        self.labels = torch.from_numpy(labels)[:, None]
        super().__init__(torch.from_numpy(images).unsqueeze(1))

    @property
    def is_grid(self) -> bool:
        return False

    def factors_of(self, indices: torch.Tensor) -> torch.Tensor:
        return self.labels.index_select(0, indices)


def read_idx(path: Path, magic: int) -> np.ndarray:
    """An IDX file (``.gz`` or not) whose magic must be ``magic`` (2051 images, 2049 labels)."""
    raw = read_possibly_gzipped('mnist', path, min_bytes=8)
    found = int.from_bytes(raw[:4], 'big')
    if found != magic:
        raise corrupt_file_error('mnist', path, f'bad magic number {found} (expected {magic})')
    ndim = 3 if magic == 2051 else 1
    header = 4 + 4 * ndim
    dims = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype='>i4'))
    if len(raw) - header != int(np.prod(dims)):
        raise corrupt_file_error('mnist', path, f'it declares shape {dims} but holds {len(raw) - header} bytes '
                                 f'of data (truncated?)')
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)
