"""Recovery never destroys history: numbered checkpoints are separate files, every loader falls back to (or names)
the newest intact checkpoint, and a run whose checkpoints are gone but whose logs remain is refused, not wiped."""
from __future__ import annotations

import json
import os
import shutil

import pytest
import torch

from conftest import only_run, run_in_process
from framework import recovery, runs
from framework.errors import RunError
from test_checkpoint import small_trainer

TINY = ('--dataset.num_samples', '400', '--batch_size', '16', '--progress', 'false', '--include_eval', 'false',
        '--log_every', '5', '--viz_every', '0')


def damage_in_place(path):
    """Cut the file to half its length where it is (same inode, as a copy or sync interrupted in place does)."""
    os.truncate(path, os.path.getsize(path) // 2)


def test_a_numbered_checkpoint_is_a_separate_file_that_survives_damage_to_last_pt(tmp_path):
    trainer = small_trainer(tmp_path, steps=4, keep_checkpoints=1)
    trainer.fit()
    ckpts = trainer.run_dir / 'checkpoints'
    assert sorted(p.name for p in ckpts.iterdir()) == ['ckpt-4.pt', 'last.pt']
    assert os.stat(ckpts / 'last.pt').st_ino != os.stat(ckpts / 'ckpt-4.pt').st_ino
    damage_in_place(ckpts / 'last.pt')
    with pytest.raises(runs.CorruptCheckpoint):
        runs.load_checkpoint(ckpts / 'last.pt')
    path, state, note = recovery.resume_point(trainer.run_dir, None, False, 2)
    assert path.name == 'ckpt-4.pt' and state['step'] == 4
    assert 'last.pt cannot be read' in note and 'ckpt-4.pt (step 4)' in note


def test_a_valid_pickle_without_a_checkpoints_keys_falls_back_like_a_truncated_file(tmp_path):
    trainer = small_trainer(tmp_path, steps=4)
    trainer.fit()
    last = trainer.run_dir / 'checkpoints' / 'last.pt'
    torch.save({'weights': torch.zeros(3)}, last)           # loads fine, but is not a checkpoint
    path, state, note = recovery.checkpoint_to_load(trainer.run_dir, None)
    assert path.name == 'ckpt-4.pt' and state['step'] == 4
    assert f'{last} cannot be read' in note
    with pytest.raises(RunError) as info:                    # asked for by name: refused, the good one named
        recovery.checkpoint_to_load(trainer.run_dir, str(last))
    assert f'{last} loads but is not a checkpoint' in str(info.value) and 'ckpt-4.pt (step 4)' in str(info.value)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A finished `fig train demo-vec` of 20 steps with checkpoints at 10 and 20."""
    root = tmp_path_factory.mktemp('runs')
    code, out = run_in_process('train', 'demo-vec', '--steps', '20', '--ckpt_every', '10', *TINY,
                               '--runs_root', root)
    assert code in (0, None), out
    return only_run(root)


def copy_of(run, tmp_path):
    target = tmp_path / run.name
    shutil.copytree(run, target)
    return target


def test_fig_eval_with_a_truncated_last_pt_scores_the_newest_intact_checkpoint_and_says_so(trained, tmp_path):
    run = copy_of(trained, tmp_path)
    last = run / 'checkpoints' / 'last.pt'
    last.write_bytes(last.read_bytes()[:300])
    code, out = run_in_process('eval', '--load', run, '--eval_batches', '1')
    assert code in (0, None), out
    assert f'{last} cannot be read' in out and 'using ckpt-20.pt (step 20)' in out
    assert 'eval (val, step 20)' in out


def test_fig_eval_of_a_named_damaged_checkpoint_names_the_intact_one(trained, tmp_path):
    run = copy_of(trained, tmp_path)
    damage_in_place(run / 'checkpoints' / 'ckpt-20.pt')
    code, out = run_in_process('eval', '--load', run, '--checkpoint', 'ckpt-20.pt')
    assert code == 2, out
    assert 'ckpt-20.pt' in out and 'The newest intact checkpoint is' in out and 'last.pt (step 20)' in out


def test_resume_of_a_run_whose_checkpoints_were_deleted_is_refused_and_its_history_kept(trained, tmp_path):
    run = copy_of(trained, tmp_path)
    shutil.rmtree(run / 'checkpoints')
    before = (run / 'scalars.csv').read_text()
    events = sorted(p.name for p in run.glob('events.out.tfevents.*'))
    code, out = run_in_process('train', '--load', run, '--resume')
    assert code == 2, out
    assert 'no checkpoint left' in out and '--restart' in out and 'start a new run' in out
    assert (run / 'scalars.csv').read_text() == before
    assert sorted(p.name for p in run.glob('events.out.tfevents.*')) == events
    assert runs.is_finished(run)                          # still the truth: it did finish, its results stand

    code, out = run_in_process('train', '--load', run, '--resume', '--restart')
    assert code in (0, None), out
    kept = list(run.glob('before-restart-*'))
    assert len(kept) == 1 and 'kept in' in out
    assert (kept[0] / 'scalars.csv').read_text() == before
    assert (kept[0] / 'finished.json').is_file()
    assert runs.load_checkpoint(run / 'checkpoints' / 'last.pt')['step'] == 20


def test_eval_metrics_with_a_truncated_last_pt_scores_the_newest_intact_checkpoint(trained, tmp_path):
    run = copy_of(trained, tmp_path)
    last = run / 'checkpoints' / 'last.pt'
    last.write_bytes(last.read_bytes()[:300])
    code, out = run_in_process('eval-metrics', 'eval/fast', '--load', run)
    assert code in (0, None), out
    assert 'using ckpt-20.pt (step 20)' in out
    results = json.loads((run / 'results' / 'metrics-fast.json').read_text())
    assert results['step'] == 20 and results['checkpoint'] == 'ckpt-20.pt'     # the file scored, not last.pt


def test_a_run_killed_while_writing_its_first_checkpoint_starts_again_instead_of_being_refused(tmp_path):
    trainer = small_trainer(tmp_path, steps=4, ckpt_every=2, log_every=2)
    trainer.fit()
    ckpts = trainer.run_dir / 'checkpoints'
    for path in ckpts.iterdir():                   # killed after logging step 2, before ckpt-2 was complete
        path.unlink()
    lines = (trainer.run_dir / 'scalars.csv').read_text().splitlines(keepends=True)
    (trainer.run_dir / 'scalars.csv').write_text(''.join(l for l in lines if not l.startswith('4,')))
    assert recovery.resume_point(trainer.run_dir, None, False, 2) == (None, None, None)
    (trainer.run_dir / 'scalars.csv').write_text(''.join(lines))          # but logs at step 4: ckpt-2 was lost
    with pytest.raises(RunError, match='past the first checkpoint'):
        recovery.resume_point(trainer.run_dir, None, False, 2)
