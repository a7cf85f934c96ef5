"""Protocol forms and suites on a tiny ground-truth dataset built here: observations are one-hot codes of a small
factor grid, so a representation that decodes them is perfect, and one that ignores them is noise."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from framework import registry
from framework.data.base import InMemoryDataset
from framework.errors import ConfigError
from framework.metrics import (evaluate_beta_vae, evaluate_dci, evaluate_factor_vae, evaluate_irs, evaluate_mig,
                               evaluate_modularity_explicitness, evaluate_sap, run_suite)
from framework.metrics.common import SharedEncodings, sample_codes
from conftest import SMALL_SUITE

SIZES = (1, 3, 4, 5)        # a constant first factor, as dSprites' colour


class OneHotGrid(InMemoryDataset):
    """Every combination of ``sizes`` once, in row-major order; the observation is the factors' one-hot codes."""
    name = 'onehot-grid'

    def __init__(self, sizes=SIZES):
        grid = torch.cartesian_prod(*[torch.arange(size) for size in sizes]).reshape(-1, len(sizes))
        observations = torch.cat([F.one_hot(grid[:, i], size).float() for i, size in enumerate(sizes)], dim=1)
        super().__init__(observations, grid)
        self.factor_names = tuple(f'f{i}' for i in range(len(sizes)))
        self.factor_sizes = tuple(sizes)


class ContinuousFactors(OneHotGrid):
    name = 'continuous-toy'

    def __init__(self):
        super().__init__()
        self.factor_sizes = (None,) * len(SIZES)

    def sample_factors(self, n, generator=None):
        return torch.rand(n, len(SIZES), generator=generator)

    def images_for(self, factors):
        return torch.cat([factors, torch.zeros(factors.shape[0], sum(SIZES) - len(SIZES))], dim=1)


class NoFactors(OneHotGrid):
    name = 'faces'
    has_factors = False
    factor_names = ()
    factor_sizes = None


class Decoder(nn.Module):
    """Reads the factor classes back from the one-hot blocks: perfect, permuted/rescaled, mixed or noise codes."""

    def __init__(self, kind: str, sizes=SIZES):
        super().__init__()
        self.kind, self.sizes = kind, sizes
        self.scale = nn.Parameter(torch.tensor([2.0, -0.5, 3.0, 1.0, 1.0]), requires_grad=False)
        self.calls = 0

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        factors = torch.stack([block.argmax(1) for block in x.split(self.sizes, dim=1)], dim=1).float()[:, 1:]
        nuisance = torch.zeros(x.shape[0], 2)
        if self.kind == 'noise':
            return torch.rand(x.shape[0], 5, generator=torch.Generator().manual_seed(self.calls))
        if self.kind == 'mixed':
            factors = torch.stack([factors[:, 0] + factors[:, 1], factors[:, 0] - factors[:, 1], factors[:, 2]], 1)
        codes = torch.cat([factors, nuisance], dim=1)
        if self.kind == 'permuted':
            codes = codes[:, [3, 2, 0, 4, 1]] * self.scale + 1.0
        return codes


@pytest.fixture(scope='module')
def suite_scores():
    dataset = OneHotGrid()
    return {kind: run_suite(SMALL_SUITE, dataset, Decoder(kind).represent, seed=0) for kind in ('perfect', 'noise')}


def test_every_metric_is_registered_with_its_protocol_form():
    assert set(SMALL_SUITE) <= set(registry.names('metric'))          # plugins may add their own
    assert registry.get('metric', 'mig').obj is evaluate_mig


def test_suite_scores_of_a_perfect_representation(suite_scores):
    values = {name: result['values'] for name, result in suite_scores['perfect'].items()}
    assert values['mig']['mig'] > 0.95
    assert values['dci']['disentanglement'] > 0.99 and values['dci']['completeness'] > 0.99
    assert values['dci']['informativeness_test'] == pytest.approx(1.0)
    assert 0.2 < values['sap']['sap'] < 0.9                      # one linear SVM on one code: lower than 1
    assert values['modularity-explicitness']['modularity'] == pytest.approx(3 / 5, abs=0.01)  # 2 empty codes score 0
    assert values['modularity-explicitness']['explicitness_test'] > 0.98
    assert values['irs']['irs'] == pytest.approx(1.0) and values['irs']['num_active_dims'] == 3
    assert values['beta-vae']['eval_accuracy'] > 0.95
    assert values['factor-vae']['eval_accuracy'] == pytest.approx(1.0)
    assert values['factor-vae']['num_active_dims'] == 3
    for name, result in suite_scores['perfect'].items():
        assert result['seed'] == 0 and result['seconds'] >= 0 and result['params'] == {
            **result['params'], **SMALL_SUITE[name]}


def test_suite_scores_of_noise(suite_scores):
    values = {name: result['values'] for name, result in suite_scores['noise'].items()}
    assert values['mig']['mig'] < 0.05
    assert values['dci']['disentanglement'] < 0.15 and values['dci']['completeness'] < 0.15
    assert values['sap']['sap'] < 0.05
    assert values['modularity-explicitness']['explicitness_test'] == pytest.approx(0.5, abs=0.06)
    assert values['irs']['irs'] < 0.1
    assert values['beta-vae']['eval_accuracy'] < 0.6              # chance is 1/3 (three varying factors)
    assert values['factor-vae']['eval_accuracy'] < 0.6


def test_protocol_forms_on_permuted_and_mixed_codes():
    dataset = OneHotGrid()
    permuted, mixed, perfect = Decoder('permuted').represent, Decoder('mixed').represent, Decoder('perfect').represent

    def run(evaluate, represent, **params):
        return evaluate(dataset, represent, torch.Generator().manual_seed(0), **params)

    assert run(evaluate_mig, permuted, num_train=1000)['mig'] == pytest.approx(
        run(evaluate_mig, perfect, num_train=1000)['mig'], abs=1e-9)
    assert run(evaluate_mig, mixed, num_train=1000)['mig'] < 0.6
    assert run(evaluate_irs, permuted, num_train=1000)['irs'] == pytest.approx(1.0)
    assert run(evaluate_beta_vae, permuted, batch_size=16, num_train=200, num_eval=100)['eval_accuracy'] > 0.95
    assert run(evaluate_factor_vae, permuted, batch_size=16, num_train=200, num_eval=100,
               num_variance_estimate=1000)['eval_accuracy'] == pytest.approx(1.0)
    dci_permuted = run(evaluate_dci, permuted, num_train=500, num_test=250, n_jobs=1)
    assert dci_permuted['disentanglement'] > 0.99
    assert run(evaluate_dci, mixed, num_train=500, num_test=250, n_jobs=1)['disentanglement'] < 0.8
    assert run(evaluate_sap, permuted, num_train=1000, num_test=500)['sap'] > 0.2
    assert run(evaluate_modularity_explicitness, permuted, num_train=1000, num_test=500)['explicitness_test'] > 0.98


def test_same_seed_same_values_and_shared_encodings():
    dataset = OneHotGrid()
    suite = {name: SMALL_SUITE[name] for name in ('mig', 'sap', 'modularity-explicitness', 'irs')}
    decoder = Decoder('permuted')
    first = run_suite(suite, dataset, decoder.represent, seed=3)
    calls = decoder.calls
    # 1000 training + 500 test points drawn once for all four metrics, encoded 256 at a time
    assert calls == 4 + 2
    second = run_suite(suite, dataset, Decoder('permuted').represent, seed=3)
    assert {k: v['values'] for k, v in first.items()} == {k: v['values'] for k, v in second.items()}
    other = run_suite({'mig': SMALL_SUITE['mig']}, dataset, Decoder('mixed').represent, seed=4)
    assert other['mig']['values'] != run_suite({'mig': SMALL_SUITE['mig']}, dataset, Decoder('mixed').represent,
                                               seed=5)['mig']['values']


def test_shared_draws_leave_the_generator_where_a_fresh_draw_would():
    dataset = OneHotGrid()
    shared = SharedEncodings(Decoder('perfect').represent)
    for _ in range(2):
        generator = torch.Generator().manual_seed(0)
        codes, factors = sample_codes(dataset, shared, 300, generator)
        assert codes.shape == (300, 5) and factors.shape == (300, 4)
        after = torch.randint(1000, (3,), generator=generator)
        assert after.tolist() == torch.randint(1000, (3,), generator=_advanced(dataset, 300)).tolist()


def _advanced(dataset, n):
    generator = torch.Generator().manual_seed(0)
    dataset.sample_factors(n, generator)
    return generator


def test_suite_skips_metrics_that_need_discrete_factors_with_a_reason():
    results = run_suite({'mig': {'num_train': 500}, 'sap': {'num_train': 500, 'num_test': 200},
                         'irs': {'num_train': 500}}, ContinuousFactors(), Decoder('perfect').represent)
    assert results['mig']['skipped'] and 'continuous' in results['mig']['reason']
    assert 'continuous_factors: true' in results['sap']['reason']
    assert 'values' in results['irs'] and 'skipped' not in results['irs']
    continuous_sap = run_suite({'sap': {'num_train': 500, 'num_test': 200, 'continuous_factors': True}},
                               ContinuousFactors(), Decoder('perfect').represent)
    assert 'values' in continuous_sap['sap']


def test_suite_skips_everything_on_a_dataset_without_factors():
    results = run_suite(SMALL_SUITE, NoFactors(), Decoder('perfect').represent)
    assert set(results) == set(SMALL_SUITE)
    for result in results.values():
        assert result['skipped'] and 'no ground-truth factors' in result['reason']


def test_suite_errors_name_the_fix():
    with pytest.raises(registry.UnknownComponentError, match='mig'):
        run_suite({'migg': {}}, OneHotGrid(), Decoder('perfect').represent)
    with pytest.raises(ConfigError, match='num_train'):
        run_suite({'mig': {'num_points': 10}}, OneHotGrid(), Decoder('perfect').represent)
