"""Reference-style metric implementations: the oracles that the tests and ``bench/metrics.py`` compare against.

They follow the structure of disentanglement_lib's code (codes and factors transposed, one
``mutual_info_score`` / ``LinearSVC`` / ``GradientBoostingClassifier`` after another, a Python loop per
β-VAE point or FactorVAE vote with its batches encoded one at a time), written here from the papers' and the
library's documented protocols, not copied. They are slow on purpose and are not registered as metrics; the
fast forms in this package must agree with them (``tests/test_metrics_*.py``).
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.stats
import torch

from .common import encode_factors, varying_factors


def naive_discretize(codes_t: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """codes (D, N) -> bins (D, N), one dimension after another."""
    out = np.zeros_like(codes_t, dtype=np.int64)
    for i in range(codes_t.shape[0]):
        out[i] = np.digitize(codes_t[i], np.histogram(codes_t[i], num_bins)[1][:-1])
    return out


def naive_mutual_info(codes_t: np.ndarray, factors_t: np.ndarray) -> np.ndarray:
    from sklearn.metrics import mutual_info_score
    m = np.zeros((codes_t.shape[0], factors_t.shape[0]))
    for i in range(codes_t.shape[0]):
        for j in range(factors_t.shape[0]):
            m[i, j] = mutual_info_score(factors_t[j], codes_t[i])
    return m


def naive_mig(codes: np.ndarray, factors: np.ndarray) -> float:
    from sklearn.metrics import mutual_info_score
    codes_t, factors_t = codes.T, factors.T
    m = naive_mutual_info(naive_discretize(codes_t), factors_t)
    entropy = np.array([mutual_info_score(factors_t[j], factors_t[j]) for j in range(factors_t.shape[0])])
    ranked = np.sort(m, axis=0)[::-1]
    return float(np.mean((ranked[0] - ranked[1]) / entropy))


def naive_dci(codes_train, factors_train, codes_test, factors_test) -> dict[str, float]:
    from sklearn.ensemble import GradientBoostingClassifier
    x_train, y_train, x_test, y_test = codes_train.T, factors_train.T, codes_test.T, factors_test.T
    importance = np.zeros((x_train.shape[0], y_train.shape[0]))
    train_acc, test_acc = [], []
    for j in range(y_train.shape[0]):
        model = GradientBoostingClassifier()
        model.fit(x_train.T, y_train[j])
        importance[:, j] = np.abs(model.feature_importances_)
        train_acc.append(np.mean(model.predict(x_train.T) == y_train[j]))
        test_acc.append(np.mean(model.predict(x_test.T) == y_test[j]))
    per_code = 1.0 - scipy.stats.entropy(importance.T + 1e-11, base=importance.shape[1])
    per_factor = 1.0 - scipy.stats.entropy(importance + 1e-11, base=importance.shape[0])
    weights = importance if importance.sum() > 0 else np.ones_like(importance)
    return {'disentanglement': float(np.sum(per_code * weights.sum(axis=1) / weights.sum())),
            'completeness': float(np.sum(per_factor * weights.sum(axis=0) / weights.sum())),
            'informativeness_train': float(np.mean(train_acc)), 'informativeness_test': float(np.mean(test_acc))}


def naive_sap(codes_train, factors_train, codes_test, factors_test) -> float:
    from sklearn.svm import LinearSVC
    mus, ys, mus_test, ys_test = codes_train.T, factors_train.T, codes_test.T, factors_test.T
    score = np.zeros((mus.shape[0], ys.shape[0]))
    for i in range(mus.shape[0]):
        for j in range(ys.shape[0]):
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                classifier = LinearSVC(C=0.01, class_weight='balanced').fit(mus[i][:, None], ys[j])
            score[i, j] = np.mean(classifier.predict(mus_test[i][:, None]) == ys_test[j])
    ranked = np.sort(score, axis=0)
    return float(np.mean(ranked[-1] - ranked[-2]))


def naive_beta_vae_features(dataset, represent, num_points: int, batch_size: int, generator: torch.Generator,
                            device=None) -> tuple[np.ndarray, np.ndarray]:
    """β-VAE points one at a time: a held factor, two batches sharing it, both encoded, |c1 − c2| averaged."""
    choices = varying_factors(dataset)
    features, labels = [], []
    for _ in range(num_points):
        held = choices[int(torch.randint(len(choices), (1,), generator=generator))]
        first = dataset.sample_factors(batch_size, generator)
        second = dataset.sample_factors(batch_size, generator)
        second[:, held] = first[:, held]
        codes_first = encode_factors(dataset, represent, first, device, batch_size)
        codes_second = encode_factors(dataset, represent, second, device, batch_size)
        features.append(np.mean(np.abs(codes_first - codes_second), axis=0))
        labels.append(held)
    return np.stack(features), np.array(labels)


def naive_factor_vae_votes(dataset, represent, num_votes: int, batch_size: int, generator: torch.Generator,
                           device=None) -> tuple[np.ndarray, np.ndarray]:
    """FactorVAE votes one at a time: a held factor set to the first row's value, the batch encoded, variances."""
    choices = varying_factors(dataset)
    variances, labels = [], []
    for _ in range(num_votes):
        held = choices[int(torch.randint(len(choices), (1,), generator=generator))]
        factors = dataset.sample_factors(batch_size, generator)
        factors[:, held] = factors[0, held]
        codes = encode_factors(dataset, represent, factors, device, batch_size)
        variances.append(np.var(codes, axis=0, ddof=1))
        labels.append(held)
    return np.stack(variances), np.array(labels)
