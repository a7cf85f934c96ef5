"""A metric suite with and without the code table: time, observations encoded, the estimate, the values.

    python bench/suite_one_pass.py [--suite fast|reference|<config/eval name>] [--load RUN]
                                   [--steps 100] [--size 64] [--latent-dim 10] [--device cpu] [--only-table]

Without ``--load`` it trains a small β-VAE (``a/dlib m/vae``, ``--steps`` Adam steps of 64 on ``sprites`` at
``--size`` pixels) and scores it. The suite runs twice with the same seed: every draw rendered and encoded (the
shared draws of MIG, DCI, SAP and modularity only, as before the table) and with the code table
(``framework/metrics/code_table.py``: each factor combination rendered and encoded at most once). For each it
prints wall and CPU seconds, observations encoded, and the time ``fig eval-metrics`` would have estimated
(``framework/metrics/estimate.py``); then the largest difference between the two runs' values, and the time the
reference suite would take with the table on this model (the estimate at the wall time an observation took here,
and at its CPU time: what one thread of an otherwise idle machine gives). The allocator is configured as ``fig``
does at start-up (``framework/allocator.py``; encoding in chunks with glibc's defaults measured 2.4x slower). Not
run by the test suite. Other processes on the machine skew the wall seconds (the load average is printed); on a
shared CPU run it with ``OMP_NUM_THREADS=1``: two threads of a contended CPU wait on each other (measured: 2 to 5
times slower).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from metrics import timed  # noqa: E402  (bench/metrics.py: wall and CPU seconds, workers included)

from framework.allocator import configure  # noqa: E402
from framework.config import ROOT, compose, load_yaml  # noqa: E402
from framework.metrics import run_suite  # noqa: E402
from framework.metrics.common import SharedEncodings  # noqa: E402
from framework.metrics.estimate import estimate_suite, format_duration, time_encoding  # noqa: E402
from framework.metrics.suite import protocol_of  # noqa: E402

SUITES = {'reference': 'default'}      # the reference protocols (config/eval/default.yaml = dsprites.yaml)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--suite', default='fast', help='fast, reference, or a config/eval/<name>.yaml')
    parser.add_argument('--load', help='score this run instead of training a small model')
    parser.add_argument('--steps', type=int, default=100, help='training steps of the small model')
    parser.add_argument('--size', type=int, default=64, help='sprites\' image size for the small model')
    parser.add_argument('--latent-dim', type=int, default=10)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--only-table', action='store_true', help='skip the run without the table (slow)')
    args = parser.parse_args(argv)
    configure()             # as `fig eval-metrics` does at start-up (STRUCTREP_ALLOCATOR=default: glibc's defaults)

    method, dataset, device, label = load_or_train(args)
    suite = load_yaml(ROOT / 'config' / 'eval' / f'{SUITES.get(args.suite, args.suite)}.yaml')['metrics']
    protocols = {name: protocol_of(name, params)[1] for name, params in suite.items()}
    print(f'{label}; suite {args.suite}; {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, '
          f'OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS", "unset")}, load average {_load()}')
    cpu = time.process_time()
    seconds_per_observation = time_encoding(dataset, method.represent, device, batch_size=2048)
    cpu_per_observation = (time.process_time() - cpu) / (4 * 2048)      # a warm-up batch, then three timed ones
    print(f'rendering and encoding: {seconds_per_observation * 1e3:.3g} ms wall, {cpu_per_observation * 1e3:.3g} '
          f'ms CPU an observation (2048 in batches of 256)')

    runs = {}
    for table in ([True] if args.only_table else [False, True]):
        shared = SharedEncodings(method.represent, code_table=table)
        # without the table the estimate counts every draw, as for a representation not declared deterministic
        estimate = estimate_suite(protocols, dataset, method if table else (lambda x: method.represent(x)),
                                  device, seconds_per_observation)
        results, wall, cpu = timed(run_suite, suite, dataset, shared, seed=args.seed, device=device)
        runs[table] = results
        name = 'with the table   ' if table else 'without the table'
        print(f'{name}: {wall:8.1f} s wall, {cpu:8.1f} s CPU, {shared.observations_encoded:>9,} observations '
              f'encoded; estimated {estimate.seconds:8.1f} s ({estimate.observations:,} observations, '
              f'{estimate.fit_seconds:.1f} s of fits): measured / estimated {wall / estimate.seconds:.2f}')
        print('    ' + ', '.join(f'{n} {r["seconds"]:.1f} s' for n, r in results.items() if 'seconds' in r))
    if len(runs) == 2:
        differences = {f'{name}/{key}': abs(runs[True][name]['values'][key] - value)
                       for name, result in runs[False].items() for key, value in result.get('values', {}).items()}
        largest = max(differences, key=differences.get)
        print(f'largest difference between the two suites\' values: {differences[largest]:.3g} ({largest}; '
              f'{sum(d > 0 for d in differences.values())} of {len(differences)} values differ)')
    reference = {name: protocol_of(name, params)[1]
                 for name, params in load_yaml(ROOT / 'config' / 'eval' / 'default.yaml')['metrics'].items()}
    for speed, per_observation in (('wall', seconds_per_observation), ('CPU', cpu_per_observation)):
        projected = estimate_suite(reference, dataset, method, device, per_observation)
        print(f'reference suite with the table on this model at the {speed} time measured above: '
              f'{format_duration(projected.seconds)} ({projected.observations:,} of {projected.draws:,} draws '
              f'encoded, {projected.observations * per_observation:.0f} s; {projected.fit_seconds:.0f} s of fits by '
              f'the cost model)')
    print(f'load average at the end {_load()}')


def load_or_train(args):
    """(method in eval mode, dataset, device, a line saying what it is)."""
    if args.load:
        from framework import load_run
        run = load_run(args.load, device=args.device)
        run.method.eval()
        return run.method, run.dataset('full'), run.device, f'run {run.run_dir.name} (step {run.step})'
    from framework import create
    from framework.scripts.common import build_method
    torch.manual_seed(args.seed)
    dataset = create('dataset', 'sprites', size=args.size)
    method = build_method(compose('a/dlib', 'm/vae', latent_dim=args.latent_dim), dataset).to(args.device)
    optimizer = torch.optim.Adam(method.parameters(), lr=5e-4)
    generator = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()
    for _ in range(args.steps):
        batch = dataset.batch(torch.randint(len(dataset), (64,), generator=generator))
        loss = method.training_step({k: v.to(args.device) for k, v in batch.items()})['loss']
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    method.eval()
    return (method, dataset, torch.device(args.device),
            f'a/dlib m/vae on sprites {args.size} px, {args.steps} steps ({time.perf_counter() - start:.0f} s), '
            f'final loss {loss.item():.1f}')


def _load() -> str:
    return ' '.join(f'{value:.2f}' for value in os.getloadavg())


if __name__ == '__main__':
    main()
