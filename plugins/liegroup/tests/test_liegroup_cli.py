"""The README's commands, end to end through `python main.py` (tiny steps, small images, tiny sample counts)."""
import pytest
import csv
import json

from framework.testing import run_cli as fig

TINY_SUITE = ('{factor-vae: {batch_size: 16, num_train: 20, num_eval: 20, num_variance_estimate: 200}, '
              'beta-vae: {num_train: 20, num_eval: 20}, liegroup-mig: {num_train: 200}, '
              'sap: {num_train: 200, num_test: 200}, liegroup-factor-leakage: {num_train: 200}}')


@pytest.mark.slow
def test_train_basis_and_parity_metrics_on_sprites(tmp_path):
    fig('train', 'hybrid', 'a/liegroup', 'm/liegroup', 'd/sprites', '--steps', '5', '--runs_root', str(tmp_path),
        '--batch_size', '8', '--dataset.size', '32', '--eval_batches', '1', '--progress', 'false')
    (run,) = tmp_path.glob('sprites_liegroup*')
    config = (run / 'config.yaml').read_text()
    assert 'method/liegroup' in config and 'hy_hes: 40.0' in config and 'forward_eg_prob: 0.2' in config
    assert {'reconstructions.png', 'traversals.png'} <= {p.name for p in (run / 'images').iterdir()}
    scores = json.loads((run / 'results' / 'eval.json').read_text())['scores']
    assert {'rec_loss', 'kl', 'group_loss', 'hessian_loss', 'commute_loss'} <= set(scores)

    fig('liegroup-basis', '--load', str(run))
    assert (run / 'images' / 'basis.png').stat().st_size > 0
    assert (run / 'images' / 'lie_traversals.png').stat().st_size > 0
    summary = json.loads((run / 'results' / 'liegroup_basis.json').read_text())
    assert len(summary['subgroups'][0]['generator_norms']) == 10

    # the parity suite (sample counts cut down for the test), on the run twice: JSON per run and the CSV table
    table = tmp_path / 'table.csv'
    fig('eval-metrics', 'eval/liegroup-repo-fast', '--load', str(run), str(run), '--metrics', TINY_SUITE,
        '--ident', 'liegroup-repo', '--out', str(table))
    report = json.loads((run / 'results' / 'liegroup-repo.json').read_text())
    assert report['metrics']['factor-vae']['params']['prune_threshold'] == 0.1
    assert report['metrics']['liegroup-mig']['params']['drop_first_factor'] is True
    assert report['metrics']['sap']['params']['continuous_factors'] is True
    assert 0.0 <= report['metrics']['liegroup-mig']['values']['mig'] <= 1.0
    rows = list(csv.DictReader(table.open()))
    # one configuration; the run named twice is scored and counted once
    assert len(rows) == 1 and rows[0]['runs'] == '1' and 'factor-vae/eval_accuracy_mean' in rows[0]


def test_dataset_variants():
    from framework.config import compose
    from framework.scripts.common import build_method
    from framework.data.base import InMemoryDataset
    import torch
    shapes = compose('a/liegroup', 'm/liegroup-3dshapes', 'd/shapes3d-synth')
    assert shapes.get('subgroup_sizes_ls') == [400] and shapes.get('hy_hes') == 20.0
    assert shapes.get('recons_loss_type') == 'l2' and shapes.get('steps') == 131250
    sprites = compose('a/liegroup', 'm/liegroup-dsprites', 'd/dsprites')
    assert sprites.get('subgroup_sizes_ls') == [100] and sprites.get('hy_hes') == 40.0
    assert sprites.get('recons_loss_type') == 'bce' and sprites.get('steps') == 201600
    assert sprites.get('lr') == 1.0e-4 and sprites.get('batch_size') == 256
    # the composed config builds the paper's model: one 20x20 subgroup for RGB images
    method = build_method(shapes, InMemoryDataset(torch.zeros(1, 3, 64, 64, dtype=torch.uint8)))
    assert [tuple(a.shape) for a in method.decoder.basis] == [(10, 20, 20)]
    assert method.hy_hes == 20.0 and method.recons_loss_type == 'l2' and method.forward_eg_prob == 0.2
