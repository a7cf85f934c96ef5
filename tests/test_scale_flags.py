"""``--device``, ``--amp`` and ``--compile`` are plain config flags that work with every method (CPU paths).

A full inductor compile takes minutes on a busy 2-core machine, so the default test compiles with the
``aot_eager`` backend (same Dynamo capture, no C++ code generation); set ``STRUCTREP_SLOW_TESTS=1`` to also
run the inductor backend.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from conftest import run_in_process as fig
from framework import registry, runs

FRAMEWORK_METHODS = ('ae', 'vae', 'wae')
TINY = ['--dataset.num_samples', '200', '--batch_size', '8', '--progress', 'false', '--eval_batches', '1',
        '--steps', '2', '--ckpt_every', '0', '--encoder.hidden', '[16]', '--decoder.hidden', '[16]']


def last_checkpoint(root: Path) -> dict:
    (run,) = list(root.iterdir())
    return runs.load_checkpoint(run / 'checkpoints' / 'last.pt')


def test_the_framework_methods_are_the_ones_checked_here():
    assert set(FRAMEWORK_METHODS) <= set(registry.names('method'))


@pytest.mark.parametrize('method', FRAMEWORK_METHODS)
def test_amp_trains_every_method_on_cpu(tmp_path, method):
    code, text = fig('train', 'a/mlp', f'm/{method}', 'd/vec', *TINY, '--amp', 'true', '--device', 'cpu',
                     '--runs_root', str(tmp_path))
    assert code in (0, None), text
    state = last_checkpoint(tmp_path)
    assert state['step'] == 2 and state['settings']['amp'] is True
    assert all(torch.isfinite(v).all() for v in state['method'].values())


def test_amp_really_computes_in_bfloat16_on_cpu():
    from framework.data.base import InMemoryDataset
    from framework.methods import Method
    from framework.trainer import Trainer, TrainSettings

    class Probe(Method):
        def __init__(self):
            super().__init__()
            self.linear, self.seen = torch.nn.Linear(4, 4), []

        def training_step(self, batch):
            y = self.linear(batch['x'])
            self.seen.append(y.dtype)
            return {'loss': y.float().pow(2).mean()}

    for amp, want in ((True, torch.bfloat16), (False, torch.float32)):
        probe = Probe()
        Trainer(probe, InMemoryDataset(torch.rand(8, 4)),
                TrainSettings(steps=1, batch_size=4, amp=amp, progress=False, viz_every=0), None,
                torch.device('cpu')).fit()
        assert probe.seen == [want]


def compiled_run(tmp_path: Path, backend: str) -> None:
    code, text = fig('train', 'a/mlp', 'm/vae', 'd/vec', *TINY, '--compile', 'true', '--compile_backend', backend,
                     '--runs_root', str(tmp_path))
    assert code in (0, None), text
    state = last_checkpoint(tmp_path)
    assert state['step'] == 2
    # the checkpoint holds the method's own parameter names, loadable without torch.compile
    assert not any(k.startswith('_orig_mod') for k in state['method'])
    assert 'encoder.net.0.weight' in state['method']


@pytest.mark.slow
def test_compile_runs_two_steps(tmp_path):
    compiled_run(tmp_path, 'aot_eager')


@pytest.mark.skipif(os.environ.get('STRUCTREP_SLOW_TESTS') != '1',
                    reason='inductor compiles C++ for minutes on this machine; STRUCTREP_SLOW_TESTS=1 runs it')
def test_compile_with_inductor_runs_two_steps(tmp_path):
    compiled_run(tmp_path, 'inductor')
