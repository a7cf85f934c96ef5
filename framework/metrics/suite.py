"""A metric suite: several registered metrics run on one representation with one seed.

A suite is what ``config/eval/*.yaml`` holds under ``metrics:``: ``{metric name: protocol parameters}``. Each
metric gets a fresh generator seeded with the suite's seed (as the reference seeds every metric run with 0),
so a metric's value does not depend on which others run before it, and the same seed gives the same values.
Metrics that draw the same points (MIG, DCI, SAP, modularity all start with the same draw) share one
encoding of them. A metric that cannot apply to the dataset is skipped with the reason, never dropped.
"""
from __future__ import annotations

import inspect
import time
from typing import Callable, Mapping

import torch

from .. import registry
from ..errors import ConfigError
from .common import SharedEncodings

_NOT_PROTOCOL = ('dataset', 'represent', 'generator', 'device', 'method', 'decode')


def run_suite(suite: Mapping[str, Mapping | None], dataset, represent: Callable[[torch.Tensor], torch.Tensor],
              seed: int = 0, device=None, progress: bool = False) -> dict[str, dict]:
    """Score ``represent`` on ``dataset`` with every metric of ``suite``; one result dict per metric.

    A result is ``{'values': {key: float}, 'params': {...}, 'seed': int, 'seconds': float}``, or for a metric
    that does not apply ``{'skipped': True, 'reason': str, 'params': {...}, 'seed': int}``. ``params`` are the
    full protocol (the metric's defaults overridden by the suite's entries).
    """
    plan = [(name, *protocol_of(name, params)) for name, params in suite.items()]
    shared = represent if isinstance(represent, SharedEncodings) else SharedEncodings(represent)
    results: dict[str, dict] = {}
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(plan), desc='metrics', unit='metric')
    try:
        for name, evaluate, params in plan:
            if bar is not None:
                bar.set_postfix_str(name)
            reason = skip_reason(evaluate, dataset, params)
            if reason:
                results[name] = {'skipped': True, 'reason': reason, 'params': params, 'seed': int(seed)}
            else:
                generator = torch.Generator().manual_seed(int(seed))
                start = time.perf_counter()
                values = evaluate(dataset, shared, generator, device=device, **params)
                results[name] = {'values': {k: _plain(v) for k, v in values.items()}, 'params': params,
                                 'seed': int(seed), 'seconds': round(time.perf_counter() - start, 3)}
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.close()
    return results


def protocol_of(name: str, params: Mapping | None = None) -> tuple[Callable, dict]:
    """The registered protocol form of metric ``name`` and its full parameters (defaults + ``params``)."""
    evaluate = registry.get('metric', name).obj
    defaults = {p.name: p.default for p in inspect.signature(evaluate).parameters.values()
                if p.name not in _NOT_PROTOCOL and p.default is not p.empty}
    params = dict(params or {})
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ConfigError(f'metric {name!r} has no parameter {", ".join(map(repr, unknown))}; its protocol '
                          f'parameters are {", ".join(defaults)}.')
    return evaluate, {**defaults, **params}


def skip_reason(evaluate: Callable, dataset, params: Mapping) -> str | None:
    """Why ``evaluate`` cannot score ``dataset`` (None when it can)."""
    requires = getattr(evaluate, 'requires', None)
    return requires(dataset, dict(params)) if requires else None


def metrics_needing_factors(suite: Mapping[str, Mapping | None], dataset) -> list[str]:
    """The metrics of ``suite`` that ``dataset`` cannot serve because it has no ground-truth factors."""
    from .common import needs_factors
    if needs_factors(dataset, {}) is None:
        return []
    needing = []
    for name, params in suite.items():
        evaluate, full = protocol_of(name, params)
        if skip_reason(evaluate, dataset, full) is not None:
            needing.append(name)
    return needing


def _plain(value):
    return value.item() if hasattr(value, 'item') else value
