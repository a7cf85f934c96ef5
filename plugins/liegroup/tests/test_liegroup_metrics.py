"""The repository-parity metrics on representations whose scores follow by hand, and the parity suite."""
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from framework.config import load_yaml
from framework.data.base import InMemoryDataset
from framework.metrics.suite import protocol_of, run_suite
from plugins.liegroup.metrics import repo_factor_leakage, repo_mig

SUITES = Path(__file__).resolve().parent.parent / 'config' / 'eval'


def full_grid(*sizes):
    """Every factor combination once, row-major: independent factors, so cross information is exactly 0."""
    return np.array(list(itertools.product(*[range(s) for s in sizes])))


def test_mig_perfect_and_without_the_first_factor():
    factors = full_grid(2, 3, 4)
    assert repo_mig(factors.astype(float), factors)['mig'] == pytest.approx(1.0)
    # codes that ignore factor 0: the repository drops factor 0, so MIG stays 1; over all three factors the
    # gap for factor 0 is 0 - 0, so MIG = (0 + 1 + 1) / 3
    codes = factors[:, 1:].astype(float)
    assert repo_mig(codes, factors)['mig'] == pytest.approx(1.0)
    assert repo_mig(codes, factors, drop_first_factor=False)['mig'] == pytest.approx(2 / 3)
    # a constant factor (dSprites' colour) is removed before "the first factor" is chosen
    with_colour = np.concatenate([np.zeros((len(factors), 1), int), factors], axis=1)
    assert repo_mig(codes, with_colour)['mig'] == pytest.approx(1.0)


def test_mig_of_a_duplicated_code_is_zero_for_that_factor():
    factors = full_grid(2, 3, 4)
    codes = np.stack([factors[:, 1], factors[:, 1], factors[:, 2]], axis=1).astype(float)
    # factor 1: top two informations are both log 3 -> gap 0; factor 2: log 4 / log 4 = 1
    assert repo_mig(codes, factors)['mig'] == pytest.approx(0.5)


def test_factor_leakage_by_hand():
    factors = full_grid(2, 3, 4)                  # factor 0 dropped: columns are factors 1 (3) and 2 (4)
    perfect = factors.astype(float)               # S = [[log3, log4], [0, 0], [0, 0]], S^ = [[1, 1], 0, 0]
    out = repo_factor_leakage(perfect, factors)
    assert out['mean'] == pytest.approx(0.0) and out['norm_mean'] == pytest.approx(0.0)
    assert out['auc'] == pytest.approx((2 / 6) / 3) and out['nm_auc'] == pytest.approx(0.0)
    leaky = np.stack([factors[:, 1], factors[:, 1], factors[:, 2]], axis=1).astype(float)
    # S = [[log3, log4], [log3, 0], [0, 0]], S^ = [[1, 1], [1, 0], [0, 0]]
    out = repo_factor_leakage(leaky, factors)
    assert out['mean'] == pytest.approx(math.log(3) / 4)
    assert out['norm_mean'] == pytest.approx(1 / 4)
    assert out['auc'] == pytest.approx((3 / 6 + 1 / 4 + 0) / 3)
    assert out['nm_auc'] == pytest.approx((1 / 4 + 0) / 2)


class GridVectors(InMemoryDataset):
    """The factor classes themselves as observations: a perfect representation is the identity."""

    def __init__(self, *sizes):
        factors = torch.as_tensor(full_grid(*sizes))
        super().__init__(factors.float(), factors)
        self.name, self.factor_sizes = 'grid', tuple(sizes)
        self.factor_names = tuple(f'f{i}' for i in range(len(sizes)))


def test_parity_metrics_through_the_suite_runner():
    dataset = GridVectors(3, 4, 5)
    suite = {'liegroup-mig': {'num_train': 2000}, 'liegroup-factor-leakage': {'num_train': 2000},
             'factor-vae': {'batch_size': 16, 'num_train': 60, 'num_eval': 60, 'num_variance_estimate': 500,
                            'prune_threshold': 0.1}}
    results = run_suite(suite, dataset, lambda x: x, seed=0)
    assert results['liegroup-mig']['values']['mig'] > 0.95                     # sampled MI: close to 1
    assert results['liegroup-factor-leakage']['values']['norm_mean'] < 0.02
    assert results['factor-vae']['values']['eval_accuracy'] == 1.0
    # a dimension with std 0.065 * sqrt(2) < 0.1 is pruned under the repository's threshold (not under dlib's 0.05)
    scaled = run_suite({'factor-vae': suite['factor-vae']}, dataset, lambda x: x * torch.tensor([1.0, 1.0, 0.065]))
    assert scaled['factor-vae']['values']['num_active_dims'] == 2


@pytest.mark.parametrize('name', ['liegroup-repo', 'liegroup-repo-fast'])
def test_parity_suites_are_valid(name):
    data = load_yaml(SUITES / f'{name}.yaml')
    assert data['parity'] == name
    for metric, params in data['metrics'].items():
        protocol_of(metric, params)               # raises on an unknown metric or parameter


def test_full_parity_suite_has_the_repository_settings():
    metrics = load_yaml(SUITES / 'liegroup-repo.yaml')['metrics']   # the repository's settings (plugins/liegroup/README.md)
    assert metrics['factor-vae'] == {'batch_size': 64, 'num_train': 10000, 'num_eval': 5000,
                                     'num_variance_estimate': 10000, 'prune_threshold': 0.1}
    assert metrics['beta-vae'] == {'batch_size': 5, 'num_train': 1000, 'num_eval': 1000}
    assert metrics['liegroup-mig']['num_train'] == 1000 and metrics['liegroup-mig']['drop_first_factor'] is True
    assert metrics['sap'] == {'num_train': 1000, 'num_test': 1000, 'continuous_factors': True}
    assert metrics['dci'] == {'num_train': 1000, 'num_test': 1000}
