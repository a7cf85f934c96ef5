"""Steps/s of the demo model (``fig train demo``: the VAE on ``vec``) with 1 and 2 CPU processes (DDP, gloo).

    python bench/ddp.py [--steps 300] [--batch_size 128] [--procs 1 2]

Each process count is launched with torchrun, exactly as a user would train; every worker builds the demo
config, runs the framework's ``Trainer`` for ``--warmup`` steps, then times ``--steps`` more. The global batch
is the same for every process count (each of N processes takes batch_size / N), so perfect scaling is N times
the steps/s of one process; parallel efficiency = steps/s(N) / (N * steps/s(1)). Each process uses one
intra-op thread. On a machine whose cores are shared with other jobs the figures move from run to run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def worker(args) -> None:
    sys.path.insert(0, str(ROOT))
    import torch
    from framework import distributed
    from framework.config import compose
    from framework.settings import settings_from
    from framework.scripts.common import build_dataset, build_method
    from framework.random_state import seed_everything
    from framework.trainer import Trainer, TrainSettings

    torch.set_num_threads(1)
    cfg = compose('demo', batch_size=args.batch_size, steps=args.warmup + args.steps, progress=False,
                  ckpt_every=0, viz_every=0, log_every=10 ** 9, **{'dataset.num_samples': 20000})
    settings = settings_from(cfg, TrainSettings)
    device = torch.device('cpu')
    group = distributed.init_process_group(device)
    seed_everything(settings.seed)
    dataset = build_dataset(cfg, 'train')
    method = build_method(cfg, dataset)
    trainer = Trainer(method, dataset, settings, None, device, group)
    for _ in range(args.warmup):
        trainer.train_step()
    distributed.barrier(group)
    start = time.perf_counter()
    for _ in range(args.steps):
        trainer.train_step()
    distributed.barrier(group)
    elapsed = time.perf_counter() - start
    if group.is_main:
        print('RESULT ' + json.dumps({'procs': group.world_size, 'steps_per_s': args.steps / elapsed}), flush=True)
    distributed.shutdown(group)


def launch(procs: int, args) -> float:
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', str(procs),
           str(Path(__file__).resolve()), '--worker', '--steps', str(args.steps), '--warmup', str(args.warmup),
           '--batch_size', str(args.batch_size)]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if line.startswith('RESULT '):
            return json.loads(line[len('RESULT '):])['steps_per_s']
    raise RuntimeError(f'{procs} process(es) failed:\n{out.stdout}\n{out.stderr}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=300)
    parser.add_argument('--warmup', type=int, default=20)
    parser.add_argument('--batch_size', type=int, default=128)
    parser.add_argument('--procs', type=int, nargs='+', default=[1, 2])
    parser.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    print(f'demo model (`fig train demo`), global batch {args.batch_size}, {args.steps} timed steps, '
          f'{os.cpu_count()} CPU cores visible')
    base = None
    print(f'{"processes":>9}  {"steps/s":>8}  {"samples/s":>9}  {"speedup":>7}  {"efficiency":>10}')
    for procs in args.procs:
        rate = launch(procs, args)
        if procs == 1:
            base = rate
        speedup = rate / base if base else float('nan')
        print(f'{procs:>9}  {rate:>8.1f}  {rate * args.batch_size:>9.0f}  {speedup:>7.2f}  {speedup / procs:>10.0%}')


if __name__ == '__main__':
    main()
