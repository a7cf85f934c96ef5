"""The β-VAE score (Higgins et al. 2017, Sec. 3 "disentanglement metric"), disentanglement_lib's form.

One training point: a factor k chosen uniformly, two batches of ``batch_size`` factor combinations that
share factor k, and the feature mean_b |c(x1_b) − c(x2_b)| (a D-vector) labelled k. A disentangled code is
nearly unchanged in the dimensions of k, so a linear classifier (logistic regression, scikit-learn's
defaults) recovers k; the score is its accuracy on fresh points.
"""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import torch

from ..registry import register
from .common import encode_groups, group_chunks, seed_for_sklearn, varying_factors
from .progress import chunk_bar


def beta_vae_score(features_train: np.ndarray, labels_train: np.ndarray, features_eval: np.ndarray,
                   labels_eval: np.ndarray, random_state: int | None = 0) -> dict[str, float]:
    """Accuracy of a logistic regression from features (P, D) to the fixed factor's index (P,).

    Returns ``train_accuracy`` and ``eval_accuracy``. Features come from ``intervention_features``.
    """
    features_train, features_eval = np.asarray(features_train, dtype=np.float64), np.asarray(features_eval, dtype=np.float64)
    labels_train, labels_eval = np.asarray(labels_train), np.asarray(labels_eval)
    classes = np.unique(labels_train)
    if len(classes) < 2:                   # a single varying factor: the label is known without a classifier
        return {'train_accuracy': 1.0, 'eval_accuracy': float(np.mean(labels_eval == classes[0]))}
    from sklearn.linear_model import LogisticRegression
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')   # lbfgs' max_iter warning at the library default of 100
        model = LogisticRegression(random_state=random_state).fit(features_train, labels_train)
    return {'train_accuracy': float(model.score(features_train, labels_train)),
            'eval_accuracy': float(model.score(features_eval, labels_eval))}


def intervention_features(codes_first: np.ndarray, codes_second: np.ndarray) -> np.ndarray:
    """mean over the batch of |c1 − c2|: codes of paired batches (P, B, D) -> features (P, D)."""
    return np.abs(np.asarray(codes_first) - np.asarray(codes_second)).mean(axis=1)


@register.metric('beta-vae', needs=('factors',))
def evaluate_beta_vae(dataset, represent: Callable[[torch.Tensor], torch.Tensor], generator: torch.Generator,
                      batch_size: int = 64, num_train: int = 10000, num_eval: int = 5000,
                      encode_batch_size: int = 256, device=None, progress: bool = False) -> dict[str, float]:
    """β-VAE score (Higgins et al. 2017): linear classifier accuracy at predicting which factor was held fixed."""
    features_train, labels_train = sample_features(dataset, represent, num_train, batch_size, generator, device,
                                                   encode_batch_size, progress and 'β-VAE training points')
    features_eval, labels_eval = sample_features(dataset, represent, num_eval, batch_size, generator, device,
                                                 encode_batch_size, progress and 'β-VAE evaluation points')
    return beta_vae_score(features_train, labels_train, features_eval, labels_eval,
                          random_state=seed_for_sklearn(generator))


def sample_features(dataset, represent, num_points: int, batch_size: int, generator: torch.Generator,
                    device=None, encode_batch_size: int = 256, progress: str | bool = False,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``num_points`` β-VAE training points: features (P, D) and the index of the shared factor (P,).

    Points are drawn and encoded a chunk of about 4096 observations at a time (``group_chunks``): the held
    factors, both batches and the copy of the held column are drawn for the whole chunk at once, and all its
    observations are encoded in batches of ``encode_batch_size``. ``progress``: a bar label, or False.
    """
    choices = torch.tensor(varying_factors(dataset))
    features, labels = [], []
    for points in chunk_bar(group_chunks(num_points, 2 * batch_size), progress):
        fixed = choices[torch.randint(len(choices), (points,), generator=generator)]
        first = dataset.sample_factors(points * batch_size, generator).reshape(points, batch_size, -1)
        second = dataset.sample_factors(points * batch_size, generator).reshape(points, batch_size, -1)
        column = fixed.view(points, 1, 1).expand(points, batch_size, 1)
        second.scatter_(2, column, first.gather(2, column))
        codes = encode_groups(dataset, represent, torch.cat([first, second]), device, encode_batch_size)
        features.append(intervention_features(codes[:points], codes[points:]))
        labels.append(fixed.numpy())
    return np.concatenate(features), np.concatenate(labels)
