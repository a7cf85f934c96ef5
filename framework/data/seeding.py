"""Counter-based random numbers: the same draws for the same (seed, index, stream), for a whole batch at once.

Sequence datasets must give the same sequence for the same index in every epoch, process and batch
composition. Seeding a ``torch.Generator`` per item would mean a Python loop per batch; instead each draw is
a hash of (seed, index, stream, position) through the SplitMix64 finaliser, computed on int64 tensors
(multiplication wraps modulo 2^64, right shifts are made logical with a mask).
"""
from __future__ import annotations

import torch

_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB


def _signed(value: int) -> int:
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


def _shift_right(x: torch.Tensor, bits: int) -> torch.Tensor:
    return (x >> bits) & ((1 << (64 - bits)) - 1)


def _mix(x: torch.Tensor) -> torch.Tensor:
    x = x ^ _shift_right(x, 30)
    x = x * _signed(_MIX1)
    x = x ^ _shift_right(x, 27)
    x = x * _signed(_MIX2)
    return x ^ _shift_right(x, 31)


def uniform(seed: int, indices: torch.Tensor, count: int, stream: int = 0) -> torch.Tensor:
    """``count`` uniform draws in [0, 1) per index: float64 (B, count), a pure function of its arguments."""
    indices = torch.as_tensor(indices, dtype=torch.long).reshape(-1)
    key = _mix(indices * _signed(_GOLDEN) + _signed(int(seed) * 0x632BE59BD9B4E019 + 0x1234567))
    positions = (torch.arange(count, dtype=torch.long) + int(stream) * 1_000_003 + 1) * _signed(_GOLDEN)
    bits = _mix(key[:, None] ^ _mix(positions)[None, :])
    return _shift_right(bits, 11).double() / float(1 << 53)


def randint(low: torch.Tensor | int, high: torch.Tensor | int, draws: torch.Tensor) -> torch.Tensor:
    """Integers uniform in [low, high) from uniform ``draws`` (any shape broadcasting with the bounds)."""
    low = torch.as_tensor(low, dtype=torch.long)
    span = (torch.as_tensor(high, dtype=torch.long) - low).clamp_min(1)
    return low + torch.minimum((draws * span).long(), span - 1)


def between(low: float, high: float, draws: torch.Tensor) -> torch.Tensor:
    """Floats uniform in [low, high) from uniform ``draws``."""
    return (low + (high - low) * draws).float()
