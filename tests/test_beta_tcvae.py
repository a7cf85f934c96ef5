"""β-TCVAE's decomposition against explicit double loops over a tiny batch (Chen et al. 2018)."""
import math

import numpy as np
import pytest
import torch

from framework.testing import Constant, Passthrough
from framework.methods.beta_tcvae import BetaTCVAE, decomposed_kl, importance_weights


def normal_log_pdf(z, mean, var):
    return -0.5 * (math.log(2 * math.pi * var) + (z - mean) ** 2 / var)


def loop_decomposition(z, mean, log_var, n, weight):
    """MI, TC and DWKL with every density written out: weight(i, j) is w_ij of q(z_i) ≈ Σ_j w_ij q(z_i | n_j)."""
    b, d = z.shape
    var = np.exp(log_var)
    mi = tc = dwkl = 0.0
    for i in range(b):
        log_q_given_own = sum(normal_log_pdf(z[i, k], mean[i, k], var[i, k]) for k in range(d))
        q_joint = 0.0
        for j in range(b):
            density = 1.0
            for k in range(d):
                density *= math.exp(normal_log_pdf(z[i, k], mean[j, k], var[j, k]))
            q_joint += weight(i, j) * density
        log_q_marginals = 0.0
        for k in range(d):
            q_k = sum(weight(i, j) * math.exp(normal_log_pdf(z[i, k], mean[j, k], var[j, k])) for j in range(b))
            log_q_marginals += math.log(q_k)
        log_prior = sum(normal_log_pdf(z[i, k], 0.0, 1.0) for k in range(d))
        mi += log_q_given_own - math.log(q_joint)
        tc += math.log(q_joint) - log_q_marginals
        dwkl += log_q_marginals - log_prior
    return mi / b, tc / b, dwkl / b


def mws_weight(n, b):
    return lambda i, j: 1.0 / (n * b)


def mss_weight(n, b):
    def weight(i, j):
        if i == j:
            return 1.0 / n
        if j == (i + 1) % b:
            return (n - b + 1) / (n * (b - 1))
        return 1.0 / (b - 1)
    return weight


SAMPLE = dict(z=[[0.3, -1.2], [1.1, 0.4], [-0.5, 0.9]],
              mean=[[0.2, -1.0], [0.8, 0.5], [-0.4, 0.6]],
              log_var=[[-0.5, 0.1], [0.3, -1.0], [-0.2, 0.4]])


@pytest.mark.parametrize('estimator, weight', [('mws', mws_weight), ('mss', mss_weight)])
def test_decomposition_matches_double_loops(estimator, weight):
    z, mean, log_var = (np.array(SAMPLE[k]) for k in ('z', 'mean', 'log_var'))
    n = 10
    expected = loop_decomposition(z, mean, log_var, n, weight(n, 3))
    got = decomposed_kl(*(torch.tensor(a, dtype=torch.float64) for a in (z, mean, log_var)), n, estimator)
    for value, want in zip(got, expected):
        assert value.item() == pytest.approx(want, abs=1e-10)


def test_the_three_terms_add_up_to_the_sampled_kl():
    # MI + TC + DWKL telescopes to mean_i [log q(z_i | n_i) − log p(z_i)] whatever the estimator
    z, mean, log_var = (np.array(SAMPLE[k]) for k in ('z', 'mean', 'log_var'))
    kl = np.mean([sum(normal_log_pdf(z[i, k], mean[i, k], math.exp(log_var[i, k])) - normal_log_pdf(z[i, k], 0, 1)
                      for k in range(2)) for i in range(3)])
    for estimator in ('mws', 'mss'):
        terms = decomposed_kl(*(torch.tensor(a, dtype=torch.float64) for a in (z, mean, log_var)), 50, estimator)
        assert sum(t.item() for t in terms) == pytest.approx(kl, abs=1e-10)


def test_mss_weights_by_hand():
    # B = 3, N = 10: own posterior 1/10, the next one (10 − 3 + 1)/(10 · 2) = 0.4, the other 1/2
    w = importance_weights(3, 10, 'mss')
    expected = torch.tensor([[0.1, 0.4, 0.5], [0.5, 0.1, 0.4], [0.4, 0.5, 0.1]], dtype=torch.float64)
    assert torch.allclose(w, expected)
    assert torch.allclose(importance_weights(7, 1000, 'mss').sum(1), torch.ones(7, dtype=torch.float64))
    assert torch.allclose(importance_weights(4, 10, 'mws'), torch.full((4, 4), 1 / 40, dtype=torch.float64))


def test_mws_on_identical_posteriors_gives_the_log_n_offsets():
    # every observation has the same posterior: q(z) ≈ B · q(z|n) / (N B) = q(z|n) / N, so MI = log N,
    # TC = (D − 1) log N and DWKL = KL(q(z|n) || p) − D log N at z = the mean
    n, b, d = 100, 4, 3
    mean, log_var = torch.full((b, d), 0.5, dtype=torch.float64), torch.zeros(b, d, dtype=torch.float64)
    mi, tc, dwkl = decomposed_kl(mean.clone(), mean, log_var, n, 'mws')
    assert mi.item() == pytest.approx(math.log(n))
    assert tc.item() == pytest.approx((d - 1) * math.log(n))
    log_ratio = d * (normal_log_pdf(0.5, 0.5, 1.0) - normal_log_pdf(0.5, 0.0, 1.0))     # = d · 0.125
    assert dwkl.item() == pytest.approx(log_ratio - d * math.log(n))


def test_training_step_weighs_the_terms():
    mean, log_var = np.array(SAMPLE['mean']), np.array(SAMPLE['log_var'])
    x = torch.tensor(np.concatenate([mean, log_var], 1), dtype=torch.float32)      # the encoder's output
    decoder_output = [0.1, 0.2, 0.3, 0.4]
    method = BetaTCVAE(lambda **s: Passthrough(), lambda **s: Constant(decoder_output), observation_shape=[4],
                       dataset_size=10, latent_dim=2, alpha=2.0, beta=5.0, gamma=0.5, estimator='mss')
    method.eval()                                       # z = posterior mean
    out = method.training_step({'x': x})
    rec = float(((x.numpy() - np.array(decoder_output)) ** 2).sum(1).mean())
    mi, tc, dwkl = loop_decomposition(mean, mean, log_var, 10, mss_weight(10, 3))
    assert out['rec_loss'].item() == pytest.approx(rec, abs=1e-5)
    assert (out['mi'].item(), out['tc'].item(), out['dwkl'].item()) == pytest.approx((mi, tc, dwkl), abs=1e-5)
    assert out['loss'].item() == pytest.approx(rec + 2 * mi + 5 * tc + 0.5 * dwkl, abs=1e-4)
    assert method.reg_wt == 5.0                          # β names the run, as reg_wt does for the VAE


def test_dataset_size_comes_from_the_training_split():
    from framework.config import compose
    from framework.scripts.common import build_dataset, build_method
    cfg = compose('a/mlp', 'm/betatcvae', 'd/vec', dataset={'num_samples': 200})
    dataset = build_dataset(cfg, 'train')
    method = build_method(cfg, dataset)
    assert method.dataset_size == len(dataset) == 160      # 80% of 200 (split: val 0.1, test 0.1)
    assert (method.alpha, method.beta, method.gamma, method.estimator) == (1.0, 6.0, 1.0, 'mws')


def test_bad_estimator_is_a_config_error():
    from framework.errors import ConfigError
    with pytest.raises(ConfigError, match="'mws'"):
        BetaTCVAE(lambda **s: Passthrough(), lambda **s: Passthrough(), [2], dataset_size=10, latent_dim=1,
                  estimator='mcmc')
