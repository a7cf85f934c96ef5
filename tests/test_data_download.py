"""Downloads without a network: file:// URLs and a replaced fetch function; atomic, checksummed, clean on failure."""
from __future__ import annotations

import hashlib
import io
import tarfile

import pytest

from framework.data import download
from framework.data.mnist import MNIST
from framework.errors import DataError

from test_data_fixtures import write_mnist


@pytest.fixture
def mnist_sources(tmp_path, monkeypatch):
    """The four published MNIST .gz files served from a local folder through file:// URLs, with their MD5s."""
    served = tmp_path / 'served'
    write_mnist(served, gz=('train', 'test'))
    sources = [download.RemoteFile((served / r.filename).as_uri(), r.filename,
                                   hashlib.md5((served / r.filename).read_bytes()).hexdigest())
               for r in download.SOURCES['mnist']]
    monkeypatch.setitem(download.SOURCES, 'mnist', sources)
    return sources


def test_fetch_file_url_checks_md5_and_moves_atomically(tmp_path, mnist_sources):
    remote = mnist_sources[0]
    target = tmp_path / 'data' / remote.filename
    download.fetch(remote.url, target, remote.md5, progress=False)
    assert target.read_bytes() == (tmp_path / 'served' / remote.filename).read_bytes()
    assert [p.name for p in target.parent.iterdir()] == [remote.filename]


def test_bad_checksum_leaves_nothing(tmp_path, mnist_sources):
    remote = mnist_sources[0]
    target = tmp_path / 'fresh' / 'deeper' / remote.filename
    with pytest.raises(DataError, match='MD5'):
        download.fetch(remote.url, target, '0' * 32, progress=False)
    assert not (tmp_path / 'fresh').exists()


def test_network_failure_names_the_file_and_leaves_nothing(tmp_path, monkeypatch):
    def offline(url, out, desc='', progress=True):
        out.write(b'partial')
        raise DataError(f'Could not download {url}: no network.')
    monkeypatch.setattr(download, 'fetch_url', offline)
    target = tmp_path / 'mnist' / 'train-images-idx3-ubyte.gz'
    with pytest.raises(DataError, match='copy it to .*train-images-idx3-ubyte.gz'):
        download.fetch('https://example.invalid/x.gz', target, progress=False)
    assert not (tmp_path / 'mnist').exists()


def test_download_flag_fetches_missing_files_then_loads(tmp_path, mnist_sources):
    root = tmp_path / 'local' / 'mnist'
    data = MNIST(root=str(root), download=True)
    assert len(data) == 10 and sorted(p.name for p in root.iterdir()) == sorted(r.filename for r in mnist_sources)
    assert len(MNIST(root=str(root))) == 10                                   # the second run reads them


def test_download_dataset_script(tmp_path, mnist_sources):
    from framework.config import compose
    from framework.scripts.download_dataset import download_dataset as script
    root = tmp_path / 'cli'
    paths = script(compose(name='mnist', root=str(root)))
    assert sorted(p.rsplit('/', 1)[1] for p in paths) == sorted(r.filename for r in mnist_sources)
    with pytest.raises(Exception, match='names: 3dshapes'):
        script(compose(name='nosuch'))


def test_fig_download_dataset_command(tmp_path, mnist_sources):
    from framework.config import project
    root = tmp_path / 'fig'
    project().main(['-q', 'download-dataset', '--name', 'mnist', '--root', str(root)])
    assert len(list(root.glob('*.gz'))) == 4


def test_archive_members_are_unpacked_flat(tmp_path, monkeypatch):
    archive = tmp_path / 'served' / 'analogy.tar.gz'
    archive.parent.mkdir()
    with tarfile.open(archive, 'w:gz') as tar:
        for name in ('data/cars/car_001_mesh.mat', 'data/cars/list.txt', 'data/other/skip.mat'):
            info = tarfile.TarInfo(name)
            info.size = 5
            tar.addfile(info, io.BytesIO(b'hello'))
    monkeypatch.setitem(download.SOURCES, 'cars3d', [download.RemoteFile(archive.as_uri(), 'analogy.tar.gz',
                                                                        extract=('data/cars',))])
    paths = download.download_dataset('cars3d', tmp_path / 'cars3d', progress=False)
    assert sorted(p.name for p in paths) == ['car_001_mesh.mat', 'list.txt']
    assert sorted(p.name for p in (tmp_path / 'cars3d').iterdir()) == ['car_001_mesh.mat', 'list.txt']


def test_unknown_and_manual_datasets_say_what_to_do(tmp_path):
    with pytest.raises(DataError, match='downloadable datasets'):
        download.download_dataset('imagenet', tmp_path)
    with pytest.raises(DataError, match='img_align_celeba'):
        download.download_dataset('celeba', tmp_path)
