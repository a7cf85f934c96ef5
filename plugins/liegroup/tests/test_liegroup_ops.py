"""The exponential map and the basis penalties against scipy and hand-computed values."""
import numpy as np
import pytest
import scipy.linalg
import torch

from plugins.liegroup import ops


@pytest.mark.parametrize('method', ops.EXPM_METHODS)
@pytest.mark.parametrize('scale', [1.0e-3, 0.3, 3.0])
def test_expm_matches_scipy(method, scale):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(16, 10, 10, generator=generator, dtype=torch.float64) * scale
    expected = np.stack([scipy.linalg.expm(m) for m in x.numpy()])
    got = ops.expm(x, method).numpy()
    assert np.abs(got - expected).max() <= 1e-10 * max(1.0, np.abs(expected).max())
    got32 = ops.expm(x.float(), method).double().numpy()        # float32, the training dtype
    assert np.abs(got32 - expected).max() <= 1e-5 * max(1.0, np.abs(expected).max())


def test_expm_of_a_nilpotent_and_a_rotation_generator():
    # exp([[0, t], [0, 0]]) = [[1, t], [0, 1]];  exp(t [[0, -1], [1, 0]]) = rotation by t
    t = 0.7
    nilpotent = torch.tensor([[[0.0, t], [0.0, 0.0]]], dtype=torch.float64)
    rotation = torch.tensor([[[0.0, -t], [t, 0.0]]], dtype=torch.float64)
    for method in ops.EXPM_METHODS:
        assert torch.allclose(ops.expm(nilpotent, method)[0], torch.tensor([[1.0, t], [0.0, 1.0]], dtype=torch.float64))
        c, s = np.cos(t), np.sin(t)
        assert torch.allclose(ops.expm(rotation, method)[0], torch.tensor([[c, -s], [s, c]], dtype=torch.float64))


def _commuting_basis(num=3, side=4, seed=0):
    """A_i = P diag(d_i) P^-1 share their eigenvectors, so they commute."""
    generator = torch.Generator().manual_seed(seed)
    p = torch.eye(side, dtype=torch.float64) + 0.3 * torch.randn(side, side, generator=generator, dtype=torch.float64)
    diagonals = torch.randn(num, side, generator=generator, dtype=torch.float64) * 0.5
    return p @ torch.diag_embed(diagonals) @ torch.linalg.inv(p)


@pytest.mark.parametrize('method', ops.EXPM_METHODS)
def test_group_homomorphism_when_the_basis_commutes(method):
    basis = _commuting_basis()
    assert ops.commutator_penalty(basis) < 1e-20
    generator = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(2, 5, 3, generator=generator, dtype=torch.float64)
    product = ops.group_element(z1, basis, method) @ ops.group_element(z2, basis, method)
    assert torch.allclose(product, ops.group_element(z1 + z2, basis, method), atol=1e-10)
    # and a product of one-parameter subgroups (Prop. 1): G(z) = prod_i expm(z_i A_i)
    factors = [ops.expm(z1[:, i, None, None] * basis[i], method) for i in range(3)]
    assert torch.allclose(factors[0] @ factors[1] @ factors[2], ops.group_element(z1, basis, method), atol=1e-10)


def test_no_homomorphism_for_a_non_commuting_basis():
    basis = torch.tensor([[[0.0, 1.0], [0.0, 0.0]], [[0.0, 0.0], [1.0, 0.0]]], dtype=torch.float64)
    z1, z2 = torch.tensor([[1.0, 0.0]], dtype=torch.float64), torch.tensor([[0.0, 1.0]], dtype=torch.float64)
    product = ops.group_element(z1, basis) @ ops.group_element(z2, basis)
    # [[1,1],[0,1]] @ [[1,0],[1,1]] = [[2,1],[1,1]], while expm([[0,1],[1,0]]) = [[cosh 1, sinh 1], [sinh 1, cosh 1]]
    assert torch.allclose(product[0], torch.tensor([[2.0, 1.0], [1.0, 1.0]], dtype=torch.float64))
    c, s = np.cosh(1.0), np.sinh(1.0)
    assert torch.allclose(ops.group_element(z1 + z2, basis)[0], torch.tensor([[c, s], [s, c]], dtype=torch.float64))


E12 = [[0.0, 1.0], [0.0, 0.0]]
E21 = [[0.0, 0.0], [1.0, 0.0]]
EYE = [[1.0, 0.0], [0.0, 1.0]]


def test_penalties_on_two_nilpotent_generators():
    # A1 = E12, A2 = E21: A1A2 = diag(1, 0), A2A1 = diag(0, 1), each with squared norm 1.
    basis = torch.tensor([E12, E21])
    assert ops.hessian_penalty(basis).item() == pytest.approx((1 + 1) / 4)            # (1/L^2) sum_{a!=b}
    # [A1, A2] = diag(1, -1): squared norm 2 for each ordered pair
    assert ops.commutator_penalty(basis, 'bracket').item() == pytest.approx((2 + 2) / 4)
    # the released code's form: A_bA_a - (A_bA_a)^T, and both products are symmetric here
    assert ops.commutator_penalty(basis, 'parity').item() == pytest.approx(0.0)


def test_penalties_where_parity_and_bracket_disagree():
    # A1 = E12, A2 = I: they commute, but A2A1 = A1A2 = E12 is not symmetric: ||E12 - E21||^2 = 2 per pair.
    basis = torch.tensor([E12, EYE])
    assert ops.commutator_penalty(basis, 'bracket').item() == pytest.approx(0.0)
    assert ops.commutator_penalty(basis, 'parity').item() == pytest.approx((2 + 2) / 4)
    assert ops.hessian_penalty(basis).item() == pytest.approx((1 + 1) / 4)


def test_penalty_normalisation_with_three_generators_and_one():
    # A1 = E12, A2 = E21, A3 = 2I. Products: A1A2, A2A1 (norm^2 1 each), A1A3 = A3A1 = 2E12 (4 each),
    # A2A3 = A3A2 = 2E21 (4 each): total 1 + 1 + 4 * 4 = 18 over L^2 = 9.
    basis = torch.tensor([E12, E21, [[2.0, 0.0], [0.0, 2.0]]])
    assert ops.hessian_penalty(basis).item() == pytest.approx(18 / 9)
    assert ops.commutator_penalty(basis, 'bracket').item() == pytest.approx(4 / 9)     # only (1,2), (2,1)
    single = torch.tensor([E12])
    assert ops.hessian_penalty(single).item() == 0.0 and ops.commutator_penalty(single).item() == 0.0


def test_unknown_forms_are_refused():
    with pytest.raises(ValueError, match='bracket'):
        ops.commutator_penalty(torch.zeros(2, 2, 2), 'true')
    with pytest.raises(ValueError, match='matrix_exp'):
        ops.expm(torch.zeros(1, 2, 2), 'pade')
