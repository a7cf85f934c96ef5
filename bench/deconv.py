"""The decoder's image layer, a transposed convolution (kernel 4, stride 2, 32 channels in), forward and
backward on one CPU thread: torch's ``nn.ConvTranspose2d`` against ``framework/nn/deconv.py``'s fold forward,
in CPU milliseconds per call (median of interleaved rounds), for each output channel count and image size.
Shows why the fold path is taken for one output channel only.

    python bench/deconv.py [--batch 128] [--channels 1 3] [--sizes 32 64] [--rounds 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch import nn

from framework.nn.deconv import FoldTransposedConv


def per_call_ms(forward, x: torch.Tensor, calls: int = 10) -> float:
    for _ in range(2):
        forward(x).square().sum().backward()
    tick = time.process_time()
    for _ in range(calls):
        forward(x).square().sum().backward()
    return (time.process_time() - tick) / calls * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=128)
    parser.add_argument('--channels', type=int, nargs='+', default=[1, 3])
    parser.add_argument('--sizes', type=int, nargs='+', default=[32, 64])
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f'load average {os.getloadavg()[0]:.2f}; batch {args.batch}, channels-last input, one thread, '
          f'forward + backward, CPU ms per call')
    for channels in args.channels:
        for size in args.sizes:
            layer = nn.ConvTranspose2d(32, channels, 4, stride=2, padding=1)
            fold = lambda x: FoldTransposedConv.apply(x, layer.weight, layer.bias, (2, 2), (1, 1), (1, 1))  # noqa
            x = torch.randn(args.batch, 32, size // 2, size // 2).to(memory_format=torch.channels_last)
            x.requires_grad_()
            difference = (fold(x) - layer(x)).abs().max().item()
            torch_ms, fold_ms = [], []
            for _ in range(args.rounds):
                torch_ms.append(per_call_ms(layer, x))
                fold_ms.append(per_call_ms(fold, x))
            print(f'{channels} channel(s), {size // 2} -> {size} px: torch {statistics.median(torch_ms):6.2f} ms, '
                  f'fold {statistics.median(fold_ms):6.2f} ms (largest difference {difference:.1e})')


if __name__ == '__main__':
    main()
