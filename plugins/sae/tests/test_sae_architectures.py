"""Parameter counts of the SAE paper's models and the structural layer's behaviour, checked by hand."""
import pytest
import torch

import framework
import plugins  # noqa: F401  (registers the plugin)
from plugins.sae.structural import StructuralDecoder, StructuralTransform, block_sizes
from plugins.sae.ladder import LadderDecoder, LadderEncoder

IMAGE = (3, 64, 64)


def count(*modules):
    return sum(p.numel() for m in modules for p in m.parameters())


def build(configs, **overrides):
    """The method a command line would build for 64x64x3 observations (no training)."""
    overrides.setdefault('observation_shape', list(IMAGE))
    cfg = framework.compose(*configs, **overrides)
    return cfg.build('method')


# The authors' notebook printouts (learn_rep notebooks/analysis*.ipynb: AE, VAE, SAE-12) and hand counts of the
# layer lists in their config files (AdaAE-12, SAE-6, VLAE-12).
@pytest.mark.parametrize('configs, expected', [
    (['a/conv12', 'm/ae'], 1_022_671),                                     # AE
    (['a/conv12', 'm/vae'], 1_024_219),                                    # VAE
    (['a/e/conv12', 'a/d/strc/12', 'm/ae'], 1_221_967),                     # SAE-12
    (['nosplit', 'a/e/conv12', 'a/d/strc/12', 'm/ae'], 1_230_415),          # AdaAE-12
    (['a/e/conv12', 'a/d/strc/6', 'm/ae'], 1_072_591),                      # SAE-6
    (['a/ladder/12', 'm/vae'], 1_046_859),                                  # VLAE-12
])
def test_parameter_counts_match_the_paper(configs, expected):
    assert count(build(configs)) == expected


def test_celeba_models_at_128px():
    # VLAE-16 on CelebA: 5,881,763 in the authors' printout (learn_rep notebooks/improve_rep.ipynb)
    assert count(build(['a/ladder/16', 'm/vae'], observation_shape=[3, 128, 128], latent_dim=32)) == 5_881_763
    # SAE-16 by hand: conv16 encoder (k5 first conv, 15 convs, head 512-512-256-128-32) + strc/16 decoder
    conv = 128 * 128 * 9 + 128 + 2 * 128
    encoder = (3 * 128 * 25 + 128 + 256) + 15 * conv + (512 * 512 + 512) + (512 * 256 + 256) + \
        (256 * 128 + 128) + (128 * 32 + 32)
    style = (2 * 64 + 64) + (64 * 128 + 128) + (128 * 256 + 256) + (256 * 256 + 256)
    decoder = 128 * 4 + 15 * conv + (128 * 3 * 9 + 3) + 16 * style
    assert count(build(['a/e/conv16', 'a/d/strc/16', 'm/ae'], observation_shape=[3, 128, 128],
                       latent_dim=32)) == encoder + decoder


def test_structural_decoder_count_by_hand():
    # rho 64*2*2; 11 convs 64->64 k3 + GroupNorm; output conv 64->3; 12 MLPs 1->64->128->128
    conv = 64 * 64 * 9 + 64 + 2 * 64
    mlp = (1 * 64 + 64) + (64 * 128 + 128) + (128 * 128 + 128)
    expected = 256 + 11 * conv + (64 * 3 * 9 + 3) + 12 * mlp
    assert expected == 709_123
    assert count(StructuralDecoder(12, IMAGE, blocks=12)) == expected


def test_nosplit_listed_first_wins_and_the_activation_defaults_to_mish():
    cfg = framework.compose('nosplit', 'a/e/conv12', 'a/d/strc/12', 'm/ae', 'd/vec')
    assert cfg.get('decoder.split_latent') is False
    assert cfg.get('act') == 'mish'
    cfg = framework.compose('a/e/conv12', 'a/d/strc/12', 'm/ae', 'd/vec', act='elu')
    assert cfg.get('decoder.split_latent') is True and cfg.get('act') == 'elu'


@pytest.mark.parametrize('act, module', [(None, torch.nn.Mish), ('elu', torch.nn.ELU)])
def test_the_activation_reaches_the_structural_and_ladder_modules(act, module):
    overrides = {} if act is None else {'act': act}
    for configs in (['a/e/conv12', 'a/d/strc/12', 'm/ae'], ['a/ladder/12', 'm/vae']):
        method = build(configs, **overrides)
        kinds = {type(m) for m in method.decoder.modules()} | {type(m) for m in method.encoder.modules()}
        assert module in kinds and not ({torch.nn.Mish, torch.nn.ELU} - {module}) & kinds


def test_structural_transform_modulates_each_channel_by_hand():
    layer = StructuralTransform(style_dim=1, channels=2, hidden=())      # one Linear 1 -> 4: [m_1, m_2, l_1, l_2]
    with torch.no_grad():
        layer.net[0].weight.copy_(torch.tensor([[1.0], [0.0], [0.0], [2.0]]))
        layer.net[0].bias.copy_(torch.tensor([0.5, -1.0, 0.0, 0.0]))
    h = torch.tensor([[[[1.0, 2.0]], [[3.0, -1.0]]]])                  # (1, 2, 1, 2)
    u = torch.tensor([[0.5]])
    # channel 0: exp(0) * h + (0.5 + 0.5) ; channel 1: exp(2 * 0.5) * h + (-1)
    e = torch.exp(torch.tensor(1.0))
    expected = torch.tensor([[[[2.0, 3.0]], [[3 * e - 1, -e - 1]]]])
    assert torch.allclose(layer(h, u), expected)
    assert torch.allclose(layer(h[:, :, 0, 0], u), expected[:, :, 0, 0])        # vectors: (B, C)


def test_changing_block_k_changes_only_stage_k_modulation():
    decoder = StructuralDecoder(12, (100,), blocks=6)                         # blocks of 2 latents
    assert decoder.block_sizes == [2] * 6 and decoder.latent_groups == [2] * 6
    z = torch.randn(4, 12)
    before = decoder.modulations(z)
    for k in range(6):
        changed = z.clone()
        changed[:, 2 * k:2 * k + 2] += 1.0
        after = decoder.modulations(changed)
        for j, ((s0, m0), (s1, m1)) in enumerate(zip(before, after)):
            same = torch.equal(s0, s1) and torch.equal(m0, m1)
            assert same == (j != k), (k, j)


def test_without_split_every_stage_reads_the_whole_latent():
    decoder = StructuralDecoder(12, (100,), blocks=6, split_latent=False)
    assert decoder.latent_groups is None
    z = torch.randn(3, 12)
    changed = z.clone()
    changed[:, 0] += 1.0
    assert all(not torch.equal(a[0], b[0]) for a, b in zip(decoder.modulations(z), decoder.modulations(changed)))


def test_first_block_enters_at_the_lowest_resolution():
    decoder = StructuralDecoder(12, IMAGE, blocks=12)
    sizes = []
    hooks = [s.register_forward_hook(lambda m, inp, out: sizes.append(inp[0].shape[-1])) for s in decoder.transforms]
    decoder(torch.randn(1, 12))
    for hook in hooks:
        hook.remove()
    assert sizes == [2, 2, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32]              # the authors' config/a/d/strc/12.yaml


def test_ladder_encoder_orders_blocks_deepest_first_and_deinterleaves():
    encoder = LadderEncoder((100,), out_dim=8, blocks=2, latent_dim=4, layout='R.R', rung_hidden=())
    with torch.no_grad():                                   # rung 1 (shallow) emits 1..4, rung 2 (deep) 5..8
        for rung, values in ((encoder.layers[0], [1., 2., 3., 4.]), (encoder.layers[2], [5., 6., 7., 8.])):
            rung[0].weight.zero_()
            rung[0].bias.copy_(torch.tensor(values))
    out = encoder(torch.randn(2, 100))
    # pairs (mu, log sigma): deep rung (5,6),(7,8) gives latents 1-2, shallow (1,2),(3,4) latents 3-4
    assert out[0].tolist() == [5., 7., 1., 3., 6., 8., 2., 4.]


def test_ladder_decoder_concatenates_features_and_shapes():
    decoder = LadderDecoder(12, IMAGE, blocks=12)
    assert decoder.root.shape == (48, 2, 2)
    assert decoder(torch.randn(2, 12)).shape == (2, *IMAGE)
    assert LadderDecoder(12, (100,), blocks=6)(torch.randn(2, 12)).shape == (2, 100)


def test_block_sizes():
    assert block_sizes(12, 12) == [1] * 12 and block_sizes(12, 5) == [3, 3, 2, 2, 2]
    with pytest.raises(framework.ConfigError):
        block_sizes(4, 6)


def encoder_steps(encoder):
    """The ladder encoder after its first conv, as 'c' (conv), 'c↓' (conv then max-pool) and 'R' (rung)."""
    steps = []
    for kind, layer in zip(encoder.kinds, encoder.layers):
        if kind == 'rung':
            steps.append('R')
        else:
            steps.append('c↓' if any(isinstance(m, torch.nn.MaxPool2d) for m in layer.modules()) else 'c')
    return steps


def rung_resolutions(encoder):
    sizes = []
    hooks, last = [], {}
    for kind, layer in zip(encoder.kinds, encoder.layers):
        if kind == 'layer':
            hooks.append(layer.register_forward_hook(lambda m, i, out: last.update(side=out.shape[-1])))
        else:
            hooks.append(layer.register_forward_pre_hook(lambda m, i: sizes.append(last['side'])))
    encoder(torch.randn(1, *IMAGE))
    for hook in hooks:
        hook.remove()
    return sizes


# The layer lists of the authors' config/a/e/ladder/<N>.yaml (learn_rep commit 3eb037d), written out in full:
# after the first conv (k5, 64 -> 32 px) come these convs and rungs, in forward order.
AUTHORS_LADDER_ENCODERS = {
    4: ['c', 'c', 'c↓', 'R', 'c', 'c', 'R', 'c↓', 'c', 'c', 'R', 'c↓', 'c', 'c↓', 'R'],
    3: ['c', 'c', 'c↓', 'R', 'c', 'c', 'c↓', 'c', 'R', 'c', 'c↓', 'c', 'c↓', 'R'],
    2: ['c', 'c', 'c↓', 'c', 'c', 'R', 'c↓', 'c', 'c', 'c↓', 'c', 'c↓', 'R'],
    6: ['c', 'R', 'c', 'c↓', 'R', 'c', 'c', 'R', 'c↓', 'c', 'R', 'c', 'c↓', 'R', 'c', 'c↓', 'R'],
}


@pytest.mark.parametrize('blocks, resolutions', [(4, [16, 16, 8, 2]), (3, [16, 8, 2]), (2, [16, 2]),
                                                 (6, [32, 16, 16, 8, 4, 2])])
def test_ladder_encoder_has_the_authors_layer_order(blocks, resolutions):
    encoder = build([f'a/ladder/{blocks}', 'm/vae']).encoder
    assert encoder_steps(encoder) == AUTHORS_LADDER_ENCODERS[blocks]
    assert rung_resolutions(encoder) == resolutions
