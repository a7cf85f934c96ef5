"""The linear algebra of MSP: least-squares transitions, their rollouts and the block-diagonalisation loss.

Conventions (the authors' code): a latent is a matrix H ∈ R^{m×a} and a transition acts on the
right, H_{t+1} ≈ H_t M with M ∈ R^{a×a} (the paper's M is the transpose). Every function is batched over
leading dimensions.
"""
from __future__ import annotations

import contextlib

import torch

RIDGE = 1.0e-6      # relative ridge: eps · tr(H0ᵀH0)/a is added to the diagonal of the normal equations


@contextlib.contextmanager
def exact_matmul():
    """Disable TF32 and autocast for the enclosed solve: a least-squares fit must not run in reduced precision."""
    flags = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        with torch.autocast('cuda', enabled=False), torch.autocast('cpu', enabled=False):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = flags


def lstsq_transition(H0: torch.Tensor, H1: torch.Tensor, ridge: float = RIDGE,
                     dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """M* = argmin_M ‖H0 M − H1‖²_F = (H0ᵀH0 + εI)⁻¹ H0ᵀH1, with gradients through the solve.

    H0, H1: (..., n, a) -> M: (..., a, a). The normal equations are solved in ``dtype`` (float64 by default)
    with TF32 and autocast off; the tiny relative ridge ε = ``ridge``·tr(H0ᵀH0)/a (plus 1e-12) keeps the
    solve finite when H0 is rank deficient early in training. The original has no ridge; with full
    column rank the difference is below float32 precision.
    """
    out_dtype = H0.dtype
    with exact_matmul():
        H0, H1 = H0.to(dtype), H1.to(dtype)
        gram = H0.transpose(-1, -2) @ H0
        a = gram.shape[-1]
        eye = torch.eye(a, dtype=dtype, device=gram.device)
        if ridge > 0:
            scale = gram.diagonal(dim1=-2, dim2=-1).sum(-1).div(a).clamp_min(0)[..., None, None]
            gram = gram + (ridge * scale + 1.0e-12) * eye
        M = torch.linalg.solve(gram, H0.transpose(-1, -2) @ H1)
    return M.to(out_dtype)


def fit_sequence_transition(H: torch.Tensor, ridge: float = RIDGE) -> torch.Tensor:
    """One M per sequence from its latents H: (B, T, m, a), fitted on all T−1 consecutive pairs stacked
    vertically (H0 = [H_0; …; H_{T−2}], H1 = [H_1; …; H_{T−1}]) -> (B, a, a)."""
    B, T, m, a = H.shape
    if T < 2:
        raise ValueError(f'fitting a transition needs at least 2 latents per sequence, got {T}')
    H0 = H[:, :-1].reshape(B, (T - 1) * m, a)
    H1 = H[:, 1:].reshape(B, (T - 1) * m, a)
    return lstsq_transition(H0, H1, ridge)


def fit_block_transition(H: torch.Tensor, block_size: int = 2, ridge: float = RIDGE) -> torch.Tensor:
    """The fixed-blocks baseline (the paper's "Ours w/ fixed blocks"): an independent fit per group of ``block_size``
    consecutive columns, assembled block-diagonally -> (B, a, a)."""
    B, T, m, a = H.shape
    if a % block_size:
        raise ValueError(f'dim_a={a} is not divisible by block_size={block_size}')
    blocks = [fit_sequence_transition(H[..., i:i + block_size], ridge) for i in range(0, a, block_size)]
    return _block_diag(blocks)


def _block_diag(blocks: list[torch.Tensor]) -> torch.Tensor:
    size = sum(b.shape[-1] for b in blocks)
    out = blocks[0].new_zeros(*blocks[0].shape[:-2], size, size)
    i = 0
    for b in blocks:
        n = b.shape[-1]
        out[..., i:i + n, i:i + n] = b
        i += n
    return out


def fit_second_order(H: torch.Tensor, drop_first: bool = True, ridge: float = RIDGE):
    """HO-LSTSQ (the paper's second-order model, n_order 2) on latents H: (B, T_c, m, a).

    Per-step transitions M_t = lstsq(H_t, H_{t+1}) for t = 0..T_c−2; the original drops M_0
    (``drop_first``); then A = lstsq([M_1; …; M_{n−1}], [M_2; …; M_n]) so that M_{t+1} ≈ M_t A.
    Returns (M_last, A), each (B, a, a); the rollout is M ← M A, H ← H M.
    """
    steps = [lstsq_transition(H[:, t], H[:, t + 1], ridge) for t in range(H.shape[1] - 1)]
    if drop_first:
        steps = steps[1:]
    if len(steps) < 2:
        raise ValueError('the second-order fit needs at least 2 per-step transitions: use T_cond >= 4 '
                         '(>= 3 with drop_first false)')
    Ms = torch.stack(steps, 1)                          # (B, n, a, a)
    B, n, a, _ = Ms.shape
    A = lstsq_transition(Ms[:, :-1].reshape(B, (n - 1) * a, a), Ms[:, 1:].reshape(B, (n - 1) * a, a), ridge)
    return Ms[:, -1], A


def rollout(H_last: torch.Tensor, M: torch.Tensor, n: int) -> torch.Tensor:
    """Ĥ_k = H_last M^k for k = 1..n by repeated right multiplication: (B, m, a), (B, a, a) -> (B, n, m, a)."""
    out, H = [], H_last
    for _ in range(n):
        H = H @ M
        out.append(H)
    return torch.stack(out, 1)


def rollout_second_order(H_last: torch.Tensor, M_last: torch.Tensor, A: torch.Tensor, n: int) -> torch.Tensor:
    """Ĥ_k = H_last ∏_{j=1..k} (M_last A^j): at each step M ← M A, then H ← H M (the second-order model)."""
    out, H, M = [], H_last, M_last
    for _ in range(n):
        M = M @ A
        H = H @ M
        out.append(H)
    return torch.stack(out, 1)


def tracenorm_of_normalized_laplacian(A: torch.Tensor, method: str = 'trace') -> torch.Tensor:
    """Nuclear norm of L_sym = D^{-1/2}(diag(D) − A)D^{-1/2} for affinities A: (..., a, a) -> (...).

    ``method='svd'`` sums the singular values as the definition says; ``'trace'`` (default) uses that L_sym
    is PSD for a symmetric non-negative A, so its nuclear norm is its trace Σ_i (D_i − A_ii)/(D_i + 1e-10):
    the same value without an SVD and with well-behaved gradients.
    """
    D = A.sum(-1)
    if method == 'trace':
        return ((D - A.diagonal(dim1=-2, dim2=-1)) / (D + 1.0e-10)).sum(-1)
    if method != 'svd':
        raise ValueError(f"method must be 'trace' or 'svd', got {method!r}")
    L = torch.diag_embed(D) - A
    d = (D + 1.0e-10).rsqrt()
    return torch.linalg.svdvals(d[..., :, None] * L * d[..., None, :]).sum(-1)


def block_diagonalization_loss(M: torch.Tensor, method: str = 'trace') -> torch.Tensor:
    """Mean over the batch of tracenorm(L_sym(|M|ᵀ|M|)) (``loss_bd`` without alignment)."""
    V = M.abs()
    return tracenorm_of_normalized_laplacian(V.transpose(-1, -2) @ V, method).mean()
