"""Seeding and the complete random state (Python, numpy, torch CPU and CUDA) as checkpointable plain values.

Saving and restoring every generator is what makes a resumed run bit-exact; the state holds only tensors,
ints, floats and lists, so it loads with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import random

import numpy as np
import torch

def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


def rng_state(device: torch.device | None = None) -> dict:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, mt, gauss = random.getstate()
    state = {'torch': torch.get_rng_state(), 'python': [version, list(mt), gauss],
             'numpy': {'keys': torch.from_numpy(keys.astype(np.int64)), 'pos': int(pos),
                       'has_gauss': int(has_gauss), 'cached': float(cached)}}
    if device is not None and device.type == 'cuda':
        state['cuda'] = torch.cuda.get_rng_state(device)     # this rank's GPU only: never touch the others
    return state


def set_rng_state(state: dict, device: torch.device | None = None) -> None:
    torch.set_rng_state(state['torch'].cpu())
    version, mt, gauss = state['python']
    random.setstate((version, tuple(mt), gauss))
    n = state['numpy']
    np.random.set_state(('MT19937', n['keys'].cpu().numpy().astype(np.uint32), n['pos'], n['has_gauss'], n['cached']))
    if device is not None and device.type == 'cuda' and 'cuda' in state:
        cuda = state['cuda']
        if isinstance(cuda, (list, tuple)):                  # written by an older version: one per GPU
            cuda = cuda[device.index or 0] if len(cuda) > (device.index or 0) else None
        if cuda is not None:
            torch.cuda.set_rng_state(cuda.cpu(), device)
