"""Training steps/s of MSP at the 3DShapes configuration (the authors' widths and training setup).

msp-resnet with k 1 and 3 blocks on 64x64 RGB frames, dim_m 256, dim_a 16, batch 32 of T = 3 frames
(T_cond 2), Adam 3e-4. Random frames of shapes3d-synth's size stand in for the data, so only the model is
timed. Usage: ``python bench/msp_step.py [--steps 20] [--warmup 3] [--device auto] [--amp]``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--batch_size', type=int, default=32)
    parser.add_argument('--length', type=int, default=3)
    parser.add_argument('--device', default='auto')
    parser.add_argument('--amp', action='store_true', help='bf16 autocast for the networks (the solve stays fp64)')
    args = parser.parse_args()

    import framework  # noqa: F401  (registers the core)
    import plugins  # noqa: F401  (registers msp)
    from plugins.msp.method import MSP
    from plugins.msp.modules import MSPResNetDecoder, MSPResNetEncoder

    device = torch.device('cuda' if args.device == 'auto' and torch.cuda.is_available() else
                          ('cpu' if args.device == 'auto' else args.device))
    shape = (3, 64, 64)
    method = MSP(lambda **kw: MSPResNetEncoder(k=1.0, n_blocks=3, **kw),
                 lambda **kw: MSPResNetDecoder(k=1.0, n_blocks=3, **kw), shape, dim_m=256, dim_a=16, T_cond=2).to(device)
    optimizer = torch.optim.Adam(method.parameters(), lr=3.0e-4)
    x = torch.rand(args.batch_size, args.length, *shape, device=device)

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.amp):
            loss = method.training_step({'x': x})['loss']
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(args.warmup):
        step()
    if device.type == 'cuda':
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    if device.type == 'cuda':
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    name = torch.cuda.get_device_name(device) if device.type == 'cuda' else f'CPU ({torch.get_num_threads()} threads)'
    params = sum(p.numel() for p in method.parameters()) / 1e6
    print(f'msp 3DShapes config (64x64x3, batch {args.batch_size}, T={args.length}, m=256, a=16, {params:.1f}M params) '
          f'on {name}: {args.steps / elapsed:.3f} steps/s ({elapsed / args.steps * 1000:.0f} ms/step, amp={args.amp})')


if __name__ == '__main__':
    main()
