"""The flow decoders are injective: exact left inverses, full-rank Jacobians, fixed orthogonal maps."""
import torch

from plugins.gdrae.flows import ImageFlowDecoder, VectorFlowDecoder, fixed_orthogonal, num_parameters


def _perturb(module, std=0.3, seed=0):
    """Large random weights, so the couplings are far from the identity."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * std)
    return module


def tiny_vector_flow():
    return _perturb(VectorFlowDecoder(2, (2,), width=8, coupling_hidden=16, n_flows=3))


def tiny_image_flow(latent_dim=3):
    return _perturb(ImageFlowDecoder(latent_dim, (1, 8, 8), ncs=(8, 4), hidden_ncs=(16, 8)), std=0.2)


def test_fixed_orthogonal_maps_are_isometries_and_coisometries():
    g = torch.Generator().manual_seed(0)
    embed = fixed_orthogonal(7, 3, g)
    assert torch.allclose(embed.T @ embed, torch.eye(3), atol=1e-5)
    project = fixed_orthogonal(3, 7, g)
    assert torch.allclose(project @ project.T, torch.eye(3), atol=1e-5)
    square = fixed_orthogonal(5, 5, g)
    assert torch.allclose(square @ square.T, torch.eye(5), atol=1e-5)


def test_vector_flow_has_an_exact_left_inverse():
    torch.manual_seed(0)
    flow = tiny_vector_flow()
    u = torch.randn(32, 2) * 3
    with torch.no_grad():
        assert torch.allclose(flow.invert(flow(u, full=True)), u, atol=1e-4)


def test_image_flow_has_an_exact_left_inverse():
    torch.manual_seed(0)
    flow = tiny_image_flow()
    u = torch.randn(5, 3) * 2
    with torch.no_grad():
        full = flow(u, full=True)
        assert full.shape == (5, 4, 8, 8)
        assert torch.allclose(flow.invert(full), u, atol=1e-4)
        image = flow(u)
        assert image.shape == (5, 1, 8, 8) and image.min() >= 0 and image.max() <= 1


def test_decoder_jacobians_have_full_rank():
    for flow, d, seeds in ((tiny_vector_flow(), 2, 3), (tiny_image_flow(), 3, 1)):
        for seed in range(seeds):
            u = torch.randn(d, generator=torch.Generator().manual_seed(seed))
            jac = torch.autograd.functional.jacobian(lambda p: flow(p[None], full=True).flatten(), u)
            assert torch.linalg.matrix_rank(jac).item() == d
            assert torch.linalg.svdvals(jac).min() > 1e-3


def test_distinct_latents_decode_to_distinct_outputs():
    torch.manual_seed(0)
    flow = tiny_vector_flow()
    u = torch.randn(200, 2)
    with torch.no_grad():
        out = flow(u, full=True)
    dist_in, dist_out = torch.cdist(u, u), torch.cdist(out, out)
    off = ~torch.eye(200, dtype=torch.bool)
    assert (dist_out[off] > 0).all() and (dist_in[off] > 0).all()


def test_orthogonal_maps_are_fixed_buffers_and_counts_match_the_reference():
    flow = ImageFlowDecoder(10, (1, 64, 64))
    assert num_parameters(flow) == 737_776            # the reference image decoder's flow: 737,776 trainable parameters
    assert all('weight' in n for n, _ in flow.named_buffers())
    buffer_names = {n for n, _ in flow.named_buffers()}
    assert not buffer_names & {n for n, _ in flow.named_parameters()}
    vector = VectorFlowDecoder(2, (2,))
    # the reference Sector2D decoder: 4,204,034 decoder parameters, of which the SV predictor 2-1024-1024-1 has 1,053,697 and the
    # capacity 1 (both live in the method here)
    assert num_parameters(vector) == 4_204_034 - 1_053_697 - 1
