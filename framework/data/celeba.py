"""``celeba``: CelebA's aligned faces, read from ``img_align_celeba/*.jpg`` (needs Pillow).

Each 178x218 face is centre-cropped to 148x148 and resized to 64x64 (bilinear with antialiasing). The 40
attributes are labels, not generative factors, so the dataset has no factors (``has_factors`` is false) and
metrics that need factors refuse it. Decoding 202,599 JPEGs takes minutes, so with ``in_memory: true`` the
first use writes the decoded images once to ``celeba_<size>x<size>.npy`` beside the folder (atomically) and
later runs memory-map that cache; ``in_memory: false`` decodes each batch's files instead.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from ..registry import register
from .images import ImageGridDataset
from .paths import corrupt_file_error, resolve_root

FOLDER = 'img_align_celeba'
CROP = 148


@register.dataset('celeba')
class CelebA(ImageGridDataset):
    """CelebA aligned faces (Liu et al. 2015): 202,599 64x64 RGB images, no ground-truth factors."""
    name = 'celeba'
    has_factors = False
    factor_names = ()
    factor_sizes = ()

    def __init__(self, root: str = 'local_data/celeba', size: int = 64, in_memory: bool = True,
                 download: bool = False):
        self.root = resolve_root(root, 'celeba')
        folder = self.root / FOLDER
        self.files = sorted(folder.glob('*.jpg')) if folder.is_dir() else []
        if not self.files:
            from .download import MANUAL
            raise DataError(f'celeba: expected the JPEG files (000001.jpg ...) in {folder}, found none. '
                            + MANUAL['celeba'].format(folder=self.root))
        _require_pillow()
        self.size = size
        self.observation_shape = (3, size, size)
        images = self._cached_images() if in_memory else None
        super().__init__(images, num_images=len(self.files))

    def read_rows(self, indices: torch.Tensor) -> torch.Tensor:
        if self.images is not None:
            return super().read_rows(indices)
        return torch.from_numpy(np.stack([decode_face(self.files[i], self.size) for i in indices.tolist()]))

    def _cached_images(self) -> torch.Tensor:
        cache = self.root / f'celeba_{self.size}x{self.size}.npy'
        if cache.is_file():
            try:
                images = np.load(cache, mmap_mode='r')
            except (OSError, ValueError) as exc:
                raise corrupt_file_error('celeba', cache, f'the decoded-image cache is unreadable ({exc}); '
                                         f'delete it to rebuild it') from None
            if images.shape == (len(self.files), 3, self.size, self.size):
                return torch.from_numpy(images)
        images = np.stack([decode_face(path, self.size) for path in self.files])
        fd, tmp = tempfile.mkstemp(prefix=f'.{cache.name}.', suffix='.part', dir=self.root)
        try:
            with os.fdopen(fd, 'wb') as f:
                np.save(f, images)
            os.replace(tmp, cache)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return torch.from_numpy(images)


def decode_face(path: Path, size: int) -> np.ndarray:
    """One aligned face: centre crop 148, resize to ``size``; uint8 (3, size, size)."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as image:
            image = image.convert('RGB')
            width, height = image.size
            left, top = (width - CROP) // 2, (height - CROP) // 2
            image = image.crop((left, top, left + CROP, top + CROP)).resize((size, size), Image.BILINEAR)
            return np.asarray(image, dtype=np.uint8).transpose(2, 0, 1)
    except (UnidentifiedImageError, OSError) as exc:
        raise corrupt_file_error('celeba', path, f'it is not a readable JPEG ({exc})') from None


def _require_pillow() -> None:
    try:
        import PIL  # noqa: F401
    except ImportError:
        raise DataError('celeba: decoding JPEGs needs Pillow; install it with `pip install pillow`.') from None

