"""Latent responses: how latents react to interventions ("Exploring the Latent Space of Autoencoders with
Interventional Assays", Leeb et al., NeurIPS 2022, and the Structural Autoencoders code before it).

The response function is r(z) = encode(decode(z)) with the encoder's posterior mean. Two definitions exist
and give different numbers, so every result here is named by its year and the two are never combined:

- **2021** (``metric/responses`` of the Structural Autoencoders code, learn_rep ``sae_src/responses.py``):
  interventions replace latent i by another code's value (cyclic shift of a shuffled pool), responses are
  compared with r of the unintervened code and divided by each latent's standard deviation s_j; R_ij = RMS
  over codes. The latent factor-response matrix is
  M[f, i] = max_j min_g R^(f,g)_ij over G full-intervention groups g of factor f.
- **2022** (the NeurIPS paper's code, latent-responses ``src/responses.py``): no normalisation; the latent
  response matrix compares r(z with z_i replaced) with r(z), z and the values drawn from the prior; the
  conditioned response matrix keeps only the diagonal of each group's matrix and averages over traversals:
  C[f, i].

Both scores are Σ_i max_f M[f, i] / Σ_{f,i} M[f, i], in [1/F, 1] (2022: the causal disentanglement score).
Codes are (N, d) tensors; ``response`` is any function (B, d) -> (B, d).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

Response = Callable[[torch.Tensor], torch.Tensor]


def make_response(represent: Callable, decode: Callable) -> Response:
    """r(z) = represent(decode(z)): the encoder's posterior mean of the decoded code."""
    return lambda z: represent(decode(z))


@torch.no_grad()
def apply_in_batches(response: Response, codes: torch.Tensor, batch_size: int = 100) -> torch.Tensor:
    return torch.cat([response(chunk) for chunk in codes.split(int(batch_size))])


# --------------------------------------------------------------------------- the 2021 definition

@torch.no_grad()
def response_matrix_2021(response: Response, codes: torch.Tensor, scales: torch.Tensor | None = None,
                         shuffle: bool = True, generator: torch.Generator | None = None,
                         batch_size: int = 100) -> torch.Tensor:
    """R (d, d): R[i, j] = sqrt(mean_n ((r(h_n^(i)) − r(Q_n))_j / s_j)²), rows intervened, columns responding.

    h_n^(i) is code n with latent i replaced by code n+1's value (cyclically, after shuffling the rows when
    ``shuffle``, so each code gets another code's value). ``scales`` s (d,) default to ones.
    """
    codes = torch.as_tensor(codes, dtype=torch.float32)
    n, d = codes.shape
    if shuffle:
        codes = codes[torch.randperm(n, generator=generator).to(codes.device)]
    base = apply_in_batches(response, codes, batch_size)
    scales = torch.ones(d, device=codes.device) if scales is None else torch.as_tensor(scales).to(codes)
    shifted = codes.roll(-1, dims=0)
    interventions = codes.repeat(d, 1).view(d, n, d)
    latent = torch.arange(d, device=codes.device)
    interventions[latent, :, latent] = shifted.T                  # row block i: latent i replaced
    responses = apply_in_batches(response, interventions.view(d * n, d), batch_size).view(d, n, d)
    deltas = (responses - base.unsqueeze(0)) / scales
    return deltas.pow(2).mean(1).sqrt()


def factor_response_matrix_2021(group_matrices: torch.Tensor) -> torch.Tensor:
    """M (F, d) from per-group matrices (F, G, d, d): M[f, i] = max_j min_g R^(f,g)_ij."""
    return group_matrices.min(dim=1).values.max(dim=-1).values


# --------------------------------------------------------------------------- the 2022 definition

@torch.no_grad()
def response_matrix_2022(response: Response, samples: torch.Tensor | None = None,
                         interventions: torch.Tensor | None = None, num_samples: int = 100,
                         generator: torch.Generator | None = None, batch_size: int = 100,
                         latent_dim: int | None = None, device=None) -> torch.Tensor:
    """M (d, d): M[i, :] = sqrt(mean_b (r(z_b with z_bi := v_b) − r(z_b))²), no normalisation.

    Without ``samples`` (the released definition, ``response_mat`` of the NeurIPS paper's code): for every
    intervened latent i, ``num_samples`` fresh base codes z ~ N(0, I) of size ``latent_dim`` and fresh
    intervention values v ~ N(0, 1), drawn on the CPU from ``generator`` and moved to ``device``.

    With ``samples`` (e.g. encoded dataset codes): z are ``num_samples`` rows of ``samples`` (drawn with
    replacement when there are fewer rows); the value v_b for latent i comes from a *different* row of
    ``interventions`` (default: ``samples``), the row (k_b + s_b + 1) mod N with s_b uniform in 0..N−2, so no
    code is intervened on with its own value.
    """
    if samples is None:
        return prior_response_matrix_2022(response, latent_dim, num_samples, generator, batch_size, device)
    samples = torch.as_tensor(samples, dtype=torch.float32)
    options = samples if interventions is None else torch.as_tensor(interventions, dtype=torch.float32)
    rows, d = samples.shape
    pick = (torch.randperm(rows, generator=generator)[:num_samples] if num_samples <= rows
            else torch.randint(rows, (num_samples,), generator=generator))
    z = samples[pick.to(samples.device)]
    base = apply_in_batches(response, z, batch_size)
    m = options.shape[0]
    other = torch.randint(max(m - 1, 1), (d, len(pick)), generator=generator)
    source = pick % m if interventions is None or m == rows else torch.randint(m, (len(pick),), generator=generator)
    value_rows = (source.unsqueeze(0) + other + 1) % m if m > 1 else torch.zeros_like(other)
    intervened = z.repeat(d, 1).view(d, len(pick), d)
    latent = torch.arange(d, device=samples.device)
    intervened[latent, :, latent] = options[value_rows.to(options.device), latent.unsqueeze(1).to(options.device)]
    responses = apply_in_batches(response, intervened.view(-1, d), batch_size).view(d, len(pick), d)
    return (responses - base.unsqueeze(0)).pow(2).mean(1).sqrt()


@torch.no_grad()
def prior_response_matrix_2022(response: Response, latent_dim: int | None, num_samples: int = 100,
                               generator: torch.Generator | None = None, batch_size: int = 100,
                               device=None) -> torch.Tensor:
    """The 2022 latent response matrix on prior samples: row i from its own z ~ N(0, I) and v ~ N(0, 1)."""
    if latent_dim is None:
        raise ValueError('The prior latent response matrix needs latent_dim (or pass encoded codes as samples).')
    d, n = int(latent_dim), int(num_samples)
    base_codes = torch.randn(d, n, d, generator=generator)
    values = torch.randn(d, n, generator=generator)
    intervened = base_codes.clone()
    latent = torch.arange(d)
    intervened[latent, :, latent] = values
    base = apply_in_batches(response, base_codes.view(-1, d).to(device), batch_size).view(d, n, d)
    responses = apply_in_batches(response, intervened.view(-1, d).to(device), batch_size).view(d, n, d)
    return (responses - base).pow(2).mean(1).sqrt()


# --------------------------------------------------------------------------- the score shared by both

def response_score(factor_responses: torch.Tensor | np.ndarray) -> float:
    """Σ_i max_f M[f, i] / Σ_{f,i} M[f, i]: 1 when each latent responds to one factor only, 1/F when to all alike."""
    matrix = torch.as_tensor(np.asarray(factor_responses), dtype=torch.float64)
    total = matrix.sum()
    return float(matrix.max(dim=0).values.sum() / total) if total > 0 else 0.0


def rescaled_score(score: float, num_factors: int) -> float:
    """(score − 1/F) / (1 − 1/F), the rescaling of the paper's plots (0 for no structure, 1 for perfect)."""
    return (score - 1 / num_factors) / (1 - 1 / num_factors) if num_factors > 1 else score


# --------------------------------------------------------------------------- intervention groups from a dataset

def intervention_group(dataset, factor: int, generator: torch.Generator, continuous_values: int = 10) -> torch.Tensor:
    """Factors (K, F) that vary only ``factor`` over all its K classes (continuous: K draws), others fixed."""
    base = dataset.sample_factors(1, generator)
    size = (dataset.factor_sizes or (None,) * dataset.num_factors)[factor]
    if size is None:
        values = dataset.sample_factors(int(continuous_values), generator)[:, factor]
    else:
        values = torch.arange(size)
    group = base.repeat(len(values), 1)
    group[:, factor] = values.to(group.dtype)
    return group


@torch.no_grad()
def encode_observations(represent: Callable, observations: torch.Tensor, device, batch_size: int = 64) -> torch.Tensor:
    return torch.cat([represent(chunk.to(device)).float() for chunk in observations.split(int(batch_size))])


@torch.no_grad()
def latent_pool(dataset, represent: Callable, size: int, generator: torch.Generator, device,
                batch_size: int = 64) -> torch.Tensor:
    """Codes of ``size`` random observations of the dataset (the pool for scales and the 2021 matrix)."""
    indices = torch.randperm(len(dataset), generator=generator)[:size]
    return torch.cat([represent(dataset.batch(chunk)['x'].to(device)).float()
                      for chunk in indices.split(int(batch_size))])


@torch.no_grad()
def factor_responses_2021(dataset, represent: Callable, response: Response, scales: torch.Tensor,
                          generator: torch.Generator, device, num_groups: int = 50, factors=None,
                          continuous_values: int = 10, batch_size: int = 64) -> torch.Tensor:
    """Per-group response matrices (F, G, d, d) of the 2021 definition (scales s from the code pool)."""
    factors = range(dataset.num_factors) if factors is None else factors
    out = []
    for f in factors:
        mats = []
        for _ in range(int(num_groups)):
            group = intervention_group(dataset, f, generator, continuous_values)
            codes = encode_observations(represent, dataset.images_for(group), device, batch_size)
            mats.append(response_matrix_2021(response, codes, scales, shuffle=True, generator=generator,
                                             batch_size=batch_size))
        out.append(torch.stack(mats))
    return torch.stack(out)


@torch.no_grad()
def conditioned_response_matrix_2022(dataset, represent: Callable, response: Response, generator: torch.Generator,
                                     device, num_traversals: int = 50, num_samples: int = 32, factors=None,
                                     continuous_values: int = 10, batch_size: int = 64) -> torch.Tensor:
    """C (F, d): the diagonal of each traversal group's 2022 response matrix, averaged over traversals."""
    factors = range(dataset.num_factors) if factors is None else factors
    out = []
    for f in factors:
        diagonals = []
        for _ in range(int(num_traversals)):
            group = intervention_group(dataset, f, generator, continuous_values)
            codes = encode_observations(represent, dataset.images_for(group), device, batch_size)
            mat = response_matrix_2022(response, codes, num_samples=num_samples, generator=generator,
                                       batch_size=batch_size)
            diagonals.append(mat.diagonal())
        out.append(torch.stack(diagonals).mean(0))
    return torch.stack(out)
