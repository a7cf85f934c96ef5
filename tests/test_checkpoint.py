"""Checkpoints are never half-written: a temporary file, fsync, rename; the previous one survives a full disk,
an exception or a SIGKILL in the middle of a write; foreign pickles are refused; another config is named."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from framework import runs
from framework.errors import RunError

ROOT = Path(__file__).resolve().parent.parent
REAL_SAVE = torch.save



def full_disk_after(nbytes: int):
    """A torch.save that writes ``nbytes`` of the real file and then fails as a full disk does."""
    def save(obj, handle):
        import io
        buffer = io.BytesIO()
        REAL_SAVE(obj, buffer)
        handle.write(buffer.getvalue()[:nbytes])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return save


def test_full_disk_mid_write_keeps_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / 'last.pt'
    runs.save_checkpoint({'step': 1, 'w': torch.ones(1000)}, path)
    monkeypatch.setattr(runs.torch, 'save', full_disk_after(100))
    with pytest.raises(OSError) as info:
        runs.save_checkpoint({'step': 2, 'w': torch.zeros(1000)}, path)
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ['last.pt']
    state = runs.load_checkpoint(path)
    assert state['step'] == 1 and torch.equal(state['w'], torch.ones(1000))


def test_any_exception_mid_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / 'last.pt'
    runs.atomic_write_bytes(path, lambda handle: handle.write(b'old'))

    def interrupted(handle):
        handle.write(b'new but incomplete')
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        runs.atomic_write_bytes(path, interrupted)
    assert path.read_bytes() == b'old'
    assert [p.name for p in tmp_path.iterdir()] == ['last.pt']


def small_trainer(run_root: Path, **settings):
    from framework.data.base import InMemoryDataset
    from framework.methods.ae import Autoencoder
    from framework.nn.mlp import MLPDecoder, MLPEncoder
    from framework.trainer import Trainer, TrainSettings

    torch.manual_seed(0)
    dataset = InMemoryDataset(torch.rand(64, 6))
    method = Autoencoder(lambda **kw: MLPEncoder(hidden=(8,), **kw), lambda **kw: MLPDecoder(hidden=(8,), **kw),
                         observation_shape=(6,), latent_dim=2)
    s = TrainSettings(**{'steps': 4, 'batch_size': 8, 'progress': False, 'log_every': 2, 'viz_every': 0,
                         'ckpt_every': 2, **settings})
    return Trainer(method, dataset, s, runs.create_run_dir(run_root, 'run'), torch.device('cpu'))


def test_trainer_stops_with_a_message_when_the_disk_fills(tmp_path, monkeypatch):
    trainer = small_trainer(tmp_path)
    calls = {'n': 0}

    def save(obj, handle):       # the first checkpoint (step 2) fits, the second (step 4) does not
        calls['n'] += 1
        if calls['n'] == 1:
            return REAL_SAVE(obj, handle)
        return full_disk_after(50)(obj, handle)
    monkeypatch.setattr(runs.torch, 'save', save)
    with pytest.raises(RunError) as info:
        trainer.fit()
    message = str(info.value)
    assert 'at step 4' in message and 'disk is full' in message
    assert '(step 2) is intact' in message and '--resume' in message
    monkeypatch.undo()
    ckpts = trainer.run_dir / 'checkpoints'
    assert sorted(p.name for p in ckpts.iterdir()) == ['ckpt-2.pt', 'last.pt']
    assert runs.load_checkpoint(ckpts / 'last.pt')['step'] == 2
    assert not list(trainer.run_dir.rglob('*.tmp'))


WRITER = textwrap.dedent('''
    import sys, torch
    from framework import runs
    path, i = sys.argv[1], 0
    while True:
        i += 1
        runs.save_checkpoint({'step': i, 'w': torch.full((2_000_000,), float(i))}, path)
''')


@pytest.mark.slow
def test_sigkill_during_writes_never_leaves_a_half_written_checkpoint(tmp_path):
    path = tmp_path / 'last.pt'
    writer = subprocess.Popen([sys.executable, '-c', WRITER, str(path)], cwd=ROOT,
                              env={**os.environ, 'OMP_NUM_THREADS': '1'})
    deadline = time.monotonic() + 60
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)                         # several 8 MB writes later, most of the time inside one
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    state = runs.load_checkpoint(path)
    assert state['step'] >= 1
    assert torch.equal(state['w'], torch.full((2_000_000,), float(state['step'])))
    runs.remove_stale_temporaries(tmp_path)   # what resuming does with a killed writer's leftovers
    assert [p.name for p in tmp_path.iterdir()] == ['last.pt']


class Exploit:
    def __reduce__(self):
        return (os.system, (f'touch {Exploit.marker}',))


def test_a_checkpoint_with_arbitrary_pickled_objects_is_refused(tmp_path):
    Exploit.marker = tmp_path / 'pwned'
    path = tmp_path / 'last.pt'
    torch.save({'step': 3, 'method': {'w': torch.zeros(2)}, 'payload': Exploit()}, path)
    with pytest.raises(RunError) as info:
        runs.load_checkpoint(path)
    assert 'weights_only' in str(info.value) and str(path) in str(info.value)
    assert not Exploit.marker.exists()


def test_a_truncated_checkpoint_is_refused_with_its_name(tmp_path):
    path = tmp_path / 'last.pt'
    runs.save_checkpoint({'w': torch.zeros(1000)}, path)
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(RunError, match='truncated'):
        runs.load_checkpoint(path)


def test_a_checkpoint_from_another_config_lists_the_mismatched_keys(tmp_path):
    from framework.checks import check_state_matches
    trainer = small_trainer(tmp_path)
    state = dict(trainer.method.state_dict())
    state['encoder.net.0.weight'] = torch.zeros(9, 6)         # another hidden width
    state['extra.bias'] = torch.zeros(3)                      # a module this model does not have
    del state['decoder.net.0.0.weight']
    with pytest.raises(RunError) as info:
        check_state_matches(trainer.method, state, Path('ckpt.pt'))
    message = str(info.value)
    assert 'missing from the checkpoint: decoder.net.0.0.weight' in message
    assert 'not in this model: extra.bias' in message
    assert 'encoder.net.0.weight (9, 6) vs (8, 6)' in message


def test_a_numbered_checkpoint_is_a_complete_copy_and_pruning_keeps_the_newest(tmp_path):
    trainer = small_trainer(tmp_path, steps=8, keep_checkpoints=2)
    trainer.fit()
    ckpts = trainer.run_dir / 'checkpoints'
    assert sorted(p.name for p in ckpts.iterdir()) == ['ckpt-6.pt', 'ckpt-8.pt', 'last.pt']
    assert runs.load_checkpoint(ckpts / 'ckpt-6.pt')['step'] == 6
    assert runs.load_checkpoint(ckpts / 'last.pt')['step'] == 8


def test_a_checkpoint_overwritten_in_place_fails_its_checksum_instead_of_loading_wrong_weights(tmp_path):
    path = tmp_path / 'last.pt'
    runs.save_checkpoint({'step': 3, 'w': torch.ones(100_000)}, path)
    with open(path, 'r+b') as handle:        # a bad block: the zip still opens, torch alone would load zeros
        handle.seek(os.path.getsize(path) // 2)
        handle.write(b'\0' * 4096)
    with pytest.raises(runs.CorruptCheckpoint, match='fails its checksum'):
        runs.load_checkpoint(path)
