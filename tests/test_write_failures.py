"""A failed checkpoint write is named by its cause (disk full, permission denied, folder gone), with the previous
checkpoint intact and no temporary file left. The errors are the real ones: a file whose writes fail with ENOSPC
makes torch's own zip writer raise its ``RuntimeError``; mkstemp raises the OS's ``PermissionError``; a deleted
run folder makes the OS raise ``FileNotFoundError``."""
from __future__ import annotations

import errno
import os
import shutil
import tempfile

import pytest
import torch

from framework import runs, write_errors
from framework.errors import RunError
from test_checkpoint import small_trainer

REAL_FDOPEN = os.fdopen


class FullDisk:
    """A file on a disk with ``room`` bytes left: the write past it fails with ENOSPC, as the OS's does."""

    def __init__(self, handle, room: int):
        self.handle, self.room = handle, room

    def write(self, data):
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.handle.write(data)

    def flush(self):
        self.handle.flush()

    def fileno(self):
        return self.handle.fileno()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()


def disk_with_room(monkeypatch, room: int, after_files: int = 0):
    """Every file opened by ``atomic_write_bytes`` after the first ``after_files`` sits on a disk with ``room``."""
    opened = {'n': 0}

    def fdopen(fd, *args, **kwargs):
        handle = REAL_FDOPEN(fd, *args, **kwargs)
        opened['n'] += 1
        return handle if opened['n'] <= after_files else FullDisk(handle, room)
    monkeypatch.setattr(runs.os, 'fdopen', fdopen)


def test_torch_raises_runtime_error_not_oserror_on_a_full_disk_and_it_is_named(tmp_path, monkeypatch):
    path = tmp_path / 'last.pt'
    disk_with_room(monkeypatch, room=2000)
    with pytest.raises(RuntimeError) as info:            # what torch really raises past its first write
        runs.save_checkpoint({'step': 2, 'w': torch.zeros(10_000)}, path)
    assert not isinstance(info.value, OSError)
    assert write_errors.is_write_failure(info.value)
    assert write_errors.describe(info.value, path)[0] == 'the disk is full'
    assert list(tmp_path.iterdir()) == []


def test_trainer_on_a_full_disk_says_so_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    trainer = small_trainer(tmp_path)
    disk_with_room(monkeypatch, room=3000, after_files=2)     # step 2's last.pt and ckpt-2.pt fit, step 4's does not
    with pytest.raises(RunError) as info:
        trainer.fit()
    message = str(info.value)
    assert 'at step 4 because the disk is full' in message
    assert '(step 2) is intact' in message and 'Free some space' in message and '--resume' in message
    monkeypatch.undo()
    ckpts = trainer.run_dir / 'checkpoints'
    assert sorted(p.name for p in ckpts.iterdir()) == ['ckpt-2.pt', 'last.pt']
    assert runs.load_checkpoint(ckpts / 'last.pt')['step'] == 2
    assert not list(trainer.run_dir.rglob('*.tmp'))


def test_a_denied_permission_is_named_as_such_not_as_a_full_disk(tmp_path, monkeypatch):
    trainer = small_trainer(tmp_path)
    real_mkstemp = tempfile.mkstemp
    calls = {'n': 0}

    def mkstemp(*args, dir=None, **kwargs):     # root ignores chmod, so the OS's refusal is raised as it would be
        calls['n'] += 1
        if calls['n'] > 2:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dir))
        return real_mkstemp(*args, dir=dir, **kwargs)
    monkeypatch.setattr(runs.tempfile, 'mkstemp', mkstemp)
    with pytest.raises(RunError) as info:
        trainer.fit()
    message = str(info.value)
    assert 'permission to write in' in message and 'EACCES' in message and 'writable' in message
    assert 'disk is full' not in message and 'Free some space' not in message
    assert '(step 2) is intact' in message


def test_a_run_folder_deleted_mid_run_is_named_as_gone(tmp_path):
    trainer = small_trainer(tmp_path, steps=6)
    inner = trainer.method.training_step
    calls = {'n': 0}

    def step_then_delete(batch):           # someone removes the run folder during step 3
        calls['n'] += 1
        if calls['n'] == 3:
            shutil.rmtree(trainer.run_dir)
        return inner(batch)
    trainer.method.training_step = step_then_delete
    with pytest.raises(RunError) as info:
        trainer.fit()
    message = str(info.value)
    assert 'because the folder' in message and 'is gone' in message
    assert 'Free some space' not in message and 'disk is full' not in message


def test_a_full_disk_when_a_run_starts_is_named_and_leaves_no_half_made_run_folder(tmp_path, monkeypatch):
    from conftest import run_in_process
    disk_with_room(monkeypatch, room=0)
    code, out = run_in_process('train', 'demo-vec', '--steps', '2', '--runs_root', tmp_path, '--run_name', 'run')
    assert code == 2, out
    assert 'Could not write the new run\'s config' in out and 'the disk is full' in out and 'Traceback' not in out
    assert not (tmp_path / 'run').exists()              # the same command can simply be run again
