"""Tests of the example plugin: its loss by hand, and a short run of the real command line."""
import pytest
import torch

from framework import registry
from framework.testing import Constant, only_run, run_in_process
from structrep_sparse_ae.method import SparseAutoencoder


def test_loss_by_hand():
    encoder, decoder = Constant([0.5, -2.0]), Constant([0.25, 0.75])
    method = SparseAutoencoder(lambda **shapes: encoder, lambda **shapes: decoder, observation_shape=[2],
                               latent_dim=2, l1_wt=0.1)
    out = method.training_step({'x': torch.tensor([[0.0, 1.0], [1.0, 1.0]])})
    rec = ((0.25 ** 2 + 0.25 ** 2) + (0.75 ** 2 + 0.25 ** 2)) / 2        # squared errors summed, batch mean
    assert out['rec_loss'].item() == pytest.approx(rec)
    assert out['l1'].item() == pytest.approx(2.5)                         # |0.5| + |-2|
    assert out['loss'].item() == pytest.approx(rec + 0.1 * 2.5)


def test_registered():
    assert 'sparse-ae' in registry.names('method')


def test_trains_from_the_command_line(tmp_path):
    code, output = run_in_process('train', 'a/mlp', 'm/sparse-ae', 'd/vec', '--steps', '3', '--log_every', '1',
                                  '--viz_every', '0', '--ckpt_every', '3', '--dataset.num_samples', '200',
                                  '--runs_root', str(tmp_path))
    assert code in (0, None), output
    run = only_run(tmp_path)
    assert (run / 'checkpoints' / 'last.pt').is_file()
    assert 'sparse-ae' in (run / 'config.yaml').read_text()
