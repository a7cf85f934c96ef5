"""The liegroup method: architecture sizes from the released code and every loss term on a hand-built case."""
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
    (1, 100, 897_665, 403_492, 88_820, 1_000, 404_353),          # dSprites: the released model's counts
    (3, 400, 2_283_015, 481_616, 1_315_220, 4_000, 482_179),     # 3DShapes
])
def test_parameter_counts_match_the_released_model(channels, size, total, trunk, heads, basis, decoder):
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
    draws = [model.decode_encoder_feature_now(step) for step in range(4000)]
    assert abs(sum(draws) / len(draws) - 0.2) < 0.025       # binomial sd 0.0063
    model.train()
    calls = [model.training_step({'x': torch.ones(2, 1, 16, 16)})['from_encoder'].item() for _ in range(40)]
    assert 0 < sum(calls) < 40                              # the step uses the coin
    assert calls == draws[:40]                              # training step s takes coin s
    assert model.steps_taken == 40


def test_the_coin_depends_on_the_run_seed_and_the_step_only():
    """Under DDP every rank reseeds its global stream differently; the coins must still agree across ranks."""
    torch.manual_seed(5)
    rank0 = build(forward_eg_prob=0.5)
    torch.manual_seed(5)
    rank1 = build(forward_eg_prob=0.5)
    torch.manual_seed(100)                                   # rank 0's own stream ...
    coins0 = [rank0.decode_encoder_feature_now(s) for s in range(64)]
    torch.manual_seed(101)                                   # ... and rank 1's
    coins1 = [rank1.decode_encoder_feature_now(s) for s in range(64)]
    assert coins0 == coins1 and 10 < sum(coins0) < 54
    torch.manual_seed(6)
    other_seed = build(forward_eg_prob=0.5)
    assert [other_seed.decode_encoder_feature_now(s) for s in range(64)] != coins0


def test_the_step_count_travels_in_the_state_dict():
    model = build()
    model.train()
    model.training_step({'x': torch.rand(2, 1, 16, 16)})
    model.training_step({'x': torch.rand(2, 1, 16, 16)})
    copy = build()
    copy.load_state_dict(model.state_dict())
    assert copy.steps_taken == 2


def test_kl_capacity_control_targets_a_linear_ramp():
    """β·|KL − min(C·step/leadin, C)|, the released code's capacity control (hand-computed at three steps)."""
    model = build(capacity=4.0, capacity_leadin=10, reg_wt=3.0, hy_rec=0.0, hy_hes=0.0, forward_eg_prob=0.0)
    assert [model.capacity_target(s) for s in (0, 5, 10, 20)] == [0.0, 2.0, 4.0, 4.0]
    model.train()
    x = torch.rand(2, 1, 16, 16)
    for step in range(12):
        torch.manual_seed(step)
        out = model.training_step({'x': x})
        target = min(4.0 * step / 10, 4.0)
        expected = out['rec_loss'] + 3.0 * (out['kl'] - target).abs()
        assert torch.allclose(out['loss'], expected, rtol=1e-6), step
    off = build(capacity=0.0, reg_wt=3.0, hy_rec=0.0, hy_hes=0.0, forward_eg_prob=0.0)
    out = off.training_step({'x': x})
    assert torch.allclose(out['loss'], out['rec_loss'] + 3.0 * out['kl'], rtol=1e-6)


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


def test_no_exp_replaces_the_exponential_by_an_mlp_and_keeps_the_basis():
    torch.manual_seed(0)
    with_exp, without = build(), build()
    decoder = LieGroupDecoder(2, (1, 16, 16), subgroup_sizes_ls=[4], subspace_sizes_ls=[2], no_exp=True)
    # L = 2 latents, S = 4: Linear(2 -> 8) and Linear(8 -> 4) beside the unchanged rest
    assert count(decoder) == count(with_exp.decoder) + (2 * 8 + 8) + (8 * 4 + 4)
    z = torch.tensor([[0.3, -1.2]])
    first, second = decoder.bottleneck[0], decoder.bottleneck[2]
    expected = second.weight @ torch.relu(first.weight @ z[0] + first.bias) + second.bias
    assert torch.allclose(decoder.group_features(z)[0], expected, atol=1e-6)
    assert len(decoder.basis) == 1
    without.decoder = decoder
    out = without.training_step({'x': torch.rand(2, 1, 16, 16)})
    (out['loss'] - without.hy_hes * out['hessian_loss']).backward()
    assert without.decoder.basis[0].grad is None or not without.decoder.basis[0].grad.any()   # unused by the data
    del with_exp


def test_the_ablation_configs_select_no_exp():
    from framework.config import compose, to_plain
    vae = to_plain(compose('a/liegroup', 'm/liegroup-vae', 'd/vec'))
    bottleneck = to_plain(compose('a/liegroup', 'm/liegroup-bottleneck', 'd/vec'))
    assert (vae['no_exp'], vae['hy_rec'], vae['forward_eg_prob']) == (True, 0.0, 0.0)
    assert (bottleneck['no_exp'], bottleneck['hy_rec'], bottleneck['forward_eg_prob']) == (True, 0.1, 0.2)
