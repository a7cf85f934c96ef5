"""``smallnorb``: NYU's small NORB, read unchanged from its six LeCun binary-matrix files (``.mat``, or ``.mat.gz``).

Format (LeCun): a little-endian int32 magic (0x1E3D4C55 uint8, 0x1E3D4C54 int32, 0x1E3D4C56 int16,
0x1E3D4C51 float32, 0x1E3D4C53 float64), int32 ndim, max(3, ndim) int32 dimensions, then the data. ``dat`` is
(24300, 2, 96, 96) uint8 stereo pairs, ``cat`` (24300,) the category, ``info`` (24300, 4) instance,
elevation 0..8, azimuth 0, 2, .., 34 and lighting 0..5, for the training and the testing halves.

``part`` picks the published halves: ``all`` joins them (48,600 images) as the disentanglement benchmarks do;
``train`` (instances 4, 6, 7, 8, 9) and ``test`` (instances 0, 1, 2, 3, 5) keep one half each, as MSP trains on
the training half and evaluates on the test half. The first image of each stereo pair is resized to ``size``
(64; antialiased bilinear, close to PIL's antialias filter), and the factors are category 5, elevation 9,
azimuth 18 and lighting 6. The instance (numbered 0..n-1 in the order of the published instance ids: 10 over
both halves, 5 in one) is a nuisance: the images are ordered by (category, elevation, azimuth, lighting,
instance), ``indices_to_factors`` ignores the instance and ``factors_to_indices`` picks one at random (as
disentanglement_lib does) unless ``nuisance`` names it. ``instance_factor: true`` makes it a fifth factor
instead (an exact grid).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from ..registry import register
from .images import ImageGridDataset, check_row_major, resize_uint8
from .paths import corrupt_file_error, read_possibly_gzipped, require_files, resolve_root

PARTS = (('46789', 'training'), ('01235', 'testing'))
FILES = [f'smallnorb-5x{ids}x9x18x6x2x96x96-{part}-{kind}.mat'
         for ids, part in PARTS for kind in ('dat', 'cat', 'info')]
MAGIC_TYPES = {0x1E3D4C55: np.uint8, 0x1E3D4C54: np.int32, 0x1E3D4C56: np.int16,
               0x1E3D4C51: np.float32, 0x1E3D4C53: np.float64}
FACTOR_NAMES = ('category', 'elevation', 'azimuth', 'lighting')
PART_NAMES = {'train': ('training',), 'test': ('testing',), 'all': ('training', 'testing')}


@register.dataset('smallnorb')
class SmallNORB(ImageGridDataset):
    """small NORB (LeCun et al.): 48,600 grey toy photos; category, elevation, azimuth, lighting (+ instance)."""
    name = 'smallnorb'
    walk_factors = ('elevation', 'azimuth')          # MSP's moving factors

    def __init__(self, root: str = 'local_data/smallnorb', size: int = 64, instance_factor: bool = False,
                 part: str = 'all', download: bool = False):
        if part not in PART_NAMES:
            raise DataError(f"smallnorb: unknown part {part!r}; choose 'train', 'test' or 'all'.")
        self.root, self.part = resolve_root(root, 'smallnorb'), part
        parts = [(ids, name) for ids, name in PARTS if name in PART_NAMES[part]]
        files = [f for f in FILES if any(f'-{name}-' in f for _, name in parts)]
        paths = require_files('smallnorb', self.root, files, download,
                              alternatives={f: [f + '.gz'] for f in files})
        images, labels = [], []
        for ids, part in parts:
            stem = f'smallnorb-5x{ids}x9x18x6x2x96x96-{part}-'
            dat, cat, info = (read_lecun_matrix(paths[stem + kind + '.mat']) for kind in ('dat', 'cat', 'info'))
            n = dat.shape[0]
            if dat.ndim != 4 or dat.shape[1] != 2 or dat.dtype != np.uint8:
                raise corrupt_file_error('smallnorb', paths[stem + 'dat.mat'], f'the images have shape {dat.shape} '
                                         f'({dat.dtype}); expected (N, 2, 96, 96) uint8')
            cat = cat.reshape(-1)
            if cat.shape != (n,) or info.shape != (n, 4):
                raise corrupt_file_error('smallnorb', paths[stem + 'info.mat'], f'cat {cat.shape} and info '
                                         f'{info.shape} do not match the {n} images ((N,) and (N, 4))')
            images.append(torch.from_numpy(np.ascontiguousarray(dat[:, :1])))
            labels.append(np.column_stack([cat, info[:, 1], info[:, 2] // 2, info[:, 3], info[:, 0]]))
        labels = np.concatenate(labels).astype(np.int64)
        labels[:, -1] = np.unique(labels[:, -1], return_inverse=True)[1].reshape(-1)    # instances 0..n-1
        sizes = tuple(int(v) for v in labels.max(0) + 1)
        order = np.lexsort(labels.T[::-1])                   # row-major: category first, instance last
        check_row_major('smallnorb', self.root / files[2], labels[order], sizes)
        pixels = resize_uint8(torch.cat(images)[torch.from_numpy(order)], size)
        self.nuisance_size = 1 if instance_factor else sizes[-1]
        self.deterministic_images = self.nuisance_size == 1      # else images_for draws the instance
        self.factor_names = FACTOR_NAMES + (('instance',) if instance_factor else ())
        self.factor_sizes = sizes if instance_factor else sizes[:-1]
        self.factor_values_grid = None
        super().__init__(pixels)

    def indices_to_factors(self, indices: torch.Tensor) -> torch.Tensor:
        return super().indices_to_factors(torch.as_tensor(indices, dtype=torch.long) // self.nuisance_size)

    def factors_to_indices(self, factors: torch.Tensor, nuisance: torch.Tensor | None = None) -> torch.Tensor:
        """Flat indices of factor classes; the instance is ``nuisance`` (N,) or drawn at random."""
        flat = super().factors_to_indices(factors)
        if self.nuisance_size == 1:
            return flat
        if nuisance is None:
            nuisance = torch.randint(self.nuisance_size, flat.shape)
        return flat * self.nuisance_size + torch.as_tensor(nuisance, dtype=torch.long)


def read_lecun_matrix(path: Path) -> np.ndarray:
    """A LeCun binary matrix file (``.mat`` or ``.mat.gz``) as a numpy array; a bad header names the file."""
    raw = read_possibly_gzipped('smallnorb', path, min_bytes=20)
    magic, ndim = np.frombuffer(raw[:8], dtype='<i4')
    dtype = MAGIC_TYPES.get(int(magic) & 0xFFFFFFFF)
    if dtype is None:
        raise corrupt_file_error('smallnorb', path, f'bad magic number 0x{int(magic) & 0xFFFFFFFF:08X} '
                                 f'(expected one of {", ".join(f"0x{m:08X}" for m in MAGIC_TYPES)})')
    if not 1 <= ndim <= 8:
        raise corrupt_file_error('smallnorb', path, f'it declares {ndim} dimensions')
    start = 8 + 4 * max(3, int(ndim))
    if len(raw) < start:
        raise corrupt_file_error('smallnorb', path, 'its header is truncated')
    dims = tuple(int(d) for d in np.frombuffer(raw[8:start], dtype='<i4')[:ndim])
    expected = int(np.prod(dims)) * np.dtype(dtype).itemsize
    if any(d < 0 for d in dims) or len(raw) - start != expected:
        raise corrupt_file_error('smallnorb', path, f'it declares shape {dims} ({expected} bytes of data) but '
                                 f'holds {len(raw) - start} bytes (truncated?)')
    return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder('<'), offset=start).reshape(dims)
