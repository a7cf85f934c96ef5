"""A sweep's folder and its state file: ``<runs_root>/sweeps/<name>/sweep.json``, rewritten atomically.

The folder holds one ordinary run directory per grid point (``<point>/``, made by ``fig train --run_name``),
``logs/<point>.log`` (the run's stdout and stderr) and ``sweep.json``: the shared command, the axes and, per
run, its state (pending, running, done, failed, interrupted, not started), command, run folder, log, exit status and times.
Only the process that runs the sweep writes the file (a lock keeps a second one out), so readers such as
``fig sweep --status NAME`` always see a complete file.
"""
from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from pathlib import Path

from .. import runs
from ..errors import RunError

STATE_FILE = 'sweep.json'
LOCK_FILE = '.lock'
STATES = ('pending', 'running', 'done', 'failed', 'interrupted', 'not started')


def sweeps_root(runs_root: Path) -> Path:
    return Path(runs_root) / 'sweeps'


def find_sweep(name_or_path: str | Path, runs_root: Path) -> Path:
    """A sweep folder by path or by name under ``<runs_root>/sweeps/``; the error lists the known sweeps."""
    for path in (Path(name_or_path), sweeps_root(runs_root) / str(name_or_path)):
        if (path / STATE_FILE).is_file():
            return path
    known = sorted(p.parent.name for p in sweeps_root(runs_root).glob(f'*/{STATE_FILE}'))
    listing = ', '.join(known) if known else 'none yet'
    raise RunError(f'No sweep {name_or_path!r} (looked for {STATE_FILE} in {name_or_path} and in '
                   f'{sweeps_root(runs_root) / str(name_or_path)}). Sweeps under {sweeps_root(runs_root)}: {listing}.')


class SweepState:
    """The state file of one sweep; every change is written at once (atomic rename) under a thread lock."""

    def __init__(self, folder: Path, data: dict):
        self.folder, self.data = Path(folder), data
        self._lock = threading.Lock()

    @classmethod
    def load(cls, folder: Path) -> 'SweepState':
        path = Path(folder) / STATE_FILE
        try:
            return cls(folder, json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            raise RunError(f'Cannot read {path}: {exc}. The runs themselves are intact (each run folder records its '
                           f'own progress): delete {path} alone and run the same `fig sweep` command again; it '
                           f'rebuilds the file, skips the finished runs and continues the others.') from None

    @property
    def runs(self) -> list[dict]:
        return self.data['runs']

    def run(self, point: str) -> dict:
        return next(r for r in self.runs if r['point'] == point)

    def update(self, point: str, **fields) -> None:
        with self._lock:
            self.run(point).update(fields)
            self.save_unlocked()

    def save(self) -> None:
        with self._lock:
            self.save_unlocked()

    def save_unlocked(self) -> None:
        self.data['updated'] = time.strftime('%Y-%m-%d %H:%M:%S')
        self.folder.mkdir(parents=True, exist_ok=True)
        runs.write_json_atomic(self.folder / STATE_FILE, self.data)

    def counts(self) -> dict[str, int]:
        return {state: sum(r['state'] == state for r in self.runs) for state in STATES}


class SweepLock:
    """An exclusive lock on the sweep folder: two launchers of one sweep would train the same runs twice."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / LOCK_FILE
        self.handle = None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, 'a+')
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.seek(0)
            holder = self.handle.read().strip() or 'another process'
            self.handle.close()
            raise RunError(f'The sweep in {self.path.parent} is being run by {holder}. Wait for it, or stop it '
                           f'(Ctrl-C there), then run this command again to continue.') from None
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(f'process {os.getpid()}')
        self.handle.flush()
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def format_status(state: SweepState) -> str:
    """The sweep's table: one line a run (state, exit status, folder, log), then the counts."""
    rows = [('run', 'state', 'exit', 'eval', 'log')]
    for r in state.runs:
        exit_code = '' if r.get('returncode') is None else str(r['returncode'])
        rows.append((r['point'], r['state'], exit_code, r.get('eval') or '', r['log']))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ['  '.join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + '  ' + row[4] for row in rows]
    counts = ', '.join(f'{n} {s}' for s, n in state.counts().items() if n)
    lines.append(f'sweep {state.data["name"]} ({state.folder}): {len(state.runs)} runs: {counts}')
    return '\n'.join(lines)
