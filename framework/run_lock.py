"""One owner per run: the process that writes a run folder holds ``<run>/.owner``, an exclusive lock.

Two trainers on one run would overwrite each other's checkpoints and delete each other's temporary files, so
``fig train`` (new run or ``--resume``) holds the lock while it trains, and an evaluator that would write results
there first checks that no trainer holds it. The lock is an ``flock`` on the file, so the kernel releases it the
moment its holder dies (a SIGKILL leaves no stale lock to clean up); the file's text says who holds it (host,
PID, command, since when) so that a refusal can name the process to wait for or stop.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import sys
import time
from pathlib import Path

from . import write_errors
from .errors import RunError

LOCK_FILE = '.owner'


class RunLock:
    """``with RunLock(run_dir, 'fig train'):`` holds the run for this process; a second holder is refused."""

    def __init__(self, run_dir: Path, role: str = 'fig train'):
        self.path = Path(run_dir) / LOCK_FILE
        self.role = role
        self.handle = None

    def __enter__(self) -> 'RunLock':
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquired(self) -> 'RunLock':
        """Acquire and return the lock (for code that releases it in its own ``finally``)."""
        self.acquire()
        return self

    def acquire(self) -> None:
        if not self.path.parent.is_dir():
            raise RunError(f'The run folder {self.path.parent} does not exist (was it moved or deleted?). '
                           f'Give `--load` an existing run, or start a new one.')
        handle = open(self.path, 'a+')
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe(read_holder(self.path))
            handle.close()
            raise RunError(f'{self.path.parent} is being written by {holder}; two processes on one run would '
                           f'overwrite each other\'s checkpoints. Wait for it to finish, or stop it (Ctrl-C or '
                           f'`kill PID`: it writes a checkpoint), then run this command again.') from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(_me(self.role)))
            handle.flush()
        except OSError as exc:          # a full disk, a read-only folder: said as such, not as a traceback
            try:
                handle.close()          # flushes the rest, which fails the same way
            except OSError:
                pass
            cause, advice = write_errors.describe(exc, self.path)
            raise RunError(f'Could not take ownership of {self.path.parent} because {cause}. {advice}, then run '
                           f'this command again.') from None
        self.handle = handle

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def claim_new_run(root: Path, name: str, exact: bool, save_config) -> tuple[Path, RunLock]:
    """Make a new run folder, hold it and write its config (``save_config(folder)``); ``(folder, lock)``.

    When a write fails (the disk is full, permission is denied), the half-made folder is removed again, so that
    the same command (``--run_name`` included) can simply be run again, and the error names the cause.
    """
    from . import runs
    try:
        run_dir = runs.create_run_dir(root, name, exact=exact)
    except OSError as exc:
        cause, advice = write_errors.describe(exc, Path(root) / name)
        raise RunError(f'Could not create a run folder in {root} because {cause}. {advice}, then run this command '
                       f'again.') from None
    try:
        lock = RunLock(run_dir).acquired()
    except RunError:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    try:
        save_config(run_dir)
    except (OSError, RuntimeError) as exc:
        lock.release()
        shutil.rmtree(run_dir, ignore_errors=True)
        if not write_errors.is_write_failure(exc):
            raise
        cause, advice = write_errors.describe(exc, run_dir / runs.RUN_CONFIG_FILE)
        raise RunError(f'Could not write the new run\'s config in {run_dir} because {cause} (the folder was removed '
                       f'again). {advice}, then run this command again.') from None
    return run_dir, lock


def holder(run_dir: Path) -> dict | None:
    """Who holds the run now (``{'host', 'pid', 'command', 'since'}``), or None when nobody does.

    A lock file left by a dead process is not held (the kernel released its lock), so it reads as None.
    """
    path = Path(run_dir) / LOCK_FILE
    if not path.is_file():
        return None
    try:
        handle = open(path, 'r')
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return read_holder(path) or {'host': '?', 'pid': None, 'command': 'another process', 'since': '?'}
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def refuse_if_held(run_dir: Path, action: str) -> None:
    """Stop an evaluator before it writes into a run that a trainer is still writing."""
    found = holder(run_dir)
    if found is not None:
        raise RunError(f'{Path(run_dir)} is being trained by {_describe(found)}, so {action} would read a '
                       f'checkpoint that is about to change. Wait for the training to finish (or stop it: it writes '
                       f'a checkpoint), then run this command again.')


def kill_holder(run_dir: Path, sig: int = signal.SIGKILL) -> int | None:
    """Send ``sig`` to the process holding the run when it runs on this host; its PID, or None."""
    found = holder(run_dir)
    if not found or found.get('host') != socket.gethostname() or not found.get('pid'):
        return None
    try:
        os.kill(int(found['pid']), sig)
    except ProcessLookupError:
        return None
    return int(found['pid'])


def read_holder(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text() or 'null')
    except (OSError, ValueError):
        return None


def _me(role: str) -> dict:
    return {'host': socket.gethostname(), 'pid': os.getpid(), 'command': role,
            'argv': ' '.join(sys.argv[:6]), 'since': time.strftime('%Y-%m-%d %H:%M:%S')}


def _describe(found: dict | None) -> str:
    if not found:
        return 'another process'
    return (f'{found.get("command", "a process")} (process {found.get("pid")} on {found.get("host")}, '
            f'since {found.get("since")})')
