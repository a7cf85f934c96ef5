"""``--amp true`` trains with bf16 autocast (the CPU supports it too): the convolutions and dense layers compute
in bfloat16, the parameters and the optimiser stay float32, and the loss stays finite; off, everything is float32."""
from __future__ import annotations

import pytest
import torch

from framework.data.base import InMemoryDataset
from framework.methods.vae import VAE
from framework.nn.dlib import DlibDecoder, DlibEncoder
from framework.trainer import Trainer, TrainSettings


@pytest.mark.parametrize('amp, computed_in', [(True, torch.bfloat16), (False, torch.float32)])
def test_amp_runs_the_networks_in_bf16_and_keeps_float32_parameters(amp, computed_in):
    torch.manual_seed(0)
    method = VAE(DlibEncoder, DlibDecoder, observation_shape=(1, 16, 16), latent_dim=4)
    seen = {}

    def record(module, inputs, output):
        seen[module] = output.dtype
    for module in method.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
            module.register_forward_hook(record)
    data = InMemoryDataset((torch.rand(32, 1, 16, 16) > 0.7).to(torch.uint8) * 255)
    settings = TrainSettings(steps=3, batch_size=8, amp=amp, progress=False, log_every=3, viz_every=0, ckpt_every=0)
    trainer = Trainer(method, data, settings, None, torch.device('cpu'))
    before = [p.detach().clone() for p in method.parameters()]
    scalars = trainer.fit()
    assert len(seen) == 12 and set(seen.values()) == {computed_in}, seen     # 4 + 4 convolutions, 4 dense layers
    assert all(torch.isfinite(torch.tensor(v)) for v in scalars.values()) and 'loss' in scalars
    assert all(p.dtype == torch.float32 for p in method.parameters())
    assert any(not torch.equal(p, b) for p, b in zip(method.parameters(), before)), 'nothing trained'
    moments = [s for state in trainer.optimizer.state.values() for s in state.values() if s.is_floating_point()]
    assert moments and all(m.dtype == torch.float32 for m in moments if m.ndim > 0)
