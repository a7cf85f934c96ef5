"""``betatcvae``: the β-TCVAE (Chen et al. 2018, "Isolating Sources of Disentanglement in VAEs").

The KL term of the ELBO, averaged over the data, splits into three parts (the paper's ELBO TC-decomposition)::

    E_p(n) KL(q(z|n) || p(z)) = I_q(z; n)                       index-code mutual information
                              + KL(q(z) || Π_j q(z_j))           total correlation
                              + Σ_j KL(q(z_j) || p(z_j))         dimension-wise KL

and the β-TCVAE weighs them separately: reconstruction + α·MI + β·TC + γ·DWKL (α = γ = 1 is the paper's
β-TCVAE). The aggregate posterior q(z) = 1/N Σ_n q(z|n) is estimated on the minibatch, which is why
the method needs the training set's size N (``dataset_size``, set by the train script from the dataset).
"""
from __future__ import annotations

import math

import torch

from ..config import Builder
from ..errors import ConfigError
from ..registry import register
from .vae import VAE
from ..values import Count, Weight

ESTIMATORS = ('mws', 'mss')


@register.method('betatcvae')
class BetaTCVAE(VAE):
    """β-TCVAE (Chen et al. 2018): reconstruction + alpha·MI + beta·TC + gamma·dimension-wise KL."""

    def __init__(self, encoder: Builder, decoder: Builder, observation_shape, dataset_size: int,
                 latent_dim: Count = 12, alpha: Weight = 1.0, beta: Weight = 6.0, gamma: Weight = 1.0,
                 estimator: str = 'mws', criterion: str = 'auto'):
        if estimator not in ESTIMATORS:
            raise ConfigError(f"estimator must be 'mws' (minibatch-weighted sampling) or 'mss' (minibatch "
                              f"stratified sampling), got {estimator!r}")
        if int(dataset_size) < 1:
            raise ConfigError(f'dataset_size must be the number of training observations, got {dataset_size!r}')
        super().__init__(encoder, decoder, observation_shape, latent_dim, reg_wt=beta, criterion=criterion)
        self.dataset_size, self.estimator = int(dataset_size), estimator
        self.alpha, self.beta, self.gamma = float(alpha), float(beta), float(gamma)

    def training_step(self, batch):
        x = batch['x']
        mean, log_var = self.posterior(x)
        z = mean + (0.5 * log_var).exp() * torch.randn_like(mean) if self.training else mean
        rec_loss = self.reconstruction_term(z, x)
        mi, tc, dwkl = decomposed_kl(z, mean, log_var, self.dataset_size, self.estimator)
        loss = rec_loss + self.alpha * mi + self.beta * tc + self.gamma * dwkl
        return {'loss': loss, 'rec_loss': rec_loss, 'mi': mi, 'tc': tc, 'dwkl': dwkl}


def decomposed_kl(z: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor, dataset_size: int,
                  estimator: str = 'mws') -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(index-code MI, total correlation, dimension-wise KL), each a batch average, from codes ``z`` (B, D)
    drawn from the Gaussian posteriors N(mean, exp(log_var)) of the same B observations.

    With q(z_i|n_j) the posterior of observation j at observation i's code::

        log q(z_i)      ≈ log Σ_j w_ij q(z_i | n_j)
        log q(z_i,d)    ≈ log Σ_j w_ij q(z_i,d | n_j)          for each dimension d
        MI   = mean_i [log q(z_i | n_i) − log q(z_i)]
        TC   = mean_i [log q(z_i) − Σ_d log q(z_i,d)]
        DWKL = mean_i [Σ_d log q(z_i,d) − log p(z_i)]

    ``importance_weights`` gives w for each estimator.
    """
    batch_size = z.shape[0]
    # log q(z_i,d | n_j) for every pair: (B, B, D)
    pairwise = gaussian_log_density(z[:, None, :], mean[None, :, :], log_var[None, :, :])
    log_w = importance_weights(batch_size, dataset_size, estimator, z.device).log().to(z.dtype)
    log_qz = torch.logsumexp(pairwise.sum(2) + log_w, dim=1)
    log_qz_marginals = torch.logsumexp(pairwise + log_w[:, :, None], dim=1).sum(1)
    log_qz_given_x = gaussian_log_density(z, mean, log_var).sum(1)
    log_pz = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z)).sum(1)
    mi = (log_qz_given_x - log_qz).mean()
    tc = (log_qz - log_qz_marginals).mean()
    dwkl = (log_qz_marginals - log_pz).mean()
    return mi, tc, dwkl


def importance_weights(batch_size: int, dataset_size: int, estimator: str = 'mws',
                       device: torch.device | str | None = None) -> torch.Tensor:
    """The (B, B) weights w_ij of q(z_i | n_j) in the minibatch estimate of q(z_i).

    ``'mws'``, minibatch-weighted sampling (the paper's estimator of E_q(z)[log q(z)]): w_ij = 1 / (N·B) for every pair. As the
    paper writes it, the weights sum to 1/N rather than 1, so each log-density carries a constant −log N
    (MI is offset by +log N, TC by −(D−1)·log N, DWKL by −D·log N); the gradients are unaffected.

    ``'mss'``, minibatch stratified sampling (the paper's appendix): observation i's own posterior gets 1/N, and the
    other N − 1 observations are split into B − 1 strata, one represented by each other batch member: B − 2
    strata of N/(B − 1) observations (weight 1/(B − 1)) and one of the remaining N − B + 1 (weight
    (N − B + 1)/(N(B − 1))), given here to the next batch member, j = i + 1 (cyclically). Each row sums to 1.
    """
    n, b = float(dataset_size), batch_size
    if estimator == 'mws':
        return torch.full((b, b), 1.0 / (n * b), dtype=torch.float64, device=device)
    if estimator != 'mss':
        raise ConfigError(f"estimator must be one of {', '.join(ESTIMATORS)}, got {estimator!r}")
    if b == 1:              # no other observation to stand for the rest of the data
        return torch.ones(1, 1, dtype=torch.float64, device=device)
    if dataset_size < b:
        raise ConfigError(f'minibatch stratified sampling needs dataset_size ({dataset_size}) >= the batch size '
                          f'({b}); set dataset_size to the number of training observations.')
    weights = torch.full((b, b), 1.0 / (b - 1), dtype=torch.float64, device=device)
    rows = torch.arange(b, device=device)
    weights[rows, (rows + 1) % b] = (n - b + 1) / (n * (b - 1))
    weights[rows, rows] = 1.0 / n
    return weights


def gaussian_log_density(z: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """log N(z; mean, exp(log_var)) elementwise (broadcasting)."""
    return -0.5 * (math.log(2 * math.pi) + log_var + (z - mean).pow(2) * torch.exp(-log_var))
