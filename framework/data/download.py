"""Fetch the published dataset files: one progress bar per file, checksums where known, atomic moves.

Every file is downloaded to a hidden temporary file in its target folder and moved into place with
``os.replace`` only after it is complete and its checksum (where the publisher, or the de-facto mirror,
gives one) matches; a failed download leaves nothing behind. Archives are unpacked the same way (into a
temporary folder beside the target, then moved). ``fetch_url`` is the one function that touches the
network, so tests replace it (or use ``file://`` URLs).

Sources (``SOURCES``): DeepMind's GitHub (dSprites) and Cloud Storage (3DShapes) files, MPI3D's bucket
(moved in 2024, rr-learning/disentanglement_dataset#4), NYU's SmallNORB files, Scott Reed's analogy-data
archive (Cars3D) and the torchvision mirror of MNIST (with its MD5s). CelebA is served from Google Drive
with quotas; it must be placed by hand.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from .paths import data_root


@dataclass(frozen=True)
class RemoteFile:
    """A published file: where it comes from, its name on disk, and how to check and unpack it."""
    url: str
    filename: str
    md5: str | None = None
    extract: tuple[str, ...] = ()      # for archives: the member folder whose files are kept (flattened)


_NORB = 'https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/'
_NORB_FILES = [f'smallnorb-5x{ids}x9x18x6x2x96x96-{part}-{kind}.mat.gz'
               for ids, part in (('46789', 'training'), ('01235', 'testing')) for kind in ('dat', 'cat', 'info')]
_MNIST = 'https://ossci-datasets.s3.amazonaws.com/mnist/'
_MPI3D = 'https://storage.googleapis.com/mpi3d_disentanglement_dataset/data/'

SOURCES: dict[str, list[RemoteFile]] = {
    'dsprites': [RemoteFile('https://github.com/deepmind/dsprites-dataset/raw/master/'
                            'dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz',
                            'dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz')],
    '3dshapes': [RemoteFile('https://storage.googleapis.com/3d-shapes/3dshapes.h5', '3dshapes.h5')],
    **{f'mpi3d-{category}': [RemoteFile(f'{_MPI3D}mpi3d_{category}.npz', f'mpi3d_{category}.npz')]
       for category in ('toy', 'realistic', 'real')},
    'smallnorb': [RemoteFile(_NORB + f, f) for f in _NORB_FILES],
    'cars3d': [RemoteFile('http://www.scottreed.info/files/nips2015-analogy-data.tar.gz',
                          'nips2015-analogy-data.tar.gz', extract=('data/cars',))],
    'mnist': [RemoteFile(_MNIST + f, f, md5) for f, md5 in (
        ('train-images-idx3-ubyte.gz', 'f68b3c2dcbeaaa9fbdd348bbdeb94873'),
        ('train-labels-idx1-ubyte.gz', 'd53e105ee54ea40749a09fcbcd1e9432'),
        ('t10k-images-idx3-ubyte.gz', '9fb629c4189551a2d022fa330f9573f3'),
        ('t10k-labels-idx1-ubyte.gz', 'ec29112dd5afa0611ce80d1b7f02629c'))],
    'celeba': [],
}
ALIASES = {'3ds': '3dshapes', 'shapes3d': '3dshapes', 'mpi3d': 'mpi3d-toy', 'mpi': 'mpi3d-toy',
           'norb': 'smallnorb', 'cars': 'cars3d'}
DEFAULT_FOLDERS = {'mpi3d-toy': 'mpi3d', 'mpi3d-realistic': 'mpi3d', 'mpi3d-real': 'mpi3d'}
MANUAL = {'celeba': 'CelebA is distributed through Google Drive with download quotas: download '
                    '`img_align_celeba.zip` from the CelebA page (mmlab.ie.cuhk.edu.hk/projects/CelebA.html) '
                    'and unzip it so that the images are in {folder}/img_align_celeba/.'}


def download_dataset(name: str, directory: Path | None = None, progress: bool = True) -> list[Path]:
    """Fetch every published file of ``name`` into ``directory`` (default: its folder under the data root)."""
    key = ALIASES.get(name, name)
    if key not in SOURCES:
        raise DataError(f'No published files are known for {name!r}; downloadable datasets: '
                        f'{", ".join(k for k in SOURCES if SOURCES[k])}.')
    directory = Path(directory) if directory is not None else data_root() / DEFAULT_FOLDERS.get(key, key)
    if key in MANUAL:
        raise DataError(MANUAL[key].format(folder=directory))
    fetched = []
    for remote in SOURCES[key]:
        target = directory / remote.filename
        if remote.extract:
            fetched.extend(_fetch_and_extract(remote, directory, progress))
        elif target.is_file():
            fetched.append(target)
        else:
            fetched.append(fetch(remote.url, target, remote.md5, progress))
    return fetched


def fetch(url: str, target: Path, md5: str | None = None, progress: bool = True) -> Path:
    """Download ``url`` to ``target`` atomically, checking ``md5`` when given; nothing is left on failure."""
    target = Path(target)
    created = _make_dirs(target.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f'.{target.name}.', suffix='.part', dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, 'wb') as out:
            try:
                digest = fetch_url(url, out, desc=target.name, progress=progress)
            except DataError as exc:
                raise DataError(f'{exc} Nothing was written. Without a network, download {url} on another '
                                f'machine and copy it to {target}.') from None
        if md5 is not None and digest != md5:
            raise DataError(f'{url}: the downloaded file has MD5 {digest}, expected {md5}; the download was '
                            f'corrupted or the mirror changed. Nothing was written; try again.')
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        _remove_created(created)
        raise
    return target


def fetch_url(url: str, out, desc: str = '', progress: bool = True) -> str:
    """Stream ``url`` into the open binary file ``out`` with a tqdm bar; returns the MD5 hex digest."""
    from tqdm import tqdm
    digest = hashlib.md5()
    try:
        response = urllib.request.urlopen(url, timeout=60)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DataError(f'Could not download {url}: {exc}.') from None
    with response, tqdm(total=int(response.headers.get('Content-Length') or 0) or None, unit='B',
                        unit_scale=True, desc=desc or url, disable=not progress, leave=False) as bar:
        try:
            while True:
                chunk = response.read(1 << 20)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
        except OSError as exc:
            raise DataError(f'The download of {url} broke off: {exc}. Nothing was written; try again.') from None
    return digest.hexdigest()


def _fetch_and_extract(remote: RemoteFile, directory: Path, progress: bool) -> list[Path]:
    """Download an archive to a temporary folder, move the files of ``remote.extract`` into ``directory``."""
    created = _make_dirs(directory)
    work = Path(tempfile.mkdtemp(prefix='.download-', dir=directory))
    try:
        archive = fetch(remote.url, work / remote.filename, remote.md5, progress)
        unpacked = work / 'unpacked'
        try:
            with tarfile.open(archive) as tar:
                members = [m for m in tar.getmembers() if m.isfile() and
                           any(m.name.lstrip('./').startswith(prefix + '/') for prefix in remote.extract)]
                tar.extractall(unpacked, members=members, filter='data')
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise DataError(f'{remote.url}: the archive could not be unpacked ({exc}). Nothing was written; '
                            f'try again.') from None
        files = sorted(p for p in unpacked.rglob('*') if p.is_file())
        if not files:
            raise DataError(f'{remote.url}: the archive holds no files under {", ".join(remote.extract)}.')
        moved = []
        for path in files:
            os.replace(path, directory / path.name)
            moved.append(directory / path.name)
        return moved
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        _remove_created(created)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _make_dirs(directory: Path) -> list[Path]:
    """Create ``directory`` and its missing parents; returns those created (deepest first)."""
    created = []
    path = Path(directory)
    while not path.exists():
        created.append(path)
        path = path.parent
    Path(directory).mkdir(parents=True, exist_ok=True)
    return created


def _remove_created(created: list[Path]) -> None:
    for path in created:
        try:
            path.rmdir()
        except OSError:
            break
