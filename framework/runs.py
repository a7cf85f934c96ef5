"""Run directories: naming, finding a run by name, and atomic, ``weights_only``-loadable checkpoints.

A run is ``<runs_root>/<dataset>_<method>_e-<enc>_d-<dec>_<YYMMDD-HHMMSS>/`` holding ``config.yaml``,
``checkpoints/`` (``ckpt-<step>.pt`` and ``last.pt``), TensorBoard events, ``images/`` and ``results/``.
"""
from __future__ import annotations

import errno
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from .errors import RunError

RUN_CONFIG_FILE = 'config.yaml'
CHECKPOINT_DIR = 'checkpoints'
LAST_CHECKPOINT = 'last.pt'
FINISHED_FILE = 'finished.json'     # written by `fig train` once training and its evaluation are complete


def default_runs_root() -> Path:
    """``$STRUCTREP_RUNS`` if set, else ``trained_nets/`` in the project."""
    env = os.environ.get('STRUCTREP_RUNS')
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / 'trained_nets'


def run_name(dataset: str, method: str, encoder: str | None, decoder: str | None, stamp: str | None = None) -> str:
    """``vec_vae_e-conv12_d-conv12_251125-141501``; parts that are not set are left out."""
    parts = [dataset, method]
    if encoder:
        parts.append(f'e-{encoder}')
    if decoder:
        parts.append(f'd-{decoder}')
    parts.append(stamp or time.strftime('%y%m%d-%H%M%S'))
    return '_'.join(p.replace('/', '-') for p in parts)


def create_run_dir(root: Path, name: str, exact: bool = False) -> Path:
    """Make a fresh run directory; a name taken in the same second gets a numeric suffix.

    ``exact`` (``--run_name NAME``): the folder is ``root/name`` and nothing else; an existing one is an error,
    because a second run must never write into the first one's checkpoints.
    """
    if exact and (not name or name in ('.', '..') or '/' in name or os.sep in name):
        raise RunError(f'--run_name must be a plain folder name (no path separators), got {name!r}; '
                       f'--runs_root says where the folder goes.')
    root.mkdir(parents=True, exist_ok=True)
    path, n = root / name, 1
    while exact:
        try:
            path.mkdir()
            break
        except FileExistsError:
            raise RunError(f'The run folder {path} exists already. Continue that run with '
                           f'`fig train --load {path} --resume`, or choose another --run_name.') from None
    while not exact:
        try:
            path.mkdir()
            break
        except FileExistsError:
            n += 1
            path = root / f'{name}-{n}'
    for sub in (CHECKPOINT_DIR, 'images', 'results'):
        (path / sub).mkdir()
    return path


def is_run(path: Path) -> bool:
    return (Path(path) / RUN_CONFIG_FILE).is_file()


def mark_finished(run_dir: Path, step: int) -> None:
    """Record that the run trained all its steps and was evaluated (what a sweep checks to skip it)."""
    write_json_atomic(Path(run_dir) / FINISHED_FILE, {'step': int(step), 'time': time.strftime('%Y-%m-%d %H:%M:%S')})


def is_finished(run_dir: Path) -> bool:
    """True once ``fig train`` has completed the run (see :func:`mark_finished`)."""
    return (Path(run_dir) / FINISHED_FILE).is_file()


def resolve_run(name_or_path: str | Path, runs_root: Path | None = None) -> Path:
    """Find a run by path, or by name under the runs root; say where we looked when it is not there."""
    candidates = [Path(name_or_path)]
    root = Path(runs_root) if runs_root else default_runs_root()
    candidates.append(root / str(name_or_path))
    for path in candidates:
        if is_run(path):
            return path.resolve()
    looked = ', '.join(str(p) for p in candidates)
    raise RunError(f'{name_or_path!r} is not a run: no {RUN_CONFIG_FILE} in {looked}. '
                   f'A run is a folder made by `fig train` (see `ls {root}`).')


def find_runs(path: Path) -> list[Path]:
    """Every run at or below ``path`` (for collecting results over seeds)."""
    path = Path(path)
    if is_run(path):
        return [path.resolve()]
    return sorted(p.parent.resolve() for p in path.rglob(RUN_CONFIG_FILE))


# --------------------------------------------------------------------------- checkpoints

def atomic_write_bytes(path: Path, write) -> None:
    """Write through a temporary file in the same folder, fsync, then rename over ``path``.

    The previous file stays intact until the new one is complete; on any failure (a full disk, a crash)
    the temporary file is removed and the error propagates.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


def copy_atomic(source: Path, path: Path) -> None:
    """A separate, complete copy of ``source`` at ``path`` (written like :func:`atomic_write_bytes`)."""
    import shutil
    with open(source, 'rb') as original:
        atomic_write_bytes(path, lambda handle: shutil.copyfileobj(original, handle, 1 << 20))


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files that a process killed mid-write (SIGKILL, power loss) left in ``folder``.

    Only names made by :func:`atomic_write_bytes` (``.<name>.<random>.tmp``) are touched; call it when no
    other process writes there (the trainer does so when it resumes a run).
    """
    removed = []
    for tmp in Path(folder).glob('.*.tmp'):
        try:
            tmp.unlink()
            removed.append(tmp)
        except FileNotFoundError:
            pass
    return removed


def save_checkpoint(state: dict, path: Path) -> None:
    """``torch.save`` atomically; ``state`` must hold only tensors and plain containers."""
    atomic_write_bytes(path, lambda handle: torch.save(state, handle))


class CorruptCheckpoint(RunError):
    """A checkpoint file that is there but cannot be read: truncated, empty or not a checkpoint at all."""


def load_checkpoint(path: Path, map_location: Any = 'cpu') -> dict:
    """Load with ``weights_only=True``: a checkpoint holding arbitrary pickled objects is refused.

    A file that is merely unreadable (truncated by a full disk or an interrupted copy) or damaged in place (its
    zip checksums fail: torch itself would load the wrong bytes without a word) raises :class:`CorruptCheckpoint`,
    so that a resume can fall back to an older checkpoint; a file refused for holding foreign objects raises a
    plain :class:`RunError` and is never worked around.
    """
    path = Path(path)
    if not path.is_file():
        raise RunError(f'No checkpoint at {path}.')
    damaged = _damaged_member(path)
    if damaged:
        raise CorruptCheckpoint(f'Cannot load checkpoint {path}: its entry {damaged} fails its checksum (the file '
                                f'was damaged after it was written).')
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:      # UnpicklingError for foreign objects, RuntimeError for truncated zips
        first_line = (str(exc).splitlines() or [''])[0]
        refused = 'Weights only load failed' in str(exc)
        error = RunError if refused else CorruptCheckpoint
        raise error(f'Cannot load checkpoint {path}: {exc.__class__.__name__}: {first_line}. '
                    f'Checkpoints here hold only tensors and plain values (weights_only loading); '
                    f'a file with other pickled objects, or a truncated one, is refused.') from None


def numbered_checkpoints(folder: Path) -> list[Path]:
    """``ckpt-<step>.pt`` files in ``folder``, newest (highest step) first."""
    found = [p for p in Path(folder).glob('ckpt-*.pt') if p.stem.split('-', 1)[1].isdigit()]
    return sorted(found, key=lambda p: int(p.stem.split('-', 1)[1]), reverse=True)


def _damaged_member(path: Path) -> str | None:
    """The first entry of a zip-format checkpoint whose CRC does not match; None when all match or not a zip."""
    import zipfile
    import zlib
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip()
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError):
        return None          # not a zip (or cut short): torch.load says what is wrong with it


def write_json_atomic(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=2, sort_keys=False, default=_json_default).encode()
    atomic_write_bytes(path, lambda handle: handle.write(text))


def _json_default(value):
    if hasattr(value, 'item'):
        return value.item()
    if hasattr(value, 'tolist'):
        return value.tolist()
    return str(value)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)
