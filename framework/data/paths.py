"""Where dataset files live, and the errors that say which file is missing or broken and what to do.

The data root is ``$STRUCTREP_DATA`` when set, else ``<repo>/local_data``. A dataset's ``root`` argument
defaults to ``local_data/<name>``: a relative path that starts with ``local_data/`` is read under the data
root (so the environment variable moves every dataset at once), any other relative path is read from the
repository root (never from the working directory), and an absolute path is used as it is.
"""
from __future__ import annotations

import gzip

import os
from pathlib import Path
from typing import Iterable

from ..errors import DataError

ENV_VAR = 'STRUCTREP_DATA'
REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def data_root() -> Path:
    """``$STRUCTREP_DATA`` or ``<repo>/local_data``."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else REPO_ROOT / 'local_data'


def resolve_root(root: str | os.PathLike | None, name: str) -> Path:
    """The folder a dataset reads: see the module docstring for how ``root`` is interpreted."""
    if root is None or str(root) == '':
        return data_root() / name
    path = Path(root).expanduser()
    if path.is_absolute():
        return path
    parts = path.parts
    if parts and parts[0] == 'local_data':
        return data_root().joinpath(*parts[1:])
    return REPO_ROOT / path


def download_hint(name: str) -> str:
    """The two ways to fetch a dataset's files, for error messages."""
    return (f'Fetch it with `fig download-dataset --name {name}` (or add `--download` to the training '
            f'command), or place the published file there yourself.')


def missing_files_error(name: str, directory: Path, filenames: Iterable[str], note: str = '') -> DataError:
    """A missing file: the path looked for, the expected file names and the download command."""
    filenames = list(filenames)
    listed = ', '.join(filenames[:6]) + (f' (and {len(filenames) - 6} more)' if len(filenames) > 6 else '')
    where = '\n'.join(f'  {directory / f}' for f in filenames[:3])
    return DataError(f'{name}: expected file(s) {listed} in {directory}, not found. Looked for:\n{where}\n'
                     f'{download_hint(name)}{" " + note if note else ""}')


def corrupt_file_error(name: str, path: Path, problem: str) -> DataError:
    """A file that exists but is not in the published format (truncated, wrong keys, wrong shapes)."""
    return DataError(f'{name}: {path} is not a valid {name} file: {problem}. The file may be truncated or '
                     f'from another release; delete it and fetch it again '
                     f'(`fig download-dataset --name {name}`).')


def read_possibly_gzipped(name: str, path: Path, min_bytes: int) -> bytes:
    """The bytes of ``path`` (``.gz`` is decompressed); unreadable or too-short files name themselves."""
    try:
        if path.suffix == '.gz':
            with gzip.open(path, 'rb') as handle:
                raw = handle.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError) as exc:
        raise corrupt_file_error(name, path, f'it cannot be read ({exc})') from None
    if len(raw) < min_bytes:
        raise corrupt_file_error(name, path, f'it is only {len(raw)} bytes long')
    return raw


def find_existing(directory: Path, candidates: Iterable[str]) -> Path | None:
    """The first of ``candidates`` (file names) that exists in ``directory``."""
    for candidate in candidates:
        path = directory / candidate
        if path.is_file():
            return path
    return None


def require_files(name: str, directory: Path, filenames: list[str], download: bool = False,
                  source: str | None = None, alternatives: dict[str, list[str]] | None = None) -> dict[str, Path]:
    """Paths of ``filenames`` in ``directory``; fetches missing ones when ``download``, else fails clearly.

    ``alternatives`` maps a file name to other accepted names (e.g. the ``.gz`` form); ``source`` is the
    key of the published files in ``framework.data.download.SOURCES`` (default ``name``).
    """
    alternatives = alternatives or {}
    found, missing = {}, []
    for filename in filenames:
        path = find_existing(directory, [filename, *alternatives.get(filename, [])])
        if path is None:
            missing.append(filename)
        else:
            found[filename] = path
    if missing and download:
        from .download import download_dataset
        download_dataset(source or name, directory)
        return require_files(name, directory, filenames, download=False, source=source, alternatives=alternatives)
    if missing:
        raise missing_files_error(source or name, directory, missing)
    return found
