"""Multi-process training with PyTorch DDP on CPU (gloo), launched exactly as a user would: torchrun.

Two processes train a deterministic autoencoder with a global batch of 32 (16 a rank). We check:
- only one run directory, one TensorBoard event file and one results file are written (rank 0 writes);
- both ranks hold identical parameters at every checkpoint: each rank hashes its own parameters and the
  hashes are gathered into the checkpoint; the test recomputes rank 0's hash from the saved tensors itself;
- the ranks saw disjoint halves of each batch and gradients were averaged: the 2-process result equals a
  1-process run with the full batch of 32 up to float rounding (if both ranks had read the same half, or a
  rank had trained alone, the parameters would differ by about the learning rate).
"""
from __future__ import annotations

import pytest

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import torch

pytestmark = pytest.mark.slow        # end-to-end runs of the command line (.ci/run runs them)

ROOT = Path(__file__).resolve().parent.parent
ARGS = ['train', 'a/mlp', 'm/ae', 'd/vec', '--steps', '6', '--ckpt_every', '3', '--batch_size', '32',
        '--dataset.num_samples', '400', '--encoder.hidden', '[32]', '--decoder.hidden', '[32]', '--latent_dim', '4',
        '--progress', 'false', '--eval_batches', '1', '--log_every', '3', '--device', 'cpu']


def digest(state: dict) -> str:
    """Written here from the checkpoint format's description (names, dtypes, shapes, raw bytes, sorted)."""
    h = hashlib.sha256()
    for key in sorted(state):
        t = state[key].contiguous()
        h.update(f'{key}|{t.dtype}|{tuple(t.shape)}|'.encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def test_torchrun_two_processes_match_one_process_with_the_full_batch(tmp_path):
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1'}
    ddp_root, single_root = tmp_path / 'ddp', tmp_path / 'single'
    ddp = subprocess.Popen([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
                            '--standalone', 'main.py', *ARGS, '--runs_root', str(ddp_root)],
                           cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    single = subprocess.run([sys.executable, 'main.py', *ARGS, '--runs_root', str(single_root)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    ddp_out, _ = ddp.communicate(timeout=120)
    assert single.returncode == 0, single.stderr
    assert ddp.returncode == 0, ddp_out

    runs = list(ddp_root.iterdir())
    assert len(runs) == 1, runs
    run = runs[0]
    assert len(list(run.glob('events.out.tfevents.*'))) == 1
    assert (run / 'results' / 'eval.json').is_file()
    assert ddp_out.count('Run: ') == 1

    for name in ('ckpt-3.pt', 'last.pt'):
        state = torch.load(run / 'checkpoints' / name, map_location='cpu', weights_only=True)
        assert state['world_size'] == 2 and len(state['rng_ranks']) == 2
        assert len(state['param_digests']) == 2
        assert state['param_digests'][0] == state['param_digests'][1] == digest(state['method'])
        # the two ranks draw independent noise: their saved generator states differ
        assert not torch.equal(state['rng_ranks'][0]['torch'], state['rng_ranks'][1]['torch'])

    ddp_state = torch.load(run / 'checkpoints' / 'last.pt', map_location='cpu', weights_only=True)
    one_state = torch.load(next(single_root.iterdir()) / 'checkpoints' / 'last.pt', map_location='cpu',
                           weights_only=True)
    assert ddp_state['step'] == one_state['step'] == 6
    start = torch.load(run / 'checkpoints' / 'ckpt-3.pt', map_location='cpu', weights_only=True)['method']
    for key, value in one_state['method'].items():
        moved = (value - start[key]).abs().max().item()
        gap = (value - ddp_state['method'][key]).abs().max().item()
        assert gap < 2e-5, f'{key}: 2 processes vs 1 differ by {gap}'
        assert moved > 1e-4 or value.numel() == 0, f'{key} did not train'

    # resume under torchrun as if the job had been killed just after step 3: the copy's last.pt is ckpt-3
    import shutil
    copy = tmp_path / 'resumed' / run.name
    shutil.copytree(run, copy)
    shutil.copyfile(run / 'checkpoints' / 'ckpt-3.pt', copy / 'checkpoints' / 'last.pt')
    resumed = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--standalone',
                              'main.py', 'train', '--load', str(copy), '--resume'], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert 'at step 3' in resumed.stdout + resumed.stderr
    again = torch.load(copy / 'checkpoints' / 'last.pt', map_location='cpu', weights_only=True)
    assert again['step'] == 6
    for key, value in ddp_state['method'].items():
        assert torch.equal(value, again['method'][key]), f'{key} differs after a DDP resume'
    for rank in (0, 1):     # each rank got its own random state back (the AE itself draws no noise)
        assert torch.equal(again['rng_ranks'][rank]['torch'], ddp_state['rng_ranks'][rank]['torch'])
