"""Batches are pinned before their copy to a CUDA device (an asynchronous copy needs pinned memory) and never on
the CPU; the decision is made without touching a GPU, so it is tested here with a pretended one."""
from __future__ import annotations

import torch

from framework.device_batches import pins_memory, to_device


def test_only_a_cuda_device_that_exists_gets_pinned_batches(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert pins_memory(torch.device('cuda')) and pins_memory(torch.device('cuda', 1))
    assert not pins_memory(torch.device('cpu'))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert not pins_memory(torch.device('cuda'))


def test_pinning_stages_every_tensor_and_the_cpu_path_never_pins(monkeypatch):
    pinned = []

    def fake_pin(self):
        pinned.append(tuple(self.shape))
        return self.clone()
    monkeypatch.setattr(torch.Tensor, 'pin_memory', fake_pin)
    batch = {'x': torch.rand(4, 3), 'y': torch.zeros(4, 2, dtype=torch.long)}
    moved = to_device(batch, torch.device('cpu'), pin=False)
    assert pinned == [] and all(moved[k] is batch[k] for k in batch)
    moved = to_device(batch, torch.device('cpu'), pin=True)
    assert pinned == [(4, 3), (4, 2)] and all(torch.equal(moved[k], batch[k]) for k in batch)


def test_a_cpu_trainer_does_not_pin():
    from framework.data.base import InMemoryDataset
    from framework.methods.ae import Autoencoder
    from framework.nn.mlp import MLPDecoder, MLPEncoder
    from framework.trainer import Trainer, TrainSettings
    method = Autoencoder(lambda **kw: MLPEncoder(hidden=(4,), **kw), lambda **kw: MLPDecoder(hidden=(4,), **kw),
                         observation_shape=(3,), latent_dim=2)
    trainer = Trainer(method, InMemoryDataset(torch.rand(8, 3)), TrainSettings(batch_size=4, progress=False), None,
                      torch.device('cpu'))
    assert trainer.pin_batches is False
