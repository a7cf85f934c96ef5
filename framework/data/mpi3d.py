"""``mpi3d``: MPI3D (rr-learning/disentanglement_dataset), read unchanged from ``mpi3d_<category>.npz``.

Each file holds one array ``images`` (1036800, 64, 64, 3) uint8 and no labels: the factors are implied by
the row-major order of object_color 6, object_shape 6, object_size 2, camera_height 3, background_color 3,
horizontal_axis 40, vertical_axis 40. Older releases used other grids (e.g. 4, 4, ... for the 2019 toy
file), so ``factor_sizes`` is an argument, checked against the number of images.

``in_memory: true`` loads the array (11.9 GiB). ``in_memory: false`` memory-maps it straight out of the
npz when the archive stores it uncompressed (np.savez); a compressed archive has to be loaded.
"""
from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from ..registry import register
from .images import ImageGridDataset, channels_first
from .paths import corrupt_file_error, require_files, resolve_root

CATEGORIES = ('toy', 'realistic', 'real')
FACTOR_NAMES = ('object_color', 'object_shape', 'object_size', 'camera_height', 'background_color',
                'horizontal_axis', 'vertical_axis')
FACTOR_SIZES = (6, 6, 2, 3, 3, 40, 40)


@register.dataset('mpi3d')
class MPI3D(ImageGridDataset):
    """MPI3D toy/realistic/real: 1,036,800 64x64 RGB images of a robot-arm object over 7 factors."""
    name = 'mpi3d'
    factor_names = FACTOR_NAMES
    walk_factors = ('horizontal_axis', 'vertical_axis')

    def __init__(self, root: str = 'local_data/mpi3d', category: str = 'toy', in_memory: bool = True,
                 factor_sizes: tuple = FACTOR_SIZES, download: bool = False):
        if category not in CATEGORIES:
            raise DataError(f'mpi3d: unknown category {category!r}; choose one of {", ".join(CATEGORIES)} '
                            f'(`--dataset.category toy`).')
        if len(factor_sizes) != len(FACTOR_NAMES):
            raise DataError(f'mpi3d: factor_sizes needs {len(FACTOR_NAMES)} sizes ({", ".join(FACTOR_NAMES)}), '
                            f'got {tuple(factor_sizes)}.')
        self.root = resolve_root(root, 'mpi3d')
        filename = f'mpi3d_{category}.npz'
        self.path = require_files('mpi3d', self.root, [filename], download, source=f'mpi3d-{category}')[filename]
        self.name = f'mpi3d-{category}'
        self.factor_sizes = tuple(int(s) for s in factor_sizes)
        images = load_images(self.path) if in_memory else memmap_npz_member(self.path, 'images')
        if images.ndim != 4 or images.shape[3] != 3 or images.dtype != np.uint8:
            raise corrupt_file_error('mpi3d', self.path, f'images has shape {images.shape} and dtype '
                                     f'{images.dtype}; expected (N, 64, 64, 3) uint8')
        if images.shape[0] != int(np.prod(self.factor_sizes)):
            raise corrupt_file_error('mpi3d', self.path, f'it holds {images.shape[0]} images, but the factor grid '
                                     f'{self.factor_sizes} has {int(np.prod(self.factor_sizes))} combinations '
                                     f'(another release? set `--dataset.factor_sizes`)')
        self._array = images
        self.observation_shape = (3, images.shape[1], images.shape[2])
        super().__init__(channels_first(torch.from_numpy(images)) if in_memory else None,
                         num_images=images.shape[0])

    def read_rows(self, indices: torch.Tensor) -> torch.Tensor:
        if isinstance(self._array, np.memmap):
            rows = np.asarray(self._array[np.sort(indices.numpy())])
            order = torch.argsort(torch.argsort(indices))
            return channels_first(torch.from_numpy(rows)).index_select(0, order).contiguous()
        return super().read_rows(indices)


def load_images(path: Path) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as data:
            if 'images' not in data.files:
                raise corrupt_file_error('mpi3d', path, f'it has no images (keys found: '
                                         f'{", ".join(data.files) or "none"})')
            return data['images']
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise corrupt_file_error('mpi3d', path, f'it cannot be read as an npz archive ({exc})') from None


def memmap_npz_member(path: Path, key: str) -> np.memmap:
    """A read-only memory map of an uncompressed (``np.savez``) member of an npz archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(f'{key}.npy')
        if info.compress_type != zipfile.ZIP_STORED:
            raise DataError(f'mpi3d: {path} stores {key} compressed, so it cannot be read in place; use '
                            f'`--dataset.in_memory true` (needs the whole array in memory).')
        with open(path, 'rb') as f:
            f.seek(info.header_offset)
            local = f.read(30)
            if local[:4] != b'PK\x03\x04':
                raise ValueError('bad local file header')
            name_length, extra_length = struct.unpack('<HH', local[26:30])
            f.seek(info.header_offset + 30 + name_length + extra_length)
            version = np.lib.format.read_magic(f)
            header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = header(f)
            offset = f.tell()
    except KeyError:
        raise corrupt_file_error('mpi3d', path, f'it has no {key}') from None
    except (zipfile.BadZipFile, OSError, ValueError, struct.error) as exc:
        raise corrupt_file_error('mpi3d', path, f'it cannot be read as an npz archive ({exc})') from None
    if fortran:
        raise corrupt_file_error('mpi3d', path, f'{key} is stored in Fortran order')
    return np.memmap(path, dtype=dtype, mode='r', offset=offset, shape=shape)
