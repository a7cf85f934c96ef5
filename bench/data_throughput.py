"""Data-path throughput: procedural rendering, batched gathers vs a per-item DataLoader, sequence batches.

    python bench/data_throughput.py [--batch 256] [--seconds 3] [--threads 1] [--images 50000]

Prints images (frames) per second for each path. The in-memory comparison gathers batches from a uint8
(N, 1, 64, 64) tensor by index (``ImageGridDataset.batch``, what the trainer does) against a torch
``DataLoader`` over the same data item by item (``__getitem__`` + default collate, no workers).
"""
from __future__ import annotations

import argparse
import os
import time

import torch
from torch.utils.data import DataLoader

from framework.data.images import ImageGridDataset
from framework.data.shapes3d_synth import Shapes3DSynth
from plugins.msp.sequences import as_sequences
from plugins.msp.transform_sequences import TransformSequences
from framework.data.sprites import Sprites


def rate(step, batch: int, seconds: float, frames_per_item: int = 1) -> float:
    """Items (times frames) per second of ``step()`` over about ``seconds`` (after one warm-up call)."""
    step()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        count += 1
    return count * batch * frames_per_item / (time.perf_counter() - start)


class PerItem(torch.utils.data.Dataset):
    """The usual map-style dataset: one image (and its factors) per ``__getitem__``."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        return self.dataset[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=256)
    parser.add_argument('--seconds', type=float, default=3.0)
    parser.add_argument('--threads', type=int, default=0, help='torch threads (0: leave the default)')
    parser.add_argument('--images', type=int, default=50_000, help='size of the in-memory dataset')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    B, seconds = args.batch, args.seconds
    generator = torch.Generator().manual_seed(0)
    load = ', '.join(f'{v:.1f}' for v in os.getloadavg())
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, batch {B}, load average {load} '
          f'on {os.cpu_count()} cores (with more load than cores, compare --threads 1 figures)')

    def batches_of(dataset):
        return lambda: dataset.batch(torch.randint(len(dataset), (B,), generator=generator))

    sprites = Sprites()
    print(f'sprites render            {rate(batches_of(sprites), B, seconds):12,.0f} img/s')

    scenes = Shapes3DSynth()
    start = time.perf_counter()
    scenes.precompute()                                     # ray casts all 480 geometries once
    print(f'shapes3d-synth geometry   {time.perf_counter() - start:12.2f} s once per process (480 ray casts)')
    print(f'shapes3d-synth render     {rate(batches_of(scenes), B, seconds):12,.0f} img/s')

    images = torch.randint(0, 256, (args.images, 1, 64, 64), dtype=torch.uint8, generator=generator)
    memory = ImageGridDataset(images)
    memory.factor_sizes = (args.images,)
    memory.factor_names = ('index',)
    gathered = rate(batches_of(memory), B, seconds)
    loader = DataLoader(PerItem(memory), batch_size=B, shuffle=True, num_workers=0, drop_last=True)
    iterator = iter(loader)

    def next_loader_batch():
        nonlocal iterator
        try:
            return next(iterator)
        except StopIteration:
            iterator = iter(loader)
            return next(iterator)
    per_item = rate(next_loader_batch, B, seconds)
    print(f'in-memory gather by index {gathered:12,.0f} img/s')
    print(f'per-item DataLoader       {per_item:12,.0f} img/s   (gather is {gathered / per_item:.0f}x faster)')

    walk = as_sequences(sprites, length=3)
    print(f'factor-walk sprites T=3   {rate(batches_of(walk), B, seconds, 3):12,.0f} frames/s')
    transformed = TransformSequences(sprites, length=3, resize=32)
    print(f'transform-seq sprites T=3 {rate(batches_of(transformed), B, seconds, 3):12,.0f} frames/s')


if __name__ == '__main__':
    main()
