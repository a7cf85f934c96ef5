"""The latent-response scores as registered metrics: ``responses-2021`` and ``responses-2022``.

Protocol form ``fn(dataset, represent, generator, decode=..., **protocol)``: a response r(z) = represent(decode(z))
needs the decoder too, so both register ``needs=('factors', 'decode')`` and a suite hands them the method's
``decode`` (a method without one is skipped with that reason). From Python::

    evaluate_responses_2022(dataset, method.represent, torch.Generator().manual_seed(0), decode=method.decode)
"""
from __future__ import annotations

from typing import Callable

import torch

from framework import register
from framework.metrics.common import resolve_device

from .responses import (conditioned_response_matrix_2022, factor_response_matrix_2021, factor_responses_2021,
                        latent_pool, make_response, rescaled_score, response_score)


@register.metric('responses-2021', needs=('factors', 'decode'))
def evaluate_responses_2021(dataset, represent: Callable, generator: torch.Generator, *, decode: Callable,
                            num_latent: int = 10000, num_groups: int = 50, continuous_values: int = 10,
                            batch_size: int = 64, device=None) -> dict[str, float]:
    """Latent-response disentanglement, 2021 definition (Leeb et al., SAE): max over responses, min over groups."""
    device = resolve_device(represent, device)
    response = make_response(represent, decode)
    scales = latent_pool(dataset, represent, num_latent, generator, device, batch_size).std(0)
    groups = factor_responses_2021(dataset, represent, response, scales, generator, device, num_groups,
                                   continuous_values=continuous_values, batch_size=batch_size)
    score = response_score(factor_response_matrix_2021(groups).cpu())
    return {'disentanglement': score, 'disentanglement_rescaled': rescaled_score(score, dataset.num_factors)}


@register.metric('responses-2022', needs=('factors', 'decode'))
def evaluate_responses_2022(dataset, represent: Callable, generator: torch.Generator, *, decode: Callable,
                            num_traversals: int = 50, num_samples: int = 32, continuous_values: int = 10,
                            batch_size: int = 64, device=None) -> dict[str, float]:
    """Causal disentanglement score, 2022 definition (Leeb et al., NeurIPS 2022): diagonal, mean over traversals."""
    device = resolve_device(represent, device)
    response = make_response(represent, decode)
    conditioned = conditioned_response_matrix_2022(dataset, represent, response, generator, device, num_traversals,
                                                   num_samples, continuous_values=continuous_values,
                                                   batch_size=batch_size)
    score = response_score(conditioned.cpu())
    return {'cds': score, 'cds_rescaled': rescaled_score(score, dataset.num_factors)}
