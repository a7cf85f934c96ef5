"""The Lie group maths of the Commutative Lie Group VAE (Zhu, Xu, Tao, ICML 2021), as pure tensor functions.

- ``group_element``: G(z) = expm(Σ_i z_i A_i), the exponential mapping layer (Sec. 4 of the paper);
- ``expm``: the matrix exponential, by ``torch.linalg.matrix_exp`` or by a scaling-and-squaring Taylor form
  (``bench/liegroup_step.py`` measures both against ``scipy.linalg.expm``);
- ``hessian_penalty``: the basis products A_b A_a that must vanish for ∂²t_G/∂z_a∂z_b = 0 (paper Prop. 2);
- ``commutator_penalty``: [A_a, A_b] = 0 (paper Prop. 1), or the released code's variant (``'parity'``).

Both penalties are the released code's normalisation: (1/L²) Σ_{a≠b} ‖·‖_F², with L² counting the (zeroed)
diagonal (as the released code does).
"""
from __future__ import annotations

import math

import torch

EXPM_METHODS = ('matrix_exp', 'taylor')
COMMUTATORS = ('bracket', 'parity')

# Taylor degree and the largest 1-norm of the scaled matrix: the remainder ‖X‖^13/13! of a degree-12 series at
# ‖X‖₁ ≤ 1 is 1.6e-10, far below float32 resolution (1.2e-7).
_TAYLOR_DEGREE = 12
_TAYLOR_THETA = 1.0


def expm(x: torch.Tensor, method: str = 'matrix_exp') -> torch.Tensor:
    """Matrix exponential of a batch (..., m, m).

    ``'matrix_exp'`` is PyTorch's Padé scaling-and-squaring (Higham 2005). ``'taylor'`` scales the batch by
    2^-s so that the largest 1-norm is at most 1, sums a degree-12 Taylor series by Horner's rule and squares
    s times; autograd differentiates through the matrix products, which avoids matrix_exp's 2m×2m backward.
    """
    if method == 'matrix_exp':
        return torch.linalg.matrix_exp(x)
    if method == 'taylor':
        return taylor_expm(x)
    raise ValueError(f"expm method must be one of {EXPM_METHODS}, got {method!r}")


def taylor_expm(x: torch.Tensor, degree: int = _TAYLOR_DEGREE, theta: float = _TAYLOR_THETA) -> torch.Tensor:
    """Scaling-and-squaring Taylor exponential; one scaling s for the whole batch (one code path, no sync per
    matrix): s = max(0, ⌈log2(max‖X‖₁ / θ)⌉)."""
    if x.numel() == 0:
        return x.clone()
    norm = x.detach().abs().sum(-2).amax()          # the largest 1-norm (max column sum) in the batch
    squarings = max(0, math.ceil(math.log2(max(float(norm), 1e-30) / theta)))
    scaled = x / (2 ** squarings)
    eye = torch.eye(x.shape[-1], dtype=x.dtype, device=x.device).expand_as(x)
    result = eye + scaled / degree                  # Horner: I + X(I + X/2(I + X/3(...)))
    for k in range(degree - 1, 0, -1):
        result = eye + (scaled @ result) / k
    for _ in range(squarings):
        result = result @ result
    return result


def lie_algebra_element(z: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Σ_i z_i A_i: codes (B, L) and basis (L, m, m) -> (B, m, m)."""
    return torch.einsum('bl,lij->bij', z, basis)


def group_element(z: torch.Tensor, basis: torch.Tensor, method: str = 'matrix_exp') -> torch.Tensor:
    """G(z) = expm(Σ_i z_i A_i): (B, L), (L, m, m) -> (B, m, m)."""
    return expm(lie_algebra_element(z, basis), method)


def pairwise_products(basis: torch.Tensor) -> torch.Tensor:
    """P[a, b] = A_b A_a for all pairs: (L, m, m) -> (L, L, m, m) (the released code's broadcast)."""
    return basis.unsqueeze(0) @ basis.unsqueeze(1)


def hessian_penalty(basis: torch.Tensor) -> torch.Tensor:
    """(1/L²) Σ_{a≠b} ‖A_b A_a‖_F²; zero for a single generator (the code skips subgroups with L = 1)."""
    num = basis.shape[0]
    if num <= 1:
        return basis.sum() * 0.0
    squares = pairwise_products(basis).pow(2).sum((-2, -1))
    off_diagonal = ~torch.eye(num, dtype=torch.bool, device=basis.device)
    return squares[off_diagonal].sum() / num ** 2


def commutator_penalty(basis: torch.Tensor, form: str = 'bracket') -> torch.Tensor:
    """(1/L²) Σ_{a≠b} ‖C_ab‖_F² with C_ab = A_a A_b − A_b A_a (``'bracket'``, the paper's decomposition
    constraint) or C_ab = A_b A_a − (A_b A_a)ᵀ (``'parity'``: what the released code computes)."""
    if form not in COMMUTATORS:
        raise ValueError(f"commutator must be one of {COMMUTATORS}, got {form!r}")
    num = basis.shape[0]
    if num <= 1:
        return basis.sum() * 0.0
    products = pairwise_products(basis)                     # [a, b] = A_b A_a
    if form == 'bracket':
        difference = products.transpose(0, 1) - products    # A_a A_b − A_b A_a
    else:
        difference = products - products.transpose(-2, -1)
    squares = difference.pow(2).sum((-2, -1))
    off_diagonal = ~torch.eye(num, dtype=torch.bool, device=basis.device)
    return squares[off_diagonal].sum() / num ** 2
