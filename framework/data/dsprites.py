"""``dsprites``: DeepMind's dSprites, read unchanged from ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz``.

Only the three arrays ``imgs`` (N, 64, 64) uint8 0/1, ``latents_classes`` (N, 6) and ``latents_values``
(N, 6) are read, with ``allow_pickle=False`` (the ``metadata`` entry is a pickled Python-2 dict and is never
touched). The factor grid is read from ``latents_classes`` and must be complete and row-major (posY
fastest), which the published file is: color 1, shape 3, scale 6, orientation 40, posX 32, posY 32.
The constant colour factor is dropped by default (as disentanglement_lib and disent do, because metrics
divide by a factor's entropy); ``keep_color: true`` keeps all six. The flat index is the same either way.
"""
from __future__ import annotations

import zipfile

import numpy as np
import torch

from ..registry import register
from .images import ImageGridDataset, check_row_major
from .paths import corrupt_file_error, require_files, resolve_root

FILENAME = 'dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz'
FACTOR_NAMES = ('color', 'shape', 'scale', 'orientation', 'posX', 'posY')
FACTOR_SIZES = (1, 3, 6, 40, 32, 32)
FACTOR_VALUES = (
    (1.0,),
    (1.0, 2.0, 3.0),                                            # square, ellipse, heart (publisher's values)
    tuple(np.linspace(0.5, 1.0, 6).tolist()),
    tuple(np.linspace(0.0, 2 * np.pi, 40).tolist()),
    tuple(np.linspace(0.0, 1.0, 32).tolist()),
    tuple(np.linspace(0.0, 1.0, 32).tolist()),
)
KEYS = ('imgs', 'latents_classes', 'latents_values')


@register.dataset('dsprites')
class DSprites(ImageGridDataset):
    """dSprites (DeepMind): 737,280 binary 64x64 sprites; shape, scale, orientation, posX, posY."""
    name = 'dsprites'
    white_value = 1.0

    def __init__(self, root: str = 'local_data/dsprites', keep_color: bool = False, download: bool = False):
        self.root = resolve_root(root, 'dsprites')
        path = require_files('dsprites', self.root, [FILENAME], download)[FILENAME]
        images, classes, values = _read_npz(path)
        sizes = tuple(int(classes[:, i].max()) + 1 for i in range(classes.shape[1]))
        check_row_major('dsprites', path, classes, sizes)
        grids = []
        for i, size in enumerate(sizes):          # the value of each class, read where the others are 0
            strides = int(np.prod(sizes[i + 1:]))
            grids.append(tuple(float(v) for v in values[np.arange(size) * strides, i]))
        keep = slice(0, None) if keep_color else slice(1, None)
        self.factor_names = FACTOR_NAMES[keep]
        self.factor_sizes = sizes[keep]
        self.factor_values_grid = tuple(grids)[keep]
        super().__init__(torch.from_numpy(images).unsqueeze(1))


def _read_npz(path):
    """The three arrays of the published file, each checked; any other problem names the file."""
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in KEYS if k not in data.files]
            if missing:
                raise corrupt_file_error('dsprites', path, f'it has no {", ".join(missing)} '
                                         f'(keys found: {", ".join(data.files) or "none"})')
            images, classes, values = (data[k] for k in KEYS)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as exc:
        raise corrupt_file_error('dsprites', path, f'it cannot be read as an npz archive ({exc})') from None
    n = images.shape[0] if images.ndim else 0
    if images.ndim != 3 or images.dtype != np.uint8:
        raise corrupt_file_error('dsprites', path, f'imgs has shape {images.shape} and dtype {images.dtype}; '
                                 f'expected (N, 64, 64) uint8')
    if classes.shape != (n, 6) or values.shape != (n, 6):
        raise corrupt_file_error('dsprites', path, f'latents_classes {classes.shape} and latents_values '
                                 f'{values.shape} do not match imgs ({n}, 6)')
    if not np.issubdtype(classes.dtype, np.integer) or n == 0 or classes.min() < 0:
        raise corrupt_file_error('dsprites', path, 'latents_classes must hold non-negative integers')
    return images, classes, values
