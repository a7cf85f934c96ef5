"""Checks that a model, a dataset and a checkpoint fit together, run before anything is written.

A mismatch fails with the names and shapes involved and what to change, instead of a shape error deep
inside a forward pass or a half-loaded model.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .errors import ConfigError, DataError, RunError
from .random_state import rng_state, set_rng_state

def check_observation_shapes(method: torch.nn.Module, dataset) -> None:
    """The dataset's batches, its declared ``observation_shape`` and the shapes the method's encoder and decoder
    were built for must agree; otherwise say which part disagrees and how to fix it."""
    shape = tuple(int(n) for n in dataset.observation_shape)
    name = getattr(dataset, 'name', type(dataset).__name__)
    if len(dataset) > 0:
        rng = rng_state()                # a dataset may draw (e.g. sequence walks): leave the run's state as is
        try:
            x = dataset.batch(torch.arange(min(2, len(dataset))))['x']
        finally:
            set_rng_state(rng)
        got = tuple(x.shape[-len(shape):]) if shape else ()
        if got != shape:
            raise DataError(f'Dataset {name!r} declares observations of shape {shape}, but its batches hold '
                            f'{tuple(x.shape[1:])}; the dataset is inconsistent (check its files or options).')
    for attr, declared in (('encoder', 'in_shape'), ('decoder', 'out_shape')):
        module = getattr(method, attr, None)
        want = getattr(module, declared, None)
        if want is None:
            continue
        want = tuple(int(n) for n in want)
        if want == shape:
            continue
        arch = type(module).__name__
        if len(want) == len(shape) == 3 and want[0] != shape[0]:
            problem = (f'the {attr} ({arch}) was built for {want[0]}-channel images {want}, but dataset {name!r} '
                       f'gives {shape[0]}-channel images {shape}')
            fix = (f'Use a dataset with {want[0]} channel(s), or build the {attr} from the dataset '
                   f'(`{declared}=observation_shape`, as the shipped methods do).')
        else:
            problem = f'the {attr} ({arch}) was built for {declared}={want}, but dataset {name!r} gives {shape}'
            fix = (f'Choose an architecture and dataset that agree, or build the {attr} from the dataset '
                   f'(`{declared}=observation_shape`).')
        raise ConfigError(f'Shape mismatch: {problem}. {fix}')


def check_state_matches(method: torch.nn.Module, state: dict, path: Path) -> None:
    """A checkpoint from another config fails with the mismatched parameter names and shapes."""
    own = method.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    reshaped = sorted(k for k in set(own) & set(state) if _shape(own[k]) != _shape(state[k]))
    if missing or unexpected or reshaped:
        lines = []
        if missing:
            lines.append(f'missing from the checkpoint: {", ".join(missing[:10])}')
        if unexpected:
            lines.append(f'not in this model: {", ".join(unexpected[:10])}')
        if reshaped:
            lines.append('different shapes: ' + ', '.join(
                f'{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}' for k in reshaped[:10]))
        raise RunError(f'Checkpoint {path} does not fit the model built from this config; '
                       + '; '.join(lines) + '. Load it with the config it was trained with (`--load RUN`).')


def _shape(value) -> tuple | None:
    """A tensor's shape; None for a module's extra state (``get_extra_state``), which has none."""
    return tuple(value.shape) if hasattr(value, 'shape') else None
