"""Modularity and explicitness (Ridgeway & Zemel 2018, Sec. 3), disentanglement_lib's form.

Modularity: from the discretised mutual information m (D, F), each code should carry information about one
factor only: δ_i = Σ_{j ≠ j*} m[i, j]² / (max_j m[i, j]² (F − 1)) and modularity = mean_i (1 − δ_i) (Eq. 3 of
the paper with the ideal template t[i, ·] = max at the argmax). Codes sharing no information with any factor
score 0 and stay in the mean, as in the reference. Explicitness: a logistic regression per factor from the
standardised codes; the mean one-vs-rest ROC AUC over the factor's classes, averaged over factors.
"""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import torch

from ..registry import register
from .common import parallel_map, sample_codes, seed_for_sklearn
from .information import check_arrays, discretize, informative_factors, mutual_information_matrix


def modularity_explicitness(codes_train: np.ndarray, factors_train: np.ndarray, codes_test: np.ndarray,
                            factors_test: np.ndarray, num_bins: int = 20, n_jobs: int | None = None,
                            random_state: int | None = 0) -> dict[str, float]:
    """``modularity`` (from the training points) and ``explicitness_train`` / ``explicitness_test``."""
    codes_train, factors_train = check_arrays(codes_train, factors_train)
    codes_test, factors_test = check_arrays(codes_test, factors_test)
    keep = informative_factors(factors_train)
    factors_train, factors_test = factors_train[:, keep], factors_test[:, keep]
    information = mutual_information_matrix(discretize(codes_train, num_bins), factors_train)
    train, test = explicitness(codes_train, factors_train, codes_test, factors_test, n_jobs=n_jobs,
                               random_state=random_state)
    return {'modularity': modularity(information), 'explicitness_train': train, 'explicitness_test': test}


def modularity(information: np.ndarray) -> float:
    """Mean over codes of 1 − δ_i for a mutual information matrix (D, F); see the module docstring."""
    squared = np.asarray(information, dtype=np.float64) ** 2
    num_factors = squared.shape[1]
    if num_factors == 0:
        return 0.0
    largest = squared.max(axis=1)
    with np.errstate(divide='ignore', invalid='ignore'):
        deviation = (squared.sum(axis=1) - largest) / (largest * max(num_factors - 1, 1))
    scores = np.where(largest > 0, 1.0 - deviation, 0.0)
    return float(np.mean(scores))


def explicitness(codes_train, factors_train, codes_test, factors_test, n_jobs: int | None = None,
                 random_state: int | None = 0) -> tuple[float, float]:
    """Mean over factors of the macro one-vs-rest ROC AUC of a logistic regression on standardised codes.

    Codes are standardised with the training mean and standard deviation (ddof 0); a constant code is only
    centred (the reference would divide by zero).
    """
    mean, std = codes_train.mean(axis=0), codes_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    train, test = (codes_train - mean) / std, (codes_test - mean) / std
    tasks = [(train, factors_train[:, j], test, factors_test[:, j], random_state) for j in range(factors_train.shape[1])]
    scores = parallel_map(_explicitness_of_factor, tasks, n_jobs=n_jobs)
    if not scores:
        return 0.0, 0.0
    return float(np.mean([s[0] for s in scores])), float(np.mean([s[1] for s in scores]))


def one_vs_rest_auc(labels: np.ndarray, probabilities: np.ndarray, classes: np.ndarray) -> float:
    """Macro average over ``classes`` of the ROC AUC of ``probabilities[:, k]`` for ``labels == classes[k]``.

    The AUC is the Mann-Whitney statistic with average ranks for ties (what ``roc_auc_score`` computes); a
    class absent from ``labels`` (or the only one present) has no AUC and is left out of the average.
    """
    from scipy.stats import rankdata
    positives = labels[:, None] == classes[None, :]                    # (N, K)
    num_pos = positives.sum(axis=0)
    num_neg = labels.shape[0] - num_pos
    defined = (num_pos > 0) & (num_neg > 0)
    if not defined.any():
        return float('nan')
    ranks = rankdata(probabilities, axis=0)
    rank_sums = (ranks * positives).sum(axis=0)
    auc = (rank_sums[defined] - num_pos[defined] * (num_pos[defined] + 1) / 2) / (num_pos[defined] * num_neg[defined])
    return float(np.mean(auc))


@register.metric('modularity-explicitness', needs=('discrete_factors',))
def evaluate_modularity_explicitness(dataset, represent: Callable[[torch.Tensor], torch.Tensor],
                                     generator: torch.Generator, num_train: int = 10000, num_test: int = 5000,
                                     num_bins: int = 20, encode_batch_size: int = 256, n_jobs: int = 2,
                                     device=None) -> dict[str, float]:
    """Modularity and explicitness (Ridgeway & Zemel 2018) on points drawn from the dataset's factor grid."""
    codes_train, factors_train = sample_codes(dataset, represent, num_train, generator, device, encode_batch_size)
    codes_test, factors_test = sample_codes(dataset, represent, num_test, generator, device, encode_batch_size)
    return modularity_explicitness(codes_train, factors_train, codes_test, factors_test, num_bins=num_bins,
                                   n_jobs=n_jobs, random_state=seed_for_sklearn(generator))


def _explicitness_of_factor(task) -> tuple[float, float]:
    codes_train, labels_train, codes_test, labels_test, random_state = task
    from sklearn.linear_model import LogisticRegression
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')           # lbfgs' max_iter warning at the library default of 100
        model = LogisticRegression(random_state=random_state).fit(codes_train, labels_train)
    return (one_vs_rest_auc(labels_train, model.predict_proba(codes_train), model.classes_),
            one_vs_rest_auc(labels_test, model.predict_proba(codes_test), model.classes_))
