"""The SAE paper's KL form, by hand, and the VAE that selects it."""
import math

import pytest
import torch

from framework.errors import ConfigError
from framework.methods.vae import VAE
from framework.testing import Constant
from plugins.sae.kl import sae_code_kl


def test_sae_code_kl_reads_the_scale_as_a_standard_deviation():
    mean, log_std = torch.tensor([[1.0]]), torch.tensor([[math.log(2.0)]])
    # ½(μ² + σ − log σ − 1) with σ = 2
    assert sae_code_kl(mean, log_std).item() == pytest.approx(0.5 * (1 + 2 - math.log(2.0) - 1))


def test_a_vae_with_the_sae_code_form_reads_the_scale_as_a_log_std():
    encoder = Constant([1.0, math.log(2.0)])         # mean 1, log σ = ln 2
    vae = VAE(lambda **shapes: encoder, lambda **shapes: Constant([0.5]), observation_shape=[1], latent_dim=1,
              kl_form='sae-code')
    vae.eval()
    out = vae.training_step({'x': torch.tensor([[0.5]])})
    assert out['kl'].item() == pytest.approx(0.5 * (1 + 2 - math.log(2.0) - 1))
    with pytest.raises(ConfigError, match="kl_form must be one of 'standard', 'sae-code'"):
        VAE(lambda **shapes: encoder, lambda **shapes: Constant([0.5]), observation_shape=[1], latent_dim=1,
            kl_form='sae')
