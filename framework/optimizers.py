"""The optimisers a method declares (``Method.optimizers``): built, checked, scheduled and, under DDP with
several of them, their gradients averaged. The trainer steps them; ``framework/trainer.py`` has the loop."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.distributed as dist

from .eager_adam import adam_class
from .errors import ConfigError
from .methods.base import OptimizerSpec


@dataclass
class Optimizer:
    """A method's optimiser as the trainer holds it: the spec it was built from, the Adam, its schedule."""
    spec: OptimizerSpec
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR


def build_optimizers(method, s) -> list[Optimizer]:
    """One Adam and one schedule per ``OptimizerSpec`` of ``method.optimizers(s)`` (``s``: the run's
    ``TrainSettings``); the specs are checked first: unique names, parameters, ``every >= 1``, no sharing."""
    specs = list(method.optimizers(s))
    owner: dict[int, str] = {}
    names = [spec.name for spec in specs]
    problems = [] if specs else ['it declares none']
    if len(set(names)) != len(names):
        problems.append(f'the names {names} repeat')
    for spec in specs:
        spec.params = list(spec.params)
        if not spec.params:
            problems.append(f'{spec.name!r} has no parameters')
        if spec.every < 1:
            problems.append(f'{spec.name!r} has every={spec.every} (must be >= 1)')
        for p in spec.params:
            if id(p) in owner and owner[id(p)] != spec.name:
                problems.append(f'{spec.name!r} and {owner[id(p)]!r} share parameters')
                break
            owner[id(p)] = spec.name
    if problems:
        raise ConfigError(f'{type(method).__name__}.optimizers() is not usable: ' + '; '.join(problems) + '.')
    built, adam = [], adam_class(compiled=s.compile)
    for spec in specs:
        optimizer = adam(spec.params, lr=s.lr if spec.lr is None else spec.lr,
                                     betas=(s.beta1, s.beta2) if spec.betas is None else tuple(spec.betas),
                                     weight_decay=s.weight_decay if spec.weight_decay is None else spec.weight_decay)
        built.append(Optimizer(spec, optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(s))))
    return built


def average_gradients(params: list, world_size: int) -> None:
    """Average ``params``' gradients over the ranks in one all-reduce (a missing gradient counts as zero).

    The several-optimiser path of the trainer runs its backward passes outside DDP's own bucketed reduction
    (each loss reaches only its own parameters), then calls this once per step.
    """
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    if not params:
        return
    flat = torch.cat([p.grad.reshape(-1) for p in params])
    dist.all_reduce(flat)
    flat /= world_size
    offset = 0
    for p in params:
        p.grad.copy_(flat[offset:offset + p.numel()].view_as(p.grad))
        offset += p.numel()


def _schedule(s):
    """The learning-rate factor of each step for ``--schedule``."""
    if s.schedule == 'none':
        return _constant
    if s.schedule == 'cosine':
        return _Cosine(s.steps, s.lr_min / s.lr if s.lr > 0 else 0.0)
    if s.schedule == 'step':
        return _Step(s.step_size, s.gamma)
    raise ConfigError(f"schedule must be 'none', 'cosine' or 'step', got {s.schedule!r}")


def _constant(step: int) -> float:
    return 1.0


class _Cosine:
    def __init__(self, steps: int, floor: float):
        self.steps, self.floor = max(1, steps), floor

    def __call__(self, step: int) -> float:
        progress = min(step, self.steps) / self.steps
        return self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * progress))


class _Step:
    def __init__(self, size: int, gamma: float):
        self.size, self.gamma = max(1, size), gamma

    def __call__(self, step: int) -> float:
        return self.gamma ** (step // self.size)

