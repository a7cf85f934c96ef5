"""Which checkpoint a resume or an evaluation starts from, without ever destroying a run's history.

``--resume`` and every script that loads a run (``fig eval``, ``fig eval-metrics``, the plugins' scripts) go
through here, so they agree: ``last.pt`` when it is intact, else the newest intact ``ckpt-<step>.pt`` with a
one-line note naming both. A file that is truncated, empty or a valid pickle without a checkpoint's keys counts
as damaged and is skipped the same way; a file refused for holding foreign pickled objects stops everything.

A run whose checkpoints are gone but whose logs (``scalars.csv``, TensorBoard events, ``finished.json``) show it
trained past a checkpoint is refused: resuming it from step 0 would overwrite that history. ``--restart`` starts
it afresh and moves the old history into ``before-restart-<stamp>/`` inside the run, where it stays.
"""
from __future__ import annotations

import csv
import shutil
import time
from pathlib import Path
from typing import Any

from . import runs
from .errors import RunError

CHECKPOINT_KEYS = ('step', 'method')
TRAINING_KEYS = ('step', 'method', 'optimizer', 'scheduler', 'stream', 'rng')
HISTORY = ('scalars.csv', 'finished.json', 'events.out.tfevents.*', 'results', 'images', runs.CHECKPOINT_DIR)


def resume_point(run_dir: Path, name: str | None, restart: bool, ckpt_every: int,
                 map_location: Any = 'cpu') -> tuple[Path | None, dict | None, str | None]:
    """``(path, state, note)`` for ``fig train --load RUN --resume``; a path of None starts the run at step 0.

    ``restart`` (``--restart``) moves the run's history aside and starts at step 0, whatever is left in it.
    """
    run_dir = Path(run_dir)
    folder = run_dir / runs.CHECKPOINT_DIR
    if restart:
        kept = move_history_aside(run_dir)
        folder.mkdir(exist_ok=True)
        note = None if kept is None else f'note: --restart: the earlier history of this run is kept in {kept}.'
        return None, None, note
    found = newest_intact(folder, name, TRAINING_KEYS, map_location) if folder.is_dir() else None
    if found is None:
        lost = _lost_history(run_dir, ckpt_every)
        if lost:
            raise RunError(f'{run_dir} has no checkpoint left in {folder}, but {lost}: resuming would start at '
                           f'step 0 and overwrite that history. Either start a new run (`fig train --load '
                           f'{run_dir}` without --resume makes a fresh folder with the same config), or pass '
                           f'`--resume --restart` to train this one again from step 0 (its old logs, results and '
                           f'images move to {run_dir}/before-restart-<stamp>/).')
        folder.mkdir(exist_ok=True)
        return None, None, None
    return found


def checkpoint_to_load(run_dir: Path, name: str | None, map_location: Any = 'cpu') -> tuple[Path, dict, str | None]:
    """``(path, state, note)`` for a script that scores a run: ``name`` if given, else ``last.pt`` or the newest
    intact numbered checkpoint. Never None: a run with no usable checkpoint is an error that says what is there."""
    folder = Path(run_dir) / runs.CHECKPOINT_DIR
    found = newest_intact(folder, name, CHECKPOINT_KEYS, map_location)
    if found is None:
        raise RunError(f'{run_dir} has no checkpoint to load (nothing in {folder}). Train it first: '
                       f'`fig train --load {run_dir} --resume`.')
    return found


def newest_intact(folder: Path, name: str | None, keys: tuple[str, ...],
                  map_location: Any = 'cpu') -> tuple[Path, dict, str | None] | None:
    """``name`` as asked (a damaged one is refused with the newest intact file named), else ``last.pt`` or the
    newest numbered checkpoint that loads and holds ``keys``; None when the folder holds no checkpoint at all."""
    folder = Path(folder)
    if name and name != runs.LAST_CHECKPOINT:
        path = Path(name) if Path(name).is_file() or Path(name).is_absolute() else folder / name
        if not path.is_file():
            raise RunError(f'No checkpoint {name!r} in {folder} (there: {_listing(folder)}); '
                           f'give `--checkpoint` one of those names, or a path.')
        try:
            return path, _load(path, keys, map_location), None
        except runs.CorruptCheckpoint as exc:
            raise RunError(f'{exc} {_alternative(folder, keys, map_location, skip=path)}') from None
    last = folder / runs.LAST_CHECKPOINT
    problem = None
    if last.is_file():
        try:
            return last, _load(last, keys, map_location), None
        except runs.CorruptCheckpoint as exc:
            problem = exc
    for path in runs.numbered_checkpoints(folder):
        try:
            state = _load(path, keys, map_location)
        except runs.CorruptCheckpoint:
            continue
        why = 'cannot be read (truncated or corrupt)' if problem else 'is missing'
        return path, state, f'note: {last} {why}; using {path.name} (step {int(state["step"])}), the newest intact ' \
                            f'checkpoint.'
    if problem is not None:
        raise RunError(f'{problem} No intact numbered checkpoint (ckpt-<step>.pt) is left in {folder} either. '
                       f'Start a new run, or pass a good file with `--checkpoint PATH`.')
    return None


def move_history_aside(run_dir: Path) -> Path | None:
    """Move what a run recorded (logs, results, images, checkpoints) into ``before-restart-<stamp>/``."""
    run_dir = Path(run_dir)
    found = [p for pattern in HISTORY for p in run_dir.glob(pattern)]
    if not found:
        return None
    target = run_dir / f'before-restart-{time.strftime("%y%m%d-%H%M%S")}'
    n = 1
    while target.exists():
        n += 1
        target = run_dir / f'before-restart-{time.strftime("%y%m%d-%H%M%S")}-{n}'
    target.mkdir()
    for path in found:
        shutil.move(str(path), str(target / path.name))
    for sub in ('images', 'results'):
        (run_dir / sub).mkdir(exist_ok=True)
    return target


def _load(path: Path, keys: tuple[str, ...], map_location: Any) -> dict:
    state = runs.load_checkpoint(path, map_location)
    missing = [k for k in keys if not isinstance(state, dict) or k not in state]
    if missing:
        raise runs.CorruptCheckpoint(f'{path} loads but is not a checkpoint of this framework (no '
                                     f'{", ".join(missing)}).')
    return state


def _alternative(folder: Path, keys, map_location, skip: Path) -> str:
    for path in [folder / runs.LAST_CHECKPOINT, *runs.numbered_checkpoints(folder)]:
        if path.is_file() and path.resolve() != skip.resolve():
            try:
                state = _load(path, keys, map_location)
            except runs.CorruptCheckpoint:
                continue
            return f'The newest intact checkpoint is {path} (step {int(state["step"])}): `--checkpoint {path.name}`.'
    return f'No other intact checkpoint is in {folder}.'


def _listing(folder: Path) -> str:
    return ', '.join(p.name for p in [folder / runs.LAST_CHECKPOINT, *runs.numbered_checkpoints(folder)]
                     if p.is_file()) or 'none'


def _lost_history(run_dir: Path, ckpt_every: int) -> str:
    """What shows that the run had checkpoints which are now gone ('' when nothing does)."""
    if runs.is_finished(run_dir):
        return f'{runs.FINISHED_FILE} says it finished'
    if not (run_dir / runs.CHECKPOINT_DIR).is_dir():
        logged = _last_logged_step(run_dir)
        if logged:
            return f'its {runs.CHECKPOINT_DIR}/ folder is gone and scalars.csv logs steps up to {logged}'
        return ''
    logged = _last_logged_step(run_dir)
    if ckpt_every > 0 and logged > ckpt_every:    # the loop goes past step ckpt_every only once it has saved there
        return f'scalars.csv logs steps up to {logged}, past the first checkpoint (every {ckpt_every} steps)'
    return ''


def _last_logged_step(run_dir: Path) -> int:
    path = Path(run_dir) / 'scalars.csv'
    try:
        with open(path, newline='') as handle:
            rows = csv.reader(handle)
            next(rows, None)
            return max((int(row[0]) for row in rows if row and row[0].isdigit()), default=0)
    except OSError:
        return 0


def load_for_scoring(run_dir: Path, name: str | None, map_location: Any = 'cpu') -> tuple[Path, dict]:
    """What ``load_run`` (every script that scores a run) loads: refused while a trainer writes the run; a damaged
    ``last.pt`` falls back to the newest intact checkpoint with a one-line note, as ``--resume`` does."""
    from tqdm import tqdm
    from .run_lock import refuse_if_held
    refuse_if_held(run_dir, 'scoring it now')
    path, state, note = checkpoint_to_load(run_dir, name, map_location)
    if note:
        tqdm.write(note)
    return path, state
