"""Training steps with glibc's default allocator against ``framework.allocator.configure()`` (what ``fig`` uses).

Each measurement is its own process (the allocator is process-wide), the two modes interleaved, and the median
of the pairs is printed: CPU and wall time per step, system time and minor page faults per step. The model is the
disentanglement_lib conv VAE (``a/dlib m/vae``) on random binary images, one thread.

    python bench/allocator.py [--sizes 32 64] [--batch 128] [--steps 20] [--pairs 5]
"""
from __future__ import annotations

import os
import statistics

from child_process import run_child, step_options

CHILD = r'''
import json, resource, sys, time
import torch
import framework
from framework.allocator import configure
from framework.config import compose
from framework.data.base import InMemoryDataset
from framework.scripts.common import build_method
mode, size, batch, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
if mode == 'tuned':
    assert configure()
torch.set_num_threads(1)
generator = torch.Generator().manual_seed(0)
images = (torch.rand(1024, 1, size, size, generator=generator) > 0.7).to(torch.uint8) * 255
data = InMemoryDataset(images, torch.zeros(1024, 1, dtype=torch.long))
torch.manual_seed(0)
method = build_method(compose('a/dlib', 'm/vae', reg_wt=4.0, latent_dim=10), data)
optimizer = torch.optim.Adam(method.parameters(), lr=5e-4)
def step(i):
    start = i * batch % (1024 - batch)
    loss = method.training_step(data.batch(torch.arange(start, start + batch)))['loss']
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
for i in range(3):
    step(i)
before, tick = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
for i in range(steps):
    step(i)
after, tock = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
system = after.ru_stime - before.ru_stime
print(json.dumps({'cpu_ms': 1000 * (after.ru_utime - before.ru_utime + system) / steps,
                  'wall_ms': 1000 * (tock - tick) / steps, 'sys_ms': 1000 * system / steps,
                  'faults': (after.ru_minflt - before.ru_minflt) / steps}))
'''


def measure(mode: str, size: int, batch: int, steps: int) -> dict:
    return run_child(CHILD, mode, size, batch, steps)


def main() -> None:
    args = step_options(__doc__)
    print(f'load: {os.getloadavg()[0]:.2f}; batch {args.batch}, {args.steps} steps, {args.pairs} interleaved pairs')
    print(f'{"size":>5} {"mode":>8} {"cpu ms/step":>12} {"wall ms/step":>13} {"sys ms/step":>12} {"faults/step":>12}')
    for size in args.sizes:
        runs = {'default': [], 'tuned': []}
        for _ in range(args.pairs):
            for mode in runs:
                runs[mode].append(measure(mode, size, args.batch, args.steps))
        for mode, results in runs.items():
            median = {key: statistics.median(r[key] for r in results) for key in results[0]}
            print(f'{size:>5} {mode:>8} {median["cpu_ms"]:>12.1f} {median["wall_ms"]:>13.1f} '
                  f'{median["sys_ms"]:>12.1f} {median["faults"]:>12.0f}')
        ratios = [d['cpu_ms'] / t['cpu_ms'] for d, t in zip(runs['default'], runs['tuned'])]
        print(f'{size:>5} default/tuned CPU per step, median of the pairs: {statistics.median(ratios):.2f}x')


if __name__ == '__main__':
    main()
