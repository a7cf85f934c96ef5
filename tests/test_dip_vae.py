"""DIP-VAE I and II (Kumar et al. 2018): the covariance penalties against numpy on a tiny batch."""
import math

import numpy as np
import pytest
import torch

from framework.testing import Constant, Passthrough
from framework.errors import ConfigError
from framework.methods.dip_vae import DIPVAE, code_covariance, dip_penalties

MEAN = np.array([[0.2, -1.0, 0.5], [0.8, 0.5, -0.3], [-0.4, 0.6, 1.2], [1.5, -0.2, 0.1]])
LOG_VAR = np.array([[-0.5, 0.1, 0.0], [0.3, -1.0, 0.2], [-0.2, 0.4, -0.7], [0.0, 0.0, 0.5]])


def penalties_by_hand(covariance):
    d = covariance.shape[0]
    off = sum(covariance[i, j] ** 2 for i in range(d) for j in range(d) if i != j)
    diag = sum((covariance[i, i] - 1) ** 2 for i in range(d))
    return off, diag


def numpy_covariance(variant):
    covariance = np.cov(MEAN, rowvar=False, bias=True)              # divided by B, as over the minibatch
    if variant == 'ii':
        covariance = covariance + np.diag(np.exp(LOG_VAR).mean(0))
    return covariance


@pytest.mark.parametrize('variant', ['i', 'ii'])
def test_covariance_and_penalties_match_numpy(variant):
    got = code_covariance(torch.tensor(MEAN), torch.tensor(LOG_VAR), variant)
    expected = numpy_covariance(variant)
    assert np.allclose(got.numpy(), expected, atol=1e-12)
    off, diag = dip_penalties(got)
    assert (off.item(), diag.item()) == pytest.approx(penalties_by_hand(expected), abs=1e-10)


def test_identity_covariance_costs_nothing():
    # two points ±1 on each axis in turn: Cov[μ] = I exactly
    mean = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]) * math.sqrt(2)
    off, diag = dip_penalties(code_covariance(mean, torch.zeros_like(mean), 'i'))
    assert off.item() == pytest.approx(0.0, abs=1e-12) and diag.item() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize('variant, lambda_d', [('i', None), ('ii', None), ('ii', 3.0)])
def test_training_step_is_elbo_plus_penalty(variant, lambda_d):
    x = torch.tensor(np.concatenate([MEAN, LOG_VAR], 1), dtype=torch.float32)     # the encoder's output
    decoder_output = np.linspace(0.0, 0.5, 6)
    method = DIPVAE(lambda **s: Passthrough(), lambda **s: Constant(decoder_output), observation_shape=[6],
                    latent_dim=3, variant=variant, lambda_od=2.0, lambda_d=lambda_d)
    method.eval()
    out = method.training_step({'x': x})
    rec = ((x.numpy() - decoder_output) ** 2).sum(1).mean()
    kl = (0.5 * (MEAN ** 2 + np.exp(LOG_VAR) - LOG_VAR - 1).sum(1)).mean()
    off, diag = penalties_by_hand(numpy_covariance(variant))
    want_lambda_d = lambda_d if lambda_d is not None else {'i': 20.0, 'ii': 2.0}[variant]   # 10·λ_od or λ_od
    assert method.lambda_d == want_lambda_d
    assert out['kl'].item() == pytest.approx(kl, abs=1e-5)
    assert out['dip_off_diagonal'].item() == pytest.approx(off, abs=1e-5)
    assert out['loss'].item() == pytest.approx(rec + kl + 2.0 * off + want_lambda_d * diag, rel=1e-5)


def test_unknown_variant_lists_the_known_ones():
    with pytest.raises(ConfigError, match="'i'.*'ii'"):
        DIPVAE(lambda **s: Passthrough(), lambda **s: Passthrough(), [2], latent_dim=1, variant='iii')


def test_lambda_d_must_be_a_number():
    with pytest.raises(ConfigError, match='lambda_d must be a number'):
        DIPVAE(lambda **s: Passthrough(), lambda **s: Passthrough(), [2], latent_dim=1, lambda_d='ten')


def test_configs_select_the_variants():
    from framework.config import compose
    for name, variant, lambda_d in (('m/dipvae', 'i', 100.0), ('m/dipvae-ii', 'ii', 10.0)):
        cfg = compose('a/mlp', name, 'd/vec', observation_shape=[100])
        method = cfg.build('method')
        assert (method.variant, method.lambda_od, method.lambda_d) == (variant, 10.0, lambda_d)
