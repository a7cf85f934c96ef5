"""A NaN or inf in the training data is named as bad data, with the dataset indices of the samples holding it,
not blamed on the learning rate, clipping or AMP."""
from __future__ import annotations

import pytest
import torch

from framework import runs
from framework.errors import DataError, TrainingDiverged


def trainer_on(data: torch.Tensor, tmp_path):
    from framework.data.base import InMemoryDataset, split_dataset
    from framework.methods.ae import Autoencoder
    from framework.nn.mlp import MLPDecoder, MLPEncoder
    from framework.trainer import Trainer, TrainSettings
    torch.manual_seed(0)
    dataset = split_dataset(InMemoryDataset(data), 'train', val=0.25, test=0.0, seed=0)
    method = Autoencoder(lambda **kw: MLPEncoder(hidden=(8,), **kw), lambda **kw: MLPDecoder(hidden=(8,), **kw),
                         observation_shape=(6,), latent_dim=2)
    s = TrainSettings(steps=40, batch_size=8, progress=False, log_every=10, viz_every=0, ckpt_every=0)
    return Trainer(method, dataset, s, runs.create_run_dir(tmp_path, 'run'), torch.device('cpu'))


def test_a_nan_in_the_data_is_reported_as_bad_data_with_its_sample_index(tmp_path):
    data = torch.rand(64, 6)
    data[37, 2] = float('nan')
    data[50, 0] = float('inf')
    trainer = trainer_on(data, tmp_path)
    with pytest.raises(DataError) as info:
        trainer.fit()
    message = str(info.value)
    assert 'non-finite values' in message and 'bad data' in message
    named = message.split('dataset samples ')[1].split('.')[0]
    assert set(int(i) for i in named.replace(' ', '').split(',')) <= {37, 50} and named
    assert '--lr' not in message and '--amp' not in message


def test_a_diverging_loss_on_finite_data_still_points_at_the_optimisation(tmp_path):
    trainer = trainer_on(torch.rand(64, 6), tmp_path)
    inner = trainer.method.training_step

    def exploding(batch):
        out = inner(batch)
        return {**out, 'loss': out['loss'] * float('inf')}
    trainer.method.training_step = exploding
    with pytest.raises(TrainingDiverged) as info:
        trainer.fit()
    assert not isinstance(info.value, DataError) and '--lr' in str(info.value)
