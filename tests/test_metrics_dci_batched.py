"""The batched gradient boosting behind DCI against scikit-learn's GradientBoostingClassifier, the oracle.

Codes of three kinds (disentangled, entangled, pure noise) and factors of 2 to 40 classes; the importances and
the train and test accuracies must agree within 0.01. With no more distinct values than bins the split search
is exact, and what remains is scikit-learn's random choice between dimensions that cut a node the same way;
with more (the quantile bins every 10000-point protocol run uses) it is approximate, which
``bench/metrics.py`` measures at the protocol's size. The parity runs use fewer stages than the protocol's
100 (the oracle is slow); one runs the full defaults.
"""
from __future__ import annotations

import numpy as np
import pytest

from framework.metrics import dci
from framework.metrics._boosting import boosted_trees


def codes_of(kind: str, factors: np.ndarray, dims: int, rng: np.random.Generator) -> np.ndarray:
    scaled = factors / (factors.max(axis=0) + 1.0)
    n, f = factors.shape
    if kind == 'disentangled':
        return np.concatenate([scaled, np.zeros((n, dims - f))], axis=1) + 0.05 * rng.normal(size=(n, dims))
    if kind == 'entangled':
        return scaled @ (np.eye(f, dims) + 0.5 * rng.normal(size=(f, dims))) + 0.1 * rng.normal(size=(n, dims))
    return rng.normal(size=(n, dims))


def oracle(codes_train, factors_train, codes_test, factors_test, n_estimators=100):
    """scikit-learn's classifier, one factor after another: importances (D, F), train and test accuracies."""
    from sklearn.ensemble import GradientBoostingClassifier
    models = [GradientBoostingClassifier(n_estimators=n_estimators, random_state=0).fit(codes_train, factors_train[:, j])
              for j in range(factors_train.shape[1])]
    importance = np.stack([m.feature_importances_ for m in models], axis=1)
    train = np.array([np.mean(m.predict(codes_train) == factors_train[:, j]) for j, m in enumerate(models)])
    test = np.array([np.mean(m.predict(codes_test) == factors_test[:, j]) for j, m in enumerate(models)])
    return importance, train, test


def draw(kind, sizes, n_train, n_test, dims, seed):
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(size, size=n_train + n_test) for size in sizes], axis=1)
    codes = codes_of(kind, factors, dims, rng)
    return codes[:n_train], factors[:n_train], codes[n_train:], factors[n_train:]


def assert_parity(ours, reference, tolerance=0.01):
    for name, a, b in zip(('importance', 'train accuracy', 'test accuracy'), ours, reference):
        assert a.shape == b.shape, name
        assert np.abs(a - b).max() <= tolerance, f'{name}: ours {np.round(a, 4)} vs scikit-learn {np.round(b, 4)}'


@pytest.mark.parametrize('kind,sizes,n_train', [('disentangled', (2, 5, 40), 1000), ('entangled', (3, 12, 2), 500),
                                                ('noisy', (2, 7), 500)])
def test_batched_boosting_matches_sklearn(kind, sizes, n_train):
    arrays = draw(kind, sizes, n_train, 1000, 5, seed=len(kind))
    ours = boosted_trees(*arrays, n_estimators=20, max_bins=1024)           # one bin per value: exact splits
    assert_parity(ours, oracle(*arrays, n_estimators=20))


def test_batched_boosting_matches_sklearn_at_the_full_defaults():
    arrays = draw('entangled', (2, 4), 400, 200, 4, seed=7)
    assert_parity(boosted_trees(*arrays, max_bins=512), oracle(*arrays))


def test_quantile_bins_stay_close_to_exact_splits():
    """More distinct values than bins: the histogram search finds the best bin edge, an exact search of the
    node's values around it the cut."""
    arrays = draw('entangled', (3, 6), 2500, 500, 4, seed=3)
    ours = boosted_trees(*arrays, n_estimators=15, max_bins=256)
    assert_parity(ours, oracle(*arrays, n_estimators=15))


def test_discrete_codes_split_exactly_like_sklearn():
    """Codes with few distinct values get one bin per value: the same trees, hence the same accuracies."""
    rng = np.random.default_rng(0)
    factors = np.stack([rng.integers(4, size=600), rng.integers(3, size=600)], axis=1)
    codes = np.stack([factors[:, 0] + rng.integers(2, size=600), factors[:, 1] * 2.0, rng.integers(5, size=600)],
                     axis=1).astype(np.float64)
    arrays = (codes[:400], factors[:400], codes[400:], factors[400:])
    ours = boosted_trees(*arrays, n_estimators=10)
    reference = oracle(*arrays, n_estimators=10)
    np.testing.assert_array_equal(ours[1], reference[1])
    np.testing.assert_array_equal(ours[2], reference[2])
    np.testing.assert_allclose(ours[0], reference[0], atol=1e-9)


def test_dci_backends_agree_and_unknown_backend_names_the_choices():
    arrays = draw('disentangled', (2, 3), 300, 150, 4, seed=1)
    batched = dci(*arrays)
    reference = dci(*arrays, backend='sklearn', n_jobs=1)
    for key in batched:
        assert batched[key] == pytest.approx(reference[key], abs=0.01), key
    assert dci(*arrays) == batched                                   # deterministic for one random_state
    with pytest.raises(ValueError, match='batched, sklearn'):
        dci(*arrays, backend='xgboost')


def test_progress_bar_only_when_asked(capsys):
    arrays = draw('noisy', (2, 3), 200, 100, 3, seed=2)
    boosted_trees(*arrays, n_estimators=3, progress=False)
    assert 'DCI boosting' not in capsys.readouterr().err
    boosted_trees(*arrays, n_estimators=3, progress=True)
    assert 'DCI boosting' in capsys.readouterr().err


def test_test_classes_never_seen_in_training_count_as_errors():
    codes = np.array([[0.0], [0.1], [1.0], [1.1]] * 10)
    factors = np.array([[0], [0], [1], [1]] * 10)
    _, train, test = boosted_trees(codes, factors, np.array([[0.0], [1.0]]), np.array([[0], [2]]), n_estimators=5)
    assert train[0] == 1.0 and test[0] == 0.5
