"""A metric suite: several registered metrics run on one method's representation with one seed.

A suite is what ``config/eval/*.yaml`` holds under ``metrics:``: ``{metric name: protocol parameters}``. Each
metric gets a fresh generator seeded with the suite's seed (as disentanglement_lib seeds every metric run with 0),
so a metric's value does not depend on which others run before it, and the same seed gives the same values.
Metrics that draw the same points (MIG, DCI, SAP, modularity all start with the same draw) share one
encoding of them. A metric whose needs (its registration's ``needs``) the dataset or the method lacks is skipped
with the reason, never dropped. Results of an earlier run of the suite are kept when their protocol parameters
and seed are this run's, so an interrupted suite resumes where it stopped.
"""
from __future__ import annotations

import inspect
import json
import time
from traceback import format_exc
from typing import Callable, Mapping

import torch

from .. import registry
from ..errors import ConfigError
from .common import (METHOD_CAPABILITIES, SharedEncodings, capabilities_for, check_needs, dataset_lacks,
                     method_lacks, resolve_device)

_NOT_PROTOCOL = ('dataset', 'represent', 'generator', 'device', 'progress') + METHOD_CAPABILITIES
# recorded with a result, but a change of these alone keeps it: they set the workers and batches, not the values
HOW_NOT_WHAT = ('n_jobs', 'encode_batch_size')


def run_suite(suite: Mapping[str, Mapping | None], dataset, model, seed: int = 0, device=None,
              progress: bool = False, previous: Mapping[str, dict] | None = None,
              on_result: Callable[[str, dict], None] | None = None,
              on_start: Callable[[str], None] | None = None, keep_going: bool = False) -> dict[str, dict]:
    """Score ``model`` on ``dataset`` with every metric of ``suite``; one result dict per metric.

    ``model`` is a method (an object with ``represent(x)``; its ``decode`` and other capabilities go to the
    metrics that need them) or a bare representation function. A result is ``{'values': {key: float},
    'params': {...}, 'seed': int, 'seconds': float}``, or for a metric that does not apply ``{'skipped': True,
    'reason': str, 'params': {...}, 'seed': int}``; ``params`` are the full protocol (the metric's defaults
    overridden by the suite's entries). A result in ``previous`` with this run's parameters and seed is kept as
    it is. ``on_start(name)`` is called before a metric computes and ``on_result(name, result)`` as each
    finishes (``fig eval-metrics`` saves there); ``progress`` prints which metric runs, n of N, time elapsed.
    With ``keep_going``, a metric that raises becomes ``{'failed': True, 'error': str, 'traceback': str, ...}``
    and the others still run (a long suite is not lost to one failure); a later run computes it again.
    """
    plan = [(name, *protocol_of(name, params)) for name, params in suite.items()]
    method, represent = split_model(model)
    device = resolve_device(represent.function if isinstance(represent, SharedEncodings) else represent, device)
    shared = represent if isinstance(represent, SharedEncodings) else SharedEncodings(represent)
    results: dict[str, dict] = {}
    start = time.perf_counter()
    for index, (name, evaluate, params) in enumerate(plan, 1):
        earlier = (previous or {}).get(name)
        if earlier is not None and is_current(earlier, params, seed):
            results[name] = earlier
            if progress:
                _say(f'metric {index}/{len(plan)}: {name} kept (computed before with the same protocol)')
            continue
        needs = needs_of(name)
        reason = dataset_lacks(needs, dataset, params) or method_lacks(needs, method)
        if reason:
            result = {'skipped': True, 'reason': reason, 'params': params, 'seed': int(seed)}
            if progress:
                _say(f'metric {index}/{len(plan)}: {name} skipped: {reason}')
        else:
            if progress:
                _say(f'metric {index}/{len(plan)}: {name} (elapsed {_clock(time.perf_counter() - start)})')
            if on_start is not None:
                on_start(name)
            generator = torch.Generator().manual_seed(int(seed))
            began = time.perf_counter()
            try:
                shows_progress = 'progress' in inspect.signature(evaluate).parameters
                values = evaluate(dataset, shared, generator, device=device, **capabilities_for(needs, method),
                                  **({'progress': progress} if shows_progress else {}), **params)
            except Exception as exc:
                if not keep_going:
                    raise
                result = {'failed': True, 'error': f'{type(exc).__name__}: {exc}', 'traceback': format_exc(),
                          'params': params, 'seed': int(seed), 'seconds': round(time.perf_counter() - began, 3)}
                if progress:
                    _say(f'metric {index}/{len(plan)}: {name} failed: {result["error"]}')
            else:
                result = {'values': {k: _plain(v) for k, v in values.items()}, 'params': params,
                          'seed': int(seed), 'seconds': round(time.perf_counter() - began, 3)}
                if progress:
                    scores = ', '.join(f'{k}={v:.4g}' for k, v in result['values'].items())
                    _say(f'metric {index}/{len(plan)}: {name} done in {_clock(result["seconds"])}: {scores}')
        results[name] = result
        if on_result is not None:
            on_result(name, result)
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


def needs_of(name: str) -> tuple:
    """What metric ``name`` declared it needs at registration (checked against the known needs)."""
    needs = registry.get('metric', name).needs
    check_needs(name, needs)
    return needs


def is_current(result: Mapping, params: Mapping, seed: int) -> bool:
    """Whether an earlier ``result`` holds values computed with these protocol ``params`` and ``seed``; the
    parameters that only say how to compute (``HOW_NOT_WHAT``) may differ."""
    def protocol(p):
        return _as_json({k: v for k, v in dict(p or {}).items() if k not in HOW_NOT_WHAT})
    return 'values' in result and result.get('seed') == int(seed) and protocol(result.get('params')) == protocol(params)


def split_model(model) -> tuple[object | None, Callable]:
    """``(method, represent)`` for a method; ``(None, model)`` for a bare representation function."""
    if isinstance(model, SharedEncodings) or not callable(getattr(model, 'represent', None)):
        return None, model
    return model, model.represent


def metrics_needing_factors(suite: Mapping[str, Mapping | None], dataset) -> list[str]:
    """The metrics of ``suite`` that ``dataset`` cannot serve because it has no ground-truth factors."""
    from .common import needs_factors
    if needs_factors(dataset, {}) is None:
        return []
    return [name for name, params in suite.items()
            if dataset_lacks(needs_of(name), dataset, protocol_of(name, params)[1]) is not None]


def _as_json(value):
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f'{minutes // 60}:{minutes % 60:02d}:{seconds:02d}' if minutes >= 60 else f'{minutes}:{seconds:02d}'


def _say(line: str) -> None:
    from tqdm import tqdm
    tqdm.write(line)


def _plain(value):
    return value.item() if hasattr(value, 'item') else value
