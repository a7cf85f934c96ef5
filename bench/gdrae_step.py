"""Steps per second of GDRAE against a plain autoencoder with the same encoder and flow decoder (CPU by default).

The plain AE is the same model with the Jacobian terms switched off (λ_jacob_sn = λ_jacob_sv = λ_norm_sv = 0), so
the ratio is the cost of the power iteration (5 VJPs + 5 JVPs, the last one differentiated) and the singular-value
head at ``jacob_batch`` prior points. The reference measured about 5× on CPU for the images setting (gdrae.md §2.4).

    python bench/gdrae_step.py                      # both settings, batch 64
    python bench/gdrae_step.py --setting sector --steps 20 --threads 2
"""
from __future__ import annotations

import argparse
import time

import torch

import framework  # noqa: F401  (registers the framework components)
import plugins  # noqa: F401
from framework import create


def build(setting: str, jacobian: bool, batch: int):
    if setting == 'sector':
        shape, latent = (2,), 2
        encoder = lambda **kw: create('encoder', 'mlp', hidden=[1024, 1024], act='relu', **kw)  # noqa: E731
        decoder = lambda **kw: create('decoder', 'gdrae-flow', **kw)  # noqa: E731
        weights = dict(lambda_recon=1000.0, lambda_kld=1000.0, lambda_jacob_sn=1000.0, lambda_jacob_sv=1.0,
                       lambda_capacity=10.0, lambda_norm_sv=0.0)
    else:
        shape, latent = (1, 64, 64), 10
        encoder = lambda **kw: create('encoder', 'gdrae-conv', **kw)  # noqa: E731
        decoder = lambda **kw: create('decoder', 'gdrae-flow64', **kw)  # noqa: E731
        weights = dict(lambda_recon=1.0, lambda_kld=1000.0, lambda_jacob_sn=1000.0, lambda_jacob_sv=0.01,
                       lambda_capacity=10.0, lambda_norm_sv=0.01)
    if not jacobian:
        weights.update(lambda_jacob_sn=0.0, lambda_jacob_sv=0.0, lambda_norm_sv=0.0)
    from plugins.gdrae.method import GDRAE
    method = GDRAE(encoder, decoder, shape, latent_dim=latent, jacob_batch=batch, **weights)
    x = torch.rand(batch, *shape) if len(shape) == 3 else torch.randn(batch, *shape)
    return method, {'x': x}


def steps_per_second(method, batch, steps: int, warmup: int = 2) -> float:
    optimizer = torch.optim.Adam(method.parameters(), lr=1e-4)
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        loss = method.training_step(batch)['loss']
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--setting', choices=['sector', 'images', 'both'], default='both')
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--threads', type=int, default=0, help='torch threads (0 keeps the default)')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    settings = ['sector', 'images'] if args.setting == 'both' else [args.setting]
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, {args.steps} steps')
    for setting in settings:
        rates = {}
        for name, jacobian in (('plain AE', False), ('GDRAE', True)):
            method, batch = build(setting, jacobian, args.batch)
            rates[name] = steps_per_second(method, batch, args.steps)
        print(f'{setting:7s} plain AE {rates["plain AE"]:7.2f} steps/s   GDRAE {rates["GDRAE"]:7.2f} steps/s   '
              f'overhead {rates["plain AE"] / rates["GDRAE"]:.2f}x')


if __name__ == '__main__':
    main()
