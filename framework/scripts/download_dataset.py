"""``fig download-dataset --name NAME [--root DIR]``: fetch a dataset's published files into the data root.

Names: dsprites, 3dshapes (or 3ds), mpi3d-toy / mpi3d-realistic / mpi3d-real (mpi3d = toy), smallnorb,
cars3d, mnist; celeba explains its manual download. Files go to ``$STRUCTREP_DATA/<name>`` (default
``local_data/<name>``; MPI3D to ``mpi3d``) unless ``--root`` names a folder. Files already present are kept.
``fig download-dataset 3dshapes`` is the same as ``--name 3dshapes`` (framework/cli.py rewrites the word).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..data.download import ALIASES, SOURCES, download_dataset as fetch_dataset
from ..data.paths import resolve_root
from ..errors import ConfigError
from ..registry import register
from ..settings import setting, settings_from


@dataclass
class DownloadSettings:
    name: str | None = setting(None, f'the dataset: {", ".join(sorted(SOURCES))}')
    root: str | None = setting(None, 'the folder to write into (default $STRUCTREP_DATA/<name> or local_data/<name>)')


@register.script('download-dataset', settings=DownloadSettings, positional='name')
def download_dataset(cfg):
    """Download a dataset's published files (`fig download-dataset --name 3dshapes`)."""
    known = ', '.join(sorted(SOURCES))
    settings = settings_from(cfg, DownloadSettings)
    name = settings.name
    if not name:
        raise ConfigError(f'Which dataset? `fig download-dataset --name NAME`; names: {known}.')
    key = ALIASES.get(str(name), str(name))
    if key not in SOURCES:
        raise ConfigError(f'No published files are known for {name!r}; names: {known}.')
    root = settings.root
    directory = resolve_root(root, key) if root else None
    paths = fetch_dataset(key, directory)
    for path in paths:
        print(path)
    return [str(p) for p in paths]
