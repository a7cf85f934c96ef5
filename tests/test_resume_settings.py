"""Resuming with a new --lr (the divergence guard's advice) trains on at the new rate, and the logs show it."""
from __future__ import annotations

import csv

import pytest

from conftest import only_run, run_in_process
from framework import runs

TINY = ('--dataset.num_samples', '400', '--batch_size', '16', '--progress', 'false', '--include_eval', 'false',
        '--log_every', '5', '--viz_every', '0')


def logged(run, tag):
    return {int(r[0]): float(r[3]) for r in csv.reader(open(run / 'scalars.csv')) if r[2] == tag}


def test_resume_with_a_lower_lr_applies_it_to_the_restored_optimizer_and_logs_it(tmp_path):
    code, out = run_in_process('train', 'demo-vec', '--steps', '10', '--ckpt_every', '5', '--lr', '0.001', *TINY,
                               '--runs_root', tmp_path)
    assert code in (0, None), out
    run = only_run(tmp_path)
    code, out = run_in_process('train', '--load', run, '--resume', '--steps', '20', '--lr', '0.0001')
    assert code in (0, None), out
    assert '--lr 0.0001 (was 0.001)' in out and 'applied to the restored optimiser' in out
    state = runs.load_checkpoint(run / 'checkpoints' / 'last.pt')
    assert state['step'] == 20
    assert state['optimizer']['param_groups'][0]['lr'] == pytest.approx(1e-4)
    assert state['optimizer']['state']                     # the Adam moments were kept, not rebuilt
    rates = logged(run, 'train/lr')
    assert rates[10] == pytest.approx(1e-3) and rates[15] == pytest.approx(1e-4) and rates[20] == pytest.approx(1e-4)


def test_resume_with_a_new_schedule_moves_the_rate_to_the_schedules_value_at_the_saved_step(tmp_path):
    from test_resume import build
    first = build(tmp_path / 'a', steps=10, schedule='none', lr=1e-3)
    first.fit()
    again = build(None, steps=10, schedule='step', step_size=4, gamma=0.5, lr=1e-3)
    again.run_dir = first.run_dir
    again.load_checkpoint(first.run_dir / 'checkpoints' / 'last.pt')
    assert again.scheduler.get_last_lr()[0] == pytest.approx(1e-3 * 0.5 ** (10 // 4))
    assert again.optimizer.param_groups[0]['lr'] == pytest.approx(1e-3 * 0.25)


def test_resume_with_unchanged_settings_leaves_the_restored_optimizer_as_saved(tmp_path):
    from test_resume import build
    first = build(tmp_path / 'a', steps=10)
    first.fit()
    again = build(None, steps=10)
    again.load_checkpoint(first.run_dir / 'checkpoints' / 'last.pt')
    assert again.optimizer.state_dict()['param_groups'] == first.optimizer.state_dict()['param_groups']
    assert again.scheduler.get_last_lr() == first.scheduler.get_last_lr()
