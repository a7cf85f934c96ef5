"""Naming bad data: which samples of a batch hold a NaN or an infinity, by their index in the dataset file.

The trainer calls this only once a loss has become non-finite, so that a NaN in the data is reported as bad data
(the samples to repair or drop), not as an optimisation problem; a good step costs nothing.
"""
from __future__ import annotations

import torch


def bad_samples(batch: dict, indices, shown: int = 10) -> str:
    """``'x' of dataset samples 17, 523`` for every floating tensor of ``batch`` with a non-finite value."""
    parts = []
    for key, value in batch.items():
        if not (torch.is_tensor(value) and value.is_floating_point()) or value.ndim == 0:
            continue
        rows = (~torch.isfinite(value.reshape(value.shape[0], -1))).any(dim=1).nonzero().flatten().cpu()
        if len(rows):
            ids = [int(indices[i]) for i in rows] if indices is not None else rows.tolist()
            more = f' and {len(ids) - shown} more' if len(ids) > shown else ''
            parts.append(f'{key!r} of dataset samples {", ".join(map(str, ids[:shown]))}{more}')
    return '; '.join(parts)


def full_dataset_indices(dataset, indices):
    """Indices into the whole dataset file (a split holds its own ``indices`` into its parent)."""
    while indices is not None and hasattr(dataset, 'parent') and torch.is_tensor(getattr(dataset, 'indices', None)):
        indices, dataset = dataset.indices[torch.as_tensor(indices, dtype=torch.long)], dataset.parent
    return indices
