"""The time estimate's arithmetic: which encodings a suite shares, and how the parts add up."""
from __future__ import annotations

import pytest
import torch

from framework.config import load_yaml
from framework.data.base import InMemoryDataset
from framework.metrics.estimate import FIT_SECONDS, estimate_suite, format_duration
from framework.metrics.suite import protocol_of
from framework.testing import REPO


class Grid(InMemoryDataset):
    """Factors with 4 and 5 classes (9 classes, 4 + 5 trees a stage); observations are the factor values."""

    def __init__(self):
        factors = torch.cartesian_prod(torch.arange(4), torch.arange(5))
        super().__init__(factors.float(), factors)
        self.name, self.factor_names, self.factor_sizes = 'grid', ('a', 'b'), (4, 5)


def identity(x):
    return x                                            # 2 code dimensions


def test_the_default_suite_counts_shared_draws_once():
    metrics = load_yaml(REPO / 'config' / 'eval' / 'default.yaml')['metrics']
    protocols = {name: protocol_of(name, params)[1] for name, params in metrics.items()}
    estimate = estimate_suite(protocols, Grid(), identity, seconds_per_observation=1e-3)
    # MIG, DCI, SAP, modularity, IRS and FactorVAE's variance estimate share the 10000-point draw, the four
    # with a test set share the 5000-point one; β-VAE encodes 2 x 64 x (10000 + 5000), FactorVAE 64 x 15000
    assert estimate.observations == 10000 + 5000 + 2 * 64 * 15000 + 64 * 15000
    fits = (FIT_SECONDS['dci'] * 10000 * 2 * 9 + FIT_SECONDS['sap'] * 10000 * 2 * 9
            + FIT_SECONDS['modularity-explicitness'] * 10000 * 2 * 9 + FIT_SECONDS['beta-vae'] * 10000 * 2
            + FIT_SECONDS['mig'] * 10000 * 2 * 9 + FIT_SECONDS['irs'] * 10000 * 2 * 9)
    assert estimate.fit_seconds == pytest.approx(fits)
    assert estimate.seconds == pytest.approx(2_895_000 * 1e-3 + fits)
    assert estimate.not_estimated == []


def test_a_metric_without_a_cost_model_is_named():
    estimate = estimate_suite({'irs': {'num_train': 100}, 'some-plugin-metric': {}}, Grid(), identity,
                              seconds_per_observation=1e-3)
    assert estimate.observations == 100 and estimate.not_estimated == ['some-plugin-metric']
    assert estimate.describe().endswith('; not estimated: some-plugin-metric')


def test_durations_read_naturally():
    assert [format_duration(s) for s in (4, 89, 420, 3600 + 35 * 60)] == ['4 s', '89 s', '7 min', '1 h 35 min']
