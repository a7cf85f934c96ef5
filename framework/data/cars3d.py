"""``cars3d``: Reed et al.'s Cars3D, read unchanged from the ``car_*_mesh.mat`` files (scipy.io.loadmat).

Each file holds ``im`` (128, 128, 3, 24, 4) uint8: height, width, colour, 24 azimuths, 4 elevations. The
images are resized to 64x64 (antialiased bilinear) and ordered row-major over (elevation 4, azimuth 24,
object). The object order is that of ``list.txt`` when the folder has one (the archive's own order, as
disent uses), else the sorted file names, so it never depends on the file system; the number of objects
is the number of files (183 in the published archive). ``fig download-dataset --name cars3d`` unpacks
the archive's ``data/cars`` folder into the dataset folder.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from ..registry import register
from .images import ImageGridDataset, resize_uint8
from .paths import corrupt_file_error, download_hint, require_files, resolve_root

PATTERN = 'car_*_mesh.mat'
FACTOR_NAMES = ('elevation', 'azimuth', 'object')


@register.dataset('cars3d')
class Cars3D(ImageGridDataset):
    """Cars3D (Reed et al. 2015): 17,568 64x64 RGB renders; elevation 4, azimuth 24, object 183."""
    name = 'cars3d'
    factor_names = FACTOR_NAMES
    walk_factors = ('elevation', 'azimuth')

    def __init__(self, root: str = 'local_data/cars3d', size: int = 64, download: bool = False):
        self.root = resolve_root(root, 'cars3d')
        files = car_files(self.root)
        if not files and download:
            require_files('cars3d', self.root, ['car_001_mesh.mat'], download=True)
            files = car_files(self.root)
        if not files:
            raise DataError(f'cars3d: expected the files car_001_mesh.mat .. car_183_mesh.mat ({PATTERN}) in '
                            f'{self.root}, found none. {download_hint("cars3d")}')
        self.files = files
        per_object = torch.stack([_resized(read_car(path), size) for path in files], dim=2)
        elevations, azimuths = per_object.shape[:2]
        self.factor_sizes = (elevations, azimuths, len(files))
        super().__init__(per_object.reshape(-1, 3, size, size))


def car_files(root: Path) -> list[Path]:
    """The car files in ``list.txt`` order when it names them all, else sorted by name."""
    files = sorted(root.glob(PATTERN))
    listing = root / 'list.txt'
    if files and listing.is_file():
        by_stem = {p.stem: p for p in files}
        names = [line.strip().removesuffix('.mat') for line in listing.read_text().splitlines() if line.strip()]
        ordered = [by_stem.get(n) or by_stem.get(f'{n}_mesh') for n in names]
        if len(ordered) == len(files) and all(ordered):
            return ordered
    return files


def _resized(car: torch.Tensor, size: int) -> torch.Tensor:
    elevations, azimuths = car.shape[:2]
    return resize_uint8(car.flatten(0, 1), size).unflatten(0, (elevations, azimuths))


def read_car(path: Path) -> torch.Tensor:
    """One car's images as uint8 (elevation 4, azimuth 24, 3, H, W)."""
    from scipy.io import loadmat
    try:
        data = loadmat(path, variable_names=['im'])
    except Exception as exc:                        # scipy raises several types for a broken file
        raise corrupt_file_error('cars3d', path, f'it cannot be read as a MATLAB file ({exc})') from None
    if 'im' not in data:
        raise corrupt_file_error('cars3d', path, 'it has no variable `im`')
    im = data['im']
    if im.ndim != 5 or im.shape[2:] != (3, 24, 4) or im.shape[0] != im.shape[1]:
        raise corrupt_file_error('cars3d', path, f'`im` has shape {im.shape}; expected (128, 128, 3, 24, 4)')
    if im.dtype != np.uint8:
        im = np.clip(im, 0, 255).astype(np.uint8)
    return torch.from_numpy(np.ascontiguousarray(im.transpose(4, 3, 2, 0, 1)))
