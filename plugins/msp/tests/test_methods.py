"""Each MSP-family method trains a few steps on tiny sequences; exact prediction of a known linear action."""
import numpy as np
import pytest
import torch
from torch import nn

from framework import runs
from framework.config import compose
from plugins.msp.sequences import as_sequences
from framework.random_state import seed_everything
from framework.trainer import Trainer, TrainSettings
from plugins.msp.method import MSP, MSPSecondOrder
from plugins.msp.toy import ToyShifts

METHODS = ['msp', 'msp-fixed-blocks', 'msp-rec', 'neural-m', 'neural-transition', 'msp-2nd-order']


@pytest.mark.parametrize('name', METHODS)
def test_each_method_trains_a_few_steps(name, tmp_path):
    length = 6 if name == 'msp-2nd-order' else 3
    cfg = compose('a/msp-tiny', f'm/{name}', 'd/msp-toy-shifts', batch_size=4, steps=3, log_every=1, progress=False)
    dataset = as_sequences(cfg.build('dataset'), length=length)
    cfg.set('observation_shape', list(dataset.observation_shape))
    method = cfg.build('method')
    assert method.batch_form == 'sequences'
    if name == 'msp-2nd-order':
        assert method.T_cond == 5
    before = [p.detach().clone() for p in method.encoder.parameters()]
    scalars = Trainer(method, dataset, TrainSettings(steps=3, batch_size=4, progress=False, lr=1e-3), None,
                      torch.device('cpu')).fit()
    assert np.isfinite(scalars['loss'])
    if method.has_transition:
        assert 'loss_bd' in scalars
    assert any(not torch.equal(a, b) for a, b in zip(before, method.encoder.parameters()))   # grads reach encoder
    x = dataset.batch(torch.arange(4))['x']
    pred = method.predict(x[:, :method.T_cond], 3)
    assert pred.shape == (4, 3, *dataset.observation_shape)


class Flatten(nn.Module):
    def forward(self, x):
        return x.flatten(1)


class Unflatten(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.shape = shape

    def forward(self, z):
        return z.reshape(-1, *self.shape)


def test_msp_predicts_a_known_linear_action_exactly():
    """With identity encoder/decoder, frames x_t = x_0 R^t (shape 1 x m x a) are predicted exactly."""
    m, a = 6, 4
    method = MSP(lambda **_: Flatten(), lambda **kw: Unflatten(kw['out_shape']), (1, m, a), dim_m=m, dim_a=a,
                 ridge=0.0)
    R = torch.tensor([[0.8, -0.6, 0, 0], [0.6, 0.8, 0, 0], [0, 0, 0.0, -1.0], [0, 0, 1.0, 0.0]], dtype=torch.float64)
    x = [torch.randn(3, 1, m, a, dtype=torch.float64)]
    for _ in range(5):
        x.append(x[-1] @ R)
    x = torch.stack(x, 1)
    method.double()
    pred = method.predict(x[:, :2], 4)
    assert torch.allclose(pred, x[:, 2:], atol=1e-9)
    out = method.training_step({'x': x[:, :3]})
    assert float(out['pred_sse']) < 1e-15


def test_swapped_transitions_use_the_previous_sequence():
    M = torch.arange(3.0)[:, None, None] * torch.ones(3, 2, 2)
    assert MSP.shift_transition(M)[:, 0, 0].tolist() == [2.0, 0.0, 1.0]
    A = MSPSecondOrder.shift_transition((M, M + 10))
    assert A[1][:, 0, 0].tolist() == [12.0, 10.0, 11.0]


def test_toy_grid_is_the_shifted_pattern_in_row_major_order():
    data = ToyShifts(size=8)
    assert data.factor_sizes == (4, 4, 3) and len(data) == 48 and data.is_grid
    first = data.batch(torch.tensor([0]))['x'][0]
    shifted = data.images_for(torch.tensor([[1, 2, 1]]))[0]                  # 2 px in x, 4 px in y, 1 channel
    assert torch.equal(shifted, torch.roll(first, (1, 4, 2), (0, 1, 2)))
    walks = as_sequences(data, length=3).batch(torch.arange(10))['y']
    assert torch.equal(walks[:, 2] - walks[:, 1], walks[:, 1] - walks[:, 0])


def toy_msp(seed=0):
    seed_everything(seed)
    cfg = compose('a/msp-tiny', 'm/msp', 'd/msp-toy-shifts')
    data = as_sequences(cfg.build('dataset'), length=3, num_sequences=8)
    cfg.set('observation_shape', list(data.observation_shape))
    return cfg.build('method'), data


def settings(steps):
    return TrainSettings(steps=steps, batch_size=4, lr=1e-3, progress=False, log_every=1, viz_every=0, ckpt_every=0)


def test_two_epochs_see_different_sequences_and_resume_is_bit_exact(tmp_path):
    """8 sequences, batches of 4: steps 1-2 are epoch 0, steps 3-4 epoch 1. Every index gets a new walk in
    epoch 1 (the original draws a fresh transformation on every access), and training 2 steps, saving,
    and resuming for 2 more gives exactly the weights of 4 uninterrupted steps."""
    method, data = toy_msp()
    seen, batch = [], data.batch

    def recording(indices):
        out = batch(indices)
        seen.append((indices.clone(), out['y'].clone()))
        return out
    data.batch = recording
    Trainer(method, data, settings(4), None, torch.device('cpu')).fit()
    walks = [{int(i): y for i, y in zip(*zip(*[(i, y) for idx, ys in seen[e:e + 2] for i, y in zip(idx, ys)]))}
             for e in (0, 2)]
    assert sorted(walks[0]) == sorted(walks[1]) == list(range(8))
    assert all(not torch.equal(walks[0][i], walks[1][i]) for i in range(8))
    uninterrupted = [p.detach().clone() for p in method.parameters()]

    method, data = toy_msp()
    (tmp_path / runs.CHECKPOINT_DIR).mkdir()
    first = Trainer(method, data, settings(2), tmp_path, torch.device('cpu'))
    first.fit()
    checkpoint = tmp_path / runs.CHECKPOINT_DIR / runs.LAST_CHECKPOINT
    assert checkpoint.exists()
    method, data = toy_msp(seed=123)                           # a different state, replaced by the checkpoint
    resumed = Trainer(method, data, settings(4), None, torch.device('cpu'))
    resumed.load_checkpoint(checkpoint)
    resumed.fit()
    assert all(torch.equal(a, b) for a, b in zip(uninterrupted, method.parameters()))


def test_bd_regulariser_weight():
    """bd_wt adds bd_wt · loss_bd to the prediction loss; 0 (the paper's setting) only logs it."""
    torch.manual_seed(0)
    kw = dict(dim_m=6, dim_a=4)
    x = torch.rand(3, 3, 1, 6, 4)
    plain = MSP(lambda **_: Flatten(), lambda **k: Unflatten(k['out_shape']), (1, 6, 4), **kw)
    weighted = MSP(lambda **_: Flatten(), lambda **k: Unflatten(k['out_shape']), (1, 6, 4), bd_wt=2.0, **kw)
    a, b = plain.training_step({'x': x}), weighted.training_step({'x': x})
    assert float(a['loss']) == pytest.approx(float(a['pred_sse']))
    assert float(b['loss']) == pytest.approx(float(b['pred_sse']) + 2.0 * float(b['loss_bd']), rel=1e-5)
    assert 0 < float(a['loss_bd']) < 4
