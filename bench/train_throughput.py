"""Steps/s of β-VAE (dlib architecture, 64x64x1, batch 64) through the framework's trainer vs a bare loop.

Both use the same model, the same in-memory uint8 data and the same optimiser; the ratio shows what the
trainer's bookkeeping (NaN guard, scalar logging, progress bar, schedule) costs. Goal: ratio >= 0.95.

    python bench/train_throughput.py [--steps 200] [--threads 2]
"""
from __future__ import annotations

import argparse
import time

import torch

from framework.config import compose
from framework.data.base import InMemoryDataset
from framework.scripts.common import build_method
from framework.trainer import Trainer, TrainSettings


def make_data(n: int = 4096) -> InMemoryDataset:
    generator = torch.Generator().manual_seed(0)
    images = (torch.rand(n, 1, 64, 64, generator=generator) > 0.7).to(torch.uint8) * 255
    return InMemoryDataset(images, torch.zeros(n, 1, dtype=torch.long))


def make_method(data):
    cfg = compose('a/dlib', 'm/vae', reg_wt=4.0, latent_dim=10)
    return build_method(cfg, data)


def bare_loop(data, steps: int, batch_size: int) -> float:
    torch.manual_seed(0)
    method = make_method(data)
    optimizer = torch.optim.Adam(method.parameters(), lr=5e-4)
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(len(data), generator=generator)
    start = time.perf_counter()
    for step in range(steps):
        position = (step * batch_size) % (len(data) - batch_size)
        batch = data.batch(order[position:position + batch_size])
        loss = method.training_step(batch)['loss']
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps / (time.perf_counter() - start)


def framework_loop(data, steps: int, batch_size: int) -> float:
    torch.manual_seed(0)
    method = make_method(data)
    settings = TrainSettings(steps=steps, batch_size=batch_size, lr=5e-4, log_every=50, viz_every=0,
                             ckpt_every=0, progress=True)
    trainer = Trainer(method, data, settings, run_dir=None, device=torch.device('cpu'))
    start = time.perf_counter()
    trainer.fit()
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=200)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = make_data()
    bare_loop(data, 10, args.batch_size)                      # warm-up
    bare, ours = [], []
    for _ in range(args.repeats):                             # interleaved, best of each, to damp noise
        bare.append(bare_loop(data, args.steps, args.batch_size))
        ours.append(framework_loop(data, args.steps, args.batch_size))
    print(f'bare PyTorch loop : {max(bare):7.2f} steps/s  (runs: {", ".join(f"{v:.2f}" for v in bare)})')
    print(f'framework trainer : {max(ours):7.2f} steps/s  (runs: {", ".join(f"{v:.2f}" for v in ours)})')
    print(f'ratio             : {max(ours) / max(bare):.3f}   (goal >= 0.95; threads={args.threads})')


if __name__ == '__main__':
    main()
