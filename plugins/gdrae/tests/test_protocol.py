"""Where GDRAE follows the reference's protocol: seeded fixed matrices, the shared-noise encoder, fresh data."""
import torch

from framework.config import compose, to_plain
from plugins.gdrae.flows import VectorFlowDecoder
from plugins.gdrae.method import GDRAE
from framework.config import Builder  # noqa: F401  (GDRAE takes builders; the tests pass plain callables)


def vector_flow(seed: int, orth_seed=None) -> VectorFlowDecoder:
    torch.manual_seed(seed)
    return VectorFlowDecoder(2, (2,), width=8, coupling_hidden=8, n_flows=2, orth_seed=orth_seed)


def test_fixed_orthogonal_maps_follow_the_run_seed():
    a, b, again = vector_flow(3), vector_flow(4), vector_flow(3)
    assert not torch.allclose(a.embed.weight, b.embed.weight)         # a seed sweep resamples them
    assert torch.equal(a.embed.weight, again.embed.weight) and torch.equal(a.final.weight, again.final.weight)
    explicit = vector_flow(3, orth_seed=3)                              # None means "the run's seed"
    for (name, x), (_, y) in zip(a.state_dict().items(), explicit.state_dict().items()):
        assert torch.equal(x, y), name                                  # and reading the seed drew nothing


def test_an_explicit_orth_seed_ignores_the_run_seed():
    assert torch.equal(vector_flow(3, orth_seed=11).final.weight, vector_flow(4, orth_seed=11).final.weight)


def tiny_gdrae(**overrides) -> GDRAE:
    from plugins.gdrae.flows import VectorFlowDecoder as Flow
    from framework.nn.mlp import MLPEncoder
    encoder = lambda in_shape, out_dim: MLPEncoder(in_shape, out_dim, hidden=(8,))  # noqa: E731
    decoder = lambda latent_dim, out_shape: Flow(latent_dim, out_shape, width=8, coupling_hidden=8, n_flows=1)  # noqa: E731
    return GDRAE(encoder, decoder, (2,), latent_dim=2, sv_hidden=8, jacob_batch=4, **overrides)


def test_shared_encoder_noise_is_one_draw_per_sample():
    mu = torch.zeros(5, 3)
    torch.manual_seed(0)
    shared = tiny_gdrae(encoder_noise='shared').encoder_noise_draw(mu)
    torch.manual_seed(0)
    independent = tiny_gdrae(encoder_noise='independent').encoder_noise_draw(mu)
    assert shared.shape == independent.shape == (5, 3)
    assert torch.equal(shared, shared[:, :1].expand(5, 3))              # every latent of a sample moves together
    assert not torch.equal(independent, independent[:, :1].expand(5, 3))


def test_an_unknown_noise_form_names_both():
    import pytest
    from framework.errors import ConfigError
    with pytest.raises(ConfigError, match="'independent'.*'shared'"):
        tiny_gdrae(encoder_noise='per-batch')


def test_the_fresh_sector_config_never_repeats_a_training_point_over_the_reference_schedule():
    cfg = to_plain(compose('hybrid', 'm/gdrae', 'd/sector2d-fresh'))
    assert cfg['dataset']['num_samples'] * (1 - cfg['split']['val']) >= cfg['steps'] * cfg['batch_size']
    assert cfg['dataset']['_type'] == 'dataset/sector2d'
