"""DCI: disentanglement, completeness and informativeness (Eastwood & Williams 2018), disentanglement_lib's form.

One gradient boosted tree classifier per factor (scikit-learn's ``GradientBoostingClassifier()`` defaults) from
all codes to the factor gives the importance matrix R[i, j] = |feature importance of code i for factor j| and
the factor's accuracy. Disentanglement weighs each code's 1 − H_F(P[i, ·]) by its share of the importance;
completeness is the same over codes for each factor; informativeness is the mean accuracy (train and test).

Two backends grow the same classifiers. ``backend='numba'`` (the default) is ``_boosting.boosted_trees``:
scikit-learn's boosting and trees, compiled, with the trees of a stage grown in ``n_jobs`` threads; its
predictions are scikit-learn's bit for bit and its importances agree to rounding, 10 to 12 times as fast in
one thread and 22 times in two (``bench/metrics.py``). ``backend='sklearn'`` fits scikit-learn's own classifiers, one factor per worker
process: the oracle the tests hold the compiled one to.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..registry import register
from .common import parallel_calls, sample_codes, seed_for_sklearn
from .information import check_arrays, informative_factors, normalized_entropy

ENTROPY_EPS = 1e-11     # the reference adds this to every importance before taking entropies
BACKENDS = ('numba', 'sklearn')
# training points × classes (summed over factors) below which scikit-learn's fits run in this process: a worker
# process costs about 2 s of CPU to start (it imports scikit-learn), more than small fits take
PARALLEL_MIN_WORK = 200_000


def dci(codes_train: np.ndarray, factors_train: np.ndarray, codes_test: np.ndarray, factors_test: np.ndarray,
        n_jobs: int | None = None, random_state: int | None = 0, backend: str = 'numba',
        progress: bool = False) -> dict[str, float]:
    """DCI scores of codes (N, D) against factor classes (N, F), classifiers fit on the training points.

    Returns ``disentanglement``, ``completeness``, ``informativeness_train``, ``informativeness_test``.
    ``backend`` picks the classifiers' implementation (see the module docstring); ``n_jobs`` is the number of
    threads (``'numba'``) or worker processes (``'sklearn'``); ``progress`` shows a bar over the boosting stages
    (``'numba'``).
    """
    codes_train, factors_train = check_arrays(codes_train, factors_train)
    codes_test, factors_test = check_arrays(codes_test, factors_test)
    keep = informative_factors(factors_train)
    factors_train, factors_test = factors_train[:, keep], factors_test[:, keep]
    importance, train_accuracy, test_accuracy = importance_matrix(
        codes_train, factors_train, codes_test, factors_test, n_jobs=n_jobs, random_state=random_state,
        backend=backend, progress=progress)
    return {'disentanglement': disentanglement(importance), 'completeness': completeness(importance),
            'informativeness_train': float(np.mean(train_accuracy)) if train_accuracy.size else 0.0,
            'informativeness_test': float(np.mean(test_accuracy)) if test_accuracy.size else 0.0}


def importance_matrix(codes_train, factors_train, codes_test, factors_test, n_jobs: int | None = None,
                      random_state: int | None = 0, backend: str = 'numba',
                      progress: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R (D, F) and each factor's train and test accuracy, from one gradient boosted classifier per factor."""
    if backend not in BACKENDS:
        raise ValueError(f'unknown DCI backend {backend!r}; choose one of {", ".join(BACKENDS)}')
    num_factors = factors_train.shape[1]
    if num_factors == 0:
        return np.zeros((codes_train.shape[1], 0)), np.zeros(0), np.zeros(0)
    if backend == 'numba':
        try:
            from ._boosting import boosted_trees
        except ImportError as error:
            raise ImportError(f'DCI\'s default backend needs numba ({error}): `pip install -r requirements.txt`, '
                              f'or score with scikit-learn\'s classifiers: --metrics.dci.backend sklearn') from None
        return boosted_trees(codes_train, factors_train, codes_test, factors_test, random_state=random_state,
                             n_jobs=n_jobs, progress=progress)
    return _sklearn_importance_matrix(codes_train, factors_train, codes_test, factors_test, n_jobs, random_state)


def _sklearn_importance_matrix(codes_train, factors_train, codes_test, factors_test, n_jobs, random_state):
    """scikit-learn's classifiers, one per factor, in ``n_jobs`` worker processes, largest factor first (one
    tree per class per stage), when there is enough work to pay for starting them (``PARALLEL_MIN_WORK``)."""
    from sklearn.ensemble import GradientBoostingClassifier
    num_factors = factors_train.shape[1]
    classes = [len(np.unique(factors_train[:, j])) for j in range(num_factors)]
    if codes_train.shape[0] * sum(classes) < PARALLEL_MIN_WORK:
        n_jobs = 1
    calls = [(GradientBoostingClassifier(random_state=random_state).fit, (codes_train, factors_train[:, j]))
             for j in range(num_factors)]
    models = parallel_calls(calls, n_jobs=n_jobs, processes=True, cost=lambda call: len(np.unique(call[1][1])))
    importance = np.stack([np.abs(model.feature_importances_) for model in models], axis=1)
    train_accuracy = np.array([np.mean(model.predict(codes_train) == factors_train[:, j])
                               for j, model in enumerate(models)])
    test_accuracy = np.array([np.mean(model.predict(codes_test) == factors_test[:, j])
                              for j, model in enumerate(models)])
    return importance, train_accuracy, test_accuracy


def disentanglement(importance: np.ndarray) -> float:
    """Σ_i ρ_i (1 − H_F(R[i, ·])), ρ_i = Σ_j R[i, j] / Σ R (uniform when R is all zero); Eastwood & Williams Eq. 2."""
    importance = np.asarray(importance, dtype=np.float64)
    per_code = 1.0 - normalized_entropy(importance + ENTROPY_EPS, axis=1)
    weights = importance if importance.sum() > 0 else np.ones_like(importance)
    return float(np.sum(per_code * weights.sum(axis=1) / weights.sum()))


def completeness(importance: np.ndarray) -> float:
    """Σ_j ρ_j (1 − H_D(R[·, j])), ρ_j = Σ_i R[i, j] / Σ R (uniform when R is all zero); Eastwood & Williams Eq. 3."""
    importance = np.asarray(importance, dtype=np.float64)
    per_factor = 1.0 - normalized_entropy(importance + ENTROPY_EPS, axis=0)
    weights = importance if importance.sum() > 0 else np.ones_like(importance)
    return float(np.sum(per_factor * weights.sum(axis=0) / weights.sum()))


@register.metric('dci', needs=('discrete_factors',))
def evaluate_dci(dataset, represent: Callable[[torch.Tensor], torch.Tensor], generator: torch.Generator,
                 num_train: int = 10000, num_test: int = 5000, encode_batch_size: int = 256, n_jobs: int | None = None,
                 backend: str = 'numba', device=None, progress: bool = False) -> dict[str, float]:
    """DCI disentanglement, completeness, informativeness (Eastwood & Williams 2018) with gradient boosted trees."""
    if backend not in BACKENDS:        # before minutes of encoding, not after
        raise ValueError(f'unknown DCI backend {backend!r}; choose one of {", ".join(BACKENDS)}')
    codes_train, factors_train = sample_codes(dataset, represent, num_train, generator, device, encode_batch_size)
    codes_test, factors_test = sample_codes(dataset, represent, num_test, generator, device, encode_batch_size)
    return dci(codes_train, factors_train, codes_test, factors_test, n_jobs=n_jobs,
               random_state=seed_for_sklearn(generator), backend=backend, progress=progress)
