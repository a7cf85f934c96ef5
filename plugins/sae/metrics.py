"""The latent-response scores as registered metrics: ``responses-2021`` and ``responses-2022``.

Protocol form ``fn(dataset, represent, generator, **protocol)`` like every metric, but a response needs the
decoder too: pass ``decode=`` (a function (B, d) -> observations) or ``method=`` (a module with ``decode``).
When neither is given, ``represent`` itself is asked for its owner: a bound ``method.represent`` (or a
wrapper with ``__self__``, such as ``framework.metrics.common.SharedEncodings``) gives ``method.decode``.
"""
from __future__ import annotations

from typing import Callable

import torch

from framework import register
from framework.errors import ConfigError
from framework.metrics.common import protocol, resolve_device

from .responses import (conditioned_response_matrix_2022, factor_response_matrix_2021, factor_responses_2021,
                        latent_pool, make_response, rescaled_score, response_score)


def find_decode(represent: Callable, decode: Callable | None = None, method=None) -> Callable:
    """The decoder for latent responses: ``decode``, else ``method.decode``, else ``represent.__self__.decode``."""
    if decode is not None:
        return decode
    owner = method if method is not None else getattr(represent, '__self__', None)
    if owner is not None and hasattr(owner, 'decode'):
        return owner.decode
    raise ConfigError('Latent responses need the decoder: call the metric with `method=<the method>` or '
                      '`decode=<function>`, or pass the bound `method.represent` as `represent`.')


@register.metric('responses-2021')
@protocol('factors')
def evaluate_responses_2021(dataset, represent: Callable, generator: torch.Generator, decode: Callable | None = None,
                            method=None, num_latent: int = 10000, num_groups: int = 50, continuous_values: int = 10,
                            batch_size: int = 64, device=None) -> dict[str, float]:
    """Latent-response disentanglement, 2021 definition (SAE seed, sae.md §3.1): max over responses, min over groups."""
    device = resolve_device(represent, device)
    response = make_response(represent, find_decode(represent, decode, method))
    scales = latent_pool(dataset, represent, num_latent, generator, device, batch_size).std(0)
    groups = factor_responses_2021(dataset, represent, response, scales, generator, device, num_groups,
                                   continuous_values=continuous_values, batch_size=batch_size)
    score = response_score(factor_response_matrix_2021(groups).cpu())
    return {'disentanglement': score, 'disentanglement_rescaled': rescaled_score(score, dataset.num_factors)}


@register.metric('responses-2022')
@protocol('factors')
def evaluate_responses_2022(dataset, represent: Callable, generator: torch.Generator, decode: Callable | None = None,
                            method=None, num_traversals: int = 50, num_samples: int = 32,
                            continuous_values: int = 10, batch_size: int = 64, device=None) -> dict[str, float]:
    """Causal disentanglement score, 2022 definition (NeurIPS paper, sae.md §3.2): diagonal, mean over traversals."""
    device = resolve_device(represent, device)
    response = make_response(represent, find_decode(represent, decode, method))
    conditioned = conditioned_response_matrix_2022(dataset, represent, response, generator, device, num_traversals,
                                                   num_samples, continuous_values=continuous_values,
                                                   batch_size=batch_size)
    score = response_score(conditioned.cpu())
    return {'cds': score, 'cds_rescaled': rescaled_score(score, dataset.num_factors)}
