"""torch.func Jacobian products against torch.autograd.functional.jacobian on small decoders (gdrae.md §2.1)."""
import math

import torch

from plugins.gdrae.jacobian import full_jacobian, orthogonality_scores, spectral_norm_sq
from plugins.gdrae.tests.test_flows import tiny_image_flow, tiny_vector_flow


def autograd_jacobians(flow, u, create_graph=False):
    """Per-sample Jacobian of the full output (sigmoid applied for images), by plain autograd: (B, N, d)."""
    def one(p):
        out = flow(p[None], full=True)
        if flow.output_slope(out) is not None:
            out = torch.sigmoid(out)
        return out.flatten()
    return torch.stack([torch.autograd.functional.jacobian(one, p, create_graph=create_graph) for p in u])


def test_full_jacobian_matches_autograd():
    torch.manual_seed(0)
    for flow, d, n in ((tiny_vector_flow(), 2, 3), (tiny_image_flow(), 3, 1)):
        u = torch.randn(n, d)
        assert torch.allclose(full_jacobian(flow, u), autograd_jacobians(flow, u), atol=1e-5)


def test_power_iteration_converges_to_the_largest_singular_value_squared():
    torch.manual_seed(0)
    for flow, d, n in ((tiny_vector_flow(), 2, 3), (tiny_image_flow(), 3, 1)):
        u = torch.randn(n, d)
        multiplier = torch.exp(0.4 * torch.randn(n, d))
        exact = torch.linalg.svdvals(autograd_jacobians(flow, u) * multiplier[:, None, :])[:, 0] ** 2
        estimate = spectral_norm_sq(flow, u, multiplier, power=30)
        assert torch.allclose(estimate, exact, rtol=1e-3)


def test_gradient_of_the_estimate_is_half_the_gradient_of_sigma_max_squared():
    """Only the last J v̂ is differentiated, so at convergence d sn = σ û^T dJ v̂ = ½ d(σ²) (spec §2.1)."""
    torch.manual_seed(0)
    flow = tiny_vector_flow()
    u = torch.randn(2, 2)
    log_m = (0.3 * torch.randn(2, 2)).requires_grad_()
    params = list(flow.parameters())
    sn = spectral_norm_sq(flow, u, log_m.exp(), power=100).sum()
    grads = torch.autograd.grad(sn, params + [log_m], allow_unused=True)
    jac = autograd_jacobians(flow, u, create_graph=True) * log_m.exp()[:, None, :]
    sigma_sq = (torch.linalg.svdvals(jac)[:, 0] ** 2).sum()
    expected = torch.autograd.grad(sigma_sq, params + [log_m], allow_unused=True)
    assert expected[-1] is not None and grads[-1] is not None
    for got, want in zip(grads, expected):
        if got is None or want is None:                 # the output bias b2 does not enter the Jacobian
            assert (got is None or not got.any()) and (want is None or not want.any())
            continue
        assert torch.allclose(got, 0.5 * want, atol=1e-2 * want.abs().max())


def test_orthogonality_scores_on_hand_built_jacobians():
    orthogonal = torch.tensor([[[3.0, 0.0], [0.0, 2.0], [0.0, 0.0]]])
    scores = orthogonality_scores(orthogonal, torch.log(torch.tensor([[3.0, 2.0]])))
    assert scores['jacob_ortho'] == 0.0
    assert abs(scores['sv_match_err']) < 1e-6
    assert abs(scores['jacob_sv'][0] - 3.0) < 1e-5 and abs(scores['jacob_sv'][1] - 2.0) < 1e-5
    sheared = torch.tensor([[[1.0, 1.0], [0.0, 1.0]]])     # J^T J = [[1, 1], [1, 2]]
    scores = orthogonality_scores(sheared, torch.zeros(1, 2))
    assert math.isclose(scores['jacob_ortho'], 1.0 / 1.5, rel_tol=1e-6)
    assert math.isclose(scores['sv_match_err'], (0 + (math.sqrt(2) - 1)) / 2, rel_tol=1e-5)
