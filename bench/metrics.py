"""Times the metrics (array forms) against serial, reference-style implementations, with the value differences.

    python bench/metrics.py [--train 10000] [--test 5000] [--dims 10] [--sizes 3 6 40 32 32] [--jobs 2]
                            [--points 100] [--skip-sklearn-dci]

DCI: the compiled gradient boosting (``backend='numba'``, in one thread and in ``--jobs`` threads) against
scikit-learn's ``GradientBoostingClassifier`` fit one factor after another on the same codes: seconds (wall
and CPU), the speed-ups, and the largest differences of the importance matrix and of the per-factor accuracies.
MIG and SAP against the reference-style code of
``framework/metrics/reference.py``. β-VAE and FactorVAE: the chunked sampling and encoding of the protocol
forms against the one-point-at-a-time loops of the reference, on procedural sprites with a small encoder.
Not run by the test suite. Run it with ``OMP_NUM_THREADS=1`` and without: other processes on the machine skew
the seconds, the ratio less so.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from framework.metrics.reference import (naive_beta_vae_features, naive_factor_vae_votes, naive_mig,  # noqa: E402
                                         naive_sap)


def synthetic_codes(num: int, dims: int, sizes, rng: np.random.Generator):
    """Factors drawn uniformly; codes: a noisy, partly mixed linear image of the factors plus noise dimensions."""
    factors = np.stack([rng.integers(size, size=num) for size in sizes], axis=1)
    scaled = factors / np.maximum(np.array(sizes) - 1, 1)
    mixing = np.eye(len(sizes), dims) + 0.3 * rng.normal(size=(len(sizes), dims))
    codes = scaled @ mixing + 0.1 * rng.normal(size=(num, dims))
    return codes, factors


def timed(fn, *args, **kwargs):
    """(value, wall seconds, CPU seconds of this process and of the worker processes it used)."""
    start, cpu = time.perf_counter(), _cpu_seconds()
    value = fn(*args, **kwargs)
    seconds = time.perf_counter() - start
    _stop_workers()                     # reaped workers' CPU time shows in RUSAGE_CHILDREN
    return value, seconds, _cpu_seconds() - cpu


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _stop_workers() -> None:
    from joblib.externals.loky import reusable_executor
    executor = getattr(reusable_executor, '_executor', None)
    if executor is not None:
        executor.shutdown(wait=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--train', type=int, default=10000)
    parser.add_argument('--test', type=int, default=5000)
    parser.add_argument('--dims', type=int, default=10)
    parser.add_argument('--sizes', type=int, nargs='+', default=[3, 6, 40, 32, 32], help='factor sizes (dSprites)')
    parser.add_argument('--jobs', type=int, default=2, help='threads for DCI\'s trees, workers for the SAP fits')
    parser.add_argument('--points', type=int, default=100, help='β-VAE points and FactorVAE votes per timing')
    parser.add_argument('--skip-sklearn-dci', action='store_true', help='scikit-learn\'s DCI is the slow part')
    args = parser.parse_args(argv)
    from framework.metrics import mig, sap
    from framework.metrics.dci_scores import importance_matrix

    rng = np.random.default_rng(0)
    codes, factors = synthetic_codes(args.train + args.test, args.dims, args.sizes, rng)   # one mixing for both
    codes_train, factors_train = codes[:args.train], factors[:args.train]
    codes_test, factors_test = codes[args.train:], factors[args.train:]
    print(f'{args.train} training / {args.test} test codes, {args.dims} dims, factor sizes {args.sizes}; '
          f'{os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, OMP_NUM_THREADS='
          f'{os.environ.get("OMP_NUM_THREADS", "unset")}, load average {_load()}')

    print('\nDCI: compiled boosting vs scikit-learn, one factor after another')
    arrays = (codes_train, factors_train, codes_test, factors_test)
    importance_matrix(*[a[:50] for a in arrays], backend='numba')        # loads (or compiles) the kernels
    compiled = []
    for jobs in sorted({1, args.jobs}):
        ours, seconds, cpu = timed(importance_matrix, *arrays, backend='numba', n_jobs=jobs)
        compiled.append((jobs, ours, seconds, cpu))
        print(f'  numba, {jobs} thread{"s" if jobs > 1 else " "} {seconds:8.1f} s  (CPU {cpu:.1f} s)  {_dci(ours)}')
    if not args.skip_sklearn_dci:
        reference, ref_seconds, ref_cpu = timed(importance_matrix, *arrays, backend='sklearn', n_jobs=1)
        print(f'  scikit-learn       {ref_seconds:8.1f} s  (CPU {ref_cpu:.1f} s)  {_dci(reference)}')
        for jobs, ours, seconds, cpu in compiled:
            print(f'  {jobs} thread{"s" if jobs > 1 else ""}: speed-up {ref_seconds / seconds:.1f}x wall, '
                  f'{ref_cpu / cpu:.1f}x CPU; largest differences: importance '
                  f'{np.abs(ours[0] - reference[0]).max():.2e}, train accuracy {np.abs(ours[1] - reference[1]).max():.4f}, test accuracy '
                  f'{np.abs(ours[2] - reference[2]).max():.4f}')

    print('\nMIG and SAP: array forms vs reference-style code')
    rows = [('MIG', lambda: mig(codes_train, factors_train)['mig'], lambda: naive_mig(codes_train, factors_train)),
            ('SAP', lambda: sap(*arrays, n_jobs=args.jobs)['sap'], lambda: naive_sap(*arrays))]
    for name, fast, naive in rows:
        value, seconds, _ = timed(fast)
        reference, ref_seconds, _ = timed(naive)
        print(f'  {name}  ours {seconds:6.2f} s  reference {ref_seconds:6.2f} s  ({ref_seconds / seconds:5.1f}x)  '
              f'values {value:.4f} | {reference:.4f}')

    print(f'\nβ-VAE and FactorVAE sampling + encoding, {args.points} points of batch 64 (sprites, linear encoder)')
    _intervention_scores(args.points)
    print(f'\nload average at the end {_load()}')


def _intervention_scores(points: int) -> None:
    import framework
    from framework.metrics.beta_vae import sample_features
    from framework.metrics.factor_vae import sample_votes
    torch.manual_seed(0)
    dataset = framework.create('dataset', 'sprites')
    encoder = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(int(np.prod(dataset.observation_shape)), 10))
    represent = encoder.forward
    pairs = [('β-VAE', sample_features, naive_beta_vae_features), ('FactorVAE', sample_votes, naive_factor_vae_votes)]
    for name, chunked, one_at_a_time in pairs:
        for warm_up in (chunked, one_at_a_time):         # the first renders and encodings pay for set-up
            warm_up(dataset, represent, 4, 64, torch.Generator().manual_seed(1))
        (after, _), seconds, _ = timed(chunked, dataset, represent, points, 64, torch.Generator().manual_seed(0))
        (before, _), ref_seconds, _ = timed(one_at_a_time, dataset, represent, points, 64,
                                            torch.Generator().manual_seed(0))
        print(f'  {name:9s} chunked {seconds:6.2f} s  one at a time {ref_seconds:6.2f} s  '
              f'({ref_seconds / seconds:4.1f}x; {points * 64 * (2 if name == "β-VAE" else 1)} observations); '
              f'mean feature {after.mean():.4f} | {before.mean():.4f} (different draws)')


def _dci(result) -> str:
    from framework.metrics.dci_scores import completeness, disentanglement
    importance, train, test = result
    return (f'D={disentanglement(importance):.4f} C={completeness(importance):.4f} '
            f'I_train={np.mean(train):.4f} I_test={np.mean(test):.4f}')


def _load() -> str:
    return ' '.join(f'{x:.1f}' for x in os.getloadavg())


if __name__ == '__main__':
    main()
