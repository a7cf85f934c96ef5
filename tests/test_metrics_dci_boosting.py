"""The compiled gradient boosting behind DCI against scikit-learn's GradientBoostingClassifier, the oracle.

The compiled trees are meant to be scikit-learn's own, so the accuracies must be equal and the importances
equal to rounding, on codes of three kinds (disentangled, entangled, pure noise), factors of 2 to 40 classes,
and codes with the traps of scikit-learn's split search: repeated values, a constant dimension, and
neighbouring values that differ by more than 1e-7 in float64 but not in float32 arithmetic. The runs use fewer
stages than the protocol's 100 (the oracle is slow); one runs the full defaults.
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


def assert_same_classifiers(ours, reference):
    importance, train, test = ours
    np.testing.assert_array_equal(train, reference[1], err_msg='train accuracy')
    np.testing.assert_array_equal(test, reference[2], err_msg='test accuracy')
    np.testing.assert_allclose(importance, reference[0], rtol=0, atol=1e-12, err_msg='importances')


@pytest.mark.parametrize('kind,sizes,n_train', [('disentangled', (2, 5, 40), 1000), ('entangled', (3, 12, 2), 500),
                                                ('noisy', (2, 7), 500)])
def test_compiled_boosting_grows_sklearns_trees(kind, sizes, n_train):
    arrays = draw(kind, sizes, n_train, 1000, 5, seed=len(kind))
    assert_same_classifiers(boosted_trees(*arrays, n_estimators=20), oracle(*arrays, n_estimators=20))


def test_compiled_boosting_matches_sklearn_at_the_full_defaults():
    arrays = draw('entangled', (2, 4), 400, 200, 4, seed=7)
    assert_same_classifiers(boosted_trees(*arrays), oracle(*arrays))


def test_repeated_values_constant_dimensions_and_float32_neighbours_split_as_in_sklearn():
    """Codes with few distinct values (ties, dimensions constant inside nodes), an all-constant dimension, and
    a dimension whose two values are neighbours in float32: 1.3 and the next float32 up differ by 1.19e-7, more
    than scikit-learn's 1e-7, but it adds the 1e-7 in float32, so it never cuts between them, although that cut
    would separate the second factor perfectly."""
    rng = np.random.default_rng(0)
    n = 600
    factors = np.stack([rng.integers(4, size=n), rng.integers(2, size=n)], axis=1)
    neighbour = np.nextafter(np.float32(1.3), np.float32(2.0))
    near = np.where(factors[:, 1] == 1, neighbour, np.float32(1.3)).astype(np.float64)
    near[rng.random(n) < 0.2] = 0.0                     # a third value, so the dimension is not constant
    codes = np.stack([factors[:, 0] + rng.integers(2, size=n), np.zeros(n), rng.integers(5, size=n), near,
                      factors[:, 1] + rng.normal(scale=0.8, size=n)], axis=1)
    arrays = (codes[:400], factors[:400], codes[400:], factors[400:])
    ours = boosted_trees(*arrays, n_estimators=10)
    assert_same_classifiers(ours, oracle(*arrays, n_estimators=10))
    assert ours[0][1].sum() == 0.0                                  # the constant dimension is never cut
    assert ours[0][3, 1] < 0.05                 # the neighbours are never cut apart: dimension 3 says little


def test_threads_do_not_change_the_result():
    arrays = draw('entangled', (3, 5, 2), 300, 100, 4, seed=4)
    one, two = boosted_trees(*arrays, n_estimators=8, n_jobs=1), boosted_trees(*arrays, n_estimators=8, n_jobs=2)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_dci_backends_agree_and_unknown_backend_names_the_choices():
    arrays = draw('disentangled', (2, 3), 300, 150, 4, seed=1)
    compiled = dci(*arrays)
    reference = dci(*arrays, backend='sklearn', n_jobs=1)
    for key in compiled:
        assert compiled[key] == pytest.approx(reference[key], abs=1e-9), key
    with pytest.raises(ValueError, match='numba, sklearn'):
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


def test_codes_that_are_not_finite_are_refused_with_a_count():
    arrays = list(draw('noisy', (2,), 40, 10, 2, seed=3))
    arrays[0][3, 1] = np.nan
    arrays[0][5, 0] = 1e39                                  # finite in float64, infinite in float32
    with pytest.raises(ValueError, match='2 of the training codes are NaN or infinite'):
        boosted_trees(*arrays, n_estimators=2)


def test_without_numba_dci_says_how_to_get_it_or_use_sklearn(monkeypatch):
    import sys
    for name in ('framework.metrics._boosting', 'framework.metrics._boosting_trees'):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(sys.modules, 'numba', None)                  # import numba raises ImportError
    arrays = draw('noisy', (2,), 40, 10, 2, seed=3)
    with pytest.raises(ImportError, match='needs numba.*--metrics.dci.backend sklearn'):
        dci(*arrays)
