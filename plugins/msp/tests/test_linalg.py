"""The least-squares transition, rollouts and the block-diagonalisation loss against independent values."""
import numpy as np
import pytest
import torch

from plugins.msp import linalg


def rotation(a, angles):
    """Block-diagonal rotation with 2x2 blocks of the given angles (a known linear action)."""
    R = np.zeros((a, a))
    for i, t in enumerate(angles):
        R[2 * i:2 * i + 2, 2 * i:2 * i + 2] = [[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]
    return R


def test_lstsq_matches_numpy():
    rng = np.random.RandomState(0)
    H0, H1 = rng.randn(5, 40, 6), rng.randn(5, 40, 6)
    expected = np.stack([np.linalg.lstsq(H0[b], H1[b], rcond=None)[0] for b in range(5)])
    exact = linalg.lstsq_transition(torch.tensor(H0), torch.tensor(H1), ridge=0.0).numpy()
    np.testing.assert_allclose(exact, expected, rtol=1e-9, atol=1e-10)
    ridged = linalg.lstsq_transition(torch.tensor(H0, dtype=torch.float32), torch.tensor(H1, dtype=torch.float32))
    assert ridged.dtype == torch.float32
    np.testing.assert_allclose(ridged.numpy(), expected, rtol=1e-4, atol=1e-4)


def test_stacked_pairs_match_numpy():
    """fit_sequence_transition stacks the T-1 pairs vertically."""
    rng = np.random.RandomState(1)
    H = rng.randn(2, 4, 10, 3)
    expected = [np.linalg.lstsq(H[b, :-1].reshape(-1, 3), H[b, 1:].reshape(-1, 3), rcond=None)[0] for b in range(2)]
    got = linalg.fit_sequence_transition(torch.tensor(H), ridge=0.0).numpy()
    np.testing.assert_allclose(got, np.stack(expected), rtol=1e-9, atol=1e-10)


def test_ill_conditioned_solve_is_finite_with_finite_gradients():
    H0 = torch.zeros(3, 8, 4, requires_grad=True)             # all-zero latents: H0ᵀH0 = 0
    H1 = torch.randn(3, 8, 4)
    M = linalg.lstsq_transition(H0, H1)
    M.sum().backward()
    assert torch.isfinite(M).all() and torch.isfinite(H0.grad).all()
    rank1 = torch.randn(3, 8, 1).expand(3, 8, 4).clone().requires_grad_(True)   # rank-deficient H0
    M = linalg.lstsq_transition(rank1, H1)
    (M ** 2).sum().backward()
    assert torch.isfinite(M).all() and torch.isfinite(rank1.grad).all()


def test_tf32_is_off_inside_the_solve_and_restored():
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        with linalg.exact_matmul():
            assert torch.backends.cuda.matmul.allow_tf32 is False
            assert torch.backends.cudnn.allow_tf32 is False
        assert torch.backends.cuda.matmul.allow_tf32 is True
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before


def test_known_linear_action_is_recovered_and_predicted_exactly():
    rng = np.random.RandomState(2)
    R = rotation(4, [0.3, -1.1])
    H = [rng.randn(3, 12, 4)]
    for _ in range(5):
        H.append(H[-1] @ R)
    H = torch.tensor(np.stack(H, 1))                          # (3, 6, 12, 4)
    M = linalg.fit_sequence_transition(H[:, :2], ridge=0.0)
    np.testing.assert_allclose(M.numpy(), np.broadcast_to(R, (3, 4, 4)), atol=1e-10)
    pred = linalg.rollout(H[:, 1], M, 4)
    np.testing.assert_allclose(pred.numpy(), H[:, 2:].numpy(), atol=1e-9)


def test_fixed_blocks_recover_block_diagonal_action():
    rng = np.random.RandomState(3)
    R = rotation(4, [0.5, 0.2]) * np.array([1.0, 1.0, 0.9, 0.9])[None]
    H0 = rng.randn(2, 9, 4)
    H = torch.tensor(np.stack([H0, H0 @ R], 1))
    M = linalg.fit_block_transition(H, 2, ridge=0.0).numpy()
    np.testing.assert_allclose(M, np.broadcast_to(R, (2, 4, 4)), atol=1e-10)


def test_second_order_predicts_accelerated_sequence_exactly():
    """H_{t+1} = H_t M_t with M_{t+1} = M_t A: HO-LSTSQ recovers A and extrapolates exactly."""
    rng = np.random.RandomState(4)
    A, M = rotation(4, [0.1, -0.05]), rotation(4, [0.4, 0.7])
    H = [rng.randn(2, 10, 4)]
    for _ in range(9):
        H.append(H[-1] @ M)
        M = M @ A
    H = torch.tensor(np.stack(H, 1))                          # (2, 10, 10, 4)
    M_last, A_fit = linalg.fit_second_order(H[:, :5], ridge=0.0)
    np.testing.assert_allclose(A_fit.numpy(), np.broadcast_to(A, (2, 4, 4)), atol=1e-8)
    pred = linalg.rollout_second_order(H[:, 4], M_last, A_fit, 5)
    np.testing.assert_allclose(pred.numpy(), H[:, 5:].numpy(), atol=1e-7)


def closed_form(M):
    """a − Σ_i A_ii / D_i with A = |M|ᵀ|M|, D_i = Σ_j A_ij, written out with explicit loops."""
    V = np.abs(M)
    a = V.shape[1]
    total = 0.0
    for i in range(a):
        A_ii = sum(V[k, i] * V[k, i] for k in range(a))
        D_i = sum(sum(V[k, i] * V[k, j] for k in range(a)) for j in range(a))
        total += A_ii / D_i
    return a - total


def test_tracenorm_equals_closed_form_and_is_zero_for_diagonal():
    rng = np.random.RandomState(5)
    Ms = rng.randn(4, 6, 6)
    for method in ('svd', 'trace'):
        got = [float(linalg.block_diagonalization_loss(torch.tensor(M[None]), method)) for M in Ms]
        np.testing.assert_allclose(got, [closed_form(M) for M in Ms], rtol=1e-6)
        diagonal = torch.diag_embed(torch.tensor(rng.randn(3, 6)))
        assert float(linalg.block_diagonalization_loss(diagonal, method)) == pytest.approx(0.0, abs=1e-8)
        ones = torch.ones(1, 5, 5, dtype=torch.float64)      # A = 5·1: a − Σ 5/25 = 5 − 1
        assert float(linalg.block_diagonalization_loss(ones, method)) == pytest.approx(4.0, abs=1e-8)
