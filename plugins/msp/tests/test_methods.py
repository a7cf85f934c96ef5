"""Each MSP-family method trains a few steps on tiny sequences; exact prediction of a known linear action."""
import numpy as np
import pytest
import torch
from torch import nn

from framework.config import compose
from framework.trainer import Trainer, TrainSettings
from plugins.msp.method import MSP, MSPSecondOrder
from plugins.msp.walks import ToyShiftSequences

METHODS = ['msp', 'msp-fixed-blocks', 'msp-rec', 'neural-m', 'neural-transition', 'msp-2nd-order']


@pytest.mark.parametrize('name', METHODS)
def test_each_method_trains_a_few_steps(name, tmp_path):
    length = 6 if name == 'msp-2nd-order' else 3
    cfg = compose('a/msp-tiny', f'm/{name}', 'd/msp-toy-shifts', sequence={'length': length},
                  batch_size=4, steps=3, log_every=1, progress=False)
    dataset = cfg.pull('dataset')
    cfg.push('observation_shape', list(dataset.observation_shape))
    method = cfg.pull('method')
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


def test_toy_sequences_are_constant_velocity_walks():
    data = ToyShiftSequences(size=8, num_sequences=10, sequence={'length': 3})
    y = data.batch(torch.arange(10))['y']
    v = y[:, 1] - y[:, 0]
    assert torch.equal(y[:, 2] - y[:, 1], v)
    assert ((y >= 0) & (y < torch.tensor(data.factor_sizes))).all()


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
