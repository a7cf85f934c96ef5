"""Resume: a run killed with SIGKILL continues from its last complete checkpoint and ends bit-identical to an
uninterrupted run; SIGTERM/SIGINT write a checkpoint and stop cleanly; resuming continues at the saved step.

The subprocess tests run the real command line (``python main.py train ...``); the in-process ones drive the
``Trainer`` directly so that they can cover a cosine schedule, gradient clipping and a noisy (VAE) objective
cheaply.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import only_run

ROOT = Path(__file__).resolve().parent.parent
TINY = ['--dataset.num_samples', '1000', '--batch_size', '32', '--progress', 'false', '--include_eval', 'false',
        '--log_every', '50']
N = 80           # steps between the checkpoint we kill after and the end: long enough to land the kill inside



def fig_popen(*args, runs_root: Path) -> subprocess.Popen:
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1'}
    return subprocess.Popen([sys.executable, 'main.py', *args, '--runs_root', str(runs_root)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen, timeout: float = 90) -> str:
    out, _ = proc.communicate(timeout=timeout)
    return out


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f'the run ended before writing {path.name}:\n{proc.communicate()[0]}')
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f'{path} did not appear within {timeout} s')
        time.sleep(0.005)


def train_until_first_checkpoint(runs_root: Path, steps: int = 100000) -> tuple[subprocess.Popen, Path]:
    """Start ``fig train demo-vec`` in the background and wait for its ``ckpt-20.pt``: (process, run folder)."""
    proc = fig_popen('train', 'demo-vec', '--steps', str(steps), '--ckpt_every', '20', *TINY, runs_root=runs_root)
    wait_for(runs_root, proc)
    while not any(runs_root.iterdir()):
        time.sleep(0.01)
    run = only_run(runs_root)
    wait_for(run / 'checkpoints' / 'ckpt-20.pt', proc)
    return proc, run


def load(path: Path) -> dict:
    return torch.load(path, map_location='cpu', weights_only=True)


def assert_states_identical(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f'{key} differs'


@pytest.mark.slow
def test_sigkill_then_resume_equals_uninterrupted_run(tmp_path):
    whole_root, killed_root = tmp_path / 'whole', tmp_path / 'killed'
    args = ['train', 'demo-vec', '--steps', str(2 * N), '--ckpt_every', str(N), *TINY]
    whole = fig_popen(*args, runs_root=whole_root)
    killed = fig_popen(*args, runs_root=killed_root)
    wait_for(killed_root, killed)
    while not any(killed_root.iterdir()):
        time.sleep(0.005)
    run = only_run(killed_root)
    wait_for(run / 'checkpoints' / f'ckpt-{N}.pt', killed)
    killed.send_signal(signal.SIGKILL)
    finish(killed)
    assert killed.returncode == -signal.SIGKILL
    at_kill = load(run / 'checkpoints' / 'last.pt')
    assert at_kill['step'] == N, 'the kill landed after the run had finished; the test proves nothing'
    assert not list((run / 'checkpoints').glob('.*.tmp'))

    resumed = fig_popen('train', '--load', str(run), '--resume', runs_root=killed_root)
    out = finish(resumed)
    assert resumed.returncode == 0, out
    assert f'at step {N}' in out
    finish(whole)
    assert whole.returncode == 0

    a = load(only_run(whole_root) / 'checkpoints' / 'last.pt')
    b = load(run / 'checkpoints' / 'last.pt')
    assert a['step'] == b['step'] == 2 * N
    assert_states_identical(a['method'], b['method'])
    for pa, pb in zip(a['optimizer']['state'].values(), b['optimizer']['state'].values()):
        assert_states_identical(pa, pb)
    assert a['stream'] == b['stream']
    assert torch.equal(a['rng']['torch'], b['rng']['torch'])
    assert len(list(killed_root.iterdir())) == 1, 'resuming must not make a new run directory'


@pytest.mark.slow
def test_sigterm_writes_a_checkpoint_and_exits_cleanly(tmp_path):
    proc, run = train_until_first_checkpoint(tmp_path)
    proc.send_signal(signal.SIGTERM)
    out = finish(proc)
    assert proc.returncode == 0, out
    assert 'Stopped by SIGTERM at step' in out and '--resume' in out
    stopped_at = int(out.split('Stopped by SIGTERM at step ')[1].split(';')[0])
    state = load(run / 'checkpoints' / 'last.pt')
    assert state['step'] == stopped_at >= 20
    assert not (run / 'results' / 'eval.json').exists()
    assert not list(run.rglob('*.tmp'))


# ---------------------------------------------------------------------------- in-process

def build(tmp: Path | None, **overrides):
    from framework.config import compose
    from framework.scripts.common import build_dataset, build_method
    from framework.random_state import seed_everything
    from framework.trainer import Trainer, TrainSettings
    from framework.config import build_from_signature
    from framework import runs
    cfg = compose('a/mlp', 'm/vae', 'd/vec', **{'dataset.num_samples': 400, 'batch_size': 16, 'progress': False,
                                                'log_every': 5, 'viz_every': 0, 'ckpt_every': 0,
                                                'encoder.hidden': [32], 'decoder.hidden': [32],
                                                'schedule': 'cosine', 'lr_min': 1.0e-4, 'grad_clip': 0.5,
                                                **overrides})
    settings = build_from_signature(TrainSettings, cfg)
    seed_everything(settings.seed)
    dataset = build_dataset(cfg, 'train')
    method = build_method(cfg, dataset)
    run_dir = None
    if tmp is not None:
        run_dir = runs.create_run_dir(tmp, 'run')
    return Trainer(method, dataset, settings, run_dir, torch.device('cpu'))


@pytest.mark.slow
def test_resumed_trainer_continues_at_saved_step_and_matches(tmp_path):
    steps = 30                      # 400 * 0.9 / 16 = 22 batches an epoch: the resume crosses an epoch boundary
    whole = build(tmp_path / 'a', steps=steps)
    whole.fit()

    first = build(tmp_path / 'b', steps=steps)
    first.settings.steps = steps // 2          # the first half of the same run (its schedule spans all steps)
    first.fit()
    assert first.step == steps // 2
    second = build(None, steps=steps)
    second.run_dir = first.run_dir
    second.load_checkpoint(first.run_dir / 'checkpoints' / 'last.pt')
    assert second.step == steps // 2
    assert second.stream.state_dict() == first.stream.state_dict()
    second.fit()
    assert second.step == steps
    assert second.scheduler.get_last_lr() == whole.scheduler.get_last_lr()
    assert_states_identical(whole.method.state_dict(), second.method.state_dict())
    # and the arithmetic really ran: the resumed half moved the parameters
    half = load(first.run_dir / 'checkpoints' / f'ckpt-{steps // 2}.pt')['method']
    assert any(not torch.equal(half[k], v) for k, v in second.method.state_dict().items())


@pytest.mark.slow
def test_sigint_in_process_writes_checkpoint_then_resume_is_exact(tmp_path):
    from framework.methods import Method

    whole = build(tmp_path / 'a', steps=12)
    whole.fit()

    trainer = build(tmp_path / 'b', steps=12)
    inner = trainer.method.training_step
    calls = {'n': 0}

    def interrupting_step(batch):   # the user presses Ctrl-C during the 5th step
        calls['n'] += 1
        if calls['n'] == 5:
            os.kill(os.getpid(), signal.SIGINT)
        return inner(batch)
    trainer.method.training_step = interrupting_step
    scalars = trainer.fit()
    assert scalars.get('interrupted') == 1.0 and trainer.step == 5
    assert load(trainer.run_dir / 'checkpoints' / 'last.pt')['step'] == 5
    assert isinstance(trainer.method, Method)

    again = build(None, steps=12)
    again.run_dir = trainer.run_dir
    again.load_checkpoint(trainer.run_dir / 'checkpoints' / 'last.pt')
    again.fit()
    assert_states_identical(whole.method.state_dict(), again.method.state_dict())


def test_the_first_mean_logged_after_a_resume_covers_the_steps_before_the_stop(tmp_path):
    import csv
    from test_checkpoint import small_trainer
    whole = small_trainer(tmp_path / 'a', steps=8, log_every=4, ckpt_every=0)
    whole.fit()
    half = small_trainer(tmp_path / 'b', steps=8, log_every=4, ckpt_every=0)
    inner, calls = half.method.training_step, {'n': 0}

    def interrupting_step(batch):              # Ctrl-C during step 6: steps 5 and 6 are not logged yet
        calls['n'] += 1
        if calls['n'] == 6:
            os.kill(os.getpid(), signal.SIGINT)
        return inner(batch)
    half.method.training_step = interrupting_step
    assert half.fit().get('interrupted') and half.step == 6
    again = small_trainer(tmp_path / 'c', steps=8, log_every=4, ckpt_every=0)
    again.run_dir = half.run_dir
    again.load_checkpoint(half.run_dir / 'checkpoints' / 'last.pt')
    again.fit()

    def loss_at(run, step):
        rows = csv.reader(open(run / 'scalars.csv'))
        return [float(r[3]) for r in rows if r[0] == str(step) and r[2] == 'train/loss'][-1]
    assert loss_at(again.run_dir, 8) == loss_at(whole.run_dir, 8)
