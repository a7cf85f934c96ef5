"""The liegroup method: architecture sizes from the spec and every loss term on a hand-built case."""
import math

import pytest
import torch

from framework.errors import ConfigError
from plugins.liegroup.method import LieGroupVAE
from plugins.liegroup.modules import LieGroupDecoder, LieGroupEncoder

E12 = [[0.0, 1.0], [0.0, 0.0]]
E21 = [[0.0, 0.0], [1.0, 0.0]]


def build(shape=(1, 16, 16), groups=(4,), spaces=(2,), **hyper):
    encoder = lambda **kw: LieGroupEncoder(**kw, subgroup_sizes_ls=groups, subspace_sizes_ls=spaces)  # noqa: E731
    decoder = lambda **kw: LieGroupDecoder(**kw, subgroup_sizes_ls=groups, subspace_sizes_ls=spaces)  # noqa: E731
    return LieGroupVAE(encoder, decoder, shape, subgroup_sizes_ls=groups, subspace_sizes_ls=spaces,
                       latent_dim=sum(spaces), **hyper)


def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('channels, size, total, trunk, heads, basis, decoder', [
    (1, 100, 897_665, 403_492, 88_820, 1_000, 404_353),          # dSprites, spec §1.3 table
    (3, 400, 2_283_015, 481_616, 1_315_220, 4_000, 482_179),     # 3DShapes
])
def test_parameter_counts_match_the_spec(channels, size, total, trunk, heads, basis, decoder):
    model = build((channels, 64, 64), (size,), (10,))
    assert count(model) == total
    assert count(model.encoder.trunk) == trunk
    assert count(model.encoder.to_means) + count(model.encoder.to_logvar) == heads
    assert sum(a.numel() for a in model.decoder.basis) == basis
    assert count(model.decoder.post_exp) == decoder


def test_two_subgroups_are_independent_blocks():
    decoder = LieGroupDecoder(4, (1, 16, 16), subgroup_sizes_ls=[4, 9], subspace_sizes_ls=[2, 2])
    assert [tuple(a.shape) for a in decoder.basis] == [(2, 2, 2), (2, 3, 3)]
    with torch.no_grad():
        decoder.basis[0].copy_(torch.tensor([E12, E21]))
        decoder.basis[1].zero_()
    t = decoder.group_features(torch.tensor([[0.5, 0.0, 3.0, -2.0]]))
    # first block: expm(0.5 E12) = [[1, .5], [0, 1]]; second: expm(0) = I_3, flattened row-major
    assert torch.allclose(t, torch.tensor([[1.0, 0.5, 0.0, 1.0, 1, 0, 0, 0, 1, 0, 0, 0, 1]]))


def test_initial_group_elements_are_near_identity():
    decoder = LieGroupDecoder(10, (1, 64, 64))
    g = decoder.group_features(torch.randn(8, 10)).view(8, 10, 10)
    assert (g - torch.eye(10)).abs().max() < 0.05            # basis ~ N(0, 1e-3^2)


class Recorder:
    def __init__(self, shape):
        self.inputs, self.shape = [], shape

    def __call__(self, features):
        self.inputs.append(features)
        return torch.zeros(features.shape[0], *self.shape)


def hand_built(**hyper):
    """Encoder outputs and decoder logits fixed by hand; the basis is A1 = E12, A2 = E21."""
    model = build(**hyper)
    t_e = torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    mean = torch.tensor([[0.5, 0.0], [-1.0, 0.0]])
    log_var = torch.tensor([[0.0, 0.0], [math.log(2.0), 0.0]])
    model.encoder.group_features = lambda x: t_e
    model.encoder.posterior = lambda features: (mean, log_var)
    model.decoder.logits = Recorder((1, 16, 16))
    with torch.no_grad():
        model.decoder.basis[0].copy_(torch.tensor([E12, E21]))
    return model, t_e


@pytest.mark.parametrize('loss_type, rec_per_image', [('bce', 256 * math.log(2.0)), ('l2', 256 * 0.25)])
@pytest.mark.parametrize('commutator, commute', [('bracket', 1.0), ('parity', 0.0)])
def test_every_loss_term_by_hand(loss_type, rec_per_image, commutator, commute):
    model, t_e = hand_built(reg_wt=2.0, hy_rec=0.1, hy_hes=40.0, hy_commute=3.0, commutator=commutator,
                            recons_loss_type=loss_type)
    model.eval()                                            # z = mean, reconstruct from t_G
    out = model.training_step({'x': torch.ones(2, 1, 16, 16)})
    # logits 0: BCE = log 2 per pixel, L2 = (sigmoid(0) - 1)^2 = 0.25 per pixel; 256 pixels, mean over images
    assert out['rec_loss'].item() == pytest.approx(rec_per_image)
    # KL: image 1: 1/2 (0.25 + 1 - 0 - 1) = 0.125; image 2: 1/2 (1 + 2 - log 2 - 1) = 1 - log(2)/2
    kl = (0.125 + 1 - math.log(2.0) / 2) / 2
    assert out['kl'].item() == pytest.approx(kl)
    # t_G = vec(expm(z1 E12)) = (1, z1, 0, 1): (1, .5, 0, 1) and (1, -1, 0, 1);
    # ||t_E - t_G||^2 = 0.25 and 1 + 1 + 1 = 3 -> mean 1.625
    assert out['group_loss'].item() == pytest.approx(1.625)
    assert torch.allclose(model.decoder.logits.inputs[0], torch.tensor([[1.0, 0.5, 0.0, 1.0], [1.0, -1.0, 0.0, 1.0]]))
    # Hessian: ||E12 E21||^2 = ||E21 E12||^2 = 1 over L^2 = 4; bracket: ||diag(1,-1)||^2 = 2 twice over 4
    assert out['hessian_loss'].item() == pytest.approx(0.5)
    assert out['commute_loss'].item() == pytest.approx(commute)
    total = rec_per_image + 2.0 * kl + 0.1 * 1.625 + 40.0 * 0.5 + 3.0 * commute
    assert out['loss'].item() == pytest.approx(total)


@pytest.mark.parametrize('probability, from_encoder', [(1.0, True), (0.0, False)])
def test_forward_switch_decodes_the_encoder_feature(probability, from_encoder):
    model, t_e = hand_built(forward_eg_prob=probability)
    model.train()
    out = model.training_step({'x': torch.ones(2, 1, 16, 16)})
    assert torch.equal(model.decoder.logits.inputs[0], t_e) == from_encoder
    assert out['from_encoder'].item() == float(from_encoder)
    model.eval()                                            # never in eval mode
    model.training_step({'x': torch.ones(2, 1, 16, 16)})
    assert not torch.equal(model.decoder.logits.inputs[-1], t_e)


def test_forward_switch_is_one_coin_per_batch_with_probability_p():
    model, _ = hand_built(forward_eg_prob=0.2)
    torch.manual_seed(0)
    draws = [model.decode_encoder_feature_now() for _ in range(4000)]
    assert abs(sum(draws) / len(draws) - 0.2) < 0.025       # binomial sd 0.0063
    model.train()
    calls = [model.training_step({'x': torch.ones(2, 1, 16, 16)})['from_encoder'].item() for _ in range(40)]
    assert 0 < sum(calls) < 40                              # the step uses the coin


def test_a_training_step_reaches_every_part():
    torch.manual_seed(0)
    model = build()
    out = model.training_step({'x': torch.rand(4, 1, 16, 16)})
    out['loss'].backward()
    for name in ('encoder.trunk.0.weight', 'encoder.to_means.0.0.weight', 'decoder.basis.0',
                 'decoder.post_exp.0.weight'):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    assert model.represent(torch.rand(3, 1, 16, 16)).shape == (3, 2)
    assert model.reconstruct(torch.rand(3, 1, 16, 16)).shape == (3, 1, 16, 16)
    assert model.sample(5).min() >= 0


def test_configuration_errors_say_what_to_do():
    with pytest.raises(ConfigError, match='latent_dim'):
        LieGroupVAE(lambda **kw: None, lambda **kw: None, (1, 16, 16), latent_dim=12)
    with pytest.raises(ConfigError, match='parity'):
        build(commutator='true')
    with pytest.raises(ConfigError, match='square'):
        build(groups=(5,))
    with pytest.raises(ConfigError, match='l2'):
        build(shape=(6,), recons_loss_type='bce')


def test_taylor_exponential_gives_the_same_step_as_matrix_exp():
    torch.manual_seed(0)
    reference = build(commutator='parity', hy_commute=1.0)
    taylor = build(commutator='parity', hy_commute=1.0)
    taylor.load_state_dict(reference.state_dict())
    reference.decoder.expm_method, taylor.decoder.expm_method = 'matrix_exp', 'taylor'
    with torch.no_grad():
        for model in (reference, taylor):
            model.decoder.basis[0].mul_(300.0)             # norms near 1, where scaling matters
    reference.eval(), taylor.eval()
    x = torch.rand(4, 1, 16, 16)
    a, b = reference.training_step({'x': x}), taylor.training_step({'x': x})
    for key in ('loss', 'group_loss', 'hessian_loss', 'commute_loss'):
        assert torch.allclose(a[key], b[key], rtol=1e-5), key
