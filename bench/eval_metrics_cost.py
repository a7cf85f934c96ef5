"""The classifier-fit constants of ``framework/metrics/estimate.py``, measured on this machine.

    python bench/eval_metrics_cost.py [--points 2000 10000] [--dims 10] [--dataset sprites]

For each metric's array form, times the fit on codes that are a noisy linear map of the dataset's factors (so
the classifiers have something to learn, as on a trained model) and prints seconds per (training point x code x
class), the unit of ``FIT_SECONDS``. Two sizes show how close to linear the cost is (SAP is not: at 10,000
points, the reference protocol, it costs less per point than at 2,000; the constants are for 10,000).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from framework import create
from framework.metrics import dci, irs, mig, modularity_explicitness, sap
from framework.metrics.common import varying_factors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--points', type=int, nargs='+', default=[2000, 10000])
    parser.add_argument('--dims', type=int, default=10)
    parser.add_argument('--dataset', default='sprites')
    args = parser.parse_args()
    dataset = create('dataset', args.dataset)
    sizes = [dataset.factor_sizes[i] for i in varying_factors(dataset)]
    classes = {'all': sum(sizes), 'trees': sum(k if k > 2 else 1 for k in sizes)}
    print(f'{args.dataset}: varying factor classes {sizes}; codes {args.dims}')
    generator, rng = torch.Generator().manual_seed(0), np.random.default_rng(0)
    for points in args.points:
        factors = dataset.sample_factors(points, generator).numpy()
        test = dataset.sample_factors(points // 2, generator).numpy()
        weights = rng.normal(size=(factors.shape[1], args.dims))
        codes = factors @ weights + rng.normal(size=(points, args.dims))
        codes_test = test @ weights + rng.normal(size=(len(test), args.dims))
        runs = {'mig': (lambda: mig(codes, factors), 'all'), 'irs': (lambda: irs(codes, factors), 'all'),
                'sap': (lambda: sap(codes, factors, codes_test, test), 'all'),
                'modularity-explicitness': (lambda: modularity_explicitness(codes, factors, codes_test, test), 'all'),
                'dci': (lambda: dci(codes, factors, codes_test, test), 'trees')}
        for name, (fit, unit) in runs.items():
            start = time.perf_counter()
            fit()
            seconds = time.perf_counter() - start
            per_unit = seconds / (points * args.dims * classes[unit])
            print(f'{name:>24} {points:>6} points: {seconds:7.2f} s  {per_unit:.2e} s per point x code x class')


if __name__ == '__main__':
    main()
