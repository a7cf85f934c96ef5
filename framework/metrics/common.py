"""What the protocol forms share: what a metric needs, drawing and encoding points, parallel fits.

Protocol forms (``evaluate_*``) take ``(dataset, represent, generator, **protocol)``. A metric's registration
states what else it needs (``@register.metric('dci', needs=('discrete_factors',))``), so that a suite hands it
those and skips it with a reason where the dataset or the method lacks one. Points are drawn with the metric's
torch generator and encoded in batches under ``no_grad`` on the model's device.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch

from ..errors import ConfigError
from .code_table import CodeTable, table_refusal
# the array helpers, re-exported: protocol forms (the plugins' too) find everything they share here
from .information import (check_arrays, discrete_entropy, discretize, informative_factors,  # noqa: F401
                          mutual_information_matrix, normalized_entropy, top_two_gaps)


# --------------------------------------------------------------------------- what a metric needs
#
# ``needs`` in ``@register.metric(name, needs=(...))`` lists what a metric needs besides ``represent``:
# - from the dataset: ``'factors'`` (any ground-truth factors), ``'discrete_factors'`` (class-valued factors
#   only), or a check ``(dataset, params) -> reason | None`` for a need that depends on the protocol's parameters;
# - from the method: a name in ``METHOD_CAPABILITIES``; the suite hands the metric the method's function as the
#   keyword argument of that name (``decode=method.decode``), so the metric's signature has that parameter.

METHOD_CAPABILITIES = ('decode', 'sample', 'reconstruct')


def needs_factors(dataset, params: dict) -> str | None:
    """Why ``dataset`` cannot be scored by a metric that needs ground-truth factors (None if it can)."""
    if not getattr(dataset, 'has_factors', True) or not getattr(dataset, 'factor_names', ()):
        return f'{getattr(dataset, "name", "the dataset")} has no ground-truth factors'
    return None


def needs_discrete_factors(dataset, params: dict) -> str | None:
    """Why ``dataset`` cannot be scored by a metric that needs discrete (class-valued) factors."""
    reason = needs_factors(dataset, params)
    if reason:
        return reason
    sizes = dataset.factor_sizes or ()
    continuous = [name for name, size in zip(dataset.factor_names, sizes) if size is None]
    if continuous or not sizes:
        return (f'{dataset.name} has continuous factors ({", ".join(continuous) or "no factor sizes"}); this metric '
                f'needs discrete factor classes')
    return None


DATASET_NEEDS = {'factors': needs_factors, 'discrete_factors': needs_discrete_factors}


def check_needs(name: str, needs: Iterable) -> None:
    """Refuse a need that is neither a dataset need, a dataset check nor a method capability (a typo)."""
    for need in needs:
        if not callable(need) and need not in DATASET_NEEDS and need not in METHOD_CAPABILITIES:
            raise ConfigError(f'metric {name!r} declares the need {need!r}; a metric can need '
                              f'{", ".join(map(repr, [*DATASET_NEEDS, *METHOD_CAPABILITIES]))} or a check '
                              f'(dataset, params) -> reason.')


def dataset_lacks(needs: Iterable, dataset, params: dict) -> str | None:
    """Why ``dataset`` cannot serve a metric with ``needs`` under ``params`` (None when it can)."""
    for need in needs:
        check = need if callable(need) else DATASET_NEEDS.get(need)
        reason = check(dataset, dict(params)) if check is not None else None
        if reason:
            return reason
    return None


def method_lacks(needs: Iterable, method) -> str | None:
    """Why ``method`` (None: only a representation function was given) cannot serve a metric with ``needs``."""
    for need in needs:
        if isinstance(need, str) and need in METHOD_CAPABILITIES and not callable(getattr(method, need, None)):
            if method is None:
                return f'this metric needs the method\'s {need}(), and only a representation function was given'
            return f'{type(method).__name__} has no {need}(), which this metric needs'
    return None


def capabilities_for(needs: Iterable, method) -> dict[str, Callable]:
    """The method's functions that a metric with ``needs`` takes as keyword arguments (``{'decode': ...}``)."""
    return {need: getattr(method, need) for need in needs if isinstance(need, str) and need in METHOD_CAPABILITIES}


# --------------------------------------------------------------------------- drawing and encoding points

def varying_factors(dataset) -> list[int]:
    """Indices of the factors that vary: continuous ones and discrete ones with more than one class."""
    sizes = dataset.factor_sizes or (None,) * dataset.num_factors
    return [i for i, size in enumerate(sizes) if size is None or size > 1]


def resolve_device(represent: Callable, device: Any = None) -> torch.device:
    """``device`` if given; else the device of the parameters of ``represent`` (a module, or the module of a bound
    method such as ``method.represent``); else CPU."""
    if device is not None:
        return torch.device(device)
    for owner in (getattr(represent, '__self__', None), represent):
        if isinstance(owner, torch.nn.Module):
            for parameter in owner.parameters():
                return parameter.device
    return torch.device('cpu')


@torch.no_grad()
def encode(represent: Callable, observations: torch.Tensor, device: Any = None, batch_size: int = 256) -> np.ndarray:
    """``represent`` applied in batches on ``device`` under ``no_grad``: (N, ...) -> (N, D) float64 array."""
    device = resolve_device(represent, device)
    chunks = []
    for chunk in torch.as_tensor(observations).split(int(batch_size)):
        codes = represent(chunk.to(device))
        chunks.append(codes.detach().reshape(codes.shape[0], -1).double().cpu())
    return torch.cat(chunks).numpy() if chunks else np.zeros((0, 0))


@torch.no_grad()
def encode_factors(dataset, represent: Callable, factors: torch.Tensor, device: Any = None,
                   batch_size: int = 256) -> np.ndarray:
    """Codes of the observations of ``factors`` (N, F), rendered and encoded ``batch_size`` at a time.

    With a ``SharedEncodings`` wrapper that keeps a code table for ``dataset`` (``code_table.py``), only the
    combinations not encoded before in the suite are rendered and encoded; the others are looked up.
    """
    device = resolve_device(represent, device)
    table_for = getattr(represent, 'table_for', None)
    table = table_for(dataset) if table_for is not None and len(factors) else None
    if table is not None:
        return table.codes(factors, lambda missing: _render_and_encode(dataset, represent, missing, device,
                                                                       batch_size))
    return _render_and_encode(dataset, represent, factors, device, batch_size)


def _render_and_encode(dataset, represent: Callable, factors: torch.Tensor, device: torch.device,
                       batch_size: int) -> np.ndarray:
    chunks = [encode(represent, dataset.images_for(chunk), device, batch_size)
              for chunk in factors.split(int(batch_size))]
    return np.concatenate(chunks) if chunks else np.zeros((0, 0))


def sample_codes(dataset, represent: Callable, n: int, generator: torch.Generator, device: Any = None,
                 batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """``n`` factor combinations drawn from the dataset and their codes: (codes (n, D), factors (n, F)).

    With a ``SharedEncodings`` wrapper as ``represent`` (what a suite passes), a draw from the same generator
    state is encoded once and shared by every metric of the suite.
    """
    cache = getattr(represent, 'shared_draws', None)
    key = None
    if cache is not None:
        key = (int(n), generator.get_state().numpy().tobytes())
        if key in cache:
            codes, factors, state_after = cache[key]
            generator.set_state(state_after)
            return codes, factors
    factors = dataset.sample_factors(int(n), generator)
    codes = encode_factors(dataset, represent, factors, device, batch_size)
    factors = factors.numpy()
    if cache is not None:
        cache[key] = (codes, factors, generator.get_state())
    return codes, factors


def encode_groups(dataset, represent: Callable, factors: torch.Tensor, device: Any = None,
                  batch_size: int = 256) -> np.ndarray:
    """Codes of groups of factor combinations (P, B, F) -> (P, B, D), for the intervention-based scores."""
    groups, size = factors.shape[:2]
    codes = encode_factors(dataset, represent, factors.reshape(groups * size, -1), device, batch_size)
    return codes.reshape(groups, size, -1)


def group_chunks(total: int, group_size: int, images_per_chunk: int = 4096) -> list[int]:
    """Split ``total`` groups into chunks of about ``images_per_chunk`` rendered observations each."""
    per_chunk = max(1, images_per_chunk // max(1, group_size))
    return [min(per_chunk, total - start) for start in range(0, total, per_chunk)]


class SharedEncodings:
    """``represent`` with a memory of what a suite encoded (one suite run).

    Every metric of a suite starts from the same seed, so MIG, DCI, SAP and modularity would draw, render and
    encode the same 10000 + 5000 points again each; with this wrapper a draw is encoded once. Where the codes
    are a function of the factor combination (``code_table.table_refusal`` says when), a code table also makes
    every combination of a discrete grid rendered and encoded at most once, whichever metric draws it;
    ``code_table=False`` keeps only the shared draws. ``observations_encoded`` counts what ``represent`` saw.
    """

    def __init__(self, represent: Callable, code_table: bool = True):
        self.function = represent
        self.shared_draws: dict = {}
        self.code_table = code_table
        self.observations_encoded = 0
        self._tables: dict[int, tuple[object, CodeTable | None]] = {}

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.observations_encoded += int(x.shape[0])
        return self.function(x)

    def table_for(self, dataset) -> CodeTable | None:
        """The code table of ``dataset`` (made on first use), or None where codes cannot be kept."""
        if not self.code_table:
            return None
        if id(dataset) not in self._tables:       # the dataset is kept with its table, so its id stays its own
            usable = table_refusal(dataset, self.function) is None
            self._tables[id(dataset)] = (dataset, CodeTable(dataset.factor_sizes) if usable else None)
        table = self._tables[id(dataset)][1]
        return table if table is not None and table.refusal is None else None


def seed_for_sklearn(generator: torch.Generator) -> int:
    """An integer ``random_state`` for scikit-learn, drawn from the metric's generator."""
    return int(torch.randint(2 ** 31 - 1, (1,), generator=generator))


# --------------------------------------------------------------------------- parallel fits

def default_jobs(n_jobs: int | None = None) -> int:
    """``n_jobs`` if given (-1: every core), else ``$STRUCTREP_METRIC_JOBS`` or 2 (the project's CPU budget)."""
    if n_jobs is None:
        n_jobs = int(os.environ.get('STRUCTREP_METRIC_JOBS', 2))
    if n_jobs < 0:
        n_jobs = os.cpu_count() or 1
    return max(1, int(n_jobs))


def parallel_map(fn: Callable, items: Sequence, n_jobs: int | None = None, processes: bool = False,
                 cost: Callable[[Any], float] | None = None) -> list:
    """``[fn(item) for item in items]`` with ``n_jobs`` workers; see ``parallel_calls``."""
    items = list(items)
    return parallel_calls([(fn, (item,)) for item in items], n_jobs, processes,
                          None if cost is None else (lambda call: cost(call[1][0])))


def parallel_calls(calls: Sequence[tuple[Callable, tuple]], n_jobs: int | None = None, processes: bool = False,
                   cost: Callable[[tuple[Callable, tuple]], float] | None = None) -> list:
    """``[fn(*args) for fn, args in calls]`` with ``n_jobs`` joblib workers, results in the order of ``calls``.

    ``processes=True`` uses joblib's process pool: gradient boosting holds the GIL between trees, so threads do
    not overlap its fits (pass scikit-learn's own bound methods, e.g. ``estimator.fit``, so that a worker
    imports scikit-learn only). Cheap fits (LinearSVC, logistic regression) stay on threads. With ``cost``, the
    most expensive calls start first, so a slow fit (a 40-class factor) does not start last.
    """
    calls = list(calls)
    jobs = min(default_jobs(n_jobs), len(calls))
    if jobs <= 1:
        return [fn(*args) for fn, args in calls]
    from joblib import Parallel, delayed
    order = sorted(range(len(calls)), key=lambda i: -cost(calls[i])) if cost else list(range(len(calls)))
    outputs = Parallel(n_jobs=jobs, prefer='processes' if processes else 'threads')(
        delayed(calls[i][0])(*calls[i][1]) for i in order)
    results: list = [None] * len(calls)
    for i, output in zip(order, outputs):
        results[i] = output
    return results
