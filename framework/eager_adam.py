"""Adam for eager runs: torch's own arithmetic, without importing ``torch._dynamo`` on the first call.

``torch.optim.Adam`` marks ``step``, ``zero_grad``, ``add_param_group`` and its state-dict functions as not to be
compiled, and each mark imports ``torch._dynamo`` when first called: 1.6 s of CPU here, more than the training
of a short sweep point. A run without ``--compile`` calls the same functions without the marks, so the update is
torch's, bit for bit (``tests/test_eager_adam.py``); with ``--compile`` the trainer uses ``torch.optim.Adam``.
"""
from __future__ import annotations

import inspect

import torch

_Optimizer = torch.optim.Optimizer


class EagerAdam(torch.optim.Adam):
    """``torch.optim.Adam`` whose methods run undecorated (for a process that never calls ``torch.compile``)."""

    _step = staticmethod(inspect.unwrap(torch.optim.Adam.step))   # the update itself, under torch's grad mode below

    def step(self, closure=None):
        with torch.set_grad_enabled(self.defaults['differentiable']):
            return self._step(self, closure)

    zero_grad = inspect.unwrap(_Optimizer.zero_grad)
    add_param_group = inspect.unwrap(_Optimizer.add_param_group)
    state_dict = inspect.unwrap(_Optimizer.state_dict)
    load_state_dict = inspect.unwrap(_Optimizer.load_state_dict)


def adam_class(compiled: bool) -> type[torch.optim.Adam]:
    """The Adam a run builds: torch's own when it compiles the model, else the one that does not import dynamo."""
    return torch.optim.Adam if compiled else EagerAdam
