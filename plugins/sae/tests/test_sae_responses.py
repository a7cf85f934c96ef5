"""Latent responses of identity-like autoencoders on toy data, against hand-computed values."""
import math

import pytest
import torch
from torch import nn

import plugins  # noqa: F401
from framework.data.base import InMemoryDataset
from framework.registry import get
from plugins.sae.responses import (conditioned_response_matrix_2022, factor_response_matrix_2021,
                                   factor_responses_2021, response_matrix_2021, response_matrix_2022,
                                   response_score)

identity = lambda z: z  # noqa: E731


def grid_dataset(sizes=(3, 4)):
    """Observations are the factor classes themselves: x = y (a toy dataset an identity AE inverts)."""
    factors = torch.cartesian_prod(*[torch.arange(s) for s in sizes])
    data = InMemoryDataset(factors.float(), factors)
    data.factor_names, data.factor_sizes = tuple(f'f{i}' for i in range(len(sizes))), tuple(sizes)
    return data


class LinearAE(nn.Module):
    """represent(x) = x A^T, decode(z) = z A^{-T}: encode(decode(z)) = z for any invertible A."""

    def __init__(self, matrix):
        super().__init__()
        self.matrix = matrix

    def represent(self, x):
        return x @ self.matrix.T

    def decode(self, z):
        return z @ torch.linalg.inv(self.matrix).T


def test_2021_matrix_of_the_identity_response_by_hand():
    codes = torch.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 2.0]])
    scales = torch.tensor([1.0, 2.0])
    # latent 0 replaced by the next code's value (cyclic): changes 1, 2, -3; latent 1: 2, 0, -2 (divided by 2)
    expected = torch.tensor([[math.sqrt(14 / 3), 0.0], [0.0, math.sqrt((1 + 0 + 1) / 3)]])
    got = response_matrix_2021(identity, codes, scales, shuffle=False)
    assert torch.allclose(got, expected, atol=1e-6)


def test_2022_matrix_of_the_identity_response_is_diagonal():
    codes = torch.tensor([[0.0, 5.0], [1.0, 5.0]])          # two codes: the intervention value is the other one
    got = response_matrix_2022(identity, codes, num_samples=2, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(got, torch.tensor([[1.0, 0.0], [0.0, 0.0]]))


def test_identity_autoencoder_on_toy_data_scores_one_and_a_mixing_one_half():
    data = grid_dataset((3, 3))
    generator = torch.Generator().manual_seed(0)
    ae = LinearAE(torch.eye(2))
    response = lambda z: ae.represent(ae.decode(z))  # noqa: E731
    groups = factor_responses_2021(data, ae.represent, response, torch.ones(2), generator, 'cpu', num_groups=4)
    assert groups.shape == (2, 4, 2, 2)
    m = factor_response_matrix_2021(groups)
    assert m[0, 1] == 0 and m[1, 0] == 0 and m[0, 0] > 0 and m[1, 1] > 0
    assert response_score(m) == 1.0
    conditioned = conditioned_response_matrix_2022(data, ae.represent, response, generator, 'cpu', num_traversals=3)
    assert response_score(conditioned) == 1.0

    # latents at 45 degrees: each latent moves with both factors; with equal grids and unit scales every
    # entry of M is the same (the values 0, 1, 2 of a factor, divided by sqrt 2), so the score is 1/2
    rotation = torch.tensor([[1.0, 1.0], [-1.0, 1.0]]) / math.sqrt(2)
    mixing = LinearAE(rotation)
    response = lambda z: mixing.represent(mixing.decode(z))  # noqa: E731
    m = factor_response_matrix_2021(factor_responses_2021(data, mixing.represent, response, torch.ones(2),
                                                          generator, 'cpu', num_groups=4))
    assert torch.allclose(m, m[0, 0].expand(2, 2), atol=1e-5)
    assert response_score(m) == pytest.approx(0.5)


def test_registered_metrics_take_the_methods_decoder_explicitly():
    data = grid_dataset((3, 4))
    ae = LinearAE(torch.eye(2))
    for name, key, protocol in (('responses-2021', 'disentanglement', {'num_latent': 12, 'num_groups': 3}),
                                ('responses-2022', 'cds', {'num_traversals': 3})):
        entry = get('metric', name)
        assert 'decode' in entry.needs            # the suite hands it `decode=method.decode`, or skips it
        out = entry.obj(data, ae.represent, torch.Generator().manual_seed(0), decode=ae.decode, **protocol)
        assert out[key] == 1.0 and out[key + '_rescaled'] == 1.0


def test_2022_matrix_on_prior_samples_of_a_linear_response():
    # r(z) = z A: intervening on latent i with v moves response j by (v - z_i) A_ij. With z_i and v independent
    # N(0, 1), v - z_i ~ N(0, 2), so M_ij = |A_ij| sqrt(2) up to sampling noise (20000 draws: about 0.5%).
    a = torch.tensor([[1.0, -2.0, 0.0], [0.0, 0.5, 0.0], [3.0, 0.0, -1.0]])
    got = response_matrix_2022(lambda z: z @ a, num_samples=20000, latent_dim=3,
                               generator=torch.Generator().manual_seed(0), batch_size=5000)
    assert torch.allclose(got, a.abs() * math.sqrt(2), rtol=0.02, atol=1e-6)
    # the base codes come from the prior, not from any data: codes far from N(0, I) play no part
    assert got.shape == (3, 3) and (got[a == 0] == 0).all()


def test_2022_matrix_draws_base_codes_and_values_from_the_generator():
    codes = []

    def recording(z):
        codes.append(z.clone())
        return z
    response_matrix_2022(recording, num_samples=4, latent_dim=2, generator=torch.Generator().manual_seed(3))
    base, intervened = torch.cat(codes[:1]).view(2, 4, 2), torch.cat(codes[1:]).view(2, 4, 2)
    expected = torch.Generator().manual_seed(3)
    assert torch.equal(base, torch.randn(2, 4, 2, generator=expected))        # one batch of prior codes per row
    values = torch.randn(2, 4, generator=expected)
    assert torch.equal(intervened[0, :, 0], values[0]) and torch.equal(intervened[0, :, 1], base[0, :, 1])
    assert torch.equal(intervened[1, :, 1], values[1]) and torch.equal(intervened[1, :, 0], base[1, :, 0])
