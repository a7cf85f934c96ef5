"""MIG, the mutual information gap (Chen et al. 2018, Eq. 6), in disentanglement_lib's discrete form.

Each code dimension is discretised into 20 equal-width bins over its own range; m[i, j] = I(c_i; y_j) in nats;
MIG = mean over factors of (largest − second largest m[·, j]) / H(y_j).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..registry import register
from .common import sample_codes
from .information import (check_arrays, discrete_entropy, discretize, informative_factors, mutual_information_matrix,
                          top_two_gaps)


def mig(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20) -> dict[str, float]:
    """MIG of codes (N, D) against factor classes (N, F): ``{'mig': float}`` in [0, 1].

    Factors that never vary (zero entropy) are left out: their gap is 0/0. With a single code dimension the
    second largest mutual information is 0.
    """
    codes, factors = check_arrays(codes, factors)
    factors = factors[:, informative_factors(factors)]
    if factors.shape[1] == 0:
        return {'mig': 0.0}
    information = mutual_information_matrix(discretize(codes, num_bins), factors)   # (D, F)
    return {'mig': float(np.mean(top_two_gaps(information) / discrete_entropy(factors)))}


@register.metric('mig', needs=('discrete_factors',))
def evaluate_mig(dataset, represent: Callable[[torch.Tensor], torch.Tensor], generator: torch.Generator,
                 num_train: int = 10000, num_bins: int = 20, encode_batch_size: int = 256,
                 device=None) -> dict[str, float]:
    """Mutual information gap (Chen et al. 2018) on ``num_train`` points drawn from the dataset's factor grid."""
    codes, factors = sample_codes(dataset, represent, num_train, generator, device, encode_batch_size)
    return mig(codes, factors, num_bins=num_bins)
