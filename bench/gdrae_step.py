"""Steps per second of GDRAE against a plain autoencoder with the same encoder and flow decoder (CPU by default).

The plain AE is the same model with the Jacobian terms switched off (λ_jacob_sn = λ_jacob_sv = λ_norm_sv = 0), so
the ratio is the cost of the power iteration (one forward, 4 graph-free rounds, one differentiated VJP) and the
singular-value head at ``jacob_batch`` prior points. The reference measured about 5× on CPU for the images setting
(2.10 s against 0.42 s per step, 8 threads). ``--rounds`` compares the ways of running the graph-free rounds (plugins/gdrae/jacobian.py).

    python bench/gdrae_step.py --threads 1                     # both settings, batch 64
    python bench/gdrae_step.py --setting images --rounds auto push
"""
from __future__ import annotations

import argparse
import time

import torch

import framework  # noqa: F401  (registers the framework components)
import plugins  # noqa: F401
from framework import create
from plugins.gdrae.jacobian import SN_ROUNDS


def build(setting: str, jacobian: bool, batch: int, rounds: str = 'auto'):
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
    method = GDRAE(encoder, decoder, shape, latent_dim=latent, jacob_batch=batch, sn_rounds=rounds, **weights)
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
    parser.add_argument('--rounds', nargs='+', default=['auto'], choices=list(SN_ROUNDS),
                        help='how the graph-free power rounds get J v (explicit is only for small latents)')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    settings = ['sector', 'images'] if args.setting == 'both' else [args.setting]
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, {args.steps} steps')
    for setting in settings:
        plain = steps_per_second(*build(setting, False, args.batch), args.steps)
        for rounds in args.rounds:
            rate = steps_per_second(*build(setting, True, args.batch, rounds), args.steps)
            print(f'{setting:7s} plain AE {plain:7.2f} steps/s   GDRAE (rounds {rounds:8s}) {rate:7.2f} steps/s   '
                  f'overhead {plain / rate:.2f}x')


if __name__ == '__main__':
    main()
