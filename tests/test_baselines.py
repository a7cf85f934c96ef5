"""The baseline losses on tiny batches against values worked out by hand."""
import math

import pytest
import torch

from framework.testing import Constant
from framework.methods.ae import Autoencoder
from framework.methods.vae import VAE, gaussian_kl
from framework.methods.wae import WAE, mmd_imq


def builder(module):
    return lambda **shapes: module


def test_gaussian_kl_by_hand():
    mean = torch.tensor([[0.5, -1.0]])
    log_var = torch.tensor([[0.0, math.log(2.0)]])
    # ½[(0.25 + 1 - 0 - 1) + (1 + 2 - ln 2 - 1)]
    expected = 0.5 * (0.25 + 2.0 - math.log(2.0))
    assert gaussian_kl(mean, log_var).item() == pytest.approx(expected, abs=1e-6)
    assert gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4)).abs().max() == 0


def test_vae_loss_on_a_fixed_posterior():
    # encoder returns mean (0.5, -1) and log-variance (0, ln 2); in eval mode z = mean
    encoder = Constant([0.5, -1.0, 0.0, math.log(2.0)])
    decoder = Constant([0.2, 0.4, 0.6])
    vae = VAE(builder(encoder), builder(decoder), observation_shape=[3], latent_dim=2, reg_wt=4.0)
    vae.eval()
    x = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    out = vae.training_step({'x': x})
    rec = ((0.04 + 0.16 + 0.36) + (0.64 + 0.36 + 0.16)) / 2        # squared errors summed, batch-averaged
    kl = 0.5 * (0.25 + 2.0 - math.log(2.0))
    assert out['rec_loss'].item() == pytest.approx(rec, abs=1e-6)
    assert out['kl'].item() == pytest.approx(kl, abs=1e-6)
    assert out['loss'].item() == pytest.approx(rec + 4.0 * kl, abs=1e-5)
    assert torch.equal(vae.represent(x), torch.tensor([[0.5, -1.0], [0.5, -1.0]]))


def test_ae_bce_on_images_by_hand():
    decoder = Constant(torch.full((1, 1, 2), 0.25))
    ae = Autoencoder(builder(Constant([0.0])), builder(decoder), observation_shape=[1, 1, 2], latent_dim=1)
    x = torch.tensor([[[[1.0, 0.0]]]])
    expected = -math.log(0.25) - math.log(0.75)        # BCE summed over the two pixels
    assert ae.training_step({'x': x})['loss'].item() == pytest.approx(expected, abs=1e-6)


def test_mmd_of_two_known_samples():
    prior = torch.tensor([[0.0], [1.0]])
    codes = torch.tensor([[0.0], [2.0]])
    # k(a, b) = 1 / (1 + (a-b)²): k_pp(0,1) = 0.5; k_qq(0,2) = 0.2; k_pq = (1 + 0.2 + 0.5 + 0.5) / 4
    expected = 0.5 + 0.2 - 2 * 0.55
    assert mmd_imq(prior, codes, scale=1.0).item() == pytest.approx(expected, abs=1e-6)
    # one sample against itself: the U-statistic is 2/n (mean off-diagonal kernel - 1), slightly below 0
    same = torch.tensor([[0.0], [1.0], [3.0]])
    off = (0.5 + 0.1 + 0.2) / 3                             # k(0,1), k(0,3), k(1,3) with C = 1
    assert mmd_imq(same, same, scale=1.0).item() == pytest.approx(2 / 3 * (off - 1), abs=1e-6)


def test_wae_adds_the_batch_scaled_mmd():
    torch.manual_seed(0)
    wae = WAE(builder(Constant([0.0, 0.0])), builder(Constant([0.5])), observation_shape=[1], latent_dim=2,
              reg_wt=10.0)
    out = wae.training_step({'x': torch.tensor([[0.5], [0.5], [0.5], [0.5]])})
    assert out['rec_loss'].item() == pytest.approx(0.0)
    assert out['loss'].item() == pytest.approx(10.0 * out['mmd'].item(), rel=1e-6)
    torch.manual_seed(0)
    prior = torch.randn(4, 2)
    assert out['mmd'].item() == pytest.approx(mmd_imq(prior, torch.zeros(4, 2), 2.0).item() / 4, rel=1e-5)


@pytest.mark.parametrize('name', ['dlib', 'conv12', 'mlp'])
def test_the_reconstruction_term_from_logits_equals_the_written_out_cross_entropy(name):
    """Decoders that end in a sigmoid give their logits; the fused loss equals BCE of the sigmoid output."""
    import framework
    from framework.methods.base import binary_cross_entropy
    torch.manual_seed(0)
    encoder = Constant([0.0])
    vae = VAE(builder(encoder), lambda **shapes: framework.create('decoder', name, **shapes),
              observation_shape=[1, 64, 64], latent_dim=3)
    z, x = torch.randn(4, 3), torch.rand(4, 1, 64, 64)
    assert vae.decoder.outputs_probabilities
    expected = binary_cross_entropy(vae.decoder(z), x).flatten(1).sum(1).mean()
    assert vae.reconstruction_term(z, x).item() == pytest.approx(expected.item(), rel=1e-5)
    vectors = VAE(builder(encoder), lambda **shapes: framework.create('decoder', 'mlp', **shapes),
                  observation_shape=[5], latent_dim=3)
    assert not vectors.decoder.outputs_probabilities           # vectors: squared error of the output itself
    z, x = torch.randn(4, 3), torch.randn(4, 5)
    assert vectors.reconstruction_term(z, x).item() == pytest.approx(
        ((vectors.decoder(z) - x) ** 2).sum(1).mean().item(), rel=1e-6)
