"""Every shared architecture maps the shapes it declares, for 1- and 3-channel 64x64 images and vectors."""
import pytest
import torch

import framework
from framework.errors import ConfigError

IMAGE_SHAPES = [(1, 64, 64), (3, 64, 64)]


def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('name', ['conv12', 'conv16', 'dlib', 'mlp'])
@pytest.mark.parametrize('shape', IMAGE_SHAPES)
def test_image_encoder_and_decoder_shapes(name, shape):
    small = {'channels': 8} if name.startswith('conv') else {}
    encoder = framework.create('encoder', name, in_shape=list(shape), out_dim=7, **small)
    decoder = framework.create('decoder', name, latent_dim=7, out_shape=list(shape), **small)
    x = torch.rand(2, *shape)
    assert encoder(x).shape == (2, 7)
    out = decoder(torch.randn(2, 7))
    assert out.shape == (2, *shape)
    assert out.min() >= 0 and out.max() <= 1          # images come out through a sigmoid


@pytest.mark.parametrize('name', ['conv12', 'conv16', 'mlp'])
def test_vector_encoder_and_decoder_shapes(name):
    encoder = framework.create('encoder', name, in_shape=[100], out_dim=12)
    decoder = framework.create('decoder', name, latent_dim=12, out_shape=[100])
    assert encoder(torch.randn(5, 100)).shape == (5, 12)
    assert decoder(torch.randn(5, 12)).shape == (5, 100)


def test_conv12_is_twelve_dense_layers_of_width_64_for_vectors():
    encoder = framework.create('encoder', 'conv12', in_shape=[100], out_dim=12, hidden=[64])
    linears = [m for m in encoder.body.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 12 and linears[0].in_features == 100
    assert all(m.out_features == 64 for m in linears)


def test_dlib_refuses_vectors_with_a_hint():
    with pytest.raises(ConfigError, match='a/mlp'):
        framework.create('encoder', 'dlib', in_shape=[100], out_dim=4)


def test_conv12_parameter_counts_match_the_sae_paper():
    """AE 1,022,671 and VAE 1,024,219 on 64x64x3 with d=12 (counted by the SAE paper's authors)."""
    shape = [3, 64, 64]
    decoder = framework.create('decoder', 'conv12', latent_dim=12, out_shape=shape)
    ae_encoder = framework.create('encoder', 'conv12', in_shape=shape, out_dim=12)
    vae_encoder = framework.create('encoder', 'conv12', in_shape=shape, out_dim=24)
    assert count(ae_encoder) + count(decoder) == 1_022_671
    assert count(vae_encoder) + count(decoder) == 1_024_219


def test_dlib_layers_follow_disentanglement_lib():
    encoder = framework.create('encoder', 'dlib', in_shape=[1, 64, 64], out_dim=20)
    convs = [m for m in encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 32, 64, 64]
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) for c in convs)
    dense = [m for m in encoder.modules() if isinstance(m, torch.nn.Linear)]
    assert [(d.in_features, d.out_features) for d in dense] == [(64 * 4 * 4, 256), (256, 20)]
