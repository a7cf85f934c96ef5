"""Each GDRAE loss term on a hand-built case, with the expected value worked out here."""
import math

import torch
from torch import nn

from plugins.gdrae.flows import ImageFlowDecoder, VectorFlowDecoder
from plugins.gdrae.method import GDRAE, box_hinge, log_sn_penalty, softmax_entropy

WEIGHTS = dict(lambda_recon=2.0, lambda_kld=3.0, lambda_jacob_sn=5.0, lambda_jacob_sv=7.0,
               lambda_capacity=11.0, lambda_norm_sv=13.0)


def linear_gdrae(a=0.5, log_capacity=0.2, **overrides):
    """A GDRAE whose flow is a fixed isometry (couplings zeroed) and whose predicted ℓ is the constant [a, -a]."""
    settings = dict(WEIGHTS, sv_hidden=8, jacob_batch=16)
    settings.update(overrides)
    method = GDRAE(lambda in_shape, out_dim: nn.Linear(2, out_dim),
                   lambda latent_dim, out_shape: VectorFlowDecoder(latent_dim, out_shape, width=8,
                                                                   coupling_hidden=8, n_flows=2),
                   (2,), latent_dim=2, **settings)
    with torch.no_grad():
        for flow in method.decoder.flows:
            for p in flow.net.parameters():
                p.zero_()
        last = method.sv_predictor[-1]
        last.weight.zero_()
        last.bias.fill_(a)
        method.log_capacity.fill_(log_capacity)
    return method


def test_predicted_log_singular_values_sum_to_zero():
    method = GDRAE(lambda in_shape, out_dim: nn.Linear(2, out_dim),
                   lambda latent_dim, out_shape: VectorFlowDecoder(latent_dim, out_shape, width=8, coupling_hidden=8),
                   (2,), latent_dim=4, sv_hidden=16, init_std=0.5)
    log_sv = method.log_singular_values(torch.randn(50, 4) * 3)
    assert log_sv.shape == (50, 4)
    assert log_sv.abs().max() > 0.1
    assert torch.allclose(log_sv.sum(1), torch.zeros(50), atol=1e-5)
    assert torch.allclose(torch.exp(log_sv).prod(1), torch.ones(50), atol=1e-4)


def test_jacobian_terms_on_an_isometric_flow():
    a = 1.0          # singular values e^{±a}: 5 power rounds converge to ~e^{-20} relative error
    torch.manual_seed(0)
    method = linear_gdrae(a)
    terms = method.jacobian_terms(16)
    # J_F is an isometry, so J_F·diag(e^{-ℓ}) has singular values e^{∓a}: sn = e^{2a}, (log sn)² = 4a²
    assert math.isclose(float(terms['sn']), math.exp(2 * a), rel_tol=1e-4)
    assert math.isclose(float(terms['jacob_sn']), 4 * a * a, rel_tol=1e-4)
    p = 1 / (1 + math.exp(-2 * a))
    entropy = -(p * math.log(p + 1e-8) + (1 - p) * math.log(1 - p + 1e-8))
    assert math.isclose(float(terms['jacob_sv']), entropy, rel_tol=1e-5)
    assert math.isclose(float(terms['norm_sv']), math.cosh(2 * a), rel_tol=1e-5)


def test_total_loss_is_the_weighted_sum_and_the_logged_capacity_term_is_log_c():
    method = linear_gdrae(0.5, log_capacity=0.2)
    out = method.training_step({'x': torch.randn(8, 2)})
    assert math.isclose(float(out['log_capacity']), 0.2, rel_tol=1e-6) and 'capacity' not in out
    expected = sum(WEIGHTS[f'lambda_{k}'] * float(out[k]) for k in ('recon', 'kld', 'jacob_sn', 'jacob_sv', 'norm_sv'))
    expected += WEIGHTS['lambda_capacity'] * float(out['log_capacity'])
    assert math.isclose(float(out['loss']), expected, rel_tol=1e-5)
    z = torch.randn(5, 2)
    with torch.no_grad():
        assert torch.allclose(method.decode(z), method.decoder(math.exp(0.2) * z), atol=1e-6)


def test_zero_weight_terms_are_skipped_and_negative_weights_only_log():
    method = linear_gdrae(0.5, lambda_jacob_sn=0.0, lambda_norm_sv=-1.0)
    out = method.training_step({'x': torch.randn(8, 2)})
    assert 'jacob_sn' not in out and 'norm_sv' in out
    expected = sum(WEIGHTS[f'lambda_{k}'] * float(out[k]) for k in ('recon', 'kld', 'jacob_sv'))
    expected += WEIGHTS['lambda_capacity'] * float(out['log_capacity'])
    assert math.isclose(float(out['loss']), expected, rel_tol=1e-5)


def test_box_hinge():
    mu = torch.tensor([[1.5, -0.2], [-3.0, 0.5]])
    assert math.isclose(float(box_hinge(mu)), (0.5 + 2.0) / 2, rel_tol=1e-6)
    assert math.isclose(float(box_hinge(mu, radius=2.0)), 1.0 / 2, rel_tol=1e-6)


def test_softmax_entropy():
    assert math.isclose(float(softmax_entropy(torch.zeros(1, 2))), math.log(2), rel_tol=1e-6)
    value = float(softmax_entropy(torch.tensor([[math.log(3.0), 0.0]])))
    assert math.isclose(value, -(0.75 * math.log(0.75) + 0.25 * math.log(0.25)), rel_tol=1e-6)


def test_log_sn_penalty_drops_non_finite_and_non_positive_values():
    sn = torch.tensor([math.e, math.exp(-2.0), 0.0, float('nan'), float('inf')])
    assert math.isclose(float(log_sn_penalty(sn)), (1.0 + 4.0) / 2, rel_tol=1e-6)


def test_reconstruction_losses():
    method = linear_gdrae()
    full = torch.tensor([[1.0, 2.0, 5.0, 0, 0, 0, 0, 0], [0.0, 0.0, 0, 0, 0, 0, 0, 0]])
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    assert math.isclose(float(method.reconstruction_loss(full, x)), ((1 + 4) + (1 + 1)) / 2, rel_tol=1e-6)
    images = GDRAE(lambda in_shape, out_dim: nn.Sequential(nn.Flatten(), nn.Linear(256, out_dim)),
                   lambda latent_dim, out_shape: ImageFlowDecoder(latent_dim, out_shape, ncs=(8, 8, 4),
                                                                  hidden_ncs=(16, 8, 8)),
                   (1, 16, 16), latent_dim=3, sv_hidden=8)
    logits = torch.zeros(2, 4, 16, 16)
    logits[:, 1:] = 50.0                                  # hidden channels do not enter the reconstruction
    x = torch.rand(2, 1, 16, 16)
    assert math.isclose(float(images.reconstruction_loss(logits, x)), 256 * math.log(2), rel_tol=1e-5)
