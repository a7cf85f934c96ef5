"""``fig train``'s training loop against the eager loop a user writes by hand, each in its own process.

The hand-written loop: the same encoder and decoder (the disentanglement_lib conv nets, ``a/dlib``), a β-VAE loss
written the obvious way (``F.binary_cross_entropy`` of the decoder's sigmoid output, Gaussian KL), Adam, the same
in-memory uint8 images, glibc's default allocator. ``fig train``'s loop: the framework's Trainer on ``m/vae``
with the allocator ``fig`` configures at start-up (``framework/allocator.py``), the loss from logits, channels-last
conv weights and batches, Adam without its dynamo marks (``framework/eager_adam.py``) and, for grey images, the
faster forward of the decoder's last transposed convolution (``framework/nn/deconv.py``; the eager loop gets
torch's stock ``nn.ConvTranspose2d`` with the same weights). Steps/s are timed in CPU seconds of the one-thread
process (steadier than wall time on a shared machine) after a warm-up, start-up excluded; the two processes are
interleaved and the median of the pairs' ratios is printed, with the load.

    python bench/train_vs_eager.py [--sizes 32 64] [--batch 128] [--steps 20] [--pairs 5]
"""
from __future__ import annotations

import os
import statistics

from child_process import run_child, step_options

CHILD = r'''
import json, sys, time
import torch
import torch.nn.functional as F
import framework
from framework.allocator import configure
from framework.config import compose
from framework.data.base import InMemoryDataset
from framework.methods.vae import gaussian_kl
from framework.scripts.common import build_method
from framework.trainer import Trainer, TrainSettings
mode, size, batch, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(1)
generator = torch.Generator().manual_seed(0)
images = (torch.rand(2048, 1, size, size, generator=generator) > 0.7).to(torch.uint8) * 255
data = InMemoryDataset(images, torch.zeros(2048, 1, dtype=torch.long))
torch.manual_seed(0)
if mode == 'fig':
    configure()
method = build_method(compose('a/dlib', 'm/vae', reg_wt=4.0, latent_dim=10), data)
if mode == 'eager':
    encoder, decoder = method.encoder, method.decoder
    for layer in decoder.modules():              # the stock layer a user writes, with the same weights
        if isinstance(layer, torch.nn.ConvTranspose2d):
            layer.__class__ = torch.nn.ConvTranspose2d
    optimizer = torch.optim.Adam(list(encoder.parameters()) + list(decoder.parameters()), lr=5e-4)
    order = torch.randperm(len(data))
    def step(i):
        start = i * batch % (len(data) - batch)
        x = data.batch(order[start:start + batch])['x']
        mean, log_var = encoder(x).chunk(2, dim=1)
        z = mean + (0.5 * log_var).exp() * torch.randn_like(mean)
        rec = F.binary_cross_entropy(decoder(z), x, reduction='sum') / len(x)
        loss = rec + 4.0 * gaussian_kl(mean, log_var).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for i in range(3):
        step(i)
    tick = time.process_time()
    for i in range(steps):
        step(i)
    seconds = time.process_time() - tick
else:
    def fit(total):
        settings = TrainSettings(steps=total, batch_size=batch, lr=5e-4, log_every=10, viz_every=0, ckpt_every=0,
                                 progress=False)
        trainer = Trainer(method, data, settings, run_dir=None, device=torch.device('cpu'))
        tick = time.process_time()
        trainer.fit()
        return time.process_time() - tick
    fit(3)
    seconds = fit(steps)
print(json.dumps({'steps_per_s': steps / seconds}))
'''


def measure(mode: str, size: int, batch: int, steps: int) -> float:
    return run_child(CHILD, mode, size, batch, steps)['steps_per_s']


def main() -> None:
    args = step_options(__doc__)
    print(f'load average {os.getloadavg()[0]:.2f}; a/dlib VAE, batch {args.batch}, {args.steps} timed steps, '
          f'one thread, {args.pairs} interleaved pairs')
    for size in args.sizes:
        eager, fig = [], []
        for _ in range(args.pairs):
            eager.append(measure('eager', size, args.batch, args.steps))
            fig.append(measure('fig', size, args.batch, args.steps))
        ratio = statistics.median(f / e for f, e in zip(fig, eager))
        print(f'{size:>3} px: eager {statistics.median(eager):6.2f} steps/s, fig train {statistics.median(fig):6.2f} '
              f'steps/s; fig/eager, median of the pairs: {ratio:.2f}x')


if __name__ == '__main__':
    main()
