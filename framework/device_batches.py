"""Moving a batch built on the host to the training device.

On CUDA, ``non_blocking=True`` is asynchronous only from pinned (page-locked) host memory; from ordinary memory the
copy waits. Pinned, the copy is queued behind the running step, and since the loop reads nothing back each step
(``framework/finite_guard.py``) the host gathers the next batch while the GPU computes this one. On the CPU there
is nothing to pin and the batch is used as it is.
"""
from __future__ import annotations

import torch


def pins_memory(device: torch.device) -> bool:
    """Whether batches for ``device`` are pinned first: only for a CUDA device that exists."""
    return torch.device(device).type == 'cuda' and torch.cuda.is_available()


def to_device(batch: dict[str, torch.Tensor], device: torch.device, pin: bool) -> dict[str, torch.Tensor]:
    """``batch`` on ``device``; ``pin`` (from ``pins_memory``) stages it in pinned memory for an asynchronous copy."""
    if pin:
        batch = {k: v.pin_memory() for k, v in batch.items()}
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def channels_last(batch: dict) -> dict:
    """Images (4-D tensors) in the channels-last layout the conv weights have: the same values, faster convolutions."""
    return {k: v.contiguous(memory_format=torch.channels_last) if torch.is_tensor(v) and v.dim() == 4 else v
            for k, v in batch.items()}
