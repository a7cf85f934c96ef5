"""The code table of a metric suite: each factor combination rendered and encoded at most once, the same values as
without it, and today's behaviour where codes are not a function of the combination."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from framework.data.base import GroundTruthDataset
from framework.methods.base import Method
from framework.metrics import run_suite
from framework.metrics.beta_vae import sample_features
from framework.metrics.code_table import CodeTable, expected_unique, table_refusal
from framework.metrics.common import SharedEncodings, encode_factors, sample_codes
from framework.metrics.estimate import estimate_suite
from framework.metrics.factor_vae import sample_votes
from framework.metrics.reference import naive_beta_vae_features, naive_factor_vae_votes
from framework.metrics.suite import protocol_of
from conftest import SMALL_SUITE
from test_metrics_protocol import ContinuousFactors      # the same grid with continuous factors

SIZES = (1, 3, 4, 5)        # 60 combinations, a constant first factor as dSprites' colour

class CountingGrid(GroundTruthDataset):
    """Every combination of ``sizes`` (one-hot blocks as its observation); ``renders`` counts each one's renders."""
    name = 'counting-grid'

    def __init__(self, sizes=SIZES):
        self.factor_names = tuple(f'f{i}' for i in range(len(sizes)))
        self.factor_sizes = tuple(sizes)
        self.renders = np.zeros(math.prod(sizes), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.renders)

    def batch(self, indices):
        indices = torch.as_tensor(indices, dtype=torch.long)
        np.add.at(self.renders, indices.numpy(), 1)
        factors = self.indices_to_factors(indices)
        x = torch.cat([F.one_hot(factors[:, i], size).float() for i, size in enumerate(self.factor_sizes)], 1)
        return {'x': x, 'y': factors}


class Reader(Method):
    """Reads the factor classes back and mixes them into 4 float32 codes; ``encodes`` counts each combination's
    encodings. ``noise`` adds a fresh sample each call (a stochastic representation)."""

    def __init__(self, sizes=SIZES, noise: bool = False):
        super().__init__()
        self.sizes, self.noise = sizes, noise
        self.deterministic_represent = not noise
        self.mixing = torch.tensor([[1.0, 0.1, 0.0, 0.0], [0.0, 1.3, -0.2, 0.0], [0.1, 0.0, 0.7, 0.0]])
        self.encodes = np.zeros(math.prod(sizes), dtype=np.int64)
        self.eval()

    def represent(self, x):
        factors = torch.stack([block.argmax(1) for block in x.split(self.sizes, dim=1)], 1)
        np.add.at(self.encodes, CountingGrid(self.sizes).factors_to_indices(factors).numpy(), 1)
        codes = factors[:, 1:].float() @ self.mixing + 0.01 * torch.sin(7 * factors.float().sum(1, keepdim=True))
        return codes + 0.1 * torch.randn(codes.shape) if self.noise else codes


def values(results):
    return {name: result['values'] for name, result in results.items()}


def test_each_combination_is_rendered_and_encoded_at_most_once_across_a_suite():
    dataset, reader = CountingGrid(), Reader()
    run_suite(SMALL_SUITE, dataset, reader, seed=0)
    # the suite draws about 13,000 combinations of 60: every one is asked for, and each rendered and encoded once
    assert dataset.renders.max() == 1 and reader.encodes.max() == 1
    assert dataset.renders.sum() == reader.encodes.sum() == 60


def test_suite_values_are_the_same_with_and_without_the_table():
    dataset = CountingGrid()
    without = run_suite(SMALL_SUITE, dataset, SharedEncodings(Reader().represent, code_table=False), seed=0)
    assert dataset.renders.sum() > 10_000                # every draw rendered: the table was off
    with_table = run_suite(SMALL_SUITE, dataset, Reader(), seed=0)
    for name, scores in values(without).items():
        assert values(with_table)[name] == pytest.approx(scores, abs=1e-6), name


def test_intervention_draws_through_the_table_match_the_reference_loops():
    """With 2 × batch ≥ 4096 observations per point, the chunked draws are the reference loops' own draws."""
    dataset = CountingGrid()
    shared = SharedEncodings(Reader().represent)
    features, labels = sample_features(dataset, shared, 3, 2048, torch.Generator().manual_seed(1))
    naive_features, naive_labels = naive_beta_vae_features(dataset, Reader().represent, 3, 2048,
                                                           torch.Generator().manual_seed(1))
    np.testing.assert_array_equal(labels, naive_labels)
    np.testing.assert_allclose(features, naive_features, rtol=0, atol=1e-12)
    variances, fixed = sample_votes(dataset, shared, 2, 4096, torch.Generator().manual_seed(2))
    naive_variances, naive_fixed = naive_factor_vae_votes(dataset, Reader().represent, 2, 4096,
                                                          torch.Generator().manual_seed(2))
    np.testing.assert_array_equal(fixed, naive_fixed)
    np.testing.assert_allclose(variances, naive_variances, rtol=0, atol=1e-12)
    assert shared.observations_encoded == 60             # of 2 x 3 x 2048 + 2 x 4096 drawn


def test_a_stochastic_or_undeclared_representation_encodes_every_draw():
    dataset = CountingGrid()
    noisy = Reader(noise=True)
    run_suite({'mig': {'num_train': 300}, 'irs': {'num_train': 200}}, dataset, noisy, seed=0)
    assert noisy.encodes.sum() == 300 + 200              # no table: each metric's own draw, every row encoded
    undeclared = Reader()
    del undeclared.deterministic_represent               # back to the class's True: declared by Method
    assert table_refusal(dataset, undeclared.represent) is None
    plain = Reader()
    assert table_refusal(dataset, lambda x: plain.represent(x)) == 'the representation is not declared deterministic'
    assert table_refusal(dataset, plain.train().represent) == 'the representation is not declared deterministic'


def test_continuous_factors_and_random_observations_encode_every_draw():
    reader = Reader()
    shared = SharedEncodings(lambda x: torch.as_tensor(x[:, :4]))
    shared.function.deterministic_represent = True
    assert shared.table_for(ContinuousFactors()) is None
    sample_codes(ContinuousFactors(), shared, 400, torch.Generator().manual_seed(0))
    sample_codes(ContinuousFactors(), shared, 400, torch.Generator().manual_seed(1))
    assert shared.observations_encoded == 800
    random_instance = CountingGrid()
    random_instance.deterministic_images = False         # SmallNORB without its instance factor
    assert 'at random' in table_refusal(random_instance, reader.represent)
    shared = SharedEncodings(reader.represent)
    for seed in (0, 1):
        sample_codes(random_instance, shared, 400, torch.Generator().manual_seed(seed))
    assert random_instance.renders.sum() == reader.encodes.sum() == 800


def test_a_table_too_wide_for_its_cap_gives_the_codes_and_steps_aside():
    dataset, reader = CountingGrid(), Reader()
    table = CodeTable(dataset.factor_sizes, max_entries=100)         # 60 combinations x 4 codes > 100
    factors = dataset.sample_factors(300, torch.Generator().manual_seed(0))
    codes = table.codes(factors, lambda missing: encode_factors(dataset, reader.represent, missing))
    np.testing.assert_array_equal(codes, encode_factors(dataset, Reader().represent, factors))
    assert table.refusal and table.table is None


def test_the_estimate_counts_the_distinct_combinations_it_expects():
    assert expected_unique(4, 4) == pytest.approx(4 * (1 - math.exp(-1)))            # 2.528
    assert expected_unique(100, 60) == pytest.approx(48.6674, abs=1e-4)                # 60 (1 − e^(−5/3))
    assert expected_unique(1, 10 ** 9) == pytest.approx(1.0)
    assert expected_unique(0, 60) == 0.0

    class Plane(GroundTruthDataset):                     # a 1000 x 1000 grid: codes are the classes themselves
        name, factor_names, factor_sizes = 'plane', ('a', 'b'), (1000, 1000)

        def images_for(self, factors):
            return factors.float()

    def classes(x):
        return x
    classes.deterministic_represent = True
    suite = {'mig': {'num_train': 10000}, 'beta-vae': {'batch_size': 64, 'num_train': 10000, 'num_eval': 5000},
             'factor-vae': {'batch_size': 64, 'num_train': 10000, 'num_eval': 5000, 'num_variance_estimate': 10000}}
    protocols = {name: protocol_of(name, params)[1] for name, params in suite.items()}
    estimate = estimate_suite(protocols, Plane(), classes, seconds_per_observation=1e-3)
    drawn = 10000 + 2 * 64 * 15000 + 64 * 15000                                        # 2,890,000
    assert estimate.draws == drawn
    assert estimate.observations == round(1_000_000 * (1 - math.exp(-2.89)))          # 944,424
    assert estimate.seconds == pytest.approx(estimate.observations * 1e-3 + estimate.fit_seconds)
    assert '(2.9 M factor combinations drawn, 944,424 distinct ones rendered and encoded at 1 ms each' in \
        estimate.describe()
    undeclared = estimate_suite(protocols, Plane(), lambda x: x, seconds_per_observation=1e-3)
    assert undeclared.observations == drawn
