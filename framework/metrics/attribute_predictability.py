"""SAP, the separated attribute predictability score (Kumar et al. 2018, Sec. 3), disentanglement_lib's form.

S[i, j] says how well code i alone predicts factor j: for discrete factors the test accuracy of a linear SVM
(``LinearSVC(C=0.01, class_weight='balanced')``) on that single code; for continuous factors the squared
correlation cov(c_i, y_j)² / (var c_i · var y_j) on the training points. SAP = mean over factors of the gap
between the two largest S[·, j].
"""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import torch

from ..registry import register
from .common import needs_discrete_factors, needs_factors, parallel_map, sample_codes
from .information import check_arrays, informative_factors, top_two_gaps

MIN_CODE_VARIANCE = 1e-12     # a code with less variance than this scores 0 for continuous factors


def sap(codes_train: np.ndarray, factors_train: np.ndarray, codes_test: np.ndarray, factors_test: np.ndarray,
        continuous_factors: bool = False, n_jobs: int | None = None) -> dict[str, float]:
    """SAP of codes (N, D) against factors (N, F): ``{'sap': float}``.

    Discrete factors are scored by single-code linear SVMs trained on the training points and tested on the
    test points; continuous ones (``continuous_factors=True``) by squared correlation on the training points.
    """
    codes_train, factors_train = check_arrays(codes_train, factors_train)
    codes_test, factors_test = check_arrays(codes_test, factors_test)
    keep = informative_factors(factors_train)
    matrix = sap_score_matrix(codes_train, factors_train[:, keep], codes_test, factors_test[:, keep],
                              continuous_factors=continuous_factors, n_jobs=n_jobs)
    return {'sap': float(np.mean(top_two_gaps(matrix))) if matrix.shape[1] else 0.0}


def sap_score_matrix(codes_train, factors_train, codes_test, factors_test, continuous_factors: bool = False,
                     n_jobs: int | None = None) -> np.ndarray:
    """S (D, F): single-code predictability of each factor (see the module docstring)."""
    if continuous_factors:
        return squared_correlations(codes_train, factors_train)
    tasks = [(codes_train, factors_train[:, j], codes_test, factors_test[:, j]) for j in range(factors_train.shape[1])]
    columns = parallel_map(_svm_accuracies, tasks, n_jobs=n_jobs)
    return np.stack(columns, axis=1) if columns else np.zeros((codes_train.shape[1], 0))


def top_two_gap(matrix: np.ndarray) -> float:
    """Mean over columns of the largest minus the second largest entry: the SAP of a score matrix (D, F)."""
    return float(np.mean(top_two_gaps(np.asarray(matrix, dtype=np.float64))))


def squared_correlations(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """cov(c_i, y_j)² / (var c_i · var y_j) for all pairs at once (ddof 1), 0 for codes of (almost) no variance."""
    codes = np.asarray(codes, dtype=np.float64)
    factors = np.asarray(factors, dtype=np.float64)
    n = codes.shape[0]
    centred_codes = codes - codes.mean(axis=0)
    centred_factors = factors - factors.mean(axis=0)
    covariance = centred_codes.T @ centred_factors / (n - 1)
    code_variance = (centred_codes ** 2).sum(axis=0) / (n - 1)
    factor_variance = (centred_factors ** 2).sum(axis=0) / (n - 1)
    with np.errstate(divide='ignore', invalid='ignore'):
        scores = covariance ** 2 / (code_variance[:, None] * factor_variance[None, :])
    return np.where(code_variance[:, None] > MIN_CODE_VARIANCE, scores, 0.0)


def _needs(dataset, params: dict) -> str | None:
    if params.get('continuous_factors'):
        return needs_factors(dataset, params)
    reason = needs_discrete_factors(dataset, params)
    if reason and needs_factors(dataset, params) is None:
        reason += ' (or set `sap: {continuous_factors: true}` to score continuous factors by correlation)'
    return reason


@register.metric('sap', needs=(_needs,))
def evaluate_sap(dataset, represent: Callable[[torch.Tensor], torch.Tensor], generator: torch.Generator,
                 num_train: int = 10000, num_test: int = 5000, continuous_factors: bool = False,
                 encode_batch_size: int = 256, n_jobs: int | None = None, device=None) -> dict[str, float]:
    """Separated attribute predictability (Kumar et al. 2018): gap of the two most predictive single codes."""
    codes_train, factors_train = sample_codes(dataset, represent, num_train, generator, device, encode_batch_size)
    codes_test, factors_test = sample_codes(dataset, represent, num_test, generator, device, encode_batch_size)
    return sap(codes_train, factors_train, codes_test, factors_test, continuous_factors=continuous_factors,
               n_jobs=n_jobs)


def _svm_accuracies(task) -> np.ndarray:
    """Test accuracy of a linear SVM on each single code for one factor: (D,)."""
    codes_train, labels_train, codes_test, labels_test = task
    from sklearn.svm import LinearSVC
    accuracies = np.zeros(codes_train.shape[1])
    for i in range(codes_train.shape[1]):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')       # liblinear's convergence warnings at C = 0.01
            classifier = LinearSVC(C=0.01, class_weight='balanced').fit(codes_train[:, i:i + 1], labels_train)
        accuracies[i] = np.mean(classifier.predict(codes_test[:, i:i + 1]) == labels_test)
    return accuracies
