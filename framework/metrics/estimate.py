"""How long a suite will take, told before it starts: a timed batch of encodings and a cost model per metric.

The time of a suite is mostly two things: rendering and encoding observations, and fitting classifiers (DCI's
gradient boosted trees). At the reference protocol the β-VAE and FactorVAE scores draw about 1.9 M and 1.0 M
factor combinations. Where the suite keeps a code table (``code_table.py``: discrete factors, a deterministic
representation) each combination is encoded once, so the observations counted are the expected distinct
combinations among the suite's T draws from the N of the grid, N (1 − exp(−T/N)) for uniform draws (737,280
combinations of dSprites are nearly all drawn: 98 %); otherwise every draw counts. The seconds per observation
are measured on the run itself: the median of three batches rendered and encoded on its device. The fits are a
cost model: seconds per training point, code and class, fitted with ``bench/eval_metrics_cost.py`` on the
project's 2-core CPU. A metric without a cost model (a plugin's) is named as not estimated.
"""
from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

import torch

from .code_table import expected_unique, table_refusal
from .common import encode_factors, varying_factors


@dataclass
class Estimate:
    """The estimated seconds of a suite, with what they are made of: ``observations`` rendered and encoded out
    of ``draws`` factor combinations drawn (fewer where a code table encodes each combination once)."""
    seconds: float
    seconds_per_observation: float
    observations: int
    fit_seconds: float
    not_estimated: list[str] = field(default_factory=list)
    draws: int | None = None

    def describe(self) -> str:
        if not self.observations and self.not_estimated:
            return f'no estimate for {", ".join(self.not_estimated)}'
        encoded = f'{_count(self.observations)} observations'
        if self.draws is not None and self.draws > self.observations:
            encoded = f'{_count(self.draws)} factor combinations drawn, {_count(self.observations)} distinct ones'
        about = 'under 1 s' if self.seconds < 1 else f'about {format_duration(self.seconds)}'
        text = (f'{about} ({encoded} rendered and encoded at {self.seconds_per_observation * 1e3:.2g} ms each, and '
                f'{format_duration(self.fit_seconds)} of classifier fits)')
        if self.not_estimated:
            text += f'; not estimated: {", ".join(self.not_estimated)}'
        return text


def estimate_suite(protocols: Mapping[str, Mapping], dataset, method, device=None,
                   seconds_per_observation: float | None = None) -> Estimate:
    """Estimate the seconds of ``protocols`` (``{metric: full protocol parameters}``) for ``method``; a suite
    with a code table (``code_table.table_refusal`` is None) counts the distinct combinations it expects."""
    if seconds_per_observation is None:
        seconds_per_observation = time_encoding(dataset, _represent_of(method), device)
    draws: set = set()
    observations, fit_seconds, unknown = 0, 0.0, []
    sizes = _class_counts(dataset)
    dims = _code_dims(dataset, _represent_of(method), device)
    for name, params in protocols.items():
        model = COSTS.get(name)
        if model is None:
            unknown.append(name)
            continue
        encodings, fit = model(params, dims, sizes)
        for key, count in encodings:
            if key is None or key not in draws:
                observations += count
            if key is not None:
                draws.add(key)
        fit_seconds += fit
    drawn = observations
    if table_refusal(dataset, _represent_of(method), dims) is None:
        observations = round(expected_unique(drawn, math.prod(dataset.factor_sizes)))
    seconds = observations * seconds_per_observation + fit_seconds
    return Estimate(seconds, seconds_per_observation, observations, fit_seconds, unknown, drawn)


def time_encoding(dataset, represent: Callable, device=None, batch_size: int = 256, timed: int = 3) -> float:
    """Seconds to render and encode one observation: the median of ``timed`` batches after a warm-up batch of the
    same size (the first batch of a shape pays one-off costs; single batches of the dlib encoder on a 2-core CPU
    swing by 20 % from one to the next)."""
    generator = torch.Generator().manual_seed(0)
    encode_factors(dataset, represent, dataset.sample_factors(batch_size, generator), device)
    seconds = []
    for _ in range(timed):
        factors = dataset.sample_factors(batch_size, generator)
        start = time.perf_counter()
        encode_factors(dataset, represent, factors, device)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds) / batch_size


def format_duration(seconds: float) -> str:
    """``42 s``, ``7 min``, ``1 h 35 min``."""
    if seconds < 90:
        return f'{seconds:.0f} s'
    minutes = round(seconds / 60)
    return f'{minutes} min' if minutes < 60 else f'{minutes // 60} h {minutes % 60} min'


# --------------------------------------------------------------------------- the cost model
#
# Each metric: (params, code dimensions, class counts of the varying factors) -> (encodings, fit seconds).
# Encodings are (key, count): draws with the same key are shared within a suite (``SharedEncodings``: MIG, DCI,
# SAP, modularity, IRS and FactorVAE's variance estimate start from the same seed); None is never shared.
# The fit constants are seconds per (training point x code x class), measured by bench/eval_metrics_cost.py.

FIT_SECONDS = {                          # sprites, 10 codes, 10,000 points (the reference protocol), a 2-core CPU
    'dci': 1.7e-6,                       # one gradient boosted classifier a factor, one tree a class a stage (numba)
    'dci-sklearn': 3e-5,                 # the same with scikit-learn's own classifiers (bench/metrics.py)
    'sap': 1.2e-7,                       # one linear SVM a code and factor
    'modularity-explicitness': 1.1e-7,   # one one-vs-rest logistic regression a factor
    'beta-vae': 2e-5,                    # one logistic regression on num_train points (per code)
    'mig': 2e-8,                         # histograms (per code and factor class)
    'irs': 3e-8,
}


def _draws(first: int, second: int | None = None) -> list[tuple]:
    draws = [(('draw', int(first)), int(first))]
    if second is not None:
        draws.append((('draw', int(first), int(second)), int(second)))
    return draws


def _fit(name: str, points: int, dims: int, classes: int) -> float:
    return FIT_SECONDS[name] * points * dims * classes


COSTS: dict[str, Callable] = {
    'mig': lambda p, d, c: (_draws(p['num_train']), _fit('mig', p['num_train'], d, sum(c))),
    'irs': lambda p, d, c: (_draws(p['num_train']), _fit('irs', p['num_train'], d, sum(c))),
    'dci': lambda p, d, c: (_draws(p['num_train'], p['num_test']),
                            _fit('dci-sklearn' if p.get('backend') == 'sklearn' else 'dci', p['num_train'], d,
                                 sum(k if k > 2 else 1 for k in c))),
    'sap': lambda p, d, c: (_draws(p['num_train'], p['num_test']), _fit('sap', p['num_train'], d, sum(c))),
    'modularity-explicitness': lambda p, d, c: (_draws(p['num_train'], p['num_test']),
                                                _fit('modularity-explicitness', p['num_train'], d, sum(c))),
    'beta-vae': lambda p, d, c: ([(None, 2 * p['batch_size'] * (p['num_train'] + p['num_eval']))],
                                 _fit('beta-vae', p['num_train'], d, 1)),
    'factor-vae': lambda p, d, c: (_draws(p['num_variance_estimate'])
                                   + [(None, p['batch_size'] * (p['num_train'] + p['num_eval']))], 0.0),
}


def _class_counts(dataset) -> list[int]:
    """Classes of each varying factor (a continuous factor counts as 20, the metrics' number of bins)."""
    sizes = getattr(dataset, 'factor_sizes', None) or (None,) * getattr(dataset, 'num_factors', 0)
    return [20 if sizes[i] is None else int(sizes[i]) for i in varying_factors(dataset)] or [1]


def _code_dims(dataset, represent: Callable, device) -> int:
    codes = encode_factors(dataset, represent, dataset.sample_factors(2, torch.Generator().manual_seed(0)), device)
    return int(codes.shape[1])


def _represent_of(method) -> Callable:
    return method.represent if callable(getattr(method, 'represent', None)) else method


def _count(number: int) -> str:
    return f'{number / 1e6:.2g} M' if number >= 1e6 else f'{number:,}'
