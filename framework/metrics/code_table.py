"""A code table: each combination of a discrete factor grid rendered and encoded at most once per suite.

The reference protocols of disentanglement_lib (Locatello et al. 2019) draw about 2.9 M factor combinations
(the β-VAE and FactorVAE scores, then the draws MIG, DCI, SAP and modularity share), but a discrete grid is
finite: dSprites has 737,280 combinations, 3DShapes 480,000. Where the code of a combination is a function of
the combination, a repeated draw is a lookup. The table is keyed by the flat (row-major, mixed-radix) index of
the combination and filled lazily, so only combinations a metric asks for are ever encoded.

A table is kept only where that changes no value beyond float round-off (``table_refusal``): every factor is
discrete; the dataset's ``images_for`` gives one observation per combination (``deterministic_images``, true by
default; SmallNORB's randomly drawn instance is not); the representation is declared deterministic
(``deterministic_represent``, see ``represents_deterministically``); the table holds at most ``MAX_ENTRIES``
numbers. Otherwise every draw is rendered and encoded, as without a table.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

MAX_ENTRIES = 50_000_000        # combinations x code dimensions: 200 MB of float32 codes


def table_refusal(dataset, represent: Callable, code_dims: int = 1) -> str | None:
    """Why a suite cannot keep a code table for ``represent`` on ``dataset`` (None when it can)."""
    sizes = getattr(dataset, 'factor_sizes', None)
    if not sizes or any(size is None for size in sizes):
        return f'{getattr(dataset, "name", "the dataset")} has continuous factors'
    if not getattr(dataset, 'deterministic_images', True):
        return f'{dataset.name} draws an observation for a factor combination at random'
    if math.prod(sizes) * code_dims > MAX_ENTRIES:
        return (f'{dataset.name} has {math.prod(sizes):,} factor combinations, too many for a table of '
                f'{code_dims} code dimensions')
    if not represents_deterministically(represent):
        return 'the representation is not declared deterministic'
    return None


def represents_deterministically(represent: Callable) -> bool:
    """Whether ``represent(x)`` gives each observation the same code whatever the batch and the call.

    Declared by an attribute ``deterministic_represent``: on the function itself, or on the object of a bound
    method (``Method`` sets it True, since every core method represents by a posterior mean or a plain
    encoder output; a method whose ``represent`` samples sets it False). Undeclared means unknown, and so no
    table. A module in training mode never counts as deterministic: dropout and batch statistics change codes.
    """
    owner = getattr(represent, '__self__', None)
    declared = getattr(represent, 'deterministic_represent', None)
    if declared is None:
        declared = getattr(owner, 'deterministic_represent', None)
    module = owner if isinstance(owner, torch.nn.Module) else represent
    if isinstance(module, torch.nn.Module) and module.training:
        return False
    return bool(declared)


def expected_unique(draws: float, combinations: int) -> float:
    """Expected number of distinct combinations among ``draws`` uniform draws from ``combinations``:
    N (1 − exp(−T / N)), the occupancy formula; never more than the draws or the grid."""
    if combinations <= 0 or draws <= 0:
        return 0.0
    return min(float(draws), combinations * -math.expm1(-draws / combinations))


class CodeTable:
    """Codes of a factor grid's combinations, kept as they are encoded: ``codes(factors, encode)``.

    ``encoded`` counts the combinations encoded so far. Codes are stored in float32 when they are exactly
    float32 (a model's output), else in float64, so a lookup returns the very numbers an encoding gave.
    """

    def __init__(self, factor_sizes, max_entries: int = MAX_ENTRIES):
        self.factor_sizes = torch.tensor([int(size) for size in factor_sizes], dtype=torch.long)
        self.combinations = math.prod(int(size) for size in factor_sizes)
        self.strides = torch.tensor([math.prod(int(s) for s in factor_sizes[i + 1:]) for i in range(len(factor_sizes))],
                                    dtype=torch.long)
        self.max_entries = int(max_entries)
        self.table: np.ndarray | None = None
        self.filled = np.zeros(self.combinations, dtype=bool)
        self.encoded = 0
        self.refusal: str | None = None      # set when the codes turn out too wide to keep

    def codes(self, factors: torch.Tensor, encode: Callable[[torch.Tensor], np.ndarray]) -> np.ndarray:
        """Codes (N, D) float64 of factor classes (N, F); ``encode(factors) -> codes`` is called once, on the
        combinations not in the table (each once, in flat order)."""
        keys = self.keys(factors)
        missing = ~self.filled[keys]
        if not missing.any():
            return self.table[keys].astype(np.float64)
        new_keys, first = np.unique(keys[missing], return_index=True)
        new_codes = np.asarray(encode(factors[torch.from_numpy(np.flatnonzero(missing)[first])]))
        self.encoded += len(new_keys)
        if not self._store(new_keys, new_codes):      # too wide: these codes serve this call only
            return new_codes[np.searchsorted(new_keys, keys)].astype(np.float64)
        return self.table[keys].astype(np.float64)

    def keys(self, factors: torch.Tensor) -> np.ndarray:
        """Flat row-major indices (N,) of factor classes (N, F)."""
        factors = torch.as_tensor(factors, dtype=torch.long)
        if factors.ndim != 2 or factors.shape[1] != len(self.factor_sizes):
            raise ValueError(f'factor classes must be (N, {len(self.factor_sizes)}), got {tuple(factors.shape)}')
        if (factors < 0).any() or (factors >= self.factor_sizes).any():
            raise ValueError(f'factor classes out of range for sizes {tuple(self.factor_sizes.tolist())}')
        return (factors * self.strides).sum(1).numpy()

    def _store(self, keys: np.ndarray, codes: np.ndarray) -> bool:
        codes = codes.reshape(len(keys), -1)
        if self.table is None:
            if self.combinations * codes.shape[1] > self.max_entries:
                self.refusal = (f'{self.combinations:,} combinations x {codes.shape[1]} code dimensions are more '
                                f'than a table holds ({self.max_entries:,})')
                return False
            self.table = np.empty((self.combinations, codes.shape[1]), dtype=np.float32)
        if self.table.dtype == np.float32 and not np.array_equal(codes.astype(np.float32), codes, equal_nan=True):
            self.table = self.table.astype(np.float64)
        self.table[keys] = codes
        self.filled[keys] = True
        return True
