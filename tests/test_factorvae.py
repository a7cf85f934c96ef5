"""FactorVAE (Kim & Mnih 2018): losses against values worked out by hand on fixed tiny weights, the
discriminator trained only by its own Adam, the command line, and two DDP processes staying in step."""
from __future__ import annotations

import pytest

import math
import os
import subprocess
import sys
from pathlib import Path

import torch
from torch import nn

from conftest import only_run, run_in_process
from framework.methods.factor_vae import FactorVAE, permute_dims

ROOT = Path(__file__).resolve().parent.parent


class FixedLinear(nn.Module):
    """x -> x @ weight.T, with the weight given (no bias): an encoder or decoder we can compute by hand."""

    def __init__(self, weight, **shapes):
        super().__init__()
        self.linear = nn.Linear(len(weight[0]), len(weight), bias=False)
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor(weight, dtype=torch.float32))

    def forward(self, x):
        return self.linear(x)


def hand_model(reg_wt: float = 2.0) -> FactorVAE:
    # encoder: mean = x, log-variance = 0; decoder: 2 z; discriminator: one linear layer, logits = z
    encoder = lambda **kw: FixedLinear([[1, 0], [0, 1], [0, 0], [0, 0]])          # noqa: E731
    decoder = lambda **kw: FixedLinear([[2, 0], [0, 2]])                            # noqa: E731
    model = FactorVAE(encoder, decoder, observation_shape=(2,), latent_dim=2, reg_wt=reg_wt, criterion='mse',
                      disc_depth=0)
    with torch.no_grad():
        model.discriminator.net[0].weight.copy_(torch.eye(2))
        model.discriminator.net[0].bias.zero_()
    return model


def test_losses_match_the_hand_computed_values():
    model = hand_model(reg_wt=2.0).eval()        # eval: z is the posterior mean, no sampling
    # first half (VAE and q(z) samples): (1, 2), (3, -1); second half: two equal rows, so any permutation
    # of its dimensions gives the same permuted codes (0.5, 0.5)
    x = torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5], [0.5, 0.5]])
    out = model.training_step({'x': x})
    # reconstruction 2x, error x: squared norms 5 and 10, mean 7.5
    assert math.isclose(out['rec_loss'].item(), 7.5, rel_tol=1e-6)
    # KL with unit variance = |mu|^2 / 2: 2.5 and 5, mean 3.75
    assert math.isclose(out['kl'].item(), 3.75, rel_tol=1e-6)
    # TC estimate = mean(logit_0 - logit_1) = mean(1 - 2, 3 - (-1)) = 1.5
    assert math.isclose(out['tc'].item(), 1.5, rel_tol=1e-6)
    assert math.isclose(out['loss'].item(), 7.5 + 3.75 + 2.0 * 1.5, rel_tol=1e-6)
    # discriminator: q(z) rows are class 0, -log softmax_0 = log(1 + exp(l1 - l0)); permuted rows class 1
    ce_q = (math.log1p(math.exp(2 - 1)) + math.log1p(math.exp(-1 - 3))) / 2
    ce_permuted = math.log(2.0)                  # logits (0.5, 0.5): both classes equally likely
    assert math.isclose(out['disc_loss'].item(), 0.5 * (ce_q + ce_permuted), rel_tol=1e-6)


def test_permute_dims_shuffles_each_dimension_on_its_own():
    z = torch.arange(200.0).reshape(100, 2)
    z[:, 1] += 1000
    permuted = permute_dims(z, generator=torch.Generator().manual_seed(0))
    for j in range(2):
        assert torch.equal(permuted[:, j].sort().values, z[:, j])           # a permutation of its column
    assert not torch.equal(permuted, z)
    # the two columns are shuffled independently: rows of z are (2i, 2i + 1001), rarely kept together
    kept = (permuted[:, 1] - permuted[:, 0] == 1001).sum().item()
    assert kept < 10


def small_trainer(tmp: Path | None, lr: float, disc_lr: float, steps: int = 3):
    from framework.data.base import InMemoryDataset
    from framework.nn.mlp import MLPDecoder, MLPEncoder
    from framework.trainer import Trainer, TrainSettings

    torch.manual_seed(0)
    method = FactorVAE(lambda **kw: MLPEncoder(hidden=(8,), **kw), lambda **kw: MLPDecoder(hidden=(8,), **kw),
                       observation_shape=(4,), latent_dim=3, disc_width=8, disc_depth=2, disc_lr=disc_lr)
    settings = TrainSettings(steps=steps, batch_size=16, lr=lr, progress=False, log_every=1, viz_every=0,
                             ckpt_every=0)
    return Trainer(method, InMemoryDataset(torch.rand(64, 4)), settings, tmp, torch.device('cpu'))


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before: dict, module: nn.Module) -> set[str]:
    return {k for k, v in module.state_dict().items() if not torch.equal(before[k], v)}


def test_the_discriminator_changes_only_through_its_own_optimiser():
    trainer = small_trainer(None, lr=1e-2, disc_lr=0.0)
    assert [o.spec.name for o in trainer.optimizers] == ['vae', 'discriminator']
    disc, enc = snapshot(trainer.method.discriminator), snapshot(trainer.method.encoder)
    trainer.fit()
    assert not changed(disc, trainer.method.discriminator), 'the VAE loss moved the discriminator'
    assert changed(enc, trainer.method.encoder)

    trainer = small_trainer(None, lr=0.0, disc_lr=1e-2)
    disc, enc, dec = (snapshot(m) for m in (trainer.method.discriminator, trainer.method.encoder,
                                            trainer.method.decoder))
    trainer.fit()
    assert changed(disc, trainer.method.discriminator)
    assert not changed(enc, trainer.method.encoder) and not changed(dec, trainer.method.decoder)
    opt = trainer.optimizers[1].optimizer.param_groups[0]
    assert opt['betas'] == (0.5, 0.9) and opt['lr'] == 1e-2


def test_the_discriminator_gradient_is_that_of_its_own_loss_alone():
    trainer = small_trainer(None, lr=1e-2, disc_lr=1e-2)
    method = trainer.method
    batch = trainer.dataset.batch(torch.arange(16))
    trainer.stream = iter([torch.arange(16)])      # the trainer's step gets the same batch
    state = torch.get_rng_state()
    # the loss the discriminator should follow, computed on the same batch with the same random draws
    out = method.training_step(batch)
    disc_params = list(method.discriminator.parameters())
    expected = torch.autograd.grad(out['disc_loss'], disc_params)
    torch.set_rng_state(state)
    for o in trainer.optimizers:          # steps with lr 0: the gradients stay readable, nothing moves
        for group in o.optimizer.param_groups:
            group['lr'] = 0.0
    trainer.train_step()
    for p, g in zip(disc_params, expected):
        assert torch.allclose(p.grad, g, atol=1e-7)


@pytest.mark.slow
def test_three_line_config_trains_from_the_command_line_and_resumes(tmp_path):
    config = tmp_path / 'fvae.yaml'
    config.write_text('_base: [a/mlp, m/factorvae, d/vec]\nsteps: 4\nmethod: {disc_width: 16, disc_depth: 2}\n')
    root = tmp_path / 'runs'
    code, out = run_in_process('train', str(config), '--dataset.num_samples', '300', '--batch_size', '16',
                               '--ckpt_every', '2', '--eval_batches', '1', '--progress', 'false',
                               '--runs_root', str(root))
    assert code == 0, out
    run = only_run(root)
    state = torch.load(run / 'checkpoints' / 'last.pt', weights_only=True)
    assert set(state['optimizers']) == {'vae', 'discriminator'}
    assert state['optimizers']['discriminator']['param_groups'][0]['lr'] == 1e-4
    code, out = run_in_process('train', '--load', str(run), '--resume', '--steps', '6', '--progress', 'false')
    assert code == 0, out
    assert 'at step 4' in out
    assert torch.load(run / 'checkpoints' / 'last.pt', weights_only=True)['step'] == 6


@pytest.mark.slow
def test_two_ddp_processes_keep_identical_parameters(tmp_path):
    """Several optimisers under DDP: gradients are averaged by the trainer's own all-reduce. The ranks see
    different halves of each batch, so without it their parameters would part after the first step."""
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1'}
    args = ['train', 'a/mlp', 'm/factorvae', 'd/vec', '--steps', '3', '--batch_size', '16', '--ckpt_every', '3',
            '--dataset.num_samples', '300', '--encoder.hidden', '[16]', '--decoder.hidden', '[16]',
            '--method.disc_width', '16', '--method.disc_depth', '2', '--progress', 'false',
            '--include_eval', 'false', '--device', 'cpu', '--runs_root', str(tmp_path)]
    result = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--standalone',
                             'main.py', *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    state = torch.load(only_run(tmp_path) / 'checkpoints' / 'last.pt', weights_only=True)
    assert state['world_size'] == 2 and state['param_digests'][0] == state['param_digests'][1]
