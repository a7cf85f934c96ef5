"""Under DDP (two gloo processes) the deferred NaN guard and the stop signal are agreed by every process: both stop
at the same step, a NaN on one rank stops both before the next checkpoint and names the first bad step, and a
SIGTERM to one rank checkpoints both one step later (the agreement is read a step late, so no step waits)."""
from __future__ import annotations

import json
import os
import signal

import pytest
import torch

pytestmark = pytest.mark.slow        # two processes


def test_a_nan_on_one_rank_stops_both_before_the_next_checkpoint(tmp_path):
    ranks = run_two(tmp_path, 'nan')
    assert [r['error'] for r in ranks] == ['TrainingDiverged'] * 2, ranks
    assert [r['step'] for r in ranks] == [5, 5]
    assert all('non-finite at step 3 ' in r['message'] for r in ranks)
    assert 'on another process' in ranks[0]['message'] and 'loss=nan' in ranks[1]['message']
    assert not list((tmp_path / 'run' / 'checkpoints').glob('*.pt'))


def test_a_sigterm_to_one_rank_stops_both_at_the_same_step_with_a_checkpoint(tmp_path):
    ranks = run_two(tmp_path, 'signal')
    assert [r.get('interrupted') for r in ranks] == [1.0, 1.0], ranks
    assert [r['step'] for r in ranks] == [5, 5]            # signalled during step 4, agreed at step 5
    state = torch.load(tmp_path / 'run' / 'checkpoints' / 'last.pt', weights_only=True)
    assert state['step'] == 5 and state['world_size'] == 2


def run_two(tmp_path, scenario: str) -> list[dict]:
    import torch.multiprocessing as mp
    from framework import runs
    run_dir = runs.create_run_dir(tmp_path, 'run')
    assert run_dir == tmp_path / 'run'
    mp.spawn(worker, args=(str(tmp_path), scenario), nprocs=2, join=True)
    return [json.loads((tmp_path / f'rank{r}.json').read_text()) for r in range(2)]


def worker(rank: int, folder: str, scenario: str) -> None:
    import torch.distributed as dist
    from pathlib import Path
    from framework.data.base import InMemoryDataset
    from framework.distributed import ProcessGroup
    from framework.errors import FrameworkError
    from framework.methods import Method
    from framework.trainer import Trainer, TrainSettings

    class Rank1Trouble(Method):
        def __init__(self):
            super().__init__()
            self.w, self.calls = torch.nn.Parameter(torch.ones(3)), 0

        def training_step(self, batch):
            self.calls += 1
            if scenario == 'signal' and rank == 1 and self.calls == 4:
                os.kill(os.getpid(), signal.SIGTERM)
            bad = float('nan') if scenario == 'nan' and rank == 1 and self.calls >= 3 else 0.0
            return {'loss': (batch['x'] - self.w).pow(2).mean() + bad}

    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{folder}/store', rank=rank, world_size=2)
    torch.manual_seed(0)
    settings = TrainSettings(steps=20, batch_size=8, progress=False, log_every=10, viz_every=0,
                             ckpt_every=5 if scenario == 'nan' else 0)
    trainer = Trainer(Rank1Trouble(), InMemoryDataset(torch.rand(64, 3)), settings, Path(folder) / 'run',
                      torch.device('cpu'), ProcessGroup(rank, 2, rank))
    try:
        outcome = trainer.fit()
    except FrameworkError as exc:
        outcome = {'error': type(exc).__name__, 'message': str(exc)}
    (Path(folder) / f'rank{rank}.json').write_text(json.dumps({**outcome, 'step': trainer.step}))
    dist.destroy_process_group()
