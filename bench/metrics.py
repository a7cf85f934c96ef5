"""Times MIG, DCI and SAP (array forms) against a serial, reference-style implementation written here.

    python bench/metrics.py [--train 6000] [--test 3000] [--dims 10] [--sizes 3 6 40 32 32] [--jobs 2]

The naive versions follow the structure of disentanglement_lib's code as described in
``shared/specs/anchors.md`` §2 (codes and factors transposed, a Python loop per code × factor pair for the
mutual information, one ``mutual_info_score`` / ``LinearSVC`` / ``GradientBoostingClassifier`` after another),
so the printed differences are also a parity check on the same arrays. Not run by the test suite; the tests
import the naive functions from here for their parity checks.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


# --------------------------------------------------------------------------- naive reference-style versions

def naive_discretize(codes_t: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """codes (D, N) -> bins (D, N), one dimension after another."""
    out = np.zeros_like(codes_t, dtype=np.int64)
    for i in range(codes_t.shape[0]):
        out[i] = np.digitize(codes_t[i], np.histogram(codes_t[i], num_bins)[1][:-1])
    return out


def naive_mutual_info(codes_t: np.ndarray, factors_t: np.ndarray) -> np.ndarray:
    from sklearn.metrics import mutual_info_score
    m = np.zeros((codes_t.shape[0], factors_t.shape[0]))
    for i in range(codes_t.shape[0]):
        for j in range(factors_t.shape[0]):
            m[i, j] = mutual_info_score(factors_t[j], codes_t[i])
    return m


def naive_mig(codes: np.ndarray, factors: np.ndarray) -> float:
    from sklearn.metrics import mutual_info_score
    codes_t, factors_t = codes.T, factors.T
    m = naive_mutual_info(naive_discretize(codes_t), factors_t)
    entropy = np.array([mutual_info_score(factors_t[j], factors_t[j]) for j in range(factors_t.shape[0])])
    ranked = np.sort(m, axis=0)[::-1]
    return float(np.mean((ranked[0] - ranked[1]) / entropy))


def naive_dci(codes_train, factors_train, codes_test, factors_test) -> dict[str, float]:
    from sklearn.ensemble import GradientBoostingClassifier
    x_train, y_train, x_test, y_test = codes_train.T, factors_train.T, codes_test.T, factors_test.T
    importance = np.zeros((x_train.shape[0], y_train.shape[0]))
    train_acc, test_acc = [], []
    for j in range(y_train.shape[0]):
        model = GradientBoostingClassifier()
        model.fit(x_train.T, y_train[j])
        importance[:, j] = np.abs(model.feature_importances_)
        train_acc.append(np.mean(model.predict(x_train.T) == y_train[j]))
        test_acc.append(np.mean(model.predict(x_test.T) == y_test[j]))
    per_code = 1.0 - scipy.stats.entropy(importance.T + 1e-11, base=importance.shape[1])
    per_factor = 1.0 - scipy.stats.entropy(importance + 1e-11, base=importance.shape[0])
    weights = importance if importance.sum() > 0 else np.ones_like(importance)
    return {'disentanglement': float(np.sum(per_code * weights.sum(axis=1) / weights.sum())),
            'completeness': float(np.sum(per_factor * weights.sum(axis=0) / weights.sum())),
            'informativeness_train': float(np.mean(train_acc)), 'informativeness_test': float(np.mean(test_acc))}


def naive_sap(codes_train, factors_train, codes_test, factors_test) -> float:
    from sklearn.svm import LinearSVC
    mus, ys, mus_test, ys_test = codes_train.T, factors_train.T, codes_test.T, factors_test.T
    score = np.zeros((mus.shape[0], ys.shape[0]))
    for i in range(mus.shape[0]):
        for j in range(ys.shape[0]):
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                classifier = LinearSVC(C=0.01, class_weight='balanced').fit(mus[i][:, None], ys[j])
            score[i, j] = np.mean(classifier.predict(mus_test[i][:, None]) == ys_test[j])
    ranked = np.sort(score, axis=0)
    return float(np.mean(ranked[-1] - ranked[-2]))


# --------------------------------------------------------------------------- benchmark

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
    parser.add_argument('--train', type=int, default=6000)
    parser.add_argument('--test', type=int, default=3000)
    parser.add_argument('--dims', type=int, default=10)
    parser.add_argument('--sizes', type=int, nargs='+', default=[3, 6, 40, 32, 32], help='factor sizes (dSprites)')
    parser.add_argument('--jobs', type=int, default=2, help='workers for the per-factor fits')
    parser.add_argument('--skip-naive-dci', action='store_true', help='the naive DCI is the slow part')
    args = parser.parse_args(argv)
    from framework.metrics import dci, mig, sap

    rng = np.random.default_rng(0)
    codes_train, factors_train = synthetic_codes(args.train, args.dims, args.sizes, rng)
    codes_test, factors_test = synthetic_codes(args.test, args.dims, args.sizes, rng)
    print(f'{args.train} training / {args.test} test codes, {args.dims} dims, factor sizes {args.sizes}, '
          f'{args.jobs} workers; {os.cpu_count()} CPUs, load average {_load()} (other processes skew the times)')
    print(f'{"metric":6s} {"ours (s)":>9s} {"naive (s)":>10s} {"speed-up":>9s} {"CPU ours/naive (s)":>19s}  '
          f'values (ours | naive)')
    rows = [
        ('MIG', lambda: mig(codes_train, factors_train)['mig'], lambda: naive_mig(codes_train, factors_train)),
        ('SAP', lambda: sap(codes_train, factors_train, codes_test, factors_test, n_jobs=args.jobs)['sap'],
         lambda: naive_sap(codes_train, factors_train, codes_test, factors_test)),
        ('DCI', lambda: dci(codes_train, factors_train, codes_test, factors_test, n_jobs=args.jobs),
         None if args.skip_naive_dci else lambda: naive_dci(codes_train, factors_train, codes_test, factors_test)),
    ]
    total_ours = total_naive = 0.0
    for name, ours, naive in rows:
        value, seconds, cpu = timed(ours)
        total_ours += seconds
        if naive is None:
            print(f'{name:6s} {seconds:9.2f} {"-":>10s} {"-":>9s} {cpu:9.1f} / {"-":>7s}  {_fmt(value)}')
            continue
        reference, naive_seconds, naive_cpu = timed(naive)
        total_naive += naive_seconds
        print(f'{name:6s} {seconds:9.2f} {naive_seconds:10.2f} {naive_seconds / seconds:8.1f}x '
              f'{cpu:9.1f} / {naive_cpu:7.1f}  {_fmt(value)} | {_fmt(reference)}')
    print(f'{"total":6s} {total_ours:9.2f} {total_naive:10.2f}   load average at the end {_load()}')


def _load() -> str:
    return ' '.join(f'{x:.1f}' for x in os.getloadavg())


def _fmt(value) -> str:
    if isinstance(value, dict):
        return ' '.join(f'{k[:6]}={v:.4f}' for k, v in value.items())
    return f'{value:.4f}'


if __name__ == '__main__':
    main()
