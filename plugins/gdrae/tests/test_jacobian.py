"""torch.func Jacobian products against torch.autograd.functional.jacobian on small decoders."""
import math

import torch

import pytest
from torch.func import jvp

from plugins.gdrae.jacobian import full_jacobian, orthogonality_scores, spectral_norm_sq
from plugins.gdrae.piecewise import linear_map, recording_masks
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


def test_frozen_mask_flow_is_the_jacobian_vector_product():
    torch.manual_seed(0)
    for flow, d, n_relus in ((tiny_vector_flow(), 2, 3), (tiny_image_flow(), 3, 2)):     # one ReLU per coupling
        u, v = torch.randn(4, d), torch.randn(4, d)
        with torch.no_grad(), recording_masks() as masks:
            flow(u, full=True)
        assert len(masks) == n_relus and all(0 < float(m.mean()) < 1 for m in masks)
        expected = jvp(lambda p: flow(p, full=True), (u,), (v,))[1]
        assert torch.allclose(linear_map(flow, masks)(v), expected, atol=1e-5)
        assert torch.allclose(flow(u, full=True), flow(u, full=True))     # recording left the flow unchanged


def literal_power_iteration(flow, u, multiplier, power, noise):
    """The reference's rounds written out with explicit autograd Jacobians: v_k = J_e^T û_{k-1}, u_k = J_e v̂_k, only
    the last J_e v̂ with a graph, sn = <u_K, u_{K-1}>. The output slope is detached, as there."""
    def one(p):
        return flow(p[None], full=True).flatten()
    jac = torch.stack([torch.autograd.functional.jacobian(one, p, create_graph=True) for p in u])    # (B, N, d)
    with torch.no_grad():
        slope = flow.output_slope(flow(u, full=True))
    if slope is not None:
        jac = jac * slope.flatten(1)[:, :, None]
    j_e = jac * multiplier[:, None, :]
    normalise = lambda t: t / (t.norm(dim=1, keepdim=True) + 1e-8)                    # noqa: E731
    u_prev, u_k = None, noise.flatten(1)
    for k in range(power):
        direction = normalise(torch.einsum('bnd,bn->bd', j_e.detach(), normalise(u_k)))
        u_prev = u_k
        graph = j_e if k == power - 1 else j_e.detach()
        u_k = torch.einsum('bnd,bd->bn', graph, direction)
    return (u_k * u_prev.detach()).sum(1)


@pytest.mark.parametrize('rounds', ['explicit', 'masks', 'push'])
def test_every_way_of_running_the_rounds_matches_the_literal_power_iteration(rounds):
    """Values and gradients at 3 rounds (far from converged), for the vector and the image flow."""
    for flow, d in ((tiny_vector_flow(), 2), (tiny_image_flow(), 3)):
        u = torch.randn(3, d, generator=torch.Generator().manual_seed(1))
        log_m = (0.4 * torch.randn(3, d, generator=torch.Generator().manual_seed(2))).requires_grad_()
        with torch.no_grad():
            shape = flow(u, full=True).shape
        noise = torch.randn(shape, generator=torch.Generator().manual_seed(3))
        params = list(flow.parameters()) + [log_m]
        got = spectral_norm_sq(flow, u, log_m.exp(), power=3, rounds=rounds,
                               generator=torch.Generator().manual_seed(3))
        want = literal_power_iteration(flow, u, log_m.exp(), 3, noise)
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-6)
        got_grads = torch.autograd.grad(got.log().sum(), params, allow_unused=True)
        want_grads = torch.autograd.grad(want.log().sum(), params, allow_unused=True)
        for g, w in zip(got_grads, want_grads):
            g = torch.zeros_like(w) if g is None and w is not None else g
            w = torch.zeros_like(g) if w is None and g is not None else w
            if g is not None:
                assert torch.allclose(g, w, rtol=1e-3, atol=1e-5 * max(1.0, float(w.abs().max())))


def test_power_iteration_converges_to_the_largest_singular_value_squared():
    torch.manual_seed(0)
    for flow, d, n in ((tiny_vector_flow(), 2, 3), (tiny_image_flow(), 3, 1)):
        u = torch.randn(n, d)
        multiplier = torch.exp(0.4 * torch.randn(n, d))
        exact = torch.linalg.svdvals(autograd_jacobians(flow, u) * multiplier[:, None, :])[:, 0] ** 2
        estimate = spectral_norm_sq(flow, u, multiplier, power=30)
        assert torch.allclose(estimate, exact, rtol=1e-3)


def test_gradient_of_the_estimate_is_half_the_gradient_of_sigma_max_squared():
    """Only the last J v̂ is differentiated, so at convergence d sn = σ û^T dJ v̂ = ½ d(σ²)."""
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
    assert scores['jacob_ortho'] == 0.0 and scores['jacob_ortho_pooled'] == 0.0
    assert abs(scores['sv_match_err_ratio']) < 1e-6 and abs(scores['sv_match_err_nmae']) < 1e-6
    assert abs(scores['jacob_sv'][0] - 3.0) < 1e-5 and abs(scores['jacob_sv'][1] - 2.0) < 1e-5
    sheared = torch.tensor([[[1.0, 1.0], [0.0, 1.0]]])     # J^T J = [[1, 1], [1, 2]]
    scores = orthogonality_scores(sheared, torch.zeros(1, 2))
    assert math.isclose(scores['jacob_ortho'], 1.0 / (1.5 + 1e-8), rel_tol=1e-6)
    # column norms 1 and sqrt(2) against predicted 1 and 1
    assert math.isclose(scores['sv_match_err_ratio'], (0 + (math.sqrt(2) - 1)) / 2, rel_tol=1e-5)
    assert math.isclose(scores['sv_match_err_nmae'], ((math.sqrt(2) - 1) / 2) / ((1 + math.sqrt(2)) / 2), rel_tol=1e-5)


def test_orthogonality_is_averaged_per_sample_as_the_reference_does():
    """Two samples with different scales: the per-sample mean of ratios differs from the pooled ratio of means."""
    sheared = torch.tensor([[1.0, 1.0], [0.0, 1.0]])        # J^T J = [[1, 1], [1, 2]]: ratio 1 / 1.5
    scaled = 10 * torch.eye(2)                                # J^T J = 100 I: ratio 0
    scores = orthogonality_scores(torch.stack([sheared, scaled]))
    assert math.isclose(scores['jacob_ortho'], (1 / 1.5 + 0) / 2, rel_tol=1e-6)
    assert math.isclose(scores['jacob_ortho_pooled'], ((1 + 1 + 0 + 0) / 4) / ((1 + 2 + 100 + 100) / 4), rel_tol=1e-6)


def test_replaying_the_wrong_number_of_masks_is_an_error():
    flow = tiny_vector_flow()
    u = torch.randn(2, 2)
    with torch.no_grad(), recording_masks() as masks:
        flow(u, full=True)
    with pytest.raises(RuntimeError, match='more ReLU masks'):
        linear_map(flow, masks[:-1])(u)
    with pytest.raises(RuntimeError, match='fewer ReLU masks'):
        linear_map(flow, masks + masks[:1])(u)
