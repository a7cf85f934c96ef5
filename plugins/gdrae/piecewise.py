"""The flows are piecewise linear, so a flow with frozen ReLU masks and no biases *is* its Jacobian (plugins/gdrae/README.md, "The method").

GDRAE's flow decoders are made of linear maps, biases and ReLUs (the output sigmoid is handled apart, through the
decoder's ``output_slope``). At a point u every ReLU acts as multiplication by its mask ``pre-activation > 0``,
so ``J_F(u) v`` is the same network applied to v with the masks frozen at u and the biases dropped: the reference's
"slope-frozen, bias-free copy". That costs less than one plain forward, against a forward-mode JVP (which re-runs
the primal, about 2.2 forwards on CPU) or a VJP of the VJP (about 1.5 forwards). Transposes still come from
``torch.func.vjp``; nothing here is a hand-written derivative rule.

The flows call :func:`relu` (or hold a :class:`MaskableReLU`), which records masks inside :func:`recording_masks`
and replays them inside :func:`replaying_masks`. Masks are recorded in call order, so one recorded forward
defines one linear map.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator

import torch
from torch import nn
from torch.func import functional_call

_RECORDING: ContextVar[list | None] = ContextVar('gdrae_recording_masks', default=None)
_REPLAYING: ContextVar[Iterator[torch.Tensor] | None] = ContextVar('gdrae_replaying_masks', default=None)
_MISMATCH = ('the linearised flow used {} ReLU masks than its recorded forward: a piecewise-linear flow must call '
             'plugins.gdrae.piecewise.relu the same way at every pass')


def relu(x: torch.Tensor) -> torch.Tensor:
    """ReLU that records its mask or applies a recorded one (see the module docstring)."""
    replay = _REPLAYING.get()
    if replay is not None:
        mask = next(replay, None)
        if mask is None:
            raise RuntimeError(_MISMATCH.format('more'))
        return x * mask
    recording = _RECORDING.get()
    if recording is not None:
        mask = (x > 0).to(x.dtype)
        recording.append(mask)
        return x * mask
    return torch.relu(x)


class MaskableReLU(nn.Module):
    """:func:`relu` as a module, for ``nn.Sequential`` stacks (no parameters, so state-dict keys do not change)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return relu(x)


@contextmanager
def recording_masks():
    """Collect the ReLU masks of the forward passes inside the block into the yielded list."""
    masks: list[torch.Tensor] = []
    token = _RECORDING.set(masks)
    try:
        yield masks
    finally:
        _RECORDING.reset(token)


@contextmanager
def replaying_masks(masks: list[torch.Tensor]):
    """Inside the block, the flows' ReLUs multiply by ``masks`` in order; every mask must be used exactly once."""
    replay = iter(masks)
    token = _REPLAYING.set(replay)
    try:
        yield
    finally:
        _REPLAYING.reset(token)
    if next(replay, None) is not None:
        raise RuntimeError(_MISMATCH.format('fewer'))


def linear_map(decoder: nn.Module, masks: list[torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """v -> J_F(u) v for the full output (before the output activation), graph-free, from the masks at u.

    The decoder's parameters named ``*bias`` are its only affine offsets (true for both GDRAE flows); they are
    replaced by zeros, and the weights are detached.
    """
    state = {name: torch.zeros_like(p) if name.rsplit('.', 1)[-1] == 'bias' else p.detach()
             for name, p in decoder.named_parameters()}
    state.update(dict(decoder.named_buffers()))

    def apply(v: torch.Tensor) -> torch.Tensor:
        with replaying_masks(masks):
            return functional_call(decoder, state, (v,), {'full': True})
    return apply
