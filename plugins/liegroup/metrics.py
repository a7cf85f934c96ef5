"""Metric variants of the Commutative Lie Group VAE's code (Zhu, Xu & Tao, ICML 2021) that the framework's
metrics have no knob for; ``eval/liegroup-repo`` combines them with framework metrics at the repository's
settings (FactorVAE threshold 0.1, continuous SAP, 1000-point DCI/modularity, 5-pair β-VAE).

- ``liegroup-mig``: MIG on 1000 points **without the first factor** (the repository drops ``fac[0]``, which is
  shape on dSprites and floor hue on 3DShapes);
- ``liegroup-factor-leakage``: the repository's factor leakage scores, also without the first factor.

Factors that never vary (dSprites' colour in the published file) are dropped first, because the repository's
dSprites has no colour column; "the first factor" is then the first one that varies. Both are built on the
framework's array helpers (``framework.metrics.common``: discretiser, mutual information, sampling).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from framework import register


def _common():
    from framework.metrics import common          # imported on use: plugins import before metrics run
    return common


# --------------------------------------------------------------------------- array forms

def repo_information(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20,
                     drop_first_factor: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(mutual information (D, F'), factor entropies (F',)) over the factors the repository scores."""
    c = _common()
    codes, factors = c.check_arrays(codes, factors)
    factors = factors[:, c.informative_factors(factors)]
    if drop_first_factor:
        factors = factors[:, 1:]
    if factors.shape[1] == 0:
        return np.zeros((codes.shape[1], 0)), np.zeros(0)
    return c.mutual_information_matrix(c.discretize(codes, num_bins), factors), c.discrete_entropy(factors)


def repo_mig(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20, drop_first_factor: bool = True) -> dict:
    """MIG as the repository computes it: constant factors removed, then the first factor dropped."""
    information, entropy = repo_information(codes, factors, num_bins, drop_first_factor)
    if information.shape[1] == 0:
        return {'mig': 0.0}
    ordered = np.sort(information, axis=0)[::-1]
    second = ordered[1] if ordered.shape[0] > 1 else np.zeros(ordered.shape[1])
    return {'mig': float(np.mean((ordered[0] - second) / entropy))}


def repo_factor_leakage(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20,
                        drop_first_factor: bool = True) -> dict:
    """Factor leakage: S = the (C, F) information matrix sorted down each factor's column,
    Ŝ = S with each column divided by its maximum; ``mean`` = mean(S[1:]) (nats leaking into all but the top
    code), ``norm_mean`` = mean(Ŝ[1:]), ``auc`` = (1/C) Σ_{i=0}^{C-1} mean(Ŝ[i:]),
    ``nm_auc`` = (1/(C-1)) Σ_{i=1}^{C-1} mean(Ŝ[i:])."""
    information, _ = repo_information(codes, factors, num_bins, drop_first_factor)
    num_codes = information.shape[0]
    if information.shape[1] == 0 or num_codes < 2:
        return {'mean': 0.0, 'norm_mean': 0.0, 'auc': 0.0, 'nm_auc': 0.0}
    ordered = np.sort(information, axis=0)[::-1]
    with np.errstate(divide='ignore', invalid='ignore'):
        normalised = np.nan_to_num(ordered / ordered[:1])
    tails = [normalised[i:].mean() for i in range(num_codes)]
    return {'mean': float(ordered[1:].mean()), 'norm_mean': float(normalised[1:].mean()),
            'auc': float(np.mean(tails)), 'nm_auc': float(np.mean(tails[1:]))}


# --------------------------------------------------------------------------- protocol forms

@register.metric('liegroup-mig', needs=('discrete_factors',))
def evaluate_liegroup_mig(dataset, represent: Callable, generator: torch.Generator, num_train: int = 1000,
                          num_bins: int = 20, drop_first_factor: bool = True, encode_batch_size: int = 256,
                          device=None) -> dict[str, float]:
    """MIG without the first factor, on 1000 points (the Lie group VAE repository's ``discrete_mig``)."""
    codes, factors = _common().sample_codes(dataset, represent, num_train, generator, device, encode_batch_size)
    return repo_mig(codes, factors, num_bins, drop_first_factor)


@register.metric('liegroup-factor-leakage', needs=('discrete_factors',))
def evaluate_liegroup_factor_leakage(dataset, represent: Callable, generator: torch.Generator,
                                     num_train: int = 1000, num_bins: int = 20, drop_first_factor: bool = True,
                                     encode_batch_size: int = 256, device=None) -> dict[str, float]:
    """Factor leakage of the Lie group VAE repository (mutual information outside each factor's top code)."""
    codes, factors = _common().sample_codes(dataset, represent, num_train, generator, device, encode_batch_size)
    return repo_factor_leakage(codes, factors, num_bins, drop_first_factor)


evaluate_liegroup_factor_leakage.lower_is_better = True      # leakage: lower scores are more disentangled
