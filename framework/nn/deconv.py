"""A transposed convolution with a faster CPU forward for one output channel, the image layer of grey decoders.

oneDNN computes a transposed convolution's forward as a convolution's data gradient, and with a single output
channel it takes a slow path. The same values come from one matrix product (each input pixel's kernel-sized patch
of the output) and ``F.fold``, which adds the overlapping patches together. On one CPU thread, batch 128, 32 to 1
channels, kernel 4, stride 2, forward and backward: 9.3 against 4.4 ms at 16x16 -> 32x32, 32.4 against 15.7 ms
at 32x32 -> 64x64 (``python bench/deconv.py``). With three output channels the fold is slower at 64x64 (52 against
43 ms), so it is taken for one channel only. The backward is torch's own transposed-convolution backward
(``aten.convolution_backward``); second derivatives, forward-mode derivatives and ``torch.func.vmap`` work, so
Jacobian-based methods still can use the layer.

The module is ``nn.ConvTranspose2d`` with the same parameters and state dict; only its forward changes, and only
on the CPU in float32 (elsewhere torch's kernel runs).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvTranspose2d(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d``; with one output channel on the CPU, the forward scatters patches with ``F.fold``."""

    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        if output_size is None and self._folds(x):
            return FoldTransposedConv.apply(x, self.weight, self.bias, self.stride, self.padding, self.dilation)
        return super().forward(x, output_size)

    def _folds(self, x: torch.Tensor) -> bool:
        return (self.out_channels == 1 and self.groups == 1 and x.dim() == 4 and x.device.type == 'cpu'
                and x.dtype == torch.float32 and self.weight.dtype == torch.float32
                and not any(self.output_padding) and not torch.is_autocast_enabled('cpu'))


def _fold_forward(x, weight, bias, stride, padding, dilation):
    """conv_transpose2d(x, weight, bias) as patches (one per input pixel) summed into the output by ``F.fold``."""
    batch, in_channels, height, width = x.shape
    kh, kw = weight.shape[2:]
    out_size = tuple((n - 1) * s - 2 * p + d * (k - 1) + 1
                     for n, s, p, d, k in zip((height, width), stride, padding, dilation, (kh, kw)))
    patches = torch.matmul(weight.reshape(in_channels, -1).t(), x.reshape(batch, in_channels, height * width))
    out = F.fold(patches, out_size, (kh, kw), dilation=dilation, padding=padding, stride=stride)
    return out if bias is None else out + bias[:, None, None]


class FoldTransposedConv(torch.autograd.Function):
    """Forward by ``_fold_forward``; backward and forward-mode derivative by torch's own transposed convolution."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, weight, bias, stride, padding, dilation):
        return _fold_forward(x, weight, bias, stride, padding, dilation)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, weight, bias, stride, padding, dilation = inputs
        ctx.save_for_backward(x, weight)
        ctx.save_for_forward(x, weight)
        ctx.has_bias, ctx.geometry = bias is not None, (stride, padding, dilation)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        stride, padding, dilation = ctx.geometry
        needs = ctx.needs_input_grad
        grad_x, grad_w, grad_b = torch.ops.aten.convolution_backward(
            grad, x, weight, [weight.shape[1]] if ctx.has_bias else None, list(stride), list(padding),
            list(dilation), True, [0, 0], 1, [needs[0], needs[1], ctx.has_bias and needs[2]])
        return grad_x, grad_w, grad_b, None, None, None

    @staticmethod
    def jvp(ctx, tangent_x, tangent_w, tangent_b, *_):
        x, weight = ctx.saved_tensors
        stride, padding, dilation = ctx.geometry
        out = 0
        if tangent_x is not None:
            out = out + F.conv_transpose2d(tangent_x, weight, None, stride, padding, 0, 1, dilation)
        if tangent_w is not None:
            out = out + F.conv_transpose2d(x, tangent_w, None, stride, padding, 0, 1, dilation)
        if tangent_b is not None:
            out = out + tangent_b[:, None, None]
        return out
