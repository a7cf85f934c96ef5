"""Evaluation on transformation sequences (sequential MNIST's kind) through the CLI, and on MNIST's test part."""
import gzip
import json

import numpy as np
import torch

from framework.config import compose
from framework.testing import only_run

from plugins.msp.scripts import SequenceEvalSettings, load_runs

from .test_cli import fig

TINY = ['--steps', '2', '--batch_size', '4', '--include_eval', 'false', '--progress', 'false']


def test_eval_msp_on_transform_sequences(tmp_path):
    config = tmp_path / 'sprites_seq.yaml'
    config.write_text('_base: [base]\ndataset: {_type: dataset/transform-seq, base: {_type: dataset/sprites, '
                      'size: 16}, length: 3, translation_range: [-2.0, 2.0]}\ndataset_tag: sprites-seq\n')
    fig('train', 'a/msp-tiny', 'm/msp', str(config), *TINY, '--runs_root', tmp_path / 'runs')
    run = only_run(tmp_path / 'runs')
    fig('eval-msp', '--load', run, '--length', '5', '--num_batches', '1', '--eval_batch_size', '4')
    result = json.loads((run / 'results' / 'eval-msp.json').read_text())
    assert len(result['Lp']) == 3 and np.isfinite(result['Lp_equiv']).all()
    assert result['active_factors'] == ['rotation', 'hue', 'translation']


def write_idx_digits(folder, train_level=50, test_level=200):
    """MNIST IDX files of four 4s per part: training digits are a bar of ``train_level``, test ones ``test_level``."""
    for part, level in (('train', train_level), ('t10k', test_level)):
        images = np.zeros((4, 28, 28), dtype=np.uint8)
        images[:, 4:24, 10:18] = level
        labels = np.full(4, 4, dtype=np.uint8)
        for kind, array, magic in (('images-idx3', images, 2051), ('labels-idx1', labels, 2049)):
            header = magic.to_bytes(4, 'big') + b''.join(d.to_bytes(4, 'big') for d in array.shape)
            (folder / f'{part}-{kind}-ubyte.gz').write_bytes(gzip.compress(header + array.tobytes()))


def test_mnist_is_trained_on_the_training_part_and_evaluated_on_the_test_part(tmp_path):
    write_idx_digits(tmp_path)
    fig('train', 'a/msp-tiny', 'm/msp', 'd/msp-mnist', *TINY, '--dataset.root', tmp_path,
        '--runs_root', tmp_path / 'runs')
    run_dir = only_run(tmp_path / 'runs')
    cfg = compose(str(run_dir / 'config.yaml'), load=str(run_dir))
    assert cfg.get('dataset.part') == 'train' and cfg.get('split.val') == 0.0
    run = load_runs(cfg, SequenceEvalSettings())[0]
    digits = run.sequences.base.batch(torch.arange(4))['x']
    assert (digits.amax((1, 2, 3)) * 255).round().tolist() == [200.0] * 4        # the test part's digits
    cfg = compose(str(run_dir / 'config.yaml'), load=str(run_dir))
    run = load_runs(cfg, SequenceEvalSettings(eval_part='train'))[0]
    assert (run.sequences.base.batch(torch.arange(4))['x'].amax((1, 2, 3)) * 255).round().tolist() == [50.0] * 4
