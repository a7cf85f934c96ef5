"""Benchmark of the Lie group VAE's hot spot, the matrix exponential, and of a whole training step.

    python bench/liegroup_step.py [--batch 256] [--repeats 20] [--steps 3] [--device cpu]

1. Accuracy: each exponential on float32 inputs against ``scipy.linalg.expm`` in float64 (max abs error
   divided by max(1, max |expm|); the bar is 1e-5), for a basis at its initial scale (N(0, 1e-3²)) and at
   a trained-like scale (N(0, 0.1²)), with codes z ~ N(0, I).
2. Speed: forward and forward+backward time of expm(Σ z_i A_i) for a batch of 10x10 (dSprites, S = 100)
   and 20x20 (3DShapes, S = 400) matrices:
   - ``matrix_exp``: ``torch.linalg.matrix_exp`` (Padé scaling and squaring; backward via a 2m x 2m exp);
   - ``taylor``: ``plugins.liegroup.ops.taylor_expm`` (degree-12 Taylor with scaling and squaring);
   - ``commuting-product``: Π_i expm(z_i A_i), exact only when the A_i commute (Prop. 1); timed to show
     what "exploiting commutativity" costs, and checked on a commuting and on a general basis.
3. Whole training steps per second of the dSprites model (batch ``--batch``, 64x64) with each exponential.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.linalg
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def commuting_product(z: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Π_i expm(z_i A_i): (B, L), (L, m, m) -> (B, m, m); equals expm(Σ z_i A_i) iff the A_i commute."""
    singles = torch.linalg.matrix_exp(z[:, :, None, None] * basis)      # (B, L, m, m)
    result = singles[:, 0]
    for i in range(1, basis.shape[0]):
        result = result @ singles[:, i]
    return result


def methods():
    from plugins.liegroup import ops
    return {
        'matrix_exp': lambda z, a: torch.linalg.matrix_exp(ops.lie_algebra_element(z, a)),
        'taylor': lambda z, a: ops.taylor_expm(ops.lie_algebra_element(z, a)),
        'commuting-product': commuting_product,
    }


def accuracy(side: int, batch: int, scale: float, commuting: bool, seed: int = 0) -> dict[str, float]:
    generator = torch.Generator().manual_seed(seed)
    if commuting:     # A_i = P diag(d_i) P^-1
        p = torch.eye(side, dtype=torch.float64) + 0.1 * torch.randn(side, side, generator=generator, dtype=torch.float64)
        basis = p @ torch.diag_embed(torch.randn(10, side, generator=generator, dtype=torch.float64) * scale * side ** 0.5) \
            @ torch.linalg.inv(p)
    else:
        basis = torch.randn(10, side, side, generator=generator, dtype=torch.float64) * scale
    z = torch.randn(batch, 10, generator=generator, dtype=torch.float64)
    reference = np.stack([scipy.linalg.expm(m) for m in torch.einsum('bl,lij->bij', z, basis).numpy()])
    size = max(1.0, float(np.abs(reference).max()))
    return {name: float(np.abs(fn(z.float(), basis.float()).double().numpy() - reference).max()) / size
            for name, fn in methods().items()}


def timing(side: int, batch: int, repeats: int, device: torch.device) -> dict[str, tuple[float, float]]:
    generator = torch.Generator().manual_seed(0)
    basis = (torch.randn(10, side, side, generator=generator) * 0.1).to(device).requires_grad_()
    z = torch.randn(batch, 10, generator=generator).to(device).requires_grad_()
    out = {}
    for name, fn in methods().items():
        for _ in range(2):
            fn(z, basis).sum().backward()
        forward = _clock(lambda: fn(z.detach(), basis.detach()), repeats, device)
        both = _clock(lambda: fn(z, basis).square().sum().backward(), repeats, device)
        out[name] = (forward, both)
    return out


def training_steps(batch: int, steps: int, device: torch.device) -> dict[str, float]:
    from plugins.liegroup.method import LieGroupVAE
    from plugins.liegroup.modules import LieGroupDecoder, LieGroupEncoder
    out = {}
    x = (torch.rand(batch, 1, 64, 64) > 0.9).float().to(device)
    for name in ('matrix_exp', 'taylor'):
        torch.manual_seed(0)
        model = LieGroupVAE(lambda **k: LieGroupEncoder(**k),
                            lambda **k: LieGroupDecoder(**k, expm_method=name), (1, 64, 64)).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

        def step():
            loss = model.training_step({'x': x})['loss']
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        step()
        out[name] = 1.0 / _clock(step, steps, device)
    return out


def _clock(fn, repeats: int, device: torch.device) -> float:
    """The fastest of ``repeats`` calls, in seconds (the least disturbed by other processes on a shared CPU)."""
    times = []
    for _ in range(repeats):
        if device.type == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return float(np.min(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=256)
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--steps', type=int, default=3, help='training steps timed per exponential (0: skip)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f'torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}, batch {args.batch}')
    print('\nmax |expm - scipy.linalg.expm| / max(1, max |expm|), float32 inputs (bar 1e-5):')
    for side in (10, 20):
        for scale, commuting in ((1e-3, False), (0.1, False), (0.1, True)):
            errors = accuracy(side, 64, scale, commuting)
            kind = 'commuting' if commuting else 'general'
            print(f'  {side}x{side} {kind:9s} basis scale {scale:g}: ' +
                  ', '.join(f'{k} {v:.1e}' for k, v in errors.items()))
    print(f'\nmilliseconds per call, batch {args.batch} (fastest of {args.repeats}): forward | forward+backward')
    for side in (10, 20):
        for name, (forward, both) in timing(side, args.batch, args.repeats, device).items():
            print(f'  {side}x{side} {name:18s} {1e3 * forward:8.2f} | {1e3 * both:8.2f}')
    if args.steps:
        print(f'\ntraining steps per second, dSprites model (S = 100, 64x64), batch {args.batch}:')
        for name, rate in training_steps(args.batch, args.steps, device).items():
            print(f'  {name:18s} {rate:.3f} steps/s')


if __name__ == '__main__':
    main()
