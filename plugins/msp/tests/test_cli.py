"""The plugin's commands end to end on the tiny offline msp-toy-shifts grid (CPU, a few steps)."""
import json

import numpy as np
import pytest

from framework.testing import only_run, run_in_process

TINY = ['--steps', '3', '--batch_size', '4', '--include_eval', 'false', '--progress', 'false']


def fig(*args):
    code, output = run_in_process(*map(str, args))
    assert code in (0, None), output[-3000:]
    return output


@pytest.fixture(scope='module')
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp('runs')
    fig('train', 'a/msp-tiny', 'm/msp', 'd/msp-toy-shifts', *TINY, '--runs_root', root / 'msp')
    fig('train', 'a/msp-tiny', 'm/neural-m', 'd/msp-toy-shifts', *TINY, '--runs_root', root / 'nm')
    return only_run(root / 'msp'), only_run(root / 'nm'), root


def test_eval_msp_two_runs_on_one_plot(two_runs):
    msp, neural_m, root = two_runs
    out = fig('eval-msp', '--load', msp, neural_m, '--length', '5', '--num_batches', '1',
              '--eval_batch_size', '6', '--out', root / 'plot')
    assert 'L^p_equiv' in out
    results = [json.loads((run / 'results' / 'eval-msp.json').read_text()) for run in (msp, neural_m)]
    for result in results:
        assert result['horizons'] == [1, 2, 3] and result['sequences'] == 6
        assert np.isfinite(result['Lp']).all() and np.isfinite(result['Lp_equiv']).all()
        assert result['active_factors'] == ['shift_x', 'shift_y', 'channel_cycle']
    # both runs are scored on the same sequences: the model-free reference is identical
    assert results[0]['copy_last_frame'] == results[1]['copy_last_frame']
    assert (root / 'plot' / 'eval-msp.png').stat().st_size > 1000
    assert len(json.loads((root / 'plot' / 'eval-msp.json').read_text())) == 2


def test_gen_and_sbd(two_runs):
    msp = two_runs[0]
    fig('gen', '--load', msp, '--length', '5', '--gen_sequences', '3')
    assert (msp / 'images' / 'gen.png').exists()
    fig('sbd', '--load', msp, '--num_sequences', '32', '--num_per_factor', '8', '--epochs', '2', '--length', '4')
    result = json.loads((msp / 'results' / 'sbd.json').read_text())
    dims = sorted(i for block in result['blocks'] for i in block)
    assert dims == list(range(4))                              # every latent column in exactly one block
    assert set(v['factor'] for v in result['attribution'].values()) <= {'shift_x', 'shift_y', 'channel_cycle'}
    for name in ('sbd_heatmap.png', 'sbd_heatmap_shift_x.png', 'sbd_rollouts.png'):
        assert (msp / 'images' / name).exists()


def test_second_order_and_conv12(tmp_path):
    fig('train', 'a/msp-tiny', 'm/msp-2nd-order', 'd/msp-toy-shifts', *TINY, '--sequence.length', '6',
        '--runs_root', tmp_path / 'ho')
    fig('train', 'a/conv12', 'm/msp', 'd/msp-toy-shifts', *TINY, '--dataset.size', '32', '--dim_m', '8',
        '--dim_a', '4', '--runs_root', tmp_path / 'conv12')
    config = (only_run(tmp_path / 'conv12') / 'config.yaml').read_text()
    assert 'encoder/conv12' in config and 'method/msp' in config
