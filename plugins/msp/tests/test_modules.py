"""msp-resnet encoder/decoder: shapes, weight standardisation, positional embedding, the authors' parameter counts."""
import math

import pytest
import torch

from plugins.msp.modules import MSPResNetDecoder, MSPResNetEncoder, WeightStandardization, sinusoidal_embedding_2d


def test_shapes_and_output_range():
    enc = MSPResNetEncoder((3, 32, 32), out_dim=24, k=0.25, n_blocks=3)
    dec = MSPResNetDecoder(24, (3, 32, 32), k=0.25, n_blocks=3)
    z = enc(torch.rand(2, 3, 32, 32))
    x = dec(z)
    assert z.shape == (2, 24) and x.shape == (2, 3, 32, 32)
    assert (x >= 0).all() and (x <= 1).all()
    assert dec.bottom == (4, 4)                                # bottom width H / 2^n_blocks


def test_weight_standardisation_per_filter():
    w = torch.randn(5, 3, 3, 3) * 4 + 2
    s = WeightStandardization()(w).flatten(1)
    assert torch.allclose(s.mean(1), torch.zeros(5), atol=1e-5)
    assert torch.allclose(s.std(1), torch.ones(5), atol=1e-3)


def test_positional_embedding_values_and_trainable():
    emb = sinusoidal_embedding_2d(4, 6)
    assert emb.shape == (64, 4, 6)
    # channel 0: sin(col · 1), channel 1: cos(col · 1); channel 2: sin(col · exp(-2 ln(1e4)/32)); rows from 32 on
    assert emb[0, 2, 5] == pytest.approx(math.sin(5.0), abs=1e-6)
    assert emb[1, 0, 3] == pytest.approx(math.cos(3.0), abs=1e-6)
    assert emb[2, 1, 4] == pytest.approx(math.sin(4 * math.exp(-2 * math.log(1e4) / 32)), abs=1e-6)
    assert emb[32, 3, 0] == pytest.approx(math.sin(3.0), abs=1e-6)
    assert emb[33, 2, 1] == pytest.approx(math.cos(2.0), abs=1e-6)
    dec = MSPResNetDecoder(8, (1, 16, 16), k=0.25, n_blocks=2)
    dec(torch.randn(2, 8)).sum().backward()
    pos = [p for n, p in dec.named_parameters() if n.endswith('.pos')]
    assert len(pos) == 2 and all(p.grad is not None for p in pos)


def test_parameter_counts_match_the_authors_model_for_3dshapes():
    """The authors' 3dshapes model (k 1, 3 blocks, 64x64 RGB, latent 4096) has 68.3M / 2.2M parameters."""
    enc = MSPResNetEncoder((3, 64, 64), 4096, k=1.0, n_blocks=3)
    dec = MSPResNetDecoder(4096, (3, 64, 64), k=1.0, n_blocks=3)
    count = lambda m: sum(p.numel() for p in m.parameters()) / 1e6
    assert round(count(enc), 1) == 68.3
    assert round(count(dec), 1) == 2.2


def test_group_norm_groups():
    """32 groups as in the authors' code; small models can ask for fewer so a group never holds a single channel."""
    from plugins.msp.modules import group_norm
    assert group_norm(256).num_groups == 32 and group_norm(16).num_groups == 16
    assert group_norm(32, groups=8).num_groups == 8 and group_norm(48, groups=32).num_groups == 16
    dec = MSPResNetDecoder(8, (3, 16, 16), k=0.25, n_blocks=2, groups=8)
    assert dec.blocks[0].pre[0].num_groups == 8                 # 32 channels, 4 per group
