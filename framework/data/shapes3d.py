"""``3dshapes``: DeepMind's 3DShapes, read unchanged from ``3dshapes.h5``.

The file holds ``images`` (480000, 64, 64, 3) uint8 and ``labels`` (480000, 6) float64 in row-major factor
order (orientation fastest): floor_hue 10, wall_hue 10, object_hue 10 (0..0.9), scale 8 (0.75..1.25), shape 4
(cube, cylinder, sphere, capsule), orientation 15 (-30..30 degrees). The grid is read from ``labels``.

``in_memory: true`` (default) reads the images once into a uint8 array (5.5 GiB) and gathers batches from
it; ``in_memory: false`` keeps the file open and reads each batch's sorted unique rows from HDF5 (slower per
image, no memory; copy the file to a local disk first if it sits on a network drive).
"""
from __future__ import annotations

import os

import numpy as np
import torch

from ..registry import register
from .images import ImageGridDataset, channels_first, grid_from_labels, read_h5_rows
from .paths import corrupt_file_error, require_files, resolve_root

FILENAME = '3dshapes.h5'
FACTOR_NAMES = ('floor_hue', 'wall_hue', 'object_hue', 'scale', 'shape', 'orientation')
FACTOR_SIZES = (10, 10, 10, 8, 4, 15)


@register.dataset('3dshapes')
class Shapes3D(ImageGridDataset):
    """3DShapes (DeepMind): 480,000 64x64 RGB scenes; floor, wall and object hue, scale, shape, orientation."""
    name = '3dshapes'
    metric_suite = '3ds'
    factor_names = FACTOR_NAMES
    walk_factors = ('floor_hue', 'wall_hue', 'object_hue', 'scale', 'orientation')   # MSP's moving factors

    def __init__(self, root: str = 'local_data/3dshapes', in_memory: bool = True, download: bool = False):
        import h5py
        self.root = resolve_root(root, '3dshapes')
        self.path = require_files('3dshapes', self.root, [FILENAME], download)[FILENAME]
        self.in_memory = in_memory
        self._file, self._pid = None, None
        try:
            with h5py.File(self.path, 'r') as f:
                missing = [k for k in ('images', 'labels') if k not in f]
                if missing:
                    raise corrupt_file_error('3dshapes', self.path, f'it has no dataset {", ".join(missing)} '
                                             f'(found: {", ".join(f.keys()) or "none"})')
                images, labels = f['images'], f['labels']
                n = images.shape[0] if images.ndim else 0
                if images.ndim != 4 or images.shape[3] != 3 or images.dtype != np.uint8:
                    raise corrupt_file_error('3dshapes', self.path, f'images has shape {images.shape} and '
                                             f'dtype {images.dtype}; expected (N, 64, 64, 3) uint8')
                if labels.shape != (n, 6):
                    raise corrupt_file_error('3dshapes', self.path,
                                             f'labels has shape {labels.shape}; expected ({n}, 6)')
                label_values = labels[()]
                self.observation_shape = (3, images.shape[1], images.shape[2])
                pixels = images[()] if in_memory else None
        except OSError as exc:
            raise corrupt_file_error('3dshapes', self.path, f'it is not a readable HDF5 file ({exc})') from None
        self.factor_sizes, self.factor_values_grid = grid_from_labels('3dshapes', self.path, label_values)
        super().__init__(channels_first(pixels) if in_memory else None, num_images=n)

    def read_rows(self, indices: torch.Tensor) -> torch.Tensor:
        if self.in_memory:
            return super().read_rows(indices)
        return channels_first(torch.from_numpy(read_h5_rows(self._images(), indices.numpy()))).contiguous()

    def _images(self):
        """The open HDF5 dataset of this process (reopened after a fork, e.g. in a DataLoader worker)."""
        import h5py
        if self._file is None or self._pid != os.getpid():
            self._file, self._pid = h5py.File(self.path, 'r'), os.getpid()
        return self._file['images']

    def __getstate__(self):
        state = dict(self.__dict__)
        state['_file'] = state['_pid'] = None
        return state
