"""DCI (array form): hand-computed importance matrices, the extremes theory predicts, parity with reference-style code.

Gradient boosted trees grow one tree per class per stage, so these use few, small factors and 1000 points. The
compiled boosting's own parity with scikit-learn is in ``test_metrics_dci_boosting.py``.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from framework.metrics import completeness, dci, dci_scores, disentanglement
from framework.metrics.reference import naive_dci

SIZES = (2, 3, 4)
N_TRAIN, N_TEST = 1000, 500


def draw(n, seed):
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(size, size=n) for size in SIZES], axis=1)
    perfect = np.concatenate([factors, np.zeros((n, 1))], axis=1).astype(np.float64)
    codes = {
        'perfect': perfect,
        'permuted': perfect[:, [2, 3, 0, 1]] * np.array([-2.0, 1.0, 0.5, 3.0]) + 1.0,
        'noise': rng.uniform(size=perfect.shape),
        'mixed': np.stack([factors[:, 0] + factors[:, 1], factors[:, 0] - factors[:, 1], factors[:, 2],
                           np.zeros(n)], axis=1).astype(np.float64),
    }
    return factors, codes


@pytest.fixture(scope='module')
def scores():
    y_train, train = draw(N_TRAIN, 0)
    y_test, test = draw(N_TEST, 1)
    return {name: dci(train[name], y_train, test[name], y_test, n_jobs=1) for name in train}


def test_disentanglement_and_completeness_of_known_importance_matrices():
    assert disentanglement(np.eye(2)) == pytest.approx(1.0, abs=1e-6)
    assert completeness(np.eye(2)) == pytest.approx(1.0, abs=1e-6)
    # code 0 splits its importance evenly (D_0 = 0), code 1 serves factor 0 only (D_1 = 1), equal weights
    importance = np.array([[0.5, 0.5], [1.0, 0.0]])
    assert disentanglement(importance) == pytest.approx(0.5, abs=1e-6)
    column_entropy = -(1 / 3 * math.log2(1 / 3) + 2 / 3 * math.log2(2 / 3))       # factor 0: [0.5, 1] / 1.5
    expected = 0.75 * (1 - column_entropy) + 0.25 * 1.0                            # weights 1.5/2 and 0.5/2
    assert completeness(importance) == pytest.approx(expected, abs=1e-6)
    # one code used for everything: no disentanglement, perfect completeness
    assert disentanglement(np.array([[1.0, 1.0], [0.0, 0.0]])) == pytest.approx(0.0, abs=1e-6)
    assert completeness(np.array([[1.0, 1.0], [0.0, 0.0]])) == pytest.approx(1.0, abs=1e-6)
    # all-zero importance: uniform weights, entropy of the uniform distribution -> 0
    assert disentanglement(np.zeros((3, 2))) == pytest.approx(0.0, abs=1e-6)


def test_dci_extremes(scores):
    for name in ('perfect', 'permuted'):
        assert scores[name]['disentanglement'] > 0.99
        assert scores[name]['completeness'] > 0.99
        assert scores[name]['informativeness_test'] == pytest.approx(1.0)
    assert scores['noise']['disentanglement'] < 0.1 and scores['noise']['completeness'] < 0.1
    chance = np.mean([1 / s for s in SIZES])
    assert scores['noise']['informativeness_test'] == pytest.approx(chance, abs=0.08)
    assert scores['noise']['informativeness_train'] > scores['noise']['informativeness_test']   # trees overfit noise
    assert scores['mixed']['disentanglement'] < scores['perfect']['disentanglement'] - 0.2


@pytest.mark.slow
def test_dci_matches_reference_style_code_and_is_deterministic(monkeypatch):
    rng = np.random.default_rng(3)
    factors = np.stack([rng.integers(3, size=900), rng.integers(2, size=900)], axis=1)
    codes = np.stack([factors[:, 0] + 0.4 * rng.normal(size=900), factors[:, 1] + 0.6 * rng.normal(size=900),
                      rng.normal(size=900)], axis=1)
    arrays = (codes[:600], factors[:600], codes[600:], factors[600:])
    ours = dci(*arrays)
    assert dci(*arrays) == ours
    reference = naive_dci(*arrays)
    for key, value in reference.items():
        assert ours[key] == pytest.approx(value, abs=0.02), key
    # scikit-learn's classifiers: the same in worker processes as in this one
    serial = dci(*arrays, backend='sklearn', n_jobs=1)
    monkeypatch.setattr(dci_scores, 'PARALLEL_MIN_WORK', 0)       # small fits run in this process otherwise
    assert dci(*arrays, backend='sklearn', n_jobs=2) == serial
    for key, value in reference.items():      # the reference leaves random_state unset: ties break differently
        assert serial[key] == pytest.approx(value, abs=0.02), key
