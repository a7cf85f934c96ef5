"""IRS, the interventional robustness score (Suter et al. 2019), disentanglement_lib's form.

Factors are first discretised with the 20-bin histogram; code dimensions of zero variance are dropped. For
factor j and each of its values v, the ``diff_quantile`` quantile over the points with y_j = v of
|z − E[z | y_j = v]| measures how much the code still moves when factor j is held fixed; its mean over the
values, divided by the code's largest deviation from its mean, is subtracted from 1. Each code keeps its best
factor, and the codes are averaged with their largest deviations as weights.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..registry import register
from .common import sample_codes
from .information import check_arrays, discretize


def irs(codes: np.ndarray, factors: np.ndarray, diff_quantile: float = 0.99, num_bins: int = 20) -> dict[str, float]:
    """IRS of codes (N, D) against factors (N, F), discrete or continuous: ``{'irs', 'num_active_dims'}``."""
    codes, factors = check_arrays(codes, factors)
    active = codes.var(axis=0) > 0
    if not active.any():
        return {'irs': 0.0, 'num_active_dims': 0}
    factor_bins = discretize(factors.astype(np.float64), num_bins)
    matrix, max_deviation = irs_matrix(codes[:, active], factor_bins, diff_quantile)
    per_code = matrix.max(axis=1) if matrix.shape[1] else np.zeros(matrix.shape[0])
    if max_deviation.sum() > 0:
        score = float(np.average(per_code, weights=max_deviation))
    else:
        score = float(np.mean(per_code))
    return {'irs': score, 'num_active_dims': int(active.sum())}


def irs_matrix(codes: np.ndarray, factor_bins: np.ndarray, diff_quantile: float = 0.99) -> tuple[np.ndarray, np.ndarray]:
    """(1 − mean_v quantile |z − E[z | y_j = v]| / max |z − E z|) for every code and factor: (D, F), and the
    maximal deviations (D,). Loops over factors and their (at most ``num_bins``) values, never over codes."""
    max_deviation = np.abs(codes - codes.mean(axis=0)).max(axis=0)
    cumulative = np.zeros((codes.shape[1], factor_bins.shape[1]))
    for j in range(factor_bins.shape[1]):
        values = np.unique(factor_bins[:, j])
        for value in values:
            group = codes[factor_bins[:, j] == value]
            deviation = np.abs(group - group.mean(axis=0))
            cumulative[:, j] += np.percentile(deviation, q=diff_quantile * 100, axis=0)
        cumulative[:, j] /= len(values)
    with np.errstate(divide='ignore', invalid='ignore'):
        return 1.0 - cumulative / max_deviation[:, None], max_deviation


@register.metric('irs', needs=('factors',))
def evaluate_irs(dataset, represent: Callable[[torch.Tensor], torch.Tensor], generator: torch.Generator,
                 num_train: int = 10000, diff_quantile: float = 0.99, num_bins: int = 20,
                 encode_batch_size: int = 256, device=None) -> dict[str, float]:
    """Interventional robustness score (Suter et al. 2019) on points drawn from the dataset's factors."""
    codes, factors = sample_codes(dataset, represent, num_train, generator, device, encode_batch_size)
    return irs(codes, factors, diff_quantile=diff_quantile, num_bins=num_bins)
