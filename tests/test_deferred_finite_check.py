"""The NaN/inf guard reads the losses back only where the loop looks anyway (a logged mean) or must look (before a
checkpoint, validation, images, the end), never every step; yet no checkpoint holds a state past the first bad
step, and the message still names that step, its terms, and bad samples by their dataset index."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

import framework.trainer
from framework import runs
from framework.data.base import InMemoryDataset
from framework.data.batches import BatchStream
from framework.errors import DataError, TrainingDiverged
from framework.methods import Method
from framework.trainer import Trainer, TrainSettings

FRAMEWORK = str(Path(framework.trainer.__file__).parent)


class GoesNaN(Method):
    """Fits a vector to the data; the loss is NaN from call ``bad_from`` on (and a solver fails at ``crash_at``)."""

    def __init__(self, bad_from: int = 10 ** 9, crash_at: int = 10 ** 9):
        super().__init__()
        self.w, self.bad_from, self.crash_at, self.calls = torch.nn.Parameter(torch.ones(3)), bad_from, crash_at, 0

    def training_step(self, batch):
        self.calls += 1
        if self.calls >= self.crash_at:
            raise RuntimeError('linalg.cholesky: The factorization could not be completed')
        fit = (batch['x'] - self.w).pow(2).mean()
        bad = torch.tensor(float('nan') if self.calls >= self.bad_from else 0.0)
        return {'loss': fit + bad, 'fit': fit, 'bad': bad}


@pytest.fixture(autouse=True)
def no_timed_reads(monkeypatch):
    """The bar's timed refresh (once a second) also reads the losses; off, so only the step rules remain."""
    monkeypatch.setattr(framework.trainer, 'FEEDBACK_SECONDS', float('inf'))


def trainer_for(method, tmp_path, data=None, **settings) -> Trainer:
    torch.manual_seed(0)
    s = TrainSettings(**{'steps': 20, 'batch_size': 4, 'progress': False, 'viz_every': 0, **settings})
    data = torch.rand(64, 3) if data is None else data
    return Trainer(method, InMemoryDataset(data), s, runs.create_run_dir(tmp_path, 'run'), torch.device('cpu'))


@pytest.mark.parametrize('bad_from, checked_at, kept', [(3, 5, None), (7, 10, 5)])
def test_a_loss_gone_nan_between_checks_stops_before_the_next_checkpoint(tmp_path, bad_from, checked_at, kept):
    trainer = trainer_for(GoesNaN(bad_from), tmp_path, log_every=10, ckpt_every=5)
    with pytest.raises(TrainingDiverged) as info:
        trainer.fit()
    message = str(info.value)
    assert f'non-finite at step {bad_from} ' in message and 'loss=nan' in message and 'fit=' in message
    assert trainer.method.calls == checked_at, 'the steps after the bad one ran until the check: it was deferred'
    folder = trainer.run_dir / 'checkpoints'
    saved = sorted(p.name for p in folder.glob('*.pt'))
    if kept is None:
        assert saved == [] and 'No checkpoint had been written yet' in message
        return
    assert saved == ['ckpt-5.pt', 'last.pt'] and 'last good checkpoint is kept' in message
    state = runs.load_checkpoint(folder / 'last.pt')
    assert state['step'] == kept and torch.isfinite(state['method']['w']).all()


def test_bad_data_at_an_unchecked_step_is_named_by_its_sample_index(tmp_path):
    data = torch.rand(64, 3)
    stream = BatchStream(64, 4, seed=0)             # the trainer's own stream: the same seed and batch size
    third = [next(stream) for _ in range(3)][-1]
    data[int(third[1]), 0] = float('inf')          # only the third batch holds it (one permutation, no repeats)
    trainer = trainer_for(GoesNaN(), tmp_path, data=data, log_every=10, ckpt_every=0)
    with pytest.raises(DataError) as info:
        trainer.fit()
    assert f'at step 3: \'x\' of dataset samples {int(third[1])}.' in str(info.value)


def test_a_crash_after_a_nan_is_reported_as_the_divergence_that_caused_it(tmp_path):
    trainer = trainer_for(GoesNaN(bad_from=3, crash_at=4), tmp_path, log_every=10, ckpt_every=0)
    with pytest.raises(TrainingDiverged, match='non-finite at step 3 ') as info:
        trainer.fit()
    assert 'cholesky' in str(info.value.__cause__)


def test_a_crash_on_finite_losses_is_shown_as_it_is(tmp_path):
    trainer = trainer_for(GoesNaN(crash_at=4), tmp_path, log_every=10, ckpt_every=0)
    with pytest.raises(RuntimeError, match='cholesky'):
        trainer.fit()


def test_no_step_reads_a_value_back_from_the_device(tmp_path, monkeypatch):
    """Every way a tensor's value reaches Python, counted where framework code calls it: the count of a run
    must not grow with its steps (a read at the first step, the logged step and the end is allowed)."""
    calls = []

    def counting(name):
        original = getattr(torch.Tensor, name)

        def wrapper(self, *args, **kwargs):
            caller = sys._getframe(1).f_code.co_filename
            if caller.startswith(FRAMEWORK):
                calls.append(f'{name} from {Path(caller).name}:{sys._getframe(1).f_lineno}')
            return original(self, *args, **kwargs)
        return wrapper

    for name in ('item', 'tolist', 'cpu', 'numpy', 'nonzero', '__bool__', '__float__', '__int__', '__index__'):
        monkeypatch.setattr(torch.Tensor, name, counting(name))

    def reads(steps: int) -> list[str]:
        from framework.methods.vae import VAE
        from framework.nn.mlp import MLPDecoder, MLPEncoder
        calls.clear()
        torch.manual_seed(0)
        method = VAE(lambda **kw: MLPEncoder(hidden=(8,), **kw), lambda **kw: MLPDecoder(hidden=(8,), **kw),
                     observation_shape=(3,), latent_dim=2)
        s = TrainSettings(steps=steps, batch_size=4, progress=False, viz_every=0, ckpt_every=0, log_every=steps)
        Trainer(method, InMemoryDataset(torch.rand(64, 3)), s, None, torch.device('cpu')).fit()
        return list(calls)

    short, long = reads(10), reads(40)
    assert len(short) == len(long), f'reads grow with the steps:\n{long}'
    assert len(long) <= 6, long


def test_a_loop_of_train_step_alone_is_checked_every_max_pending_steps(tmp_path, monkeypatch):
    monkeypatch.setattr(framework.trainer, 'MAX_PENDING', 4)
    trainer = trainer_for(GoesNaN(bad_from=2), tmp_path)
    for _ in range(3):
        trainer.train_step()
        trainer.step += 1
    with pytest.raises(TrainingDiverged, match='non-finite at step 2 '):
        trainer.train_step()
