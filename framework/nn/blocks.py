"""Building blocks shared by the architectures: activations, the SAE paper's conv layer, MLPs."""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from ..errors import ConfigError

ACTIVATIONS = {
    'relu': nn.ReLU, 'elu': nn.ELU, 'mish': nn.Mish, 'silu': nn.SiLU, 'gelu': nn.GELU,
    'lrelu': lambda: nn.LeakyReLU(0.2), 'tanh': nn.Tanh, 'sigmoid': nn.Sigmoid, 'softplus': nn.Softplus,
}


def activation(name: str | None) -> nn.Module:
    """An activation module by name (``None`` or ``'none'`` gives the identity)."""
    if name is None or str(name).lower() == 'none':
        return nn.Identity()
    try:
        return ACTIVATIONS[str(name).lower()]()
    except KeyError:
        raise ConfigError(f'Unknown activation {name!r}; known: {", ".join(sorted(ACTIVATIONS))}.') from None


class ConvLayer(nn.Sequential):
    """Upsample (bilinear ×2) -> Conv k×k (same padding) -> MaxPool 2 -> GroupNorm(8) -> activation.

    The layer of the SAE paper's conv stacks (Leeb et al., "Structure by Architecture"): down-sampling is a conv followed by
    a max-pool, never a strided conv; each step is optional.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 3, up: bool = False,
                 down: bool = False, norm: bool = True, act: str | None = 'elu'):
        layers: list[nn.Module] = []
        if up:
            layers.append(nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False))
        layers.append(nn.Conv2d(in_channels, out_channels, kernel, padding=(kernel - 1) // 2))
        if down:
            layers.append(nn.MaxPool2d(2))
        if norm:
            layers.append(nn.GroupNorm(min(8, out_channels), out_channels))
        layers.append(activation(act))
        super().__init__(*layers)


def mlp(in_features: int, out_features: int, hidden: Sequence[int] = (), act: str | None = 'elu',
        out_act: str | None = None) -> nn.Sequential:
    """Linear layers with ``act`` between hidden layers and ``out_act`` after the last one."""
    sizes = [in_features, *hidden, out_features]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        last = i == len(sizes) - 2
        if not last:
            layers.append(activation(act))
        elif out_act is not None:
            layers.append(activation(out_act))
    return nn.Sequential(*layers)


def numel(shape: Sequence[int]) -> int:
    return int(math.prod(shape))


def is_image(shape: Sequence[int]) -> bool:
    return len(shape) == 3


def check_image_shape(name: str, shape: Sequence[int], divisor: int) -> None:
    """Architectures that halve the resolution k times need sides divisible by 2**k: say so clearly."""
    if not is_image(shape):
        return
    channels, height, width = shape
    if height % divisor or width % divisor:
        raise ConfigError(f'{name} halves the image resolution down to {height // divisor}x{width // divisor}: it '
                          f'needs height and width divisible by {divisor}, got {height}x{width}. Choose an '
                          f'architecture for this size (e.g. a/mlp) or resize the dataset (`--dataset.size 64`).')


class Reshape(nn.Module):
    """Reshape the trailing features into ``shape`` (batch dimension kept)."""

    def __init__(self, shape: Sequence[int]):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)


def ends_in_sigmoid(module: nn.Module) -> bool:
    """Whether ``module`` (a Sequential, nested or not) ends in a sigmoid, shape-only layers after it aside."""
    if isinstance(module, nn.Sigmoid):
        return True
    if isinstance(module, nn.Sequential) and len(module):
        children = list(module)
        last = _last_computing(children)
        return last >= 0 and ends_in_sigmoid(children[last])
    return False


def without_final_sigmoid(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``module(x)`` with its final sigmoid left out: the logits, for a loss computed from them
    (``F.binary_cross_entropy_with_logits``: one fused, stable kernel instead of sigmoid, log and clamp)."""
    if isinstance(module, nn.Sigmoid):
        return x
    children = list(module)
    last = _last_computing(children)
    for child in children[:last]:
        x = child(x)
    x = without_final_sigmoid(children[last], x)
    for child in children[last + 1:]:
        x = child(x)
    return x


def _last_computing(children: list[nn.Module]) -> int:
    i = len(children) - 1
    while i >= 0 and isinstance(children[i], Reshape):
        i -= 1
    return i
