"""Progress bars inside the long metrics: shown only with ``progress=True``, and never changing a value.

Also pins the β-VAE and FactorVAE chunked sampling to the draws of the one-point-at-a-time reference loop
where the two coincide: a chunk of one point draws exactly what the reference draws for that point.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from framework.metrics import evaluate_beta_vae, evaluate_dci, evaluate_factor_vae
from framework.metrics.beta_vae import sample_features
from framework.metrics.factor_vae import sample_votes
from framework.metrics.reference import naive_beta_vae_features, naive_factor_vae_votes

from test_metrics_protocol import Decoder, OneHotGrid


@pytest.mark.parametrize('evaluate,params,label', [
    (evaluate_beta_vae, {'batch_size': 8, 'num_train': 40, 'num_eval': 20}, 'β-VAE training points'),
    (evaluate_factor_vae, {'batch_size': 8, 'num_train': 40, 'num_eval': 20, 'num_variance_estimate': 200},
     'FactorVAE training votes'),
    (evaluate_dci, {'num_train': 200, 'num_test': 100}, 'DCI boosting'),
])
def test_progress_bars_only_when_asked_and_values_unchanged(capsys, evaluate, params, label):
    dataset, represent = OneHotGrid(), Decoder('perfect').represent
    quiet = evaluate(dataset, represent, torch.Generator().manual_seed(0), progress=False, **params)
    assert label not in capsys.readouterr().err
    shown = evaluate(dataset, represent, torch.Generator().manual_seed(0), progress=True, **params)
    assert label in capsys.readouterr().err
    assert shown == quiet


def test_chunked_intervention_sampling_equals_the_reference_loop_point_by_point():
    """With 2 × batch ≥ 4096 observations per point, every chunk holds one point, drawn as the reference does."""
    dataset, represent = OneHotGrid(), Decoder('mixed').represent
    batch = 2048
    features, labels = sample_features(dataset, represent, 3, batch, torch.Generator().manual_seed(1))
    reference, reference_labels = naive_beta_vae_features(dataset, represent, 3, batch, torch.Generator().manual_seed(1))
    np.testing.assert_array_equal(labels, reference_labels)
    np.testing.assert_allclose(features, reference, rtol=0, atol=1e-12)
    variances, held = sample_votes(dataset, represent, 2, 4096, torch.Generator().manual_seed(2))
    reference, reference_held = naive_factor_vae_votes(dataset, represent, 2, 4096, torch.Generator().manual_seed(2))
    np.testing.assert_array_equal(held, reference_held)
    np.testing.assert_allclose(variances, reference, rtol=0, atol=1e-12)
