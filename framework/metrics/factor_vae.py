"""The FactorVAE score (Kim & Mnih 2018, Sec. 4), disentanglement_lib's form.

One vote: a factor k chosen uniformly, ``batch_size`` factor combinations that all share the value of k,
and the code dimension whose variance (ddof 1) over the batch, divided by its global variance, is smallest.
A majority-vote classifier maps each code dimension to the factor it was most often the argmin for; the score
is the fraction of evaluation votes it gets right. Dimensions whose global standard deviation is below
``prune_threshold`` (0.05 in the study configurations of Locatello et al. 2019, "Challenging common
assumptions in the unsupervised learning of disentangled representations") are collapsed and never vote.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..registry import register
from .common import encode_groups, group_chunks, sample_codes, varying_factors
from .progress import chunk_bar


def factor_vae_score(group_codes_train: np.ndarray, fixed_train: np.ndarray, group_codes_eval: np.ndarray,
                     fixed_eval: np.ndarray, global_variances: np.ndarray,
                     prune_threshold: float = 0.05) -> dict[str, float]:
    """Majority-vote accuracy from groups of codes (V, B, D) that each held factor ``fixed[v]`` constant.

    ``global_variances`` (D,) is the variance (ddof 1) of each code dimension over the data. Returns
    ``train_accuracy``, ``eval_accuracy`` and ``num_active_dims``; all 0 when no dimension is active.
    """
    return majority_vote_score(np.var(group_codes_train, axis=1, ddof=1), fixed_train,
                               np.var(group_codes_eval, axis=1, ddof=1), fixed_eval, global_variances, prune_threshold)


def majority_vote_score(local_variances_train: np.ndarray, fixed_train: np.ndarray, local_variances_eval: np.ndarray,
                        fixed_eval: np.ndarray, global_variances: np.ndarray,
                        prune_threshold: float = 0.05) -> dict[str, float]:
    """The FactorVAE score from each vote's per-dimension variances (V, D) and fixed factor index (V,)."""
    global_variances = np.asarray(global_variances, dtype=np.float64)
    active = np.sqrt(global_variances) >= prune_threshold
    if not active.any():
        return {'train_accuracy': 0.0, 'eval_accuracy': 0.0, 'num_active_dims': 0}
    num_labels = int(max(np.max(fixed_train), np.max(fixed_eval))) + 1
    train_votes = _votes(local_variances_train, fixed_train, global_variances, active, num_labels)
    eval_votes = _votes(local_variances_eval, fixed_eval, global_variances, active, num_labels)
    classifier = train_votes.argmax(axis=0)              # for each active code dimension, its factor
    dims = np.arange(train_votes.shape[1])
    return {'train_accuracy': float(train_votes[classifier, dims].sum() / train_votes.sum()),
            'eval_accuracy': float(eval_votes[classifier, dims].sum() / eval_votes.sum()),
            'num_active_dims': int(active.sum())}


def _votes(local_variances, fixed, global_variances, active, num_labels) -> np.ndarray:
    """(num_labels, active D) counts of (fixed factor, argmin of the normalised variance over active dims)."""
    normalised = np.asarray(local_variances)[:, active] / global_variances[active]
    argmin = normalised.argmin(axis=1)
    flat = np.asarray(fixed, dtype=np.int64) * active.sum() + argmin
    return np.bincount(flat, minlength=num_labels * int(active.sum())).reshape(num_labels, -1)


@register.metric('factor-vae', needs=('factors',))
def evaluate_factor_vae(dataset, represent: Callable[[torch.Tensor], torch.Tensor], generator: torch.Generator,
                        batch_size: int = 64, num_train: int = 10000, num_eval: int = 5000,
                        num_variance_estimate: int = 10000, prune_threshold: float = 0.05,
                        encode_batch_size: int = 256, device=None, progress: bool = False) -> dict[str, float]:
    """FactorVAE score (Kim & Mnih 2018): majority-vote accuracy of the least-varying code under a fixed factor."""
    codes, _ = sample_codes(dataset, represent, num_variance_estimate, generator, device, encode_batch_size)
    global_variances = np.var(codes, axis=0, ddof=1)
    if not (np.sqrt(global_variances) >= prune_threshold).any():
        return {'train_accuracy': 0.0, 'eval_accuracy': 0.0, 'num_active_dims': 0}
    train = sample_votes(dataset, represent, num_train, batch_size, generator, device, encode_batch_size,
                         progress and 'FactorVAE training votes')
    evaluation = sample_votes(dataset, represent, num_eval, batch_size, generator, device, encode_batch_size,
                              progress and 'FactorVAE evaluation votes')
    return majority_vote_score(*train, *evaluation, global_variances, prune_threshold)


def sample_votes(dataset, represent, num_votes: int, batch_size: int, generator: torch.Generator, device=None,
                 encode_batch_size: int = 256, progress: str | bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``num_votes`` groups: per-dimension code variances (V, D) and the index of the fixed factor (V,).

    Votes are drawn and encoded a chunk of about 4096 observations at a time (``group_chunks``), every draw of
    the chunk at once. ``progress``: a bar label, or False.
    """
    choices = torch.tensor(varying_factors(dataset))
    variances, labels = [], []
    for groups in chunk_bar(group_chunks(num_votes, batch_size), progress):
        fixed = choices[torch.randint(len(choices), (groups,), generator=generator)]
        factors = dataset.sample_factors(groups * batch_size, generator).reshape(groups, batch_size, -1)
        column = fixed.view(groups, 1, 1).expand(groups, batch_size, 1)
        factors.scatter_(2, column, factors[:, :1].gather(2, fixed.view(groups, 1, 1)).expand(groups, batch_size, 1))
        codes = encode_groups(dataset, represent, factors, device, encode_batch_size)
        variances.append(np.var(codes, axis=1, ddof=1))
        labels.append(fixed.numpy())
    return np.concatenate(variances), np.concatenate(labels)
