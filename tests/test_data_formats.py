"""Published-format loaders on tiny files in the exact formats: contents, factor round trips, error paths."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import framework
from framework.data import cars3d, celeba, dsprites, mnist, mpi3d, shapes3d, smallnorb
from framework.errors import DataError

from test_data_fixtures import (DSPRITES_SIZES, MPI3D_SIZES, SHAPES3D_SIZES, write_3dshapes, write_cars3d,
                                write_celeba, write_dsprites, write_mnist, write_mpi3d, write_smallnorb)


def assert_round_trip(dataset):
    indices = torch.arange(len(dataset))
    factors = dataset.indices_to_factors(indices)
    assert torch.equal(dataset.factors_to_indices(factors), indices)
    assert torch.equal(dataset.batch(indices)['y'], factors)


# -- contents and round trips

def test_dsprites_reads_published_arrays(tmp_path):
    write_dsprites(tmp_path)
    data = dsprites.DSprites(root=str(tmp_path))
    assert data.factor_names == ('shape', 'scale', 'orientation', 'posX', 'posY')
    assert data.factor_sizes == DSPRITES_SIZES[1:] and len(data) == np.prod(DSPRITES_SIZES)
    assert data.factor_values_grid[1] == pytest.approx((0.5, 0.6))
    batch = data.batch(torch.tensor([5, 0, 5]))
    with np.load(tmp_path / dsprites.FILENAME) as raw:
        assert torch.equal(batch['x'][:, 0], torch.from_numpy(raw['imgs'][[5, 0, 5]]).float())
    assert batch['x'].shape == (3, 1, 64, 64) and set(batch['x'].unique().tolist()) <= {0.0, 1.0}
    assert_round_trip(data)
    assert dsprites.DSprites(root=str(tmp_path), keep_color=True).factor_sizes == DSPRITES_SIZES


def test_framework_create_builds_a_file_dataset(tmp_path):
    write_3dshapes(tmp_path)
    data = framework.create('dataset', '3dshapes', root=str(tmp_path))
    assert data.factor_sizes == SHAPES3D_SIZES


@pytest.mark.parametrize('in_memory', [True, False])
def test_3dshapes_in_memory_and_chunked(tmp_path, in_memory):
    write_3dshapes(tmp_path)
    data = shapes3d.Shapes3D(root=str(tmp_path), in_memory=in_memory)
    assert data.factor_values_grid[3] == pytest.approx((0.75, 0.75 + 0.5 / 7))
    indices = torch.tensor([7, 3, 7, 95, 0])
    x = data.batch(indices)['x']
    assert x.shape == (5, 3, 64, 64)
    assert torch.equal((x[:, 0, 10, 10] * 255).round().long(), indices)       # pixel = flat index
    assert_round_trip(data)


@pytest.mark.parametrize('in_memory', [True, False])
def test_mpi3d_reads_images_and_grid(tmp_path, in_memory):
    write_mpi3d(tmp_path)
    data = mpi3d.MPI3D(root=str(tmp_path), factor_sizes=MPI3D_SIZES, in_memory=in_memory)
    indices = torch.tensor([11, 2, 2, 0])
    assert torch.equal((data.batch(indices)['x'][:, 0, 0, 0] * 255).round().long(), indices)
    assert_round_trip(data)


def test_mpi3d_compressed_archive_needs_in_memory(tmp_path):
    write_mpi3d(tmp_path, compressed=True)
    assert len(mpi3d.MPI3D(root=str(tmp_path), factor_sizes=MPI3D_SIZES)) == 12
    with pytest.raises(DataError, match='in_memory'):
        mpi3d.MPI3D(root=str(tmp_path), factor_sizes=MPI3D_SIZES, in_memory=False)


def test_smallnorb_joins_halves_sorts_and_keeps_instance_as_nuisance(tmp_path):
    write_smallnorb(tmp_path)
    data = smallnorb.SmallNORB(root=str(tmp_path))
    assert data.factor_sizes == (2, 2, 2, 2) and len(data) == 32 and data.nuisance_size == 2
    factors = data.sample_factors(20, torch.Generator().manual_seed(0))
    for instance in (0, 1):
        x = data.batch(data.factors_to_indices(factors, nuisance=torch.full((20,), instance)))['x']
        code = (x[:, 0, 0, 0] * 255).round().long() - 100
        assert torch.equal(code, factors[:, 0] * 16 + factors[:, 1] * 8 + factors[:, 2] * 2 + factors[:, 3])
        assert torch.allclose(x[:, 0, 40, 40] * 255, torch.tensor(10.0 * instance + 1), atol=0.6)
    assert torch.equal(data.indices_to_factors(data.factors_to_indices(factors)), factors)
    exact = smallnorb.SmallNORB(root=str(tmp_path), instance_factor=True, size=96)
    assert exact.factor_sizes == (2, 2, 2, 2, 2) and exact.observation_shape == (1, 96, 96)
    assert_round_trip(exact)


@pytest.fixture(scope='module')
def cars_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp('cars3d')
    write_cars3d(folder)
    return folder


def test_cars3d_orders_elevation_azimuth_object(cars_folder):
    data = cars3d.Cars3D(root=str(cars_folder))
    assert data.factor_sizes == (4, 24, 2) and data.observation_shape == (3, 64, 64)
    factors = data.indices_to_factors(torch.arange(len(data)))
    x = data.batch(torch.arange(len(data)))['x'][:, :, 32, 32] * 255
    assert torch.allclose(x[:, 0], (factors[:, 0] * 24 + factors[:, 1]).float(), atol=0.6)
    assert torch.allclose(x[:, 1], 40.0 * (factors[:, 2] + 1), atol=0.6)
    assert_round_trip(data)


def test_cars3d_follows_list_txt_order(cars_folder):
    (cars_folder / 'list.txt').write_text('car_002_mesh\ncar_001_mesh\n')
    try:
        assert [p.name for p in cars3d.car_files(cars_folder)] == ['car_002_mesh.mat', 'car_001_mesh.mat']
    finally:
        (cars_folder / 'list.txt').unlink()


@pytest.mark.parametrize('in_memory', [True, False])
def test_celeba_crops_resizes_and_has_no_factors(tmp_path, in_memory):
    write_celeba(tmp_path)
    data = celeba.CelebA(root=str(tmp_path), in_memory=in_memory)
    assert not data.has_factors and len(data) == 3
    batch = data.batch(torch.tensor([1, 2]))
    assert set(batch) == {'x'} and batch['x'].shape == (2, 3, 64, 64)
    assert batch['x'][0, 1].mean() > 0.7 and batch['x'][0, 0].mean() < 0.1
    assert (tmp_path / 'celeba_64x64.npy').exists() == in_memory


def test_mnist_reads_idx_gz_and_plain(tmp_path):
    write_mnist(tmp_path)
    data = mnist.MNIST(root=str(tmp_path))
    assert len(data) == 10 and data.observation_shape == (1, 28, 28) and not data.is_grid
    batch = data.batch(torch.tensor([0, 5, 6]))
    assert torch.equal(batch['y'][:, 0], torch.tensor([0, 5, 0]))
    assert torch.allclose(batch['x'][:, 0, 10, 12] * 255, torch.tensor([1.0, 6.0, 1.0]))
    assert len(mnist.MNIST(root=str(tmp_path), part='test')) == 4
    assert len(mnist.MNIST(root=str(tmp_path), digits=(1, 2))) == 4      # 1, 2 in both parts
    with pytest.raises(DataError, match='grid'):
        data.factors_to_indices(torch.zeros(1, 1))


# -- error paths: missing, corrupt, wrong keys; nothing is written on failure

MISSING = [
    ('dsprites', lambda root: dsprites.DSprites(root=root), dsprites.FILENAME),
    ('3dshapes', lambda root: shapes3d.Shapes3D(root=root), '3dshapes.h5'),
    ('mpi3d-toy', lambda root: mpi3d.MPI3D(root=root), 'mpi3d_toy.npz'),
    ('smallnorb', lambda root: smallnorb.SmallNORB(root=root), smallnorb.FILES[0]),
    ('cars3d', lambda root: cars3d.Cars3D(root=root), 'car_001_mesh.mat'),
    ('mnist', lambda root: mnist.MNIST(root=root), 'train-images-idx3-ubyte'),
]


@pytest.mark.parametrize('name,build,filename', MISSING, ids=[m[0] for m in MISSING])
def test_missing_file_names_path_file_and_command(tmp_path, name, build, filename):
    root = tmp_path / 'nowhere'
    with pytest.raises(DataError) as info:
        build(str(root))
    message = str(info.value)
    assert str(root) in message and filename in message
    assert f'fig download-dataset --name {name}' in message and '--download' in message
    assert not root.exists()


def test_missing_celeba_explains_manual_download(tmp_path):
    with pytest.raises(DataError, match='img_align_celeba'):
        celeba.CelebA(root=str(tmp_path))


def _fails(build, match, folder):
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(DataError, match=match) as info:
        build()
    assert sorted(p.name for p in folder.iterdir()) == before       # nothing written beside the file
    return str(info.value)


def test_dsprites_corrupt_and_wrong_keys(tmp_path):
    path = write_dsprites(tmp_path, drop='latents_classes')
    message = _fails(lambda: dsprites.DSprites(root=str(tmp_path)), 'latents_classes', tmp_path)
    assert str(path) in message
    path.write_bytes(b'PK\x03\x04 truncated')
    _fails(lambda: dsprites.DSprites(root=str(tmp_path)), 'cannot be read as an npz', tmp_path)


def test_dsprites_refuses_labels_that_are_not_the_grid(tmp_path):
    path = write_dsprites(tmp_path)
    with np.load(path) as data:
        arrays = {k: data[k] for k in ('imgs', 'latents_classes', 'latents_values')}
    arrays['latents_classes'] = arrays['latents_classes'][::-1].copy()
    np.savez(path, **arrays)
    _fails(lambda: dsprites.DSprites(root=str(tmp_path)), 'row-major', tmp_path)


def test_3dshapes_unreadable_missing_labels_and_wrong_order(tmp_path):
    path = write_3dshapes(tmp_path, keys=('images',))
    assert str(path) in _fails(lambda: shapes3d.Shapes3D(root=str(tmp_path)), 'no dataset labels', tmp_path)
    write_3dshapes(tmp_path, shuffle=True)
    _fails(lambda: shapes3d.Shapes3D(root=str(tmp_path)), 'row-major', tmp_path)
    path.write_bytes(b'\x89HDF\r\n\x1a\n' + b'\0' * 100)
    _fails(lambda: shapes3d.Shapes3D(root=str(tmp_path)), 'not a readable HDF5', tmp_path)


def test_mpi3d_wrong_count_and_wrong_key(tmp_path):
    write_mpi3d(tmp_path)
    _fails(lambda: mpi3d.MPI3D(root=str(tmp_path)), 'factor grid', tmp_path)
    np.savez(tmp_path / 'mpi3d_toy.npz', imgs=np.zeros((12, 64, 64, 3), np.uint8))
    _fails(lambda: mpi3d.MPI3D(root=str(tmp_path), factor_sizes=MPI3D_SIZES), 'no images', tmp_path)


def test_smallnorb_bad_magic_and_truncation(tmp_path):
    files = write_smallnorb(tmp_path, gz_first=False)
    info = files['info', 'testing']
    good = info.read_bytes()
    info.write_bytes(b'\x00\x00\x00\x00' + good[4:])
    message = _fails(lambda: smallnorb.SmallNORB(root=str(tmp_path)), 'bad magic', tmp_path)
    assert str(info) in message
    info.write_bytes(good[:-7])
    _fails(lambda: smallnorb.SmallNORB(root=str(tmp_path)), 'truncated', tmp_path)


def test_cars3d_missing_variable(tmp_path):
    from scipy.io import savemat
    savemat(tmp_path / 'car_001_mesh.mat', {'mask': np.zeros((4, 4))})
    _fails(lambda: cars3d.Cars3D(root=str(tmp_path)), 'no variable `im`', tmp_path)


def test_mnist_bad_magic_and_truncation(tmp_path):
    files = write_mnist(tmp_path, gz=())
    labels = files['t10k', 'labels-idx1']
    good = labels.read_bytes()
    labels.write_bytes((2051).to_bytes(4, 'big') + good[4:])
    assert str(labels) in _fails(lambda: mnist.MNIST(root=str(tmp_path)), 'bad magic', tmp_path)
    labels.write_bytes(good[:-1])
    _fails(lambda: mnist.MNIST(root=str(tmp_path)), 'truncated', tmp_path)


def test_celeba_unreadable_jpeg(tmp_path):
    write_celeba(tmp_path, count=1)
    (tmp_path / 'img_align_celeba' / '000002.jpg').write_bytes(b'not a jpeg')
    _fails(lambda: celeba.CelebA(root=str(tmp_path)), 'not a readable JPEG', tmp_path)


FILE_CONFIGS = [('d/dsprites', 'dsprites'), ('d/3ds', '3dshapes'), ('d/mpi', 'mpi3d-toy'),
                ('d/smallnorb', 'smallnorb'), ('d/cars3d', 'cars3d'), ('d/mnist', 'mnist'),
                ('d/mnist-seq', 'mnist'), ('d/mnist-bg-seq', 'mnist'), ('d/mnist-accl-seq', 'mnist')]


@pytest.mark.parametrize('config,name', FILE_CONFIGS, ids=[c for c, _ in FILE_CONFIGS])
def test_file_configs_fail_before_training_with_the_command(tmp_path, config, name):
    from framework.config import compose
    cfg = compose(config, **{'dataset.root': str(tmp_path / 'absent')})
    assert cfg.get('dataset_tag')
    with pytest.raises(DataError, match=f'fig download-dataset --name {name}'):
        cfg.build('dataset')
