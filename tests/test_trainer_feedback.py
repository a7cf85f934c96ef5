"""What a researcher sees while and after training: the loss in the bar from the first step, scalars.csv
(one row per tag and step, also after a resume), validation scores in TensorBoard, the demo's PNGs, a
resume that survives a truncated last.pt, an empty validation split, and settings refused with the flag."""
from __future__ import annotations

import pytest

import csv
import io
from contextlib import redirect_stderr
from pathlib import Path

import torch

from conftest import only_run, run_in_process
from framework import runs
from framework.data.base import InMemoryDataset
from framework.methods.base import Method
from framework.trainer import Trainer, TrainSettings

VEC = ['demo-vec', '--dataset.num_samples', '400', '--batch_size', '16', '--encoder.hidden', '[16]',
       '--decoder.hidden', '[16]', '--eval_batches', '1', '--progress', 'false']


class Counting(Method):
    """Its loss at the k-th step is exactly k (plus a zero-valued term that keeps a gradient)."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.calls = 0

    def training_step(self, batch):
        self.calls += 1
        return {'loss': self.calls + 0.0 * self.w.sum(), 'twice': torch.tensor(2.0 * self.calls)}


def counting_trainer(run_dir, **settings) -> Trainer:
    s = TrainSettings(**{'batch_size': 2, 'viz_every': 0, 'ckpt_every': 0, 'progress': False, **settings})
    return Trainer(Counting(), InMemoryDataset(torch.zeros(8, 1)), s, run_dir, torch.device('cpu'))


def csv_rows(run: Path) -> list[dict]:
    with open(run / 'scalars.csv', newline='') as handle:
        return list(csv.DictReader(handle))


def test_the_bar_shows_the_loss_after_the_first_step():
    trainer = counting_trainer(None, steps=3, log_every=1000, progress=True)
    captured = io.StringIO()
    with redirect_stderr(captured):
        trainer.fit()
    frames = captured.getvalue().replace('\r', '\n').splitlines()
    first = [f for f in frames if ' 1/3 ' in f]
    assert first and 'loss=1,' in first[-1].replace(' ', '') + ',', frames    # the first step's loss, exactly 1


def test_scalars_csv_holds_window_means_with_step_and_wall_time(tmp_path):
    trainer = counting_trainer(runs.create_run_dir(tmp_path, 'run'), steps=6, log_every=2)
    trainer.fit()
    rows = csv_rows(trainer.run_dir)
    assert list(rows[0]) == ['step', 'wall_time', 'tag', 'value']
    loss = {int(r['step']): float(r['value']) for r in rows if r['tag'] == 'train/loss'}
    assert loss == {2: 1.5, 4: 3.5, 6: 5.5}                 # means of the losses 1..6 over windows of two
    assert {int(r['step']): float(r['value']) for r in rows if r['tag'] == 'train/twice'} == {2: 3, 4: 7, 6: 11}
    times = [float(r['wall_time']) for r in rows]
    assert times == sorted(times) and times[0] > 1.6e9       # seconds since the epoch
    assert {'train/lr', 'train/steps_per_s'} <= {r['tag'] for r in rows}


def test_resume_from_a_numbered_checkpoint_leaves_no_duplicate_steps(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    root = tmp_path / 'runs'
    code, out = run_in_process('train', *VEC, '--steps', '6', '--log_every', '1', '--ckpt_every', '2',
                               '--eval_every', '3', '--runs_root', str(root))
    assert code == 0, out
    run = only_run(root)
    code, out = run_in_process('train', '--load', str(run), '--resume', '--checkpoint', 'ckpt-4.pt')
    assert code == 0, out
    assert 'at step 4 from ckpt-4.pt' in out
    rows = csv_rows(run)
    pairs = [(r['tag'], int(r['step'])) for r in rows]
    assert len(pairs) == len(set(pairs)), 'a tag logged twice at one step'
    assert sorted(s for t, s in pairs if t == 'train/loss') == [1, 2, 3, 4, 5, 6]
    assert sorted(s for t, s in pairs if t == 'val/loss') == [3, 6]
    events = EventAccumulator(str(run))
    events.Reload()
    assert [e.step for e in events.Scalars('train/loss')] == [1, 2, 3, 4, 5, 6]
    val = events.Scalars('val/loss')
    assert [e.step for e in val] == [3, 6]
    final = dict((t, float(r['value'])) for r in rows for t in [r['tag']] if int(r['step']) == 6)
    import json
    scores = json.loads((run / 'results' / 'eval.json').read_text())['scores']
    assert abs(val[-1].value - scores['loss']) < 1e-4 and abs(final['val/loss'] - scores['loss']) < 1e-9


@pytest.mark.slow
def test_a_truncated_last_checkpoint_falls_back_to_the_newest_intact_one(tmp_path):
    root = tmp_path / 'runs'
    code, out = run_in_process('train', *VEC, '--steps', '6', '--ckpt_every', '2', '--include_eval', 'false',
                               '--runs_root', str(root))
    assert code == 0, out
    checkpoints = only_run(root) / 'checkpoints'
    whole = (checkpoints / 'last.pt').read_bytes()
    (checkpoints / 'last.pt').unlink()                       # a separate file (last.pt is a hard link)
    (checkpoints / 'last.pt').write_bytes(whole[:len(whole) // 2])
    (checkpoints / 'ckpt-6.pt').write_bytes(b'')             # and the newest numbered one is empty
    code, out = run_in_process('train', '--load', str(only_run(root)), '--resume', '--steps', '8')
    assert code == 0, out
    notes = [line for line in out.splitlines() if line.startswith('note:')]
    assert len(notes) == 1 and 'last.pt' in notes[0] and 'ckpt-4.pt' in notes[0], out
    assert 'at step 4' in out
    assert runs.load_checkpoint(checkpoints / 'last.pt')['step'] == 8


def test_resume_with_an_unknown_checkpoint_lists_the_known_ones(tmp_path):
    root = tmp_path / 'runs'
    code, out = run_in_process('train', *VEC, '--steps', '2', '--ckpt_every', '1', '--include_eval', 'false',
                               '--runs_root', str(root))
    assert code == 0, out
    code, out = run_in_process('train', '--load', str(only_run(root)), '--resume', '--checkpoint', 'ckpt-9.pt')
    assert code == 2 and 'Traceback' not in out
    assert "No checkpoint 'ckpt-9.pt'" in out and 'ckpt-2.pt' in out and 'ckpt-1.pt' in out


def test_an_empty_validation_split_skips_the_evaluation_with_a_note(tmp_path):
    root = tmp_path / 'runs'
    code, out = run_in_process('train', *VEC, '--steps', '2', '--split.val', '0', '--split.test', '0',
                               '--runs_root', str(root))
    assert code == 0, out
    assert sum('validation split is empty' in line for line in out.splitlines()) == 1
    assert not (only_run(root) / 'results' / 'eval.json').exists()


def test_vector_runs_plot_latents_against_factors(tmp_path):
    root = tmp_path / 'runs'
    code, out = run_in_process('train', *VEC, '--steps', '3', '--log_every', '1', '--runs_root', str(root))
    assert code == 0, out
    images = only_run(root) / 'images'
    assert {p.name for p in images.iterdir()} == {'latents_vs_factors.png', 'loss_curves.png'}
    from PIL import Image
    assert min(Image.open(images / 'latents_vs_factors.png').size) > 200


def test_the_image_demo_writes_pngs_to_open(tmp_path):
    root = tmp_path / 'runs'
    code, out = run_in_process('train', 'demo', '--steps', '2', '--batch_size', '8', '--eval_batches', '1',
                               '--progress', 'false', '--runs_root', str(root))
    assert code == 0, out
    run = only_run(root)
    assert run.name.startswith('sprites_vae')
    from PIL import Image
    images = {p.name: Image.open(p) for p in (run / 'images').iterdir()}
    assert {'reconstructions.png', 'traversals.png', 'prior_samples.png', 'loss_curves.png'} <= set(images)
    # 8 originals over 8 reconstructions of 32-pixel sprites, drawn at 2x so that they can be seen
    assert images['reconstructions.png'].size == (2 * (8 * 34 + 2), 2 * (2 * 34 + 2))


def test_bad_settings_are_refused_with_the_flag_that_fixes_them(tmp_path):
    for flag, value, message in (('--log_every', '0', '`--log_every` must be positive'),
                                 ('--batch_size', '-1', '`--batch_size` must be positive'),
                                 ('--schedule', 'linear', '`--schedule` must be one of none, cosine, step'),
                                 ('--eval_batches', '-2', '`--eval_batches` must be at least 0')):
        code, out = run_in_process('train', *VEC, flag, value, '--runs_root', str(tmp_path / 'runs'))
        assert code == 2 and 'Traceback' not in out and message in out, out
        assert f'Pass e.g. `{flag}' in out                      # the flag that fixes it
    assert not (tmp_path / 'runs').exists()

def test_a_wide_code_traverses_its_first_latents_only():
    """`--latent_dim 100000` once failed after training, allocating every latent's traversal row at once."""
    import torch
    from framework.logging import MAX_TRAVERSED_LATENTS, latent_traversals

    class Identity(torch.nn.Module):
        def represent(self, x):
            return x

        def decode(self, z):
            return z

    codes = latent_traversals(Identity(), torch.zeros(1, 1000), steps=3, span=1.0)
    assert codes.shape == (MAX_TRAVERSED_LATENTS * 3, 1000) and MAX_TRAVERSED_LATENTS == 32
    assert codes[3:6, 1].tolist() == [-1.0, 0.0, 1.0] and codes[3:6, 0].abs().sum() == 0
    assert codes[:, MAX_TRAVERSED_LATENTS:].abs().sum() == 0
