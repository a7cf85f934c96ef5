"""Tiny files in each dataset's exact published format (same keys, dtypes, layouts, factor order), and checks
that the writers produce those layouts. The loaders read the factor grid from a file's own labels, so a
fixture with a smaller grid loads through the real loader without any test hook (MPI3D, which has no
labels, takes its grid as the ``factor_sizes`` argument)."""
from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import numpy as np

from framework.data import dsprites, mnist, shapes3d, smallnorb

DSPRITES_SIZES = (1, 3, 2, 4, 3, 3)
SHAPES3D_SIZES = (2, 2, 2, 2, 2, 3)
MPI3D_SIZES = (2, 1, 1, 1, 1, 2, 3)


def grid(sizes):
    return np.array(list(itertools.product(*[range(s) for s in sizes])), dtype=np.int64)


def write_dsprites(folder: Path, sizes=DSPRITES_SIZES, drop=None, compressed=True) -> Path:
    """``imgs`` (N, 64, 64) uint8 0/1, ``latents_classes`` int64, ``latents_values`` float64, pickled metadata."""
    classes = grid(sizes)
    full_values = [np.array([1.0]), np.array([1.0, 2.0, 3.0]), np.linspace(0.5, 1, 6),
                   np.linspace(0, 2 * np.pi, 40), np.linspace(0, 1, 32), np.linspace(0, 1, 32)]
    values = np.stack([full_values[i][classes[:, i]] for i in range(6)], 1)
    rng = np.random.default_rng(0)
    imgs = (rng.random((len(classes), 64, 64)) < 0.2).astype(np.uint8)
    arrays = {'imgs': imgs, 'latents_classes': classes, 'latents_values': values,
              'metadata': np.array({'description': 'pickled dict'}, dtype=object)}
    if drop:
        arrays.pop(drop)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / dsprites.FILENAME
    with open(path, 'wb') as f:
        (np.savez_compressed if compressed else np.savez)(f, **arrays)
    return path


def write_3dshapes(folder: Path, sizes=SHAPES3D_SIZES, keys=('images', 'labels'), shuffle=False) -> Path:
    """HDF5 ``images`` (N, 64, 64, 3) uint8 and ``labels`` (N, 6) float64, orientation fastest."""
    import h5py
    classes = grid(sizes)
    full_values = [np.linspace(0, 0.9, 10)] * 3 + [np.linspace(0.75, 1.25, 8), np.arange(4.0),
                                                   np.linspace(-30, 30, 15)]
    labels = np.stack([full_values[i][classes[:, i]] for i in range(6)], 1)
    if shuffle:
        labels = labels[::-1].copy()
    images = np.zeros((len(classes), 64, 64, 3), dtype=np.uint8)
    images[:, :, :, 0] = np.arange(len(classes), dtype=np.uint8)[:, None, None]     # pixel = flat index
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / shapes3d.FILENAME
    with h5py.File(path, 'w') as f:
        if 'images' in keys:
            f.create_dataset('images', data=images, chunks=(1, 64, 64, 3))
        if 'labels' in keys:
            f.create_dataset('labels', data=labels)
    return path


def write_mpi3d(folder: Path, sizes=MPI3D_SIZES, category='toy', compressed=False) -> Path:
    """npz with one key ``images`` (N, 64, 64, 3) uint8; pixel (0, 0, 0) holds the flat index."""
    n = int(np.prod(sizes))
    images = np.zeros((n, 64, 64, 3), dtype=np.uint8)
    images[:, 0, 0, 0] = np.arange(n)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f'mpi3d_{category}.npz'
    with open(path, 'wb') as f:
        (np.savez_compressed if compressed else np.savez)(f, images=images)
    return path


def lecun_bytes(array: np.ndarray) -> bytes:
    """LeCun binary matrix: int32 magic, int32 ndim, max(3, ndim) int32 dims, little-endian data."""
    magic = {np.dtype(np.uint8): 0x1E3D4C55, np.dtype(np.int32): 0x1E3D4C54}[array.dtype]
    dims = list(array.shape) + [1] * max(0, 3 - array.ndim)
    header = np.array([magic, array.ndim, *dims], dtype='<u4').tobytes()
    return header + np.ascontiguousarray(array).astype(array.dtype.newbyteorder('<')).tobytes()


def write_smallnorb(folder: Path, categories=2, elevations=2, azimuths=2, lightings=2, gz_first=True) -> dict:
    """The six files; training holds instance 1, testing instance 0; pixel value = 10 * instance + 1,
    pixel (0, 0) of camera 0 = category * 16 + elevation * 8 + azimuth * 2 + lighting (fits the grid)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    written = {}
    for (ids, part), instance in zip(smallnorb.PARTS, (1, 0)):
        rows = [(c, instance, e, 2 * a, light) for c in range(categories) for e in range(elevations)
                for a in range(azimuths) for light in range(lightings)]
        rows = [rows[i] for i in rng.permutation(len(rows))]                       # files are not sorted
        dat = np.full((len(rows), 2, 96, 96), 10 * instance + 1, dtype=np.uint8)
        for k, (c, _, e, a, light) in enumerate(rows):
            dat[k, 0, :8, :8] = 100 + c * 16 + e * 8 + (a // 2) * 2 + light
        cat = np.array([r[0] for r in rows], dtype=np.int32)
        info = np.array([r[1:] for r in rows], dtype=np.int32)
        for kind, array in (('dat', dat), ('cat', cat), ('info', info)):
            name = f'smallnorb-5x{ids}x9x18x6x2x96x96-{part}-{kind}.mat'
            data = lecun_bytes(array)
            if gz_first and kind == 'dat' and part == 'training':
                name += '.gz'
                data = gzip.compress(data, compresslevel=1)
            (folder / name).write_bytes(data)
            written[kind, part] = folder / name
    return written


def write_cars3d(folder: Path, objects=2) -> list[Path]:
    """``car_00k_mesh.mat`` with ``im`` (128, 128, 3, 24, 4) uint8; colour (elevation*24 + azimuth, 40 * object)."""
    from scipy.io import savemat
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(objects):
        im = np.zeros((128, 128, 3, 24, 4), dtype=np.uint8)
        for el in range(4):
            for az in range(24):
                im[:, :, 0, az, el] = el * 24 + az
        im[:, :, 1] = 40 * (k + 1)
        path = folder / f'car_{k + 1:03d}_mesh.mat'
        savemat(path, {'im': im}, do_compression=True)
        paths.append(path)
    return paths


def write_celeba(folder: Path, count=3) -> list[Path]:
    from PIL import Image
    images = folder / 'img_align_celeba'
    images.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(count):
        pixels = np.zeros((218, 178, 3), dtype=np.uint8)
        pixels[..., k % 3] = 200
        path = images / f'{k + 1:06d}.jpg'
        Image.fromarray(pixels).save(path, quality=95)
        paths.append(path)
    return paths


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    return magic.to_bytes(4, 'big') + b''.join(int(d).to_bytes(4, 'big') for d in array.shape) + array.tobytes()


def write_mnist(folder: Path, train=6, test=4, gz=('train',)) -> dict:
    """IDX files; image k of a part is filled with k + 1 (its label is k % 10)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for part, count in (('train', train), ('t10k', test)):
        images = np.zeros((count, 28, 28), dtype=np.uint8)
        images[:, 4:24, 10:18] = (np.arange(count) + 1)[:, None, None]
        labels = (np.arange(count) % 10).astype(np.uint8)
        for kind, array, magic in (('images-idx3', images, 2051), ('labels-idx1', labels, 2049)):
            name = f'{part}-{kind}-ubyte'
            data = idx_bytes(array, magic)
            if ('train' if part == 'train' else 'test') in gz:
                name += '.gz'
                data = gzip.compress(data)
            (folder / name).write_bytes(data)
            written[part, kind] = folder / name
    return written


# -- the writers themselves follow the published layouts

def test_lecun_header_layout():
    data = lecun_bytes(np.zeros((5, 2, 96, 96), dtype=np.uint8))
    assert np.frombuffer(data[:24], '<i4').tolist() == [0x1E3D4C55, 4, 5, 2, 96, 96]
    data = lecun_bytes(np.zeros(7, dtype=np.int32))
    assert np.frombuffer(data[:20], '<i4').tolist() == [0x1E3D4C54, 1, 7, 1, 1]


def test_idx_header_layout():
    data = idx_bytes(np.zeros((3, 28, 28), dtype=np.uint8), 2051)
    assert np.frombuffer(data[:16], '>i4').tolist() == [2051, 3, 28, 28]
    assert mnist.read_idx.__doc__


def test_dsprites_fixture_has_published_keys(tmp_path):
    path = write_dsprites(tmp_path)
    with np.load(path, allow_pickle=False) as data:
        assert set(data.files) == {'imgs', 'latents_classes', 'latents_values', 'metadata'}
        assert data['imgs'].dtype == np.uint8 and data['latents_classes'].dtype == np.int64
